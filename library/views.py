"""The library's pages: saving papers, the reading list, collections, exports, imports."""

import math
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Window
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_ratelimit.core import is_ratelimited

from accounts import signin
from accounts.models import User
from papers import cards, links
from papers.models import Paper
from papers.pagination import page_number, paginate, paginate_counted
from search import fulltext, matching

from . import export, imports, pending
from .forms import CollectionForm, ImportForm, LibraryFilterForm, NoteForm
from .models import Collection, CollectionItem, LibraryFeed, SavedPaper, viewable_collection

COLLECTION_PAGE = 50
EXPORT_LIMIT = 10_000


def _at_card(back, paper):
    """`back` scrolled to the paper's card (cards have id="paper-<pk>"), so a save
    without JavaScript lands where the reader was."""
    if urlsplit(back).path == paper.get_absolute_url():
        return back
    return f"{back}#paper-{paper.pk}"


def _limited(request, group: str, rate: str) -> bool:
    return is_ratelimited(request, group=f"library:{group}", key="user", rate=rate, increment=True)


def _too_fast(request, message="You are going too fast: wait a minute and try again."):
    if request.htmx:
        return HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    messages.error(request, message)
    return render(request, "errors/429.html", status=429)


# --- Saving -----------------------------------------------------------------------------


@require_POST
def save(request, arxiv_id):
    """Save (action=save) or remove (action=remove) a paper from the user's library.
    Explicit actions, like votes: a retried request can't undo itself."""
    paper = get_object_or_404(Paper.objects.visible(), arxiv_id=arxiv_id)
    back = links.safe_next(request, paper.get_absolute_url())
    action = "remove" if request.POST.get("action") == "remove" else "save"
    if not request.user.is_authenticated:
        # Saved on sign-in (library.signals), then back to the page they were on.
        if action == "save":
            pending.remember(request, paper)
        login_url = signin.login_url(back, "save")
        if request.htmx:
            return HttpResponseClientRedirect(login_url)
        return redirect(login_url)
    if _limited(request, "save", settings.LIBRARY_SAVE_RATE_LIMIT):
        return _too_fast(request, "You are saving too fast: wait a minute.")
    if action == "save":
        SavedPaper.objects.save_paper(request.user, paper)
    else:
        SavedPaper.objects.remove_paper(request.user, paper)
    paper.user_has_saved = action == "save"
    if request.htmx:
        return render(request, "library/_save_button.html", {"paper": paper})
    messages.success(
        request, "Saved to your library." if action == "save" else "Removed from your library."
    )
    return redirect(_at_card(back, paper))


@login_required
@require_POST
def mark_read(request, arxiv_id):
    paper = get_object_or_404(Paper.objects.all(), arxiv_id=arxiv_id)
    if _limited(request, "save", settings.LIBRARY_SAVE_RATE_LIMIT):
        return _too_fast(request)
    read = request.POST.get("action") == "read"
    if not SavedPaper.objects.mark_read(request.user, paper, read):
        raise Http404("This paper is not in your library.")
    if request.htmx:
        paper.read_at = timezone.now() if read else None
        return render(request, "library/_read_toggle.html", {"paper": paper})
    return redirect(_at_card(links.safe_next(request, reverse("library:library")), paper))


# --- The reading list -------------------------------------------------------------------


@login_required
def library(request):
    form = LibraryFilterForm(request.GET)
    if not form.is_valid():
        form = LibraryFilterForm({})
        form.is_valid()
    data = form.cleaned_data
    saves = SavedPaper.objects.in_library(
        request.user, unread=data["unread"], category=data["cat"], has_code=data["code"]
    )
    context = {"form": form, "too_slow": False, "searching": bool(data["q"])}
    if data["q"]:
        try:
            with fulltext.time_limit():
                ids = matching.search_ids(
                    Paper.objects.filter(pk__in=saves.values("paper")), data["q"]
                )
                page = paginate(request, ids)
                page.object_list = _saved_papers(request.user, page.object_list)
        except fulltext.SearchTookTooLong:
            page, context["too_slow"] = None, True
    else:
        # The page's ids from the saves alone, newest saved first, through
        # saved_by_user_newest; then only those papers are read.
        page = _page_with_total(request, saves.order_by("-saved_at", "-id"), "paper_id")
        if page is None:  # past the end (an old link): to the last page
            last = max(math.ceil(saves.count() / settings.PAPERS_PER_PAGE), 1)
            query = request.GET.copy()
            query["page"] = last
            return redirect(f"{request.path}?{query.urlencode()}")
        page.object_list = _saved_papers(request.user, page.object_list)
    context.update(page=page, collections=_collections_of(request.user))
    if not data["q"]:
        # Not on a search: its time limit costs two statements (the page keeps to eight).
        context["feed"] = LibraryFeed.objects.filter(user=request.user).first()
    return render(request, "library/library.html", context)


def _page_with_total(request, ordered, field, per_page=None):
    """A page of `field` values from the `ordered` queryset, with the number of rows
    in all of it (for "N papers" and the page links) counted in the same query
    (COUNT(*) OVER ()): one statement where Paginator takes two. None past the end."""
    per_page = per_page or settings.PAPERS_PER_PAGE
    number = page_number(request, math.inf)
    start = (number - 1) * per_page
    rows = list(
        ordered.annotate(total=Window(Count("pk"))).values_list(field, "total")[
            start : start + per_page
        ]
    )
    if not rows and number > 1:
        return None
    paginator = Paginator(ordered, per_page)
    paginator.count = rows[0][1] if rows else 0  # a cached_property: never computed
    return Page([value for value, _ in rows], number, paginator)


def _saved_by(user):
    """The papers `user` saved, with when (cards.Described: compiled once per shape)."""
    return (
        Paper.objects.for_listing(user)
        .filter(saves__user=user)
        .annotate(saved_at=F("saves__saved_at"), read_at=F("saves__read_at"))
    )


def _saved_papers(user, ids):
    """The papers with these ids, for cards, with when `user` saved and read them, in
    the order of `ids`, for their cards (papers.cards.rows_in_order: one query)."""
    papers = cards.Described(_saved_by, user=user)
    # Once their cards are cached, only what the page shows beside them is read.
    listed = cards.rows_in_order(papers, ids, also=("arxiv_id", "saved_at", "read_at"))
    for paper in listed:
        # "Saved 5 Dec 2026" under each card: formatted here, once, as the template's
        # date filter does it (~3x dearer through the filter, twice a card).
        saved = timezone.localtime(paper.saved_at)
        paper.saved_on = saved.date().isoformat()
        paper.saved_label = dateformat.format(saved, "j M Y")
    return listed


def _collections_of(user):
    return list(
        user.collections.annotate(size=Count("items"))
        .order_by("-updated_at")
        .only("pk", "name", "slug", "visibility", "updated_at", "owner_id")
    )


@login_required
def export_library(request, fmt):
    papers = (
        Paper.objects.visible()
        .filter(saves__user=request.user)
        .with_all_authors()
        .annotate(saved_at=F("saves__saved_at"), read_at=F("saves__read_at"))
        .order_by("-saved_at", "-id")[:EXPORT_LIMIT]
    )

    def extra(paper):
        return {
            "saved": f"{paper.saved_at:%Y-%m-%d}",
            "read": f"{paper.read_at:%Y-%m-%d}" if paper.read_at else "",
        }

    return _export_response(papers, fmt, f"library-{request.user.username}", extra)


FORMATS = {
    "bib": ("application/x-bibtex", export.bibtex),
    "ris": ("application/x-research-info-systems", export.ris),
}


def _export_response(papers, fmt, filename, csv_extra=None):
    papers = list(papers)
    if fmt == "csv":
        body, content_type = export.csv_text(papers, csv_extra), "text/csv"
    else:
        content_type, write = FORMATS[fmt]
        body = write(papers)
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    response["X-Robots-Tag"] = "noindex"
    return response


# --- The library feed ---------------------------------------------------------------------


@login_required
@require_POST
def feed_token(request):
    """Create the private feed's secret, make a new one (revoking the old URL), or
    turn the feed off."""
    action = request.POST.get("action")
    feed = LibraryFeed.objects.filter(user=request.user).first()
    if action == "off":
        if feed:
            feed.delete()
        messages.success(request, "Your library feed is off: its old address no longer works.")
    elif feed is None:
        LibraryFeed.objects.get_or_create(user=request.user)
        messages.success(request, "Your private library feed is on.")
    else:
        feed.regenerate()
        messages.success(request, "Your library feed has a new address: the old one is revoked.")
    return redirect(f"{reverse('library:library')}#feed")


# --- Import ---------------------------------------------------------------------------


@login_required
def import_papers(request):
    collections = list(request.user.collections.order_by("name"))
    form = ImportForm(
        request.POST or None,
        request.FILES or None,
        collections=collections,
        # "Import into it" on a collection's page chooses the collection.
        initial={"collection": request.GET.get("collection", "")[:20]},
    )
    context = {"form": form, "lines": None, "max_ids": imports.MAX_IDS}
    status = 200
    if request.method == "POST":
        if _limited(request, "import", settings.LIBRARY_IMPORT_RATE_LIMIT):
            return _too_fast(
                request, "You have imported many times in a short while: try again in an hour."
            )
        upload = request.FILES.get("bibtex")
        if upload is not None and upload.size > imports.MAX_FILE_BYTES:
            # Checked before the file is read: a 10 MB upload never reaches the parser.
            form.add_error(
                "bibtex",
                f"The file is {upload.size / 1024 / 1024:.1f} MB; at most 1 MB can be "
                "imported. Nothing was imported.",
            )
        if form.is_valid():
            collection = next(
                (c for c in collections if c.pk == form.cleaned_data["collection"]), None
            )
            try:
                lines = []
                if form.cleaned_data["ids"].strip():
                    lines += imports.lines_from_text(form.cleaned_data["ids"])
                if upload is not None:
                    lines += imports.lines_from_bibtex(upload.read(imports.MAX_FILE_BYTES + 1))
                imports._check_count(len(lines))
            except imports.ImportRefused as refusal:
                form.add_error(None, str(refusal))
            else:
                context["lines"] = imports.run_import(request, lines, collection)
                context["collection"] = collection
                context["counts"] = _count_statuses(context["lines"])
        if form.errors:
            status = 400
    return render(request, "library/import.html", context, status=status)


STATUS_WORDS = {
    "saved": "saved",
    "already": "already in your library",
    "fetching": "being fetched from arXiv",
    "duplicate": "listed twice",
    "invalid": "not recognised",
    "hidden": "hidden by moderators",
    "limited": "over the submission limit",
    "missing": "not added",
}


def _count_statuses(lines):
    """{"3 saved": "saved", ...}: the summary above the per-line results."""
    counts = {}
    for line in lines:
        counts[line.status] = counts.get(line.status, 0) + 1
    return {f"{n} {STATUS_WORDS.get(status, status)}": status for status, n in counts.items()}


# --- Collections --------------------------------------------------------------------------


def _own_collection(request, username, slug) -> Collection:
    """The signed-in user's collection, else 404 (someone else's is not theirs to edit,
    and its existence is not disclosed)."""
    if not request.user.is_authenticated or request.user.username != username:
        raise Http404("No such collection.")
    return get_object_or_404(Collection, owner=request.user, slug=slug)


def _viewable_collection(request, username, slug) -> Collection:
    """A collection the visitor may read (models.viewable_collection), else a 404 as if
    it did not exist."""
    collection = viewable_collection(request.user, username, slug, request.GET.get("key", ""))
    if collection is None:
        raise Http404("No such collection.")
    return collection


@login_required
def new_collection(request):
    form = CollectionForm(request.POST or None)
    # "Add to a new collection" on a paper's page passes the paper along.
    paper = Paper.objects.visible().filter(arxiv_id=request.POST.get("paper", "")).first()
    if request.method == "POST":
        if _limited(request, "collection", settings.LIBRARY_COLLECTION_RATE_LIMIT):
            return _too_fast(request, "You have made many collections recently: try later.")
        if form.is_valid():
            data = form.cleaned_data
            collection = Collection.objects.create_named(
                request.user, data["name"], data["description"], data["visibility"]
            )
            if paper:
                collection.add_paper(paper)
            messages.success(request, f"Collection “{collection.name}” created.")
            return redirect(collection)
    return render(
        request,
        "library/collection_form.html",
        {"form": form, "paper": paper},
        status=400 if form.errors else 200,
    )


def collection(request, username, slug):
    collection = _viewable_collection(request, username, slug)
    is_owner = request.user.is_authenticated and request.user.pk == collection.owner_id
    items = collection.items.order_by("position", "id").only(
        "pk", "paper", "position", "note", "note_html", "collection"
    )
    count = collection.items.count()
    page = paginate_counted(request, items, count, per_page=COLLECTION_PAGE)
    items = list(page.object_list)
    papers = {
        paper.pk: paper
        # Their titles and card keys once their cards are cached (one query either way).
        for paper in cards.rows_in_order(cards.listed(request.user), [i.paper_id for i in items])
    }
    for item in items:
        item.listed_paper = papers.get(item.paper_id)
    page.object_list = [i for i in items if i.listed_paper is not None]
    context = {
        "collection": collection,
        "page": page,
        # The items' papers, for their cards (papers_tags.paper_cards_each).
        "papers": [item.listed_paper for item in page.object_list],
        "is_owner": is_owner,
        "count": count,
        "key": request.GET.get("key", "") if collection.is_unlisted else "",
        "canonical_url": settings.SITE_URL + collection.get_absolute_url(),
    }
    if is_owner:
        context["form"] = CollectionForm(instance=collection, auto_id="edit_%s")
        # Each item's move, note and remove URLs (library:move_item, ...): this prefix and
        # "<pk>/move/", rather than three reverse() calls for each of 50 items.
        context["items_url"] = f"{collection.get_absolute_url()}items/"
    return render(request, "library/collection.html", context)


@login_required
@require_POST
def edit_collection(request, username, slug):
    collection = _own_collection(request, username, slug)
    if _limited(request, "edit", settings.LIBRARY_EDIT_RATE_LIMIT):
        return _too_fast(request)
    form = CollectionForm(request.POST, instance=collection, auto_id="edit_%s")
    if form.is_valid():
        form.save()
        messages.success(request, "Collection saved.")
        return redirect(collection)
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    return redirect(collection)


@login_required
@require_POST
def delete_collection(request, username, slug):
    collection = _own_collection(request, username, slug)
    name = collection.name
    collection.delete()
    messages.success(request, f"Collection “{name}” deleted. The papers stay in your library.")
    return redirect("library:library")


@login_required
@require_POST
def share_link(request, username, slug):
    """A new secret for the unlisted link: the old link stops working."""
    collection = _own_collection(request, username, slug)
    collection.regenerate_token()
    messages.success(request, "The collection has a new secret link: the old one is revoked.")
    return redirect(f"{collection.get_absolute_url()}#share")


@login_required
@require_POST
def add_to_collection(request, arxiv_id):
    paper = get_object_or_404(Paper.objects.visible(), arxiv_id=arxiv_id)
    collection = get_object_or_404(
        Collection, owner=request.user, pk=_int(request.POST.get("collection"))
    )
    if _limited(request, "edit", settings.LIBRARY_EDIT_RATE_LIMIT):
        return _too_fast(request)
    if collection.add_paper(paper):
        messages.success(request, f"Added to “{collection.name}”.")
    else:
        messages.info(request, f"Already in “{collection.name}”.")
    return redirect(links.safe_next(request, paper.get_absolute_url()))


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _own_item(request, username, slug, pk) -> tuple[Collection, CollectionItem]:
    collection = _own_collection(request, username, slug)
    item = get_object_or_404(collection.items.select_related("paper"), pk=pk)
    return collection, item


def _back_to_item(collection, item, request):
    page = request.POST.get("page", "")
    query = f"?page={page}" if page.isdigit() else ""
    return redirect(f"{collection.get_absolute_url()}{query}#item-{item.pk}")


@login_required
@require_POST
def remove_item(request, username, slug, pk):
    collection, item = _own_item(request, username, slug, pk)
    item.delete()
    collection.touch()
    messages.success(request, f"Removed “{item.paper.title[:80]}” from the collection.")
    return redirect(collection)


@login_required
@require_POST
def move_item(request, username, slug, pk):
    """Move an item one place up or down: the buttons beside each item, which work
    without JavaScript and from the keyboard."""
    collection, item = _own_item(request, username, slug, pk)
    if _limited(request, "edit", settings.LIBRARY_EDIT_RATE_LIMIT):
        return _too_fast(request)
    offset = {"up": -1, "down": 1, "top": -(10**9), "bottom": 10**9}.get(
        request.POST.get("direction"), 0
    )
    if offset:
        collection.move(item.pk, max(min(offset, 10**6), -(10**6)))
    if request.htmx:
        return HttpResponse(status=204, headers={"HX-Refresh": "true"})
    return _back_to_item(collection, item, request)


@login_required
@require_POST
def reorder(request, username, slug):
    """The new order of some items (a dragged page): `order` is their ids, comma
    separated, in the order they now stand; they take the places they held between
    them."""
    collection = _own_collection(request, username, slug)
    if _limited(request, "edit", settings.LIBRARY_EDIT_RATE_LIMIT):
        return _too_fast(request)
    ids = [_int(part) for part in request.POST.get("order", "").split(",") if part.strip()]
    if None in ids or not ids or not collection.reorder(ids):
        return HttpResponse(
            "The list changed meanwhile: reload the page.",
            status=409,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(status=204)


@login_required
@require_POST
def edit_note(request, username, slug, pk):
    collection, item = _own_item(request, username, slug, pk)
    if _limited(request, "edit", settings.LIBRARY_EDIT_RATE_LIMIT):
        return _too_fast(request)
    form = NoteForm(request.POST)
    if form.is_valid():
        item.set_note(form.cleaned_data["note"])
        collection.touch()
        messages.success(request, "Note saved.")
    else:
        messages.error(request, form.errors["note"][0])
    return _back_to_item(collection, item, request)


def export_collection(request, username, slug, fmt):
    collection = _viewable_collection(request, username, slug)
    papers = list(
        Paper.objects.visible()
        .filter(collection_items__collection=collection)
        .with_all_authors()
        .annotate(note=F("collection_items__note"), position=F("collection_items__position"))
        .order_by("position", "collection_items__id")[:EXPORT_LIMIT]
    )

    def extra(paper):
        return {"note": paper.note}

    return _export_response(papers, fmt, f"{collection.owner.username}-{collection.slug}", extra)


def user_collections_page(request, username):
    """All the public collections of a user."""
    person = get_object_or_404(User, username=username, is_active=True)
    collections = (
        person.collections.select_related("owner")
        .annotate(size=Count("items"))
        .order_by("-updated_at")
    )
    if not (request.user.is_authenticated and request.user.pk == person.pk):
        collections = collections.public()
    return render(
        request,
        "library/collections.html",
        {"person": person, "collections": list(collections)},
    )
