"""Layout and keyboard details in a real Chromium: a refused vote's message, focus after
a vote, the voters list, narrow phones, the account menu."""

import re

import pytest
from playwright.sync_api import expect

from .accounts_helpers import verified
from .factories import PaperFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, client, user, live_server):
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])


@pytest.fixture
def member(db):
    return verified(UserFactory(username="mia", display_name="Mia Member"))


def test_a_too_fast_vote_s_message_leaves_the_card_in_shape(
    page, client, live_server, member, settings
):
    settings.VOTE_RATE_LIMIT = "1/d"
    first, second = PaperFactory(), PaperFactory()
    sign_in(page, client, member, live_server)
    page.set_viewport_size({"width": 320, "height": 700})
    page.goto("/new/")
    card = page.locator(f"#paper-{second.pk}")
    before = card.bounding_box()
    page.locator(f"#paper-{first.pk}").get_by_role("button", name=re.compile("^Upvote")).click()
    expect(page.locator(f"#paper-{first.pk} .vote-count")).to_have_text("1")
    card.get_by_role("button", name=re.compile("^Upvote")).click()
    expect(card.get_by_role("alert")).to_contain_text("too fast")
    after = card.bounding_box()
    assert after["width"] == before["width"] and after["height"] == before["height"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    title = card.locator(".card-title").bounding_box()
    assert title["width"] > 150  # the title column did not collapse


def test_after_a_vote_focus_stays_on_the_button(page, client, live_server, member):
    paper = PaperFactory()
    sign_in(page, client, member, live_server)
    page.goto("/new/")
    button = page.locator(f"#vote-{paper.pk}")
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("document.activeElement.id") == f"vote-{paper.pk}"
    page.keyboard.press("Enter")  # and the keyboard can take it back at once
    expect(button).to_have_attribute("aria-pressed", "false")


def test_on_the_paper_page_the_voters_list_follows_the_vote(page, client, live_server, member):
    paper = PaperFactory()
    sign_in(page, client, member, live_server)
    page.goto(paper.get_absolute_url())
    voters = page.locator("#paper-voters")
    expect(voters).to_contain_text("No upvotes yet")
    page.get_by_role("button", name=re.compile("^Upvote")).click()
    expect(voters.get_by_role("link", name="Mia Member")).to_be_visible()
    page.get_by_role("button", name=re.compile("^Remove your upvote")).click()
    expect(voters).to_contain_text("No upvotes yet")


def overlaps(a, b):
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


@pytest.mark.parametrize("signed_in", [False, True])
def test_at_320px_the_header_fits_and_nothing_in_it_overlaps(page, client, live_server, signed_in):
    PaperFactory()
    if signed_in:
        person = verified(
            UserFactory(username="max", display_name="Maximilian Alexander von Humboldt")
        )
        sign_in(page, client, person, live_server)
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto("/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    brand = page.locator(".brand").bounding_box()
    account = page.locator(".nav-account").bounding_box()
    assert not overlaps(brand, account)
    assert account["x"] + account["width"] <= 320
    # All five sections are on screen, none clipped.
    for link in page.locator(".nav-main a").all():
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 320, link.inner_text()


@pytest.mark.parametrize("width", [320, 375])
def test_the_week_page_s_earlier_and_later_links_fit_a_phone(page, width):
    from papers.dates import parse_week

    week = parse_week("2026-W47")
    for day in (week.first.replace(day=9), week.first, week.first.replace(day=23)):
        PaperFactory(daily_date=day)
    page.set_viewport_size({"width": width, "height": 700})
    page.goto("/papers/week/2026-W47/")
    nav = page.locator(".period-nav").first
    expect(nav.get_by_role("link", name="Week 46, 2026")).to_be_visible()
    expect(nav.get_by_role("link", name="Week 48, 2026")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for link in nav.get_by_role("link").all():
        box = link.bounding_box()
        assert box["x"] + box["width"] <= width


def test_api_tables_on_a_phone_label_each_cell(page):
    page.set_viewport_size({"width": 320, "height": 700})
    page.goto("/api/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    cell = page.locator("td[data-label='Example']").first
    label = page.evaluate("el => getComputedStyle(el, '::before').content", cell.element_handle())
    assert label == '"Example: "'
    assert page.locator("table").first.bounding_box()["width"] <= 320


def contrast(fg, bg):
    def luminance(rgb):
        def channel(c):
            c /= 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (channel(c) for c in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted([luminance(fg), luminance(bg)], reverse=True)
    return (high + 0.05) / (low + 0.05)


def rgb(css):
    return [int(float(c)) for c in css[css.index("(") + 1 : -1].split(",")[:3]]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_digest_settings_text_and_buttons_have_enough_contrast(
    page, client, live_server, member, scheme
):
    page.emulate_media(color_scheme=scheme)
    PaperFactory()
    page.goto("/")  # the subscribe box, signed out
    assert_contrast(page, [".digest-box p", ".digest-box .digest-button"], scheme)
    sign_in(page, client, member, live_server)
    page.goto("/settings/digest/")
    assert_contrast(page, [".helptext", ".digest-lead", ".digest-empty", ".button-primary"], scheme)


def assert_contrast(page, selectors, scheme):
    for selector in selectors:
        colours = page.locator(selector).first.evaluate(
            """el => {
                let bg = el;
                while (bg && getComputedStyle(bg).backgroundColor === 'rgba(0, 0, 0, 0)') {
                    bg = bg.parentElement;
                }
                const back = getComputedStyle(bg || document.body).backgroundColor;
                return [getComputedStyle(el).color, back];
            }"""
        )
        ratio = contrast(rgb(colours[0]), rgb(colours[1]))
        assert ratio >= 4.5, f"{selector} in {scheme} mode: {ratio:.2f}"


def test_the_account_menu_closes_with_escape_and_gives_focus_back(
    page, client, live_server, member
):
    sign_in(page, client, member, live_server)
    page.goto("/")
    toggle = page.locator("details.account-menu > summary")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Settings")).to_be_visible()
    page.keyboard.press("Tab")  # into the menu
    page.keyboard.press("Escape")
    expect(page.get_by_role("link", name="Settings")).to_be_hidden()
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    # A click elsewhere closes it too.
    toggle.click()
    expect(page.get_by_role("link", name="Settings")).to_be_visible()
    page.locator("main h1").click()
    expect(page.get_by_role("link", name="Settings")).to_be_hidden()


def test_links_in_a_card_are_set_apart_by_weight_and_underlined_on_focus_and_hover(page):
    """Issue 13: names are not underlined until hovered or focused; at rest the weight
    tells a link from the text around it (axe's link-in-text-block accepts that)."""
    paper = PaperFactory(authors=["Ada Lovelace", "Alan Turing", "Grace Hopper"])
    page.goto("/")
    card = page.locator(f"#paper-{paper.pk}")
    decoration = "el => getComputedStyle(el).textDecorationLine"
    links = [card.locator(".card-authors a").first, card.get_by_role("link", name="PDF")]
    for link in links:
        assert link.evaluate(decoration) == "none"
        assert int(link.evaluate("el => getComputedStyle(el).fontWeight")) >= 600
    count = card.locator(".author-count")
    assert int(count.evaluate("el => getComputedStyle(el).fontWeight")) < 600
    for link in [card.locator(".card-title a"), *links]:
        link.focus()
        style = link.evaluate(
            "el => [getComputedStyle(el).textDecorationLine, getComputedStyle(el).outlineStyle]"
        )
        assert style == ["underline", "solid"]
    page.mouse.click(1, 1)  # keyboard focus off: hovering alone must underline
    links[0].hover()
    assert links[0].evaluate(decoration) == "underline"


def test_settings_pages_fit_a_320px_phone(page, client, live_server):
    person = verified(UserFactory(username="maximilianalexandervonhumboldt"))
    sign_in(page, client, person, live_server)
    page.set_viewport_size({"width": 320, "height": 640})
    for url in ["/settings/", "/settings/digest/", "/accounts/email/", "/submit/"]:
        page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{url} is {width}px wide"
