"""New papers are embedded within minutes: when an ingestion task reports papers
created or updated, embed_new_papers is queued (the beat entry catches anything else,
e.g. papers written by a management command). A Celery signal, so ingestion does not
import this app."""

import logging

from celery.signals import task_success

from papers.queueing import UNREACHABLE

from .tasks import embed_new_papers

log = logging.getLogger(__name__)

INGEST_TASKS = ("ingest_arxiv", "ingest_hf_daily", "enrich_from_arxiv", "ingest_oai")


def brought_papers(task_name: str, result) -> bool:
    short = task_name.rsplit(".", 1)[-1]
    if short == "fetch_submission":
        return True
    if short not in INGEST_TASKS or not isinstance(result, dict):
        return False
    return bool(result.get("created") or result.get("updated"))


@task_success.connect
def embed_after_ingestion(sender=None, result=None, **kwargs):
    if sender is None or not brought_papers(sender.name, result):
        return
    try:
        embed_new_papers.delay()
    except UNREACHABLE:
        log.exception("Could not queue embed_new_papers: the broker is unreachable")
