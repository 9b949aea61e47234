import logging

from celery import shared_task

from . import service

log = logging.getLogger(__name__)


@shared_task
def refresh_code_signals():
    """Periodic (config/celery.py): link new papers to their repositories, then ask
    GitHub and Hugging Face about what is due (recent papers most often). Stops at a
    rate limit; the next run carries on from what is still due."""
    report = service.Report()
    service.link_papers(service.papers_to_link())
    service.refresh_repositories(service.due_repositories(), report)
    service.refresh_artifacts(service.due_papers(), report)
    log.info("code signals: %s", report.summary())
    for failure in report.failures[:20]:
        log.warning("code signals: %s", failure)
    return report.as_dict()
