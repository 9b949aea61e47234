"""The pages in a real Chromium: math rendering, phone width, dark mode, keyboard."""

import pytest
from playwright.sync_api import expect

from .factories import PaperFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}


@pytest.fixture
def papers():
    formula = PaperFactory(
        arxiv_id="2406.12345",
        title="Tight bounds on $\\sum_{i=1}^{n} x_i^2$ for sparse vectors",
        abstract=(
            "We prove that \\(a^2 + b^2 = c^2\\) whenever the vectors are sparse. "
            "The main identity is $$\\int_0^1 f(x)\\,dx = \\lim_{n\\to\\infty} "
            "\\frac{1}{n}\\sum_{k=1}^{n} f\\left(\\frac{k}{n}\\right)$$ for every "
            "continuous f."
        ),
        authors=["Ada Lovelace", "Alan Turing"],
    )
    long_words = PaperFactory(
        arxiv_id="hep-th/9901001",
        title="Pneumonoultramicroscopicsilicovolcanoconiosis" * 3,
        abstract="https://example.org/" + "a" * 200,
        authors=[f"Author With A Long Name {i}" for i in range(9)],
        code_url="https://github.com/example/code",
        project_url="https://example.org/project",
    )
    return formula, long_words


def test_a_reader_follows_a_paper_from_the_daily_list_and_sees_its_math(page, papers):
    formula, _ = papers
    page.goto("/")
    card = page.locator(f"#paper-{formula.pk}")
    expect(card.locator(".card-title .katex")).to_have_count(1)
    # A card sets even display formulas inline.
    expect(card.locator(".card-abstract .katex")).to_have_count(2)
    expect(card.locator(".card-abstract .katex-display")).to_have_count(0)

    card.locator(".card-title a").click()

    page.wait_for_url(f"**{formula.get_absolute_url()}")
    expect(page.locator("h1 .katex")).to_be_visible()
    expect(page.locator(".abstract .katex")).to_have_count(2)
    expect(page.locator(".abstract .katex-display")).to_have_count(1)
    # The raw TeX is gone from what the reader sees.
    assert "\\sum" not in page.locator("h1").inner_text()
    # The BibTeX copy button appears with JavaScript; the entry is selectable text.
    expect(page.get_by_role("button", name="Copy BibTeX")).to_be_visible()
    assert "eprint={2406.12345}" in page.locator("#bibtex").inner_text()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_pages_fit_a_phone_screen_without_sideways_scrolling(page, papers, scheme):
    page.set_viewport_size(PHONE)
    page.emulate_media(color_scheme=scheme)
    formula, long_words = papers
    urls = [
        "/",
        "/trending/",
        "/new/",
        "/search/?q=sparse",
        formula.get_absolute_url(),
        long_words.get_absolute_url(),
        "/authors/ada-lovelace/",
        "/about/ranking/",
        "/api/",
        "/no/such/page/",
    ]
    for url in urls:
        page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{url} is {width}px wide in {scheme} mode"
        # The main navigation is on screen, not pushed off it.
        box = page.get_by_role("navigation", name="Main").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], url


def test_dark_mode_follows_the_system_setting(page, papers):
    page.emulate_media(color_scheme="light")
    page.goto("/")
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.emulate_media(color_scheme="dark")
    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert light != dark
    red, green, blue = (int(c) for c in dark[dark.index("(") + 1 : -1].split(",")[:3])
    assert red + green + blue < 120


def test_the_skip_link_comes_first_and_focus_is_visible(page, papers):
    page.goto("/")
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_have_text("Skip to content")
    expect(focused).to_be_in_viewport()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
