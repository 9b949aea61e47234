import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from codesignals import service
from codesignals.models import Repository
from papers.models import Paper


class Command(BaseCommand):
    help = (
        "Refresh papers' code signals: GitHub stars (conditional requests, rate limits "
        "honoured) and Hugging Face models, datasets and Spaces. Without options, what is "
        "due (recent papers most often); --paper ID for one paper; --file PATH to read a "
        "saved GitHub repository or Hugging Face repos response. Failures are named; "
        "exit 1 if any."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--paper", action="append", dest="papers", metavar="ID", help="an arXiv id"
        )
        parser.add_argument(
            "--file",
            action="append",
            dest="files",
            metavar="PATH",
            help="a saved response instead of fetching (repeatable)",
        )

    def handle(self, papers=None, files=None, **options):
        self.verbosity = options["verbosity"]
        selected = self._papers(papers)
        report = service.Report()
        if files:
            if len(selected) > 1:
                raise CommandError("--file goes with at most one --paper.")
            paper = selected[0] if selected else None
            for path in self._bar(files, "files"):
                service.apply_file(path, paper, report)
            return self._finish(report)
        if selected:
            ids = [p.pk for p in selected]
            service.link_papers(Paper.objects.filter(pk__in=ids))
            repositories = Repository.objects.filter(papers__paper_id__in=ids).distinct()
            artifacts_for = selected
        else:
            service.link_papers(service.papers_to_link())
            repositories = service.due_repositories()
            artifacts_for = service.due_papers()
        repositories, artifacts_for = list(repositories), list(artifacts_for)
        bar = self._bar(None, "signals", total=len(repositories) + len(artifacts_for))
        service.refresh_repositories(repositories, report, on_item=bar.update)
        if not report.stopped:
            service.refresh_artifacts(artifacts_for, report, on_item=bar.update)
        bar.close()
        self._finish(report)

    def _papers(self, ids):
        if not ids:
            return []
        found = {p.arxiv_id: p for p in Paper.objects.filter(arxiv_id__in=ids)}
        unknown = [i for i in ids if i not in found]
        if unknown:
            raise CommandError(f"No such paper here: {', '.join(unknown)}.")
        return [found[i] for i in dict.fromkeys(ids)]

    def _bar(self, iterable, desc, total=None):
        return tqdm(
            iterable,
            total=total,
            file=sys.stderr,
            disable=self.verbosity == 0,
            dynamic_ncols=True,
            unit=" records",
            desc=desc,
        )

    def _finish(self, report: service.Report):
        for renamed in report.renamed:
            self.stdout.write(f"renamed: {renamed}")
        for failure in report.failures:
            self.stderr.write(f"failed: {failure}")
        self.stdout.write(f"code signals: {report.summary()}")
        if report.failures:
            raise CommandError(
                f"{len(report.failures)} record(s) failed (named above); the others were stored."
            )
