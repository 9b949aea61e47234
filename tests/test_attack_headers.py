"""Headers and settings: a Content-Security-Policy without inline script or eval, HSTS,
nosniff, Referrer-Policy, frame-ancestors and X-Frame-Options on every page; pages that
need no inline script, handler or style; and, in a real Chromium, no CSP violation
while reading, rendering math and voting."""

import re

import pytest
from django.test import Client
from html5lib import HTMLParser, getTreeBuilder
from playwright.sync_api import expect

from .accounts_helpers import PASSWORD, verified
from .factories import AuthorFactory, PaperFactory, UserFactory

PAGES = [
    "/",
    "/trending/",
    "/new/",
    "/search/?q=attention",
    "/search/?cat=cs.LG",
    "/papers/2411.10000/",
    "/authors/ada-lovelace/",
    "/u/voter/",
    "/about/ranking/",
    "/api/",
    "/digest/subscribe/",
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/papers/date/2026-13-45/",  # an error page
]
SIGNED_IN_PAGES = ["/settings/", "/settings/digest/", "/submit/", "/accounts/2fa/"]


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.fixture
def site(db):
    author = AuthorFactory(name="Ada Lovelace")
    paper = PaperFactory(
        arxiv_id="2411.10000",
        title="Bounds on $\\sum_i x_i^2$",
        abstract="We show $$\\int_0^1 f = 1$$ and \\(a^2+b^2=c^2\\).",
        authors=[author.name],
    )
    voter = verified(UserFactory(username="voter"))
    return paper, voter


def _all_pages(client, voter):
    for url in PAGES:
        yield url, client.get(url)
    client.force_login(voter)
    for url in PAGES[:3] + SIGNED_IN_PAGES:
        yield url, client.get(url)


def test_every_page_sends_a_strict_content_security_policy(site):
    _, voter = site
    for url, response in _all_pages(Client(), voter):
        assert response.status_code in (200, 400, 404), url
        csp = policy(response)
        assert csp["script-src"] == ["'self'"], url
        assert csp["default-src"] == ["'self'"], url
        assert csp["style-src"] == ["'self'"], url
        assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"], url
        assert csp["frame-ancestors"] == ["'none'"], url
        assert "unsafe" not in response["Content-Security-Policy"], url


def test_every_page_sends_the_other_security_headers(site):
    client = Client()
    response = client.get("/", secure=True)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    hsts = response["Strict-Transport-Security"]
    assert (
        re.search(r"max-age=(\d+)", hsts) and int(re.search(r"max-age=(\d+)", hsts)[1]) >= 31536000
    )
    assert "includeSubDomains" in hsts and "preload" in hsts
    # Cookies: HTTP-only, the CSRF one included (no script reads it).
    login = client.get("/accounts/login/")
    assert login.cookies["csrftoken"]["httponly"]
    # JSON and feeds too.
    for url in ("/api/papers/2411.10000", "/feeds/daily.atom", "/api/papers/nope"):
        response = client.get(url)
        assert response["X-Content-Type-Options"] == "nosniff", url
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"], url


def test_pages_have_no_inline_script_handler_or_style_for_the_policy_to_block(site):
    """What the policy would block, found without a browser: a <script> with a body
    (other than JSON data), an on*= or hx-on attribute, a style= attribute."""
    _, voter = site
    tree = getTreeBuilder("etree")
    for url, response in _all_pages(Client(), voter):
        document = HTMLParser(tree=tree, namespaceHTMLElements=False).parse(response.content)
        for element in document.iter():
            tag = element.tag if isinstance(element.tag, str) else ""
            if tag == "script" and not element.get("src"):
                assert element.get("type") == "application/json", (url, element.text)
            for name in element.keys():
                assert not name.startswith(("on", "hx-on")), (url, tag, name)
                assert name != "style", (url, tag, element.get(name))
            assert not (element.get("href") or "").startswith("javascript:"), url


def test_the_digest_in_a_browser_may_use_its_inline_styles_but_no_script(site):
    """The one relaxed page: the mail's inlined styles; script-src stays 'self'."""
    from digests.views import view_in_browser

    # The view carries the override; a forged token still gets the relaxed header, and
    # never an inline script.
    response = Client().get("/digest/view/not-a-token/")
    assert response.status_code == 400
    assert policy(response)["script-src"] == ["'self'"]
    assert getattr(view_in_browser, "__wrapped__", None) is not None


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_reading_and_voting_in_chromium_raise_no_csp_violation(page, live_server, settings):
    settings.VOTE_RATE_LIMIT = "3/d"
    paper = PaperFactory(
        arxiv_id="2406.12345",
        title="Tight bounds on $\\sum_{i=1}^{n} x_i^2$",
        abstract="We prove \\(a^2 + b^2 = c^2\\) and $$\\int_0^1 f(x)\\,dx = 1$$.",
        authors=["Ada Lovelace"],
    )
    verified(UserFactory(username="reader", email="reader@example.org"))
    violations, errors = [], []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Also count the violations the page itself sees (reports that don't reach the console).
    page.add_init_script(
        "window.__csp = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )

    def seen():
        return violations + page.evaluate("window.__csp")

    for url in ("/", paper.get_absolute_url(), "/authors/ada-lovelace/", "/search/?q=bounds"):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert seen() == [], (url, seen())
    # Math rendered under the policy.
    expect(page.locator(".card-title .katex").first).to_be_visible()

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("reader@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")

    vote = page.locator(f"#paper-{paper.pk} .vote")
    expect(vote.locator(".vote-count")).to_have_text("0")
    vote.get_by_role("button").click()
    expect(page.locator(f"#paper-{paper.pk} .vote .vote-count")).to_have_text("1")
    page.locator(f"#paper-{paper.pk} .vote").get_by_role("button").click()
    expect(page.locator(f"#paper-{paper.pk} .vote .vote-count")).to_have_text("0")
    # The fourth vote in a minute is refused with 429: the delegated handler
    # (data-swap-statuses, no eval) swaps the refusal in with its message.
    page.locator(f"#paper-{paper.pk} .vote").get_by_role("button").click()
    expect(page.locator(f"#paper-{paper.pk} .vote .vote-count")).to_have_text("1")
    page.locator(f"#paper-{paper.pk} .vote").get_by_role("button").click()
    expect(page.locator(f"#paper-{paper.pk} .vote-error")).to_contain_text("voting too fast")
    assert page.url.endswith("/")  # no reload, no navigation
    assert seen() == [] and errors == [], (seen(), errors)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_account_settings_and_admin_pages_raise_no_csp_violation(page, live_server):
    paper = PaperFactory(arxiv_id="2406.12346", authors=["Grace Hopper"])
    verified(UserFactory(username="staff", email="staff@example.org", is_staff=True,
                         is_superuser=True))  # fmt: skip
    seen = []
    page.on("console", lambda m: "Content Security Policy" in m.text and seen.append(m.text))
    for url in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/",
                "/digest/subscribe/"):  # fmt: skip
        page.goto(url)
        page.wait_for_load_state("networkidle")
    page.goto("/admin/")  # to the sign-in page, and back after it
    page.get_by_label("Email").fill("staff@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")
    for url in (
        "/admin/",
        "/admin/papers/paper/",
        f"/admin/papers/paper/{paper.pk}/change/",
        "/admin/accounts/user/",
        "/settings/",
        "/settings/digest/",
        "/submit/",
        "/accounts/2fa/",
        "/authors/grace-hopper/",
    ):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert seen == [], (url, seen)


def test_form_action_allows_only_the_configured_sign_in_providers():
    """Browsers apply form-action to the redirect after the sign-in POST."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(' '.join(s.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action']))"
    )
    base = {k: v for k, v in os.environ.items() if not k.endswith(("_CLIENT_ID", "_SECRET"))}
    base |= {"DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1"}

    def form_action(**env):
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=Path(__file__).resolve().parent.parent,
            env=base | env,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.split()

    assert form_action() == ["'self'"]
    assert form_action(
        GITHUB_CLIENT_ID="a",
        GITHUB_CLIENT_SECRET="b",
        HUGGINGFACE_CLIENT_ID="c",
        HUGGINGFACE_CLIENT_SECRET="d",
    ) == ["'self'", "https://github.com", "https://huggingface.co"]


def test_the_policy_built_once_is_django_csps_and_follows_the_settings(site, settings):
    """config.middleware.SettingsPolicyCSPMiddleware keeps the settings' policy built:
    the same header django-csp builds, rebuilt when the settings change, and a view's
    own policy (csp.decorators) still built by django-csp."""
    from csp.utils import build_policy

    client = Client()
    for url in ("/", "/papers/2411.10000/", "/api/"):
        assert client.get(url)["Content-Security-Policy"] == build_policy(), url
    assert "Content-Security-Policy-Report-Only" not in client.get("/")
    relaxed = client.get("/digest/view/not-a-token/")["Content-Security-Policy"]
    assert "'unsafe-inline'" in relaxed and relaxed != build_policy()
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"img-src": ["'none'"]}}
    report_only = client.get("/")["Content-Security-Policy-Report-Only"]
    assert "img-src 'none'" in report_only and report_only == build_policy(report_only=True)
