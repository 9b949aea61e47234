"""Every page type under axe-core (npm's axe-core, pinned in package-lock.json, injected
by Playwright into real Chromium): no serious or critical violation, in light and dark
mode. On the way, screenshots of the main pages at phone and desktop widths, for a
person to look at: var/screenshots/ (git-ignored), see docs/testing.md."""

import pytest

from .accounts_helpers import sign_in_browser
from .conftest import ROOT
from .site_pages import build_site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
WIDTHS = {"phone": {"width": 375, "height": 812}, "desktop": {"width": 1280, "height": 900}}
BLOCKING = {"serious", "critical"}
MAX_HEIGHT = 3000

# The pages a reader spends time on, for the screenshots.
MAIN_PAGES = {
    "daily",
    "week",
    "trending",
    "paper",
    "author",
    "search",
    "search-empty",
    "api-docs",
    "not-found",
    "sign-in",
    "daily-signed-in",
    "own-profile",
    "settings",
    "settings-digest",
    "submit",
}


def tabs(browser, live_server, reader, **options):
    """(visitor tab, signed-in tab). axe is added to every document they open; an init
    script is exempt from the page's Content-Security-Policy, as an extension is."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make install` (npm ci)", pytrace=False)
    result = []
    for signed_in in (False, True):
        context = browser.new_context(base_url=live_server.url, **options)
        context.add_init_script(path=AXE)
        if signed_in:
            sign_in_browser(context, reader, live_server)
        tab = context.new_page()
        tab.set_default_timeout(10_000)
        result.append(tab)
    return result


def serious_violations(tab, rules=None) -> list[str]:
    options = {"resultTypes": ["violations"]}
    if rules:
        options["runOnly"] = rules
    results = tab.evaluate("options => axe.run(document, options)", options)
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at "
        + ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in results["violations"]
        if v["impact"] in BLOCKING
    ]


def screenshot(tab, name):
    """The page at each width, into var/screenshots/<name>-<width>.png. The top of a
    long list is enough to review, and much quicker to take."""
    paths = []
    for width, viewport in WIDTHS.items():
        tab.set_viewport_size(viewport)
        height = min(tab.evaluate("document.documentElement.scrollHeight"), MAX_HEIGHT)
        path = SCREENSHOTS / f"{name}-{width}.png"
        tab.screenshot(
            path=path,
            full_page=True,
            clip={"x": 0, "y": 0, "width": viewport["width"], "height": height},
        )
        paths.append(path)
    return paths


def test_no_page_has_a_serious_accessibility_violation_and_the_main_ones_are_photographed(
    browser, live_server, settings
):
    """One pass over the site, since loading the demo and each page is most of the cost:
    axe in light mode, the screenshots, then axe's contrast rule in dark mode."""
    reader, pages = build_site(settings)
    visitor, signed_in = tabs(browser, live_server, reader)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    found, photographed = [], []
    for page in pages:
        if page.form is not None:
            continue  # forms with errors: checked by the Nu HTML Checker only
        tab = signed_in if page.signed_in else visitor
        tab.emulate_media(color_scheme="light")
        tab.set_viewport_size(WIDTHS["desktop"])
        response = tab.goto(page.url)
        assert response.status == page.status, page
        found += [f"{page.url}: {problem}" for problem in serious_violations(tab)]
        if page.name in MAIN_PAGES:
            photographed += screenshot(tab, page.name)
        # Dark mode changes colours only: contrast is the rule to run again.
        tab.emulate_media(color_scheme="dark")
        # Colours change through CSS transitions: measure where they end.
        tab.evaluate("() => Promise.all(document.getAnimations().map(a => a.finished))")
        found += [
            f"{page.url} (dark): {problem}"
            for problem in serious_violations(tab, rules=["color-contrast"])
        ]
    for tab in (visitor, signed_in):
        tab.context.close()
    assert not found, f"{len(found)} violations:\n" + "\n".join(found)
    assert len(photographed) == len(WIDTHS) * len(MAIN_PAGES)
    assert all(path.stat().st_size > 10_000 for path in photographed)
