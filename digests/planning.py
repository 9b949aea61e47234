"""Planning digests: which subscriptions are due now, in their own time zones, and
queueing their delivery rows so that each batch is enqueued once (the design is in
sending.py's docstring; the planner is the plan_digests task)."""

import datetime as dt
import logging
from collections.abc import Iterator
from itertools import islice

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Value
from django.db.models.functions import Coalesce

from .models import DigestDelivery, DigestSubscription
from .periods import DAILY, WEEKLY, Period, zone

log = logging.getLogger(__name__)

Status = DigestDelivery.Status


def plan(
    now: dt.datetime, frequency: str | None = None, batch_size: int | None = None
) -> Iterator[tuple[str, list[int]]]:
    """(period key, subscription ids) batches to enqueue now: the rows this call
    queued. Each batch's rows are committed before it is yielded, so the task can be
    sent at once."""
    for key, ids in due_batches(now, frequency, batch_size):
        if queued := queue(ids, key, now):
            yield key, queued


def queue(subscription_ids, period_key: str, now: dt.datetime) -> list[int]:
    """Mark this period's deliveries for `subscription_ids` as queued: new rows for
    those without one, and rows the planner may take over (requeueable). Returns the
    subscription ids this call queued; rows queued, claimed or settled by anyone
    else are left alone."""
    stamp = connection.ops.adapt_datetimefield_value(now)
    empty = DigestDelivery._meta.get_field("sections").get_db_prep_save([], connection)
    values = ", ".join(["(%s, %s, %s, %s, 0, %s, '', %s, %s)"] * len(subscription_ids))
    params = []
    frequency = Period.from_key(period_key).frequency
    for pk in subscription_ids:
        params += [pk, period_key, frequency, Status.QUEUED, stamp, empty, stamp]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {DigestDelivery._meta.db_table} (subscription_id, period, "
                "frequency, status, attempts, claimed_at, error, sections, created_at) "
                f"VALUES {values} ON CONFLICT (subscription_id, period) DO NOTHING "
                "RETURNING subscription_id",
                params,
            )
            queued = [row[0] for row in cursor.fetchall()]
        # Rows being claimed right now are locked: skip them, their batch has them.
        again = dict(
            DigestDelivery.objects.filter(subscription_id__in=subscription_ids, period=period_key)
            .requeueable(now)
            .select_for_update(skip_locked=True)
            .values_list("pk", "subscription_id")
        )
        if again:
            DigestDelivery.objects.filter(pk__in=again).update(
                status=Status.QUEUED, claimed_at=now, next_attempt_at=None
            )
    return sorted(queued + list(again.values()))


def due_batches(
    now: dt.datetime, frequency: str | None = None, batch_size: int | None = None
) -> Iterator[tuple[str, list[int]]]:
    """(period key, subscription ids) batches of what is due at `now` and not settled.
    Streams ids from a server-side cursor, so memory stays flat however many are due."""
    batch_size = batch_size or settings.DIGEST_BATCH_SIZE
    for period, subscriptions in _due_querysets(now, frequency):
        ids = subscriptions.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=2000)
        while batch := list(islice(ids, batch_size)):
            yield period.key, batch


def count_due(now: dt.datetime, frequency: str | None = None) -> dict[str, int]:
    counts = {}
    for period, subscriptions in _due_querysets(now, frequency):
        if n := subscriptions.count():
            counts[period.key] = counts.get(period.key, 0) + n
    return counts


def _due_querysets(now, frequency):
    receiving = DigestSubscription.objects.receiving()
    frequencies = [frequency] if frequency else [DAILY, WEEKLY]
    names = receiving.order_by().values_list("time_zone", flat=True).distinct()
    for name in sorted(names):
        try:
            local = now.astimezone(zone(name))
        except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
            log.error("Digest subscriptions have an unknown time zone %r", name)
            continue
        for freq in frequencies:
            period = Period.for_date(freq, local.date())
            if period is None or not period.is_due(local, send_hour=0):
                continue
            subscriptions = receiving.filter(time_zone=name, frequency=freq)
            if local.date() == period.issue_date:
                subscriptions = subscriptions.alias(
                    hour=Coalesce("send_hour", Value(settings.DIGEST_SEND_HOUR))
                ).filter(hour__lte=local.hour)
            settled = DigestDelivery.objects.filter(
                subscription=OuterRef("pk"), period=period.key
            ).settled(now)
            yield period, subscriptions.exclude(Exists(settled))
