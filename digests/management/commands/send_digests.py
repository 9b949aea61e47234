"""Send the digests that are due now, as the beat-scheduled planner would, but in this
process: `manage.py send_digests [--dry-run] [--period daily|weekly]`."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from digests.planning import count_due, due_batches
from digests.sending import BatchResult, RetryLater, send_batch


class Command(BaseCommand):
    help = "Send the email digests that are due now (each subscriber's issue, once)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="List what is due without sending."
        )
        parser.add_argument(
            "--period",
            choices=["daily", "weekly"],
            help="Only this frequency (default: both).",
        )

    def handle(self, *args, dry_run=False, period=None, verbosity=1, **options):
        now = timezone.now()
        due = count_due(now, period)
        total = sum(due.values())
        for key, n in sorted(due.items()):
            self.stdout.write(f"{key}: {n} subscription{'s' if n != 1 else ''} due")
        if not total:
            self.stdout.write("Nothing is due.")
            return
        if dry_run:
            self.stdout.write(f"Dry run: {total} due, nothing sent.")
            return

        result = BatchResult()
        started = time.monotonic()
        stopped = None
        with tqdm(total=total, unit="sub", disable=verbosity < 1, file=self.stderr) as bar:
            for key, ids in due_batches(now, period):
                try:
                    result += send_batch(ids, key, now=now)
                except RetryLater as exc:
                    result += exc.result
                    stopped = exc
                    break
                finally:
                    bar.update(len(ids))
        elapsed = time.monotonic() - started
        summary = ", ".join(f"{n} {name}" for name, n in result.as_dict().items())
        rate = result.sent / elapsed if elapsed else 0.0
        self.stdout.write(f"Done in {elapsed:.1f}s ({rate:.0f} mails/s): {summary}.")
        if stopped:
            raise CommandError(
                f"Stopped: the mail server is unreachable ({stopped}). The rest stays due "
                "and is retried by the next run or the planner."
            )
