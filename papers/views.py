from django.contrib.auth.views import redirect_to_login
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .models import Author, Paper


def _listing(request, papers, heading):
    return render(request, "papers/list.html", {"papers": papers[:30], "heading": heading})


def daily(request):
    latest = Paper.objects.visible().featured().order_by("-daily_date").first()
    papers = Paper.objects.for_listing(request.user)
    if latest:
        papers = papers.on_day(latest.daily_date)
    return _listing(request, papers.ranked(), "Daily papers")


def trending(request):
    return _listing(request, Paper.objects.for_listing(request.user).trending(), "Trending")


def new(request):
    return _listing(request, Paper.objects.for_listing(request.user).newest(), "New")


def search(request):
    q = request.GET.get("q", "")[:200]
    papers = Paper.objects.for_listing(request.user).filter(title__icontains=q).newest()
    return _listing(request, papers, "Search")


def paper_detail(request, arxiv_id):
    paper = get_object_or_404(Paper.objects.visible(), arxiv_id=arxiv_id)
    return render(request, "papers/detail.html", {"paper": paper})


def author_detail(request, slug):
    author = get_object_or_404(Author, slug=slug)
    papers = Paper.objects.for_listing(request.user).filter(authorships__author=author).newest()
    return _listing(request, papers, author.name)


def about_ranking(request):
    return render(request, "papers/about_ranking.html")


def api_docs(request):
    return render(request, "papers/api_docs.html")


def page_not_found(request, exception):
    return render(request, "errors/404.html", status=404)


def server_error(request):
    return render(request, "errors/500.html", status=500)


def _safe_next(request, fallback):
    target = request.POST.get("next") or request.META.get("HTTP_REFERER") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


@require_POST
def vote(request, arxiv_id):
    """Add (action=up) or withdraw (action=remove) the user's upvote. Explicit actions,
    not a toggle, so a double click or a retried request can't undo itself."""
    paper = get_object_or_404(Paper.objects.visible(), arxiv_id=arxiv_id)
    back = _safe_next(request, paper.get_absolute_url())
    if not request.user.is_authenticated:
        return redirect_to_login(back)
    if request.POST.get("action") == "remove":
        paper.remove_vote(request.user)
    else:
        paper.add_vote(request.user)
    if request.htmx:
        paper = Paper.objects.with_user_votes(request.user).get(pk=paper.pk)
        return render(request, "papers/_vote_button.html", {"paper": paper})
    return redirect(back)
