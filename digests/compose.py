"""Composing digest emails: subject, plain text and HTML (CSS inlined).

A batch sends the same period to many people, and most of each mail is shared, so
rendering is done once per batch, not once per mail:

- the frame (masthead, intro, footer) is rendered and CSS-inlined once per audience
  (account or visitor), with nonce-tagged markers where per-recipient values go;
- each section (a list of papers) is rendered and inlined once per distinct content;
- a mail is then the frame with its markers replaced (mail merge): the recipient's
  sections, address and signed links.

The markers carry a random nonce per composer, so no paper title or abstract can
contain one. Values merged into HTML are escaped, and the signed tokens and URLs are
made of URL-safe characters only.
"""

import re
import secrets
from dataclasses import dataclass, replace
from email import policy
from email.generator import BytesGenerator
from email.header import Header
from functools import cached_property
from io import BytesIO
from urllib.parse import urlsplit

import css_inline
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import sanitize_address
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from django.utils.text import Truncator

from papers.models import Paper

from . import tokens
from .periods import Period
from .selection import AUTHORS, CATEGORY, KEYWORD, TRENDING

ABSTRACT_CHARS = 230  # about two lines of the email's 600px column
AUTHORS_SHOWN = 5
_MERGE_FIELDS = ("sections", "email", "view_url", "unsubscribe_url", "manage_url")


# Headers on one line each (up to SMTP's 998), for the mail-merge skeleton.
_UNFOLDED = policy.compat32.clone(max_line_length=998)


def absolute(path: str) -> str:
    return settings.SITE_URL + path


@dataclass(frozen=True)
class Recipient:
    """Who a mail goes to: what the per-recipient parts need."""

    delivery_id: int
    subscription_id: int
    email: str
    is_user: bool
    sections: list

    @property
    def unsubscribe_url(self) -> str:
        """The page behind the link in the body: it asks before unsubscribing."""
        return absolute(
            reverse("digests:unsubscribe", args=[tokens.unsubscribe_token(self.subscription_id)])
        )

    @property
    def one_click_url(self) -> str:
        """The List-Unsubscribe URL, for the mail client's POST (RFC 8058): the page's
        URL plus "one-click/" (digests:one_click_unsubscribe), without a second
        reverse() and signature per mail."""
        return self.unsubscribe_url + "one-click/"

    @property
    def view_url(self) -> str:
        return absolute(reverse("digests:view", args=[tokens.view_token(self.delivery_id)]))

    @property
    def manage_url(self) -> str:
        if self.is_user:
            return absolute(reverse("accounts:digest_settings"))
        return self.unsubscribe_url


@dataclass(frozen=True)
class PaperItem:
    """A paper as the email shows it."""

    title: str
    url: str
    arxiv_url: str
    authors: str
    abstract: str
    upvotes: int
    note: str = ""  # why a recommended paper is there ("Because you upvoted …")


def paper_item(paper: Paper) -> PaperItem:
    names = [a.author.name for a in getattr(paper, "first_authorships", [])][:AUTHORS_SHOWN]
    authors = ", ".join(names)
    if paper.more_authors:
        authors += f" and {paper.more_authors} more"
    abstract = " ".join(paper.abstract.split())
    return PaperItem(
        title=" ".join(paper.title.split()),
        url=absolute(paper.get_absolute_url()),
        arxiv_url=paper.abs_url,
        authors=authors,
        abstract=Truncator(abstract).chars(ABSTRACT_CHARS),
        upvotes=paper.upvote_count,
    )


def papers_for(sections_lists) -> dict[int, PaperItem]:
    """The papers a set of digests needs, in two queries (papers, first authors)."""
    ids = {pk for sections in sections_lists for s in sections for pk in s["papers"]}
    papers = Paper.objects.for_listing().filter(pk__in=ids)
    return {p.pk: paper_item(p) for p in papers}


def _encoded_header(value: str) -> str:
    """RFC 2047-encode a header once per batch rather than once per mail (Django
    leaves an all-ASCII value as it is)."""
    if value.isascii():
        return value
    return Header(value, "utf-8", maxlinelen=998).encode()


class Composer:
    """Builds the mails of one period; one instance per batch."""

    def __init__(self, period: Period, papers: dict[int, PaperItem]):
        self.period = period
        self.papers = papers
        nonce = secrets.token_hex(8)
        self.markers = {name: f"%%{nonce}:{name}%%" for name in _MERGE_FIELDS}
        self._frames = {}
        self._sections = {}
        self._skeletons = {}
        self.from_email = settings.DIGEST_FROM_EMAIL
        self.list_id = f"{settings.SITE_NAME} digest <digest.{self._host}>"

    @cached_property
    def _host(self) -> str:
        return urlsplit(settings.SITE_URL).hostname or "localhost"

    @cached_property
    def css(self) -> str:
        return render_to_string("emails/digest/_styles.css")

    @cached_property
    def media_css(self) -> str:
        return render_to_string("emails/digest/_media.css")

    def _context(self, **extra) -> dict:
        return {
            "SITE_NAME": settings.SITE_NAME,
            "SITE_URL": settings.SITE_URL,
            "period": self.period,
            "is_daily": self.period.frequency == "daily",
            **extra,
        }

    def _frame(self, is_user: bool):
        frame = self._frames.get(is_user)
        if frame is None:
            context = self._context(is_user=is_user, css=self.css, **self.markers)
            subject = render_to_string("emails/digest/digest_subject.txt", context)
            text = render_to_string("emails/digest/digest_body.txt", context)
            html = render_to_string("emails/digest/digest_body.html", context)
            html = css_inline.inline(html, load_remote_stylesheets=False)
            # css-inline could keep the @media rules, but on one line: past SMTP's
            # 998-character limit, which forces quoted-printable on the whole part.
            html = html.replace("</head>", f"<style>\n{self.media_css}</style>\n</head>", 1)
            frame = (_encoded_header(" ".join(subject.split())), text, html)
            self._frames[is_user] = frame
        return frame

    def _section(self, sec: dict) -> tuple[str, str]:
        if "notices" in sec:
            return self._notices(sec)
        notes = sec.get("notes") or [""] * len(sec["papers"])
        key = (sec["kind"], sec["label"], tuple(sec["papers"]), tuple(notes))
        parts = self._sections.get(key)
        if parts is None:
            papers = [
                replace(self.papers[pk], note=note)
                for pk, note in zip(sec["papers"], notes, strict=False)
                if pk in self.papers
            ]
            context = self._context(
                heading=self._heading(sec["kind"], sec["label"]),
                kind=sec["kind"],
                papers=papers,
            )
            text = render_to_string("emails/digest/_section.txt", context)
            html = render_to_string("emails/digest/_section.html", context)
            parts = (
                text,
                css_inline.inline_fragment(html, self.css, load_remote_stylesheets=False),
            )
            self._sections[key] = parts
        return parts

    def _notices(self, sec: dict) -> tuple[str, str]:
        """A section of notices (selection.notice_section): one reader's, not shared."""
        context = self._context(
            heading=sec["label"],
            notices=sec["notices"],
            stop_url=sec["stop_url"],
            more_url=sec.get("more_url", ""),
        )
        text = render_to_string("emails/digest/_notices.txt", context)
        html = render_to_string("emails/digest/_notices.html", context)
        return text, css_inline.inline_fragment(html, self.css, load_remote_stylesheets=False)

    def _heading(self, kind: str, label: str) -> str:
        if kind == TRENDING:
            return "Trending in the community"
        if kind == AUTHORS:
            return "New from authors you follow"
        if kind == CATEGORY:
            return f"New in {label}"
        if kind == KEYWORD:
            return f"New papers matching “{label}”"
        return label

    def _merge(self, frame: str, values: dict) -> str:
        for name, value in values.items():
            frame = frame.replace(self.markers[name], value)
        return frame

    def parts(self, recipient: Recipient) -> tuple[str, str, str]:
        """(subject, text, html) for one recipient."""
        subject, text_frame, html_frame = self._frame(recipient.is_user)
        sections = [self._section(s) for s in recipient.sections]
        urls = {
            "view_url": recipient.view_url,
            "unsubscribe_url": recipient.unsubscribe_url,
            "manage_url": recipient.manage_url,
        }
        text = self._merge(
            text_frame,
            {"sections": "".join(t for t, _ in sections), "email": recipient.email, **urls},
        )
        html = self._merge(
            html_frame,
            {"sections": "".join(h for _, h in sections), "email": escape(recipient.email), **urls},
        )
        return subject, text, html

    def _headers(self, one_click_url: str, delivery_id) -> dict:
        return {
            # RFC 2369 and RFC 8058: mail clients show an unsubscribe button that POSTs
            # "List-Unsubscribe=One-Click" to the URL, with no sign-in.
            "List-Unsubscribe": f"<{one_click_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": self.list_id,
            # The same id on every attempt: were a mail ever sent twice, mailbox
            # providers that deduplicate on Message-ID show it once.
            "Message-ID": f"<digest.{self.period.key}.{delivery_id}@{self._host}>",
            "Precedence": "bulk",
            "Auto-Submitted": "auto-generated",
        }

    def _message(self, subject, text, html, to, headers) -> EmailMultiAlternatives:
        message = EmailMultiAlternatives(subject, text, self.from_email, [to], headers=headers)
        message.attach_alternative(html, "text/html")
        return message

    def message(self, recipient: Recipient) -> EmailMultiAlternatives:
        """The mail as a Django EmailMessage (for any email backend)."""
        subject, text, html = self.parts(recipient)
        headers = self._headers(recipient.one_click_url, recipient.delivery_id)
        return self._message(subject, text, html, recipient.email, headers)

    def mail(self, recipient: Recipient) -> "Mail":
        """The mail as SMTP sends it: envelope and RFC 5322 bytes. Django builds the
        MIME structure once per batch (_skeleton), with markers where the recipient,
        their links and the two bodies go; each mail fills them in. Bodies go as 8bit,
        so a body with a line SMTP can't carry (over 998 bytes) falls back to Django
        building the whole mail (quoted-printable)."""
        subject, text, html = self.parts(recipient)
        skeleton, marks = self._skeleton(subject)
        to = sanitize_address(recipient.email, "utf-8")
        text_bytes = text.replace("\r\n", "\n").replace("\n", "\r\n").encode()
        html_bytes = html.replace("\r\n", "\n").replace("\n", "\r\n").encode()
        boundary = skeleton.boundary
        if (
            _longest_line(text_bytes) > 998
            or _longest_line(html_bytes) > 998
            or boundary in text_bytes
            or boundary in html_bytes
        ):
            data = self.message(recipient).message().as_bytes(linesep="\r\n")
        else:
            values = {
                marks["to"]: to.encode(),
                marks["one_click"]: recipient.one_click_url.encode(),
                marks["delivery"]: str(recipient.delivery_id).encode(),
                marks["text"]: text_bytes,
                marks["html"]: html_bytes,
            }
            data = b"".join(values.get(piece, piece) for piece in skeleton.pieces)
        return Mail(
            sender=self._envelope_sender,
            recipients=[to],
            data=data,
            message=lambda: self.message(recipient),
        )

    @cached_property
    def _envelope_sender(self) -> str:
        return sanitize_address(self.from_email, "utf-8")

    def _skeleton(self, subject: str):
        """The batch's MIME message with markers, split into pieces at the markers."""
        cached = self._skeletons.get(subject)
        if cached is None:
            nonce = secrets.token_hex(6)
            marks = {
                "to": f"to-{nonce}@merge.invalid",
                "one_click": f"https://merge.invalid/unsubscribe-{nonce}",
                "delivery": f"delivery{nonce}",
                # Non-ASCII, so Django labels both bodies 8bit, as the real ones need.
                "text": f"text·{nonce}",
                "html": f"html·{nonce}",
            }
            headers = self._headers(marks["one_click"], marks["delivery"])
            # One line per header: the marker is shorter than the URL it stands for, and
            # a header folded around a marker would come out folded in odd places.
            message = self._message(subject, marks["text"], marks["html"], marks["to"], headers)
            mime = message.message()
            out = BytesIO()
            BytesGenerator(out, mangle_from_=False, policy=_UNFOLDED).flatten(mime, linesep="\r\n")
            data = out.getvalue()
            pattern = re.compile(
                b"(" + b"|".join(re.escape(m.encode()) for m in marks.values()) + b")"
            )
            pieces = pattern.split(data)
            if not {m.encode() for m in marks.values()} <= set(pieces):
                raise RuntimeError("A mail-merge marker was encoded or folded")
            cached = (
                _Skeleton(
                    pieces=pieces,
                    boundary=mime.get_boundary().encode(),
                ),
                {name: m.encode() for name, m in marks.items()},
            )
            self._skeletons[subject] = cached
        return cached


@dataclass(frozen=True)
class _Skeleton:
    pieces: list
    boundary: bytes


@dataclass(frozen=True)
class Mail:
    """One mail ready for SMTP, and how to build it for other backends."""

    sender: str
    recipients: list
    data: bytes
    message: object  # () -> EmailMessage


def _longest_line(data: bytes) -> int:
    return max(map(len, data.split(b"\r\n")), default=0)
