"""Sending one message with a commit point inside the SMTP transaction.

A mail is delivered once the server has the whole message: in SMTP, when it reads
the "." that ends DATA. Before that, a dropped connection makes the server discard
what it got (RFC 5321 4.1.1.4); after it, the server delivers whether or not we live
to read its reply. So the moment that decides delivery is the write of that ".",
and this module puts the database commit right before it:

    MAIL FROM, RCPT TO, DATA, the message ...   nothing delivered yet
    commit()  -> UPDATE delivery SET status='sent' (compare-and-set)
    "."       -> the server has it
    250       -> confirmed

A worker killed anywhere before commit() leaves the row `claimed`: the server
dropped the half-sent message, and the row is sent again later. Killed after it, the
row says `sent` and the server has the message (or, killed in the microseconds
between the commit and the write of ".", it doesn't: that one mail is lost, never
duplicated). Committing after the 250 instead would resend every message whose
server reply was still in flight at the crash: the server's whole processing time
is in that window, not a single write.

smtplib has no hook between the body and the final ".", so this repeats
SMTP.sendmail's steps with its public methods (mail, rcpt, docmd, send, getreply) on
the connection Django's SMTP backend opened (TLS and auth included).
"""

import re
import smtplib
import socket
from collections.abc import Callable

from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

_EOLS = re.compile(rb"(?:\r\n|\n|\r(?!\n))")
_LEADING_DOT = re.compile(rb"(?m)^\.")


class NoReply(Exception):
    """The connection failed after the message was complete: the server may well
    have it, so the mail counts as sent."""


def send(backend, mail, commit: Callable[[], bool]) -> bool:
    """Send `mail` (a compose.Mail) through `backend` (open), calling `commit` at the
    point of no return. Returns False, having sent nothing, if `commit` returns False.
    Raises smtplib exceptions from before the commit point as they are, an
    SMTPDataError for a refusal after it, and NoReply if the reply never came."""
    if not isinstance(backend, SMTPBackend):
        # Console, file and locmem backends have no transaction to split.
        if not commit():
            return False
        backend.send_messages([mail.message()])
        return True
    return _transaction(backend.connection, mail.sender, mail.recipients, mail.data, commit)


def _transaction(smtp: smtplib.SMTP, sender, recipients, data: bytes, commit) -> bool:
    if smtp.sock is not None:
        # The body and the final "." are two writes before a read: with Nagle's
        # algorithm the "." waits for the ACK of the body, which the server delays
        # (40 ms on Linux): a stall per mail.
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    smtp.ehlo_or_helo_if_needed()
    options = ["BODY=8BITMIME"] if smtp.has_extn("8bitmime") else []
    code, reply = smtp.mail(sender, options)
    if code != 250:
        _abort(smtp, code)
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    refused = {}
    for recipient in recipients:
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            refused[recipient] = (code, reply)
            if code == 421:
                _abort(smtp, code)
                raise smtplib.SMTPRecipientsRefused(refused)
    if len(refused) == len(recipients):
        _abort(smtp, None)
        raise smtplib.SMTPRecipientsRefused(refused)
    code, reply = smtp.docmd("DATA")
    if code != 354:
        _abort(smtp, code)
        raise smtplib.SMTPDataError(code, reply)

    body = _LEADING_DOT.sub(b"..", _EOLS.sub(b"\r\n", data))
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    smtp.send(body)
    if not commit():
        # Someone else owns the delivery now, or the subscriber left. Closing
        # without the final "." makes the server discard the message.
        smtp.close()
        return False
    try:
        smtp.send(b".\r\n")
        code, reply = smtp.getreply()
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        smtp.close()
        raise NoReply(str(exc)) from exc
    if code != 250:
        if code == 421:
            smtp.close()
        raise smtplib.SMTPDataError(code, reply)
    return True


def _abort(smtp: smtplib.SMTP, code):
    """End a refused transaction the way SMTP.sendmail does: RSET, or drop the
    connection if the server is closing it (421)."""
    if code == 421:
        smtp.close()
        return
    try:
        smtp.rset()
    except smtplib.SMTPServerDisconnected:
        pass
