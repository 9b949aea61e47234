"""The JSON API, shaped like Hugging Face's daily papers API (GET /api/daily_papers and
GET /api/papers/{id}) for the fields this site has. Documented at /api/.

Field names follow Hugging Face's; optional fields we have no value for are left out, as
Hugging Face leaves them out. Hugging Face fields with no counterpart here (media, AI
summaries) are never sent; `comments` counts the paper's discussion here, as Hugging
Face's numComments does there. Feature apps add their fields through
papers.hooks.paper_json (issue 13: `githubStars` from codesignals, `thumbnail`, an
absolute URL or null, from thumbnails).
"""

import datetime as dt
import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from . import hooks, ranking
from .dates import PARSERS
from .links import http_url
from .models import Paper

DEFAULT_LIMIT = 50
MAX_LIMIT = 100

# As django.utils.html.json_script does: JSON that is pasted into HTML stays inert.
_JSON_ESCAPES = ((">", "\\u003E"), ("<", "\\u003C"), ("&", "\\u0026"))


def json_response(data, status=200, headers=None) -> HttpResponse:
    body = json.dumps(data, ensure_ascii=False)
    # str.replace, not str.translate with a table: translate looks each character of
    # the text up in the table (4 ms for a day's 50 papers), replace scans in C.
    for character, escaped in _JSON_ESCAPES:
        body = body.replace(character, escaped)
    response = HttpResponse(body, status=status, content_type="application/json", headers=headers)
    # Public, read-only data: any site may fetch it from a browser.
    response["Access-Control-Allow-Origin"] = "*"
    return response


def error(message: str, status=400) -> HttpResponse:
    return json_response({"error": message}, status=status)


def timestamp(moment: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds, as Hugging Face writes them."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def user_json(user) -> dict:
    return {"name": user.username, "fullname": user.public_name}


def paper_json(paper, authors: list[str]) -> dict:
    """The `paper` object: GET /api/papers/{id}, and inside each daily item."""
    data = {
        "id": paper.arxiv_id,
        "authors": [{"name": name} for name in authors],
        "publishedAt": timestamp(paper.published_at),
        "title": paper.title,
        "summary": paper.abstract,
        "upvotes": paper.upvote_count,
        "comments": paper.comment_count,  # Hugging Face's numComments (issue 14)
    }
    if paper.daily_date:
        data["submittedOnDailyAt"] = timestamp(ranking.featured_at(paper.daily_date))
    if paper.submitted_by_id:
        data["submittedOnDailyBy"] = user_json(paper.submitted_by)
    if http_url(paper.code_url):
        data["githubRepo"] = http_url(paper.code_url)
    if http_url(paper.project_url):
        data["projectPage"] = http_url(paper.project_url)
    hooks.paper_json.send(None, paper=paper, data=data)
    return data


def daily_item_json(paper, authors: list[str]) -> dict:
    """One entry of GET /api/daily_papers."""
    data = {
        "paper": paper_json(paper, authors),
        "publishedAt": timestamp(ranking.featured_at(paper.daily_date)),
        "title": " ".join(paper.title.split()),
        "summary": paper.abstract,
    }
    if paper.submitted_by_id:
        data["submittedBy"] = user_json(paper.submitted_by)
    if "thumbnail" in data["paper"]:
        data["thumbnail"] = data["paper"]["thumbnail"]  # where Hugging Face puts it too
    return data


def example_json() -> dict:
    """A daily item for a well-known paper, for the API documentation: produced by the
    code above, so the documentation shows exactly what the API sends."""
    paper = Paper(
        arxiv_id="1706.03762",
        title="Attention Is All You Need",
        abstract="The dominant sequence transduction models are based on complex recurrent "
        "or convolutional neural networks in an encoder-decoder configuration. …",
        published_at=dt.datetime(2017, 6, 12, 17, 57, 34, tzinfo=dt.UTC),
        daily_date=dt.date(2017, 6, 13),
        upvote_count=42,
        code_url="https://github.com/tensorflow/tensor2tensor",
        submitted_by=get_user_model()(pk=1, username="ada", display_name="Ada Lovelace"),
    )
    authors = ["Ashish Vaswani", "Noam Shazeer", "Niki Parmar", "Jakob Uszkoreit"]
    return daily_item_json(paper, authors)


def _names(paper) -> list[str]:
    return [authorship.author.name for authorship in paper.all_authorships]


def _int_param(request, name, default, low, high):
    raw = request.GET.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number from {low} to {high}.") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}.")
    return value


@require_GET
def daily_papers(request):
    """?date=YYYY-MM-DD | week=YYYY-Www | month=YYYY-MM (none: the latest day with
    papers), &p= (page, from 0) &limit= (1-100). Most upvoted first."""
    given = [name for name in PARSERS if request.GET.get(name)]
    if len(given) > 1:
        return error("Give at most one of date, week and month.")
    try:
        limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        page = _int_param(request, "p", 0, 0, 10_000)
        if given:
            period = PARSERS[given[0]](request.GET[given[0]])
            first, last = period.first, period.last
        else:
            first = last = Paper.objects.latest_day()
    except ValueError as exc:
        return error(str(exc))
    if request.GET.get("has_code", "") not in ("", "0", "1"):
        return error("has_code must be 1 (only papers with code) or 0.")
    if first is None:
        return json_response([])
    papers = (
        Paper.objects.visible()
        .featured_between(first, last)
        .select_related("submitted_by", *hooks.listing_relations())
        .with_all_authors()
        .ranked()
    )
    if request.GET.get("has_code") == "1":
        papers = papers.with_code()
    papers = papers[page * limit : (page + 1) * limit + 1]
    papers = list(papers)
    headers = {}
    if len(papers) > limit:
        query = request.GET.copy()
        query["p"] = page + 1
        url = f"{settings.SITE_URL}{reverse('papers:api_daily_papers')}?{query.urlencode()}"
        headers["Link"] = f'<{url}>; rel="next"'
    return json_response([daily_item_json(p, _names(p)) for p in papers[:limit]], headers=headers)


@require_GET
def paper(request, arxiv_id):
    papers = Paper.objects.visible().select_related("submitted_by", *hooks.listing_relations())
    papers = papers.with_all_authors()
    found = papers.filter(arxiv_id=arxiv_id).first()
    if found is None:
        return error(f"No paper {arxiv_id} here.", status=404)
    return json_response(paper_json(found, _names(found)))
