import logging
import smtplib

from celery import shared_task

from .mail import send_notification_mail

log = logging.getLogger(__name__)


@shared_task(
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=60,
    max_retries=3,
)
def mail_notifications(notification_ids: list[int]):
    """Mail each notification its reader asked for by email (see notifications.mail).
    A retry can't mail twice: the hour's claim was taken before the first send."""
    return sum(send_notification_mail(pk) for pk in notification_ids)
