"""The subscribe box in a real browser: htmx swaps the answer in place."""

import pytest

from digests.models import DigestSubscription

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_visitor_subscribes_from_the_box_without_leaving_the_page(page):
    page.goto("/digest/subscribe/")
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_label("Weekly").check()
    page.get_by_role("button", name="Subscribe").click()

    page.get_by_text("Check your inbox.").wait_for()
    assert page.url.endswith("/digest/subscribe/")
    assert page.locator("#digest-box").count() == 1  # swapped, not nested
    sub = DigestSubscription.objects.get()
    assert (sub.email, sub.frequency) == ("ada@example.org", "weekly")
    assert sub.time_zone  # filled in from the browser's Intl API
    assert not sub.is_receiving


def test_a_bad_address_is_explained_in_the_box(page):
    page.goto("/digest/subscribe/")
    page.get_by_label("Email address").fill("ada@")
    # The browser's own check would stop this; go around it as a script could.
    page.locator("form.digest-form").evaluate("f => f.noValidate = true")
    page.get_by_role("button", name="Subscribe").click()
    page.get_by_role("alert").wait_for()
    assert "valid email" in page.get_by_role("alert").inner_text()
    assert not DigestSubscription.objects.exists()
