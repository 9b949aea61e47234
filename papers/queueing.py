"""Enqueueing tasks when the broker may be out of reach.

`task.delay_on_commit()` raises once the request's data is committed if Redis (the
broker) can't be reached, which would answer the visitor with an error page after
their submission or subscription was already stored. `enqueue_on_commit` logs the
failure and lets the caller undo or mark what it stored instead, and say so.
"""

import logging

from celery import shared_task
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnreachable
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

UNREACHABLE = (BrokerUnreachable, RedisConnectionError, RedisTimeoutError)


class QueueUnavailable(Exception):
    """The task broker could not be reached; the task was not queued."""


def enqueue_on_commit(task, *args, on_failure=None):
    """Queue `task(*args)` once the current transaction commits (at once outside one).
    If the broker can't be reached (after Celery's own publish retries, about a
    second), log it and call `on_failure()`, which may raise QueueUnavailable for the
    view to show a message."""

    def send():
        try:
            task.apply_async(args)
        except UNREACHABLE:
            log.exception("Could not queue %s%r: the broker is unreachable", task.name, args)
            if on_failure is not None:
                on_failure()

    transaction.on_commit(send)


def moved_task(old_module: str, **options):
    """`@shared_task(**options)`, registered under its name in `old_module` as well, for
    a task that moved there from: messages queued before a deploy and beat schedules
    written with the old name ("papers.tasks.ingest_arxiv") still run it. The old names
    are kept for one release after the move (issue 11, docs/architecture.md); both run
    the same function, each as its own task (a retry keeps the name it came in with)."""

    def decorate(fun):
        shared_task(name=f"{old_module}.{fun.__name__}", **options)(fun)
        return shared_task(**options)(fun)

    return decorate
