"""Planning (planning.py) and sending digests (here), exactly once.

    plan (beat, every few minutes)        due_batches(now): subscriptions whose issue is
                                          due in their time zone and not yet settled
      queue()                             INSERT their delivery rows as `queued` ON
                                          CONFLICT DO NOTHING (and re-queue rows whose
                                          worker died or whose backoff passed)
      -> send_digest_batch(ids, period)   one Celery task per batch, for the rows this
                                          planner queued, and only those
           claim()                        one short transaction: lock the batch's
                                          subscriptions and their rows, choose each
                                          digest's papers, queued -> claimed
           for each claimed row, on one SMTP connection:
             compose, then smtp.send() with the compare-and-set
             UPDATE ... SET status='sent' WHERE status='claimed' AND attempts=n
             as its commit point (see digests.smtp)

Why nothing is enqueued twice: a queued row is settled for the planner, so a backlog
of batches waiting for a worker is not planned again every five minutes. A batch
task that never runs (its message lost) leaves rows `queued`; after DIGEST_QUEUE_LEASE
the planner queues them again. (A Redis SET NX per (period, batch) would not do: a
batch is whatever ids were due at that run, so its key changes from run to run, and
the key would expire or survive independently of the rows it stands for.)

Why nothing is sent twice:
- one row per (subscription, period), enforced by a unique constraint: two planners,
  a re-run or a re-delivered task find the row and claim nothing new;
- a row is sent only by whoever flips it from claimed to sent, and each (re)claim
  bumps `attempts`, so a worker that lost its claim (lease expired, row queued or
  claimed again) fails its compare-and-set and drops its half-sent message;
- the flip happens before the SMTP "." and after everything else, so a crash leaves
  either a `claimed` row whose message the server discarded (re-sent after the lease,
  DIGEST_CLAIM_LEASE) or a `sent` row whose message the server has.

No transaction is open during SMTP: claim() commits before the first connection, and
each compare-and-set is its own autocommitted statement.

Failures: a refused recipient (5xx) pauses the subscription (bounce); a temporary
refusal (4xx) defers that one mail; a lost connection defers the rest of the batch
(RetryLater: the task retries with backoff). Deferred rows are `failed` with a
`next_attempt_at`, and both the retry and the planner pick them up when it passes.
"""

import datetime as dt
import json
import logging
import smtplib
import time
from collections import defaultdict
from dataclasses import dataclass, fields

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from . import smtp
from .compose import Composer, Recipient, papers_for
from .models import DigestDelivery, DigestSubscription
from .periods import Period
from .selection import choose_sections, record_sent

log = logging.getLogger(__name__)

Status = DigestDelivery.Status

# Worth retrying the whole batch later: the connection or the server is the problem.
CONNECTION_ERRORS = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    ConnectionError,
    TimeoutError,  # socket.timeout
)


class RetryLater(Exception):
    """The SMTP connection failed; the batch's unsent deliveries were released and
    may be claimed again in `countdown` seconds. `result` counts the whole batch."""

    def __init__(self, countdown: int, subscription_ids: list[int], cause, result):
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.countdown = countdown
        self.subscription_ids = subscription_ids
        self.result = result


@dataclass
class BatchResult:
    sent: int = 0
    skipped: int = 0  # nothing new for them (no mail), or too late to send
    deferred: int = 0  # temporary failure; retried after a backoff
    failed: int = 0  # given up on
    bounced: int = 0  # address refused permanently; subscription paused
    lost: int = 0  # claimed elsewhere meanwhile, or the subscriber left mid-batch

    def __iadd__(self, other: "BatchResult"):
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Claim(Recipient):
    """A delivery this caller owns: `attempts` is its fencing token."""

    attempts: int = 1


def backoff(attempts: int) -> int:
    """Seconds before attempt `attempts + 1`: DIGEST_RETRY_BACKOFF, doubling, at most
    DIGEST_RETRY_BACKOFF_MAX."""
    return min(
        settings.DIGEST_RETRY_BACKOFF * 2 ** max(attempts - 1, 0),
        settings.DIGEST_RETRY_BACKOFF_MAX,
    )


# --- Claiming ---------------------------------------------------------------------------


def claim(subscription_ids, period: Period, now: dt.datetime) -> tuple[list[Claim], BatchResult]:
    """Claim this period's deliveries for `subscription_ids`: queued rows (their
    papers chosen now), new rows for those without one (`manage.py send_digests`
    sends without queueing), and re-claims of rows whose claim went stale or whose
    backoff passed. Returns the claims this caller now owns."""
    result = BatchResult()
    with transaction.atomic():
        # Locking the subscriptions (in id order: no deadlocks) serialises claimers
        # per subscriber, so the papers recorded as sent to them can't change
        # between choose_sections reading them and record_sent adding to them.
        subscriptions = list(
            DigestSubscription.objects.receiving()
            .filter(pk__in=subscription_ids)
            .order_by("pk")
            .select_for_update(of=("self",))
            .only("pk", "email", "user_id")
        )
        by_pk = {s.pk: s for s in subscriptions}
        _skip_queued(set(subscription_ids) - set(by_pk), period)
        if not subscriptions:
            return [], result
        rows = list(
            DigestDelivery.objects.filter(subscription_id__in=by_pk, period=period.key)
            .order_by("pk")
            .select_for_update()
            .values_list("pk", "subscription_id", "status", "attempts")
        )
        first_claims = {
            sub_id: pk for pk, sub_id, status, n in rows if status == Status.QUEUED and n == 0
        }
        have_row = {sub_id for _, sub_id, _, _ in rows}
        fresh = [s for s in subscriptions if s.pk not in have_row]
        choosing = fresh + [by_pk[sub_id] for sub_id in first_claims]
        if period.is_stale(now):
            sections = {}
            note = "Too late to send this issue"
        else:
            sections = choose_sections(choosing, period) if choosing else {}
            note = ""
        new = _insert(fresh, sections, period, now, note)
        new += _claim_first(first_claims, sections, now, note)
        # Only for the rows this call did claim: the planner (which doesn't lock
        # subscriptions) may have queued a row for a `fresh` one meanwhile, and that
        # row's batch chooses its papers itself.
        record_sent({sub_id: s for _, sub_id, status, _, s in new if status == Status.CLAIMED})
        others = [pk for pk, sub_id, _, _ in rows if sub_id not in first_claims]
        claimed = new + _reclaim(others, now)

    claims = []
    for delivery_id, subscription_id, status, attempts, sections in claimed:
        if status == Status.SKIPPED:
            result.skipped += 1
            continue
        sub = by_pk[subscription_id]
        claims.append(
            Claim(
                delivery_id=delivery_id,
                subscription_id=subscription_id,
                email=sub.email,
                is_user=sub.user_id is not None,
                sections=sections,
                attempts=attempts,
            )
        )
    return claims, result


def _skip_queued(subscription_ids, period: Period):
    """Queued rows of subscriptions that stopped receiving before their batch ran:
    settle them, rather than leave them queued for ever."""
    if subscription_ids:
        DigestDelivery.objects.filter(
            subscription_id__in=subscription_ids, period=period.key, status=Status.QUEUED
        ).update(status=Status.SKIPPED, error="Unsubscribed before it was sent")


def _insert(subscriptions, sections, period, now, note):
    """INSERT ... ON CONFLICT DO NOTHING RETURNING: the rows this call created."""
    if not subscriptions:
        return []
    sections_field = DigestDelivery._meta.get_field("sections")
    stamp = connection.ops.adapt_datetimefield_value(now)
    columns = (
        "subscription_id, period, frequency, status, attempts, claimed_at, error, sections, "
        "created_at"
    )
    values, params = [], []
    for sub in subscriptions:
        chosen = sections.get(sub.pk, [])
        status = Status.CLAIMED if chosen else Status.SKIPPED
        values.append("(%s, %s, %s, %s, 1, %s, %s, %s, %s)")
        params += [
            sub.pk,
            period.key,
            period.frequency,
            status,
            stamp,
            note,
            sections_field.get_db_prep_save(chosen, connection),
            stamp,
        ]
    sql = (
        f"INSERT INTO {DigestDelivery._meta.db_table} ({columns}) VALUES {', '.join(values)} "
        "ON CONFLICT (subscription_id, period) DO NOTHING "
        "RETURNING id, subscription_id, status, attempts"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        created = cursor.fetchall()
    return [(pk, sub_id, status, n, sections.get(sub_id, [])) for pk, sub_id, status, n in created]


def _claim_first(delivery_ids: dict[int, int], sections, now, note):
    """queued -> claimed (or skipped: nothing new) for rows never claimed before,
    locked by the caller: {subscription id: delivery id}. One UPDATE per distinct
    digest: a batch of visitors, who all get the same papers, is one statement."""
    if not delivery_ids:
        return []
    groups = defaultdict(list)
    for sub_id, pk in delivery_ids.items():
        groups[json.dumps(sections.get(sub_id, []))].append(pk)
    for chosen, pks in groups.items():
        chosen = json.loads(chosen)
        DigestDelivery.objects.filter(pk__in=pks).update(
            status=Status.CLAIMED if chosen else Status.SKIPPED,
            attempts=1,
            claimed_at=now,
            error=note,
            sections=chosen,
        )
    return [
        (
            pk,
            sub_id,
            Status.CLAIMED if sections.get(sub_id) else Status.SKIPPED,
            1,
            sections.get(sub_id, []),
        )
        for sub_id, pk in delivery_ids.items()
    ]


def _reclaim(delivery_ids, now):
    """Take over rows queued again by the planner, and rows whose claim went stale
    (its worker died) or whose backoff passed; their sections were fixed by their
    first claim. Locked first, so a concurrent compare-and-set either lands before
    (the row is sent: not taken) or fails after (attempts moved on)."""
    if not delivery_ids:
        return []
    rows = list(
        DigestDelivery.objects.filter(pk__in=delivery_ids)
        .claimable(now)
        .select_for_update()
        .values_list("pk", "subscription_id", "attempts", "sections")
    )
    if not rows:
        return []
    DigestDelivery.objects.filter(pk__in=[r[0] for r in rows]).update(
        status=Status.CLAIMED, attempts=F("attempts") + 1, claimed_at=now, next_attempt_at=None
    )
    return [(pk, sub_id, Status.CLAIMED, n + 1, sections) for pk, sub_id, n, sections in rows]


# --- Sending ------------------------------------------------------------------------------


def send_batch(subscription_ids, period_key: str, *, now=None, backend=None) -> BatchResult:
    """Claim and send one batch: the body of the send_digest_batch task and of
    `manage.py send_digests`. Raises RetryLater if the SMTP connection fails."""
    if connection.in_atomic_block:
        raise RuntimeError("Digests must not be sent inside a transaction (see sending.py).")
    now = now or timezone.now()
    period = Period.from_key(period_key)
    claims, result = claim(subscription_ids, period, now)
    if not claims:
        return result
    composer = Composer(period, papers_for(c.sections for c in claims))
    backend = backend or get_connection()
    pending = list(reversed(claims))
    started = time.monotonic()

    def later(seconds: int) -> dt.datetime:
        """`seconds` from the present moment of the batch, on the batch's clock."""
        return now + dt.timedelta(seconds=time.monotonic() - started + seconds)

    try:
        while pending:
            current = pending[-1]
            try:
                _ensure_open(backend)
                outcome, broken = _send_one(backend, composer, current, later)
            except CONNECTION_ERRORS as exc:
                outcome, broken = None, exc
            else:
                pending.pop()
                setattr(result, outcome, getattr(result, outcome) + 1)
            if broken:
                countdown = backoff(current.attempts)
                _release(pending, f"{type(broken).__name__}: {broken}", later(countdown))
                result.deferred += len(pending)
                ids = [c.subscription_id for c in pending]
                pending = []
                # A margin: the task's ETA and the rows' next_attempt_at come from
                # different clocks, and a retry that came early would find nothing to
                # claim yet. (config/settings.py checks the visibility timeout covers it.)
                countdown += settings.DIGEST_RETRY_MARGIN
                raise RetryLater(countdown, ids, broken, result) from broken
    finally:
        if pending:
            # Anything else (a time limit, a database error): let another run have
            # them soon rather than after the lease.
            _release(pending, "Interrupted before sending", later(backoff(1)), quiet=True)
        _close_quietly(backend)
    return result


def _send_one(backend, composer: Composer, claim: Claim, later):
    """Send one claimed delivery. Returns (the BatchResult counter to bump, None or
    the exception that broke the connection). Connection errors raised before the
    commit point propagate: the mail was not sent."""
    mail = composer.mail(claim)
    mark_sent = _compare_and_set(claim)
    try:
        if not smtp.send(backend, mail, mark_sent):
            # Not ours to send any more: re-claimed elsewhere, or the subscriber left
            # meanwhile (then say so on the row, which is still ours).
            _owned(claim).filter(subscription__paused_at__isnull=False).update(
                status=Status.SKIPPED, error="Unsubscribed before it was sent"
            )
            return "lost", None
    except smtp.NoReply as exc:
        # Counted as sent: the server got the whole message (see smtp.py).
        _note(claim, Status.SENT, f"No reply after the message was sent ({exc}); assumed sent")
        return "sent", exc
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{c} {_text(r)}" for c, r in exc.recipients.values())
        if codes and all(500 <= c < 600 for c in codes):
            _revert(claim, False, detail, None)
            _pause_bounced(claim, detail)
            return "bounced", None
        _revert(claim, False, detail, later(backoff(claim.attempts)))
        closing = 421 in codes
        return "deferred", smtplib.SMTPServerDisconnected(detail) if closing else None
    except smtplib.SMTPResponseException as exc:
        detail = f"{exc.smtp_code} {_text(exc.smtp_error)}"
        was_sent = mark_sent.done
        if 400 <= exc.smtp_code < 500:
            _revert(claim, was_sent, detail, later(backoff(claim.attempts)))
            closing = exc.smtp_code == 421
            return "deferred", smtplib.SMTPServerDisconnected(detail) if closing else None
        _revert(claim, was_sent, detail, None)
        if exc.smtp_code in (550, 551, 553) and not isinstance(exc, smtplib.SMTPSenderRefused):
            _pause_bounced(claim, detail)
            return "bounced", None
        log.error("Digest %s to %s failed: %s", claim.delivery_id, claim.email, detail)
        return "failed", None
    return "sent", None


def _text(reply) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


class _compare_and_set:
    """The commit point: flip the row from claimed to sent if this caller still owns
    it and the subscriber is still subscribed. Its own autocommitted statement."""

    def __init__(self, claim: Claim):
        self.claim = claim
        self.done = False

    def __call__(self) -> bool:
        deliveries = DigestDelivery._meta.db_table
        subscriptions = DigestSubscription._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {deliveries} SET status = %s, sent_at = %s, error = '' "
                f"WHERE id = %s AND status = %s AND attempts = %s AND EXISTS ("
                f"SELECT 1 FROM {subscriptions} s WHERE s.id = {deliveries}.subscription_id "
                "AND s.paused_at IS NULL)",
                [
                    Status.SENT,
                    connection.ops.adapt_datetimefield_value(timezone.now()),
                    self.claim.delivery_id,
                    Status.CLAIMED,
                    self.claim.attempts,
                ],
            )
            self.done = cursor.rowcount == 1
        return self.done


def _owned(claim: Claim, status=Status.CLAIMED):
    return DigestDelivery.objects.filter(
        pk=claim.delivery_id, status=status, attempts=claim.attempts
    )


def _revert(claim: Claim, was_sent: bool, error: str, retry_at):
    """The server refused the message: record it as failed (retried at `retry_at`,
    or never if None)."""
    if retry_at and claim.attempts >= settings.DIGEST_MAX_ATTEMPTS:
        retry_at = None
    _owned(claim, Status.SENT if was_sent else Status.CLAIMED).update(
        status=Status.FAILED, sent_at=None, error=error[:2000], next_attempt_at=retry_at
    )


def _pause_bounced(claim: Claim, detail: str):
    log.warning("Digest address %s bounced (%s); subscription paused", claim.email, detail)
    DigestSubscription(pk=claim.subscription_id).pause(
        DigestSubscription.PauseReason.BOUNCED, detail
    )


def _note(claim: Claim, status, error: str):
    _owned(claim, status).update(error=error[:2000])


def _release(claims, error: str, retry_at, quiet=False):
    """Give up our claim on unsent rows: `failed`, retryable from `retry_at` (or
    never, past DIGEST_MAX_ATTEMPTS)."""
    try:
        for claim in claims:
            _revert(claim, False, error, retry_at)
    except Exception:
        if not quiet:
            raise
        log.exception("Could not release %d digest claims; the lease will", len(claims))


def _ensure_open(backend):
    """Open the connection, or reopen it if a refusal or an abandoned message closed
    it (smtplib leaves the object in place with no socket)."""
    conn = getattr(backend, "connection", None)
    if conn is not None and getattr(conn, "sock", True) is None:
        _close_quietly(backend)
    backend.open()


def _close_quietly(backend):
    try:
        backend.close()
    except (smtplib.SMTPException, OSError):
        log.warning("Closing the SMTP connection failed", exc_info=True)
