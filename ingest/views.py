"""Submitting papers (issue 4): a signed-in user names an arXiv paper; a task fetches it
from arXiv and it joins today's list "submitted by" them (submit.py). The page polls
the submission's status with htmx until the fetch is done. The URLs keep their names in
the papers namespace (papers:submit, papers:submission_status; see config/urls.py)."""

import math

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django_ratelimit.core import get_usage

from papers.queueing import enqueue_on_commit

from .models import Submission
from .submit import SubmitPaperForm, submit_paper
from .tasks import fetch_submission


def _submit_rate(group, request):
    return settings.SUBMIT_RATE_LIMIT


def _rate_in_words(rate: str) -> str:
    """ "10/h" -> "10 papers an hour" (django-ratelimit's notation)."""
    count, _, period = rate.partition("/")
    units = {"s": "second", "m": "minute", "h": "hour", "d": "day"}
    number, unit = period[:-1], units.get(period[-1:], "hour")
    per = (
        f"every {number} {unit}s"
        if number not in ("", "1")
        else f"a{'n' * (unit == 'hour')} {unit}"
    )
    return f"{count} paper{'s' * (count != '1')} {per}"


def _submit_usage(request, increment=False) -> dict | None:
    """The user's submissions in the current window (django-ratelimit's count)."""
    return get_usage(
        request, group="papers:submit", key="user", rate=_submit_rate, increment=increment
    )


def _wait_in_words(seconds: int) -> str:
    minutes = max(math.ceil(seconds / 60), 1)
    if minutes < 60:
        return f"{minutes} minute{'s' * (minutes != 1)}"
    hours = round(minutes / 60)
    return f"about {hours} hour{'s' * (hours != 1)}"


@login_required
def submit(request):
    # ?arxiv_id= comes from "Submit this paper" on a search or a paper's 404.
    form = SubmitPaperForm(
        request.POST or None, initial={"paper": request.GET.get("arxiv_id", "")[:200]}
    )
    featured_paper, status, retry_after = None, 200, None
    if request.method == "POST":
        # Only submissions that were made count against the limit: a typo, a paper that
        # is already featured or any other refusal costs nothing. (Two submissions at
        # the same instant may both pass the check: the limit is a brake, not a quota.)
        usage = _submit_usage(request)
        if usage and usage["count"] >= usage["limit"]:
            retry_after = max(usage["time_left"], 1)
            form.add_error(
                None,
                "You have submitted many papers recently: the limit is "
                f"{_rate_in_words(settings.SUBMIT_RATE_LIMIT)}. "
                f"Try again in {_wait_in_words(retry_after)}.",
            )
            status = 429
        elif form.is_valid():
            outcome = submit_paper(request.user, form.cleaned_data["paper"])
            featured_paper = outcome.featured_paper
            if outcome.refused:
                form.add_error("paper", outcome.refused)
            if outcome.submission:
                _submit_usage(request, increment=True)
                if outcome.submission.is_pending:
                    enqueue_on_commit(
                        fetch_submission,
                        outcome.submission.pk,
                        on_failure=outcome.submission.fail_unqueued,
                    )
                url = reverse("papers:submit")
                return redirect(f"{url}?submission={outcome.submission.pk}")
    shown = request.GET.get("submission", "")
    request.user.submissions.time_out()
    submissions = request.user.submissions.select_related("paper").order_by("-created_at")
    context = {
        "form": form,
        "featured_paper": featured_paper,
        "submission": submissions.filter(pk=shown).first() if shown.isdigit() else None,
        "recent": submissions[:10],
        "rate_limit": _rate_in_words(settings.SUBMIT_RATE_LIMIT),
    }
    response = render(request, "papers/submit.html", context, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@login_required
def submission_status(request, pk):
    request.user.submissions.filter(pk=pk).time_out()
    submission = get_object_or_404(
        Submission.objects.select_related("paper"), pk=pk, user=request.user
    )
    if not request.htmx:
        return redirect(f"{reverse('papers:submit')}?submission={submission.pk}")
    return render(request, "papers/_submission_status.html", {"submission": submission})
