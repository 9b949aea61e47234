"""The library in a real browser (Chromium through Playwright, against the live server):
saving in place from a list, the anonymous round trip, marking read, reordering a
collection from the keyboard, with the buttons and by dragging, importing, and pages
that fit a phone."""

import re
import time

from library.models import Collection, SavedPaper

from .accounts_helpers import sign_in_browser, sign_in_with_form, verified
from .factories import PaperFactory, UserFactory


def _member(username="reader"):
    return verified(UserFactory(username=username, email=f"{username}@example.org"))


def _order(collection):
    return list(collection.items.order_by("position", "id").values_list("paper__title", flat=True))


def _wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_a_reader_saves_from_the_list_in_place_and_reads_it_in_the_library(page, live_server):
    reader = _member()
    first, second = PaperFactory(title="First Paper"), PaperFactory(title="Second Paper")
    sign_in_browser(page.context, reader, live_server)
    page.goto("/")
    page.evaluate("window.__notReloaded = true")
    card = page.locator(f"#paper-{first.pk}")
    card.get_by_role("button", name=re.compile("^Save to your library")).click()
    card.get_by_role("button", name=re.compile("^Saved to your library")).wait_for()
    assert page.evaluate("window.__notReloaded") is True
    assert SavedPaper.objects.filter(user=reader, paper=first).exists()
    assert not SavedPaper.objects.filter(paper=second).exists()

    page.goto("/library/")
    assert page.get_by_role("heading", name="Your library").is_visible()
    assert page.locator(f"#paper-{first.pk}").is_visible()
    page.evaluate("window.__notReloaded = true")
    page.get_by_role("button", name=re.compile("^Mark read")).click()
    page.get_by_role("button", name=re.compile("^Mark unread")).wait_for()
    assert page.evaluate("window.__notReloaded") is True
    assert SavedPaper.objects.get(user=reader).read_at is not None


def test_an_anonymous_save_signs_in_and_comes_back_saved(page, live_server):
    _member("later")
    paper = PaperFactory(title="Worth Keeping")
    page.goto(paper.get_absolute_url())
    page.locator(".paper-save").get_by_role("button", name=re.compile("^Save")).click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    assert "Sign in to save papers" in page.content()
    sign_in_with_form(page, "later@example.org", "later")
    assert _wait_for(lambda: SavedPaper.objects.filter(paper=paper).exists())


def test_a_collection_is_reordered_with_the_keyboard_buttons_and_by_dragging(page, live_server):
    owner = _member("owner")
    collection = Collection.objects.create_named(owner, "Ordered")
    papers = [PaperFactory(title=f"Paper {name}") for name in ("A", "B", "C")]
    collection.add_papers(papers)
    items = {i.paper.title: i for i in collection.items.select_related("paper")}
    sign_in_browser(page.context, owner, live_server)
    page.goto(collection.get_absolute_url())

    # Keyboard only: focus "Move down" on A and press Enter (a plain form POST).
    page.get_by_role("button", name="Move down: Paper A").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"#item-{items['Paper A'].pk}$"))
    assert _order(collection) == ["Paper B", "Paper A", "Paper C"]
    # The buttons by mouse.
    page.get_by_role("button", name="Move up: Paper C").click()
    page.wait_for_load_state()
    assert _wait_for(lambda: _order(collection) == ["Paper B", "Paper C", "Paper A"])

    # Drag A to the top: the new order is posted without a reload.
    page.goto(collection.get_absolute_url())
    page.locator(".drag-handle").first.wait_for()
    page.evaluate("window.__notReloaded = true")
    source = page.locator(f"#item-{items['Paper A'].pk} .card-title")
    target = page.locator(f"#item-{items['Paper B'].pk} .card-title")
    source.drag_to(target, target_position={"x": 5, "y": 2})
    assert _wait_for(lambda: _order(collection) == ["Paper A", "Paper B", "Paper C"])
    assert page.evaluate("window.__notReloaded") is True


def test_a_reader_imports_ids_and_sees_a_result_per_line(page, live_server):
    reader = _member()
    PaperFactory(arxiv_id="2406.12345", title="Known Paper")
    sign_in_browser(page.context, reader, live_server)
    page.goto("/library/import/")
    page.get_by_label("arXiv ids or links").fill("2406.12345\nnonsense")
    page.get_by_role("button", name="Import").click()
    results = page.locator(".import-lines")
    results.wait_for()
    assert "Known Paper" in results.inner_text()
    assert "Not an arXiv id or link." in results.inner_text()
    assert SavedPaper.objects.filter(user=reader, paper__arxiv_id="2406.12345").exists()


def test_library_pages_fit_a_phone_screen(page, live_server):
    owner = _member("owner")
    paper = PaperFactory(
        title="A Very Long Title " * 8, code_url="https://github.com/example/project"
    )
    SavedPaper.objects.save_paper(owner, paper)
    collection = Collection.objects.create_named(owner, "Phone " * 20, "x" * 300, "unlisted")
    collection.add_paper(paper)
    collection.items.get().set_note("A note with `code_that_is_very_long_" + "x" * 80 + "`")
    sign_in_browser(page.context, owner, live_server)
    page.set_viewport_size({"width": 320, "height": 700})
    for url in ("/library/", collection.get_absolute_url(), "/library/import/",
                "/collections/new/", paper.get_absolute_url()):  # fmt: skip
        page.goto(url)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        wide = page.evaluate(
            "[...document.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > 321)"
            ".map(e => e.tagName + '.' + e.className + ' ' + e.getBoundingClientRect().right)"
            ".slice(0, 12)"
        )
        assert overflow <= 0, (url, overflow, wide)
