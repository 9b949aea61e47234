"""allauth's pages in the site's voice: sentence-case headings and buttons, the main
action styled as the primary button, a way on from every page, and the contact address
where allauth says "contact us"."""

import re

import pytest
from django.test import override_settings

from .page_checks import check_page

pytestmark = pytest.mark.django_db

ENTRANCE_PAGES = [
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/accounts/password/reset/done/",
    "/accounts/inactive/",
    "/accounts/confirm-email/",
    "/accounts/3rdparty/login/cancelled/",
    "/accounts/3rdparty/login/error/",
    "/accounts/password/reset/key/bad-key/",
]


def main_of(response):
    html = response.content.decode()
    return html[html.index("<main") : html.index("</main>")]


def words_after_the_first(text):
    return [w for w in re.sub(r"<[^>]+>", " ", text).split()[1:] if w.isalpha()]


@pytest.mark.parametrize("url", ENTRANCE_PAGES)
def test_headings_are_in_sentence_case_and_every_page_leads_on(client, url):
    response = client.get(url)
    check_page(response.content)
    main = main_of(response)
    heading = re.search(r"<h1>(.*?)</h1>", main, re.S).group(1)
    assert all(w[0].islower() for w in words_after_the_first(heading)), heading
    assert 'href="/"' in main  # never a dead end


@pytest.mark.parametrize("url", ["/accounts/login/", "/accounts/password/reset/"])
def test_the_form_s_action_is_the_primary_button(client, url):
    main = main_of(client.get(url))
    button = re.search(r'<button class="([^"]*)" type="submit">\s*([^<]*?)\s*</button>', main)
    assert "button-primary" in button.group(1)
    assert button.group(2) in ("Sign in", "Reset my password")


@override_settings(CONTACT_EMAIL="help@example.org")
@pytest.mark.parametrize(
    "url", ["/accounts/inactive/", "/accounts/password/reset/done/", "/accounts/confirm-email/"]
)
def test_pages_that_say_contact_us_give_the_address(client, url):
    assert 'href="mailto:help@example.org"' in main_of(client.get(url))


@override_settings(CONTACT_EMAIL="")
def test_without_a_contact_address_none_is_shown(client):
    assert "mailto:" not in main_of(client.get("/accounts/inactive/"))
