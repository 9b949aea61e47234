"""/settings/digest/ for signed-in users, followed interests, and following authors
from their pages."""

import re

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from digests import tokens
from digests.models import (
    MAX_FOLLOWS,
    DigestSubscription,
    FollowedAuthor,
    FollowedCategory,
    FollowedKeyword,
)

from .accounts_helpers import verified
from .factories import AuthorFactory, DigestSubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def vera(client, voter):
    voter.email = "vera@example.org"
    voter.save()
    client.force_login(voter)
    return voter


def save(client, **fields):
    data = {"enabled": "on", "frequency": "daily", "send_hour": "", "time_zone": ""} | fields
    return client.post("/settings/digest/", data, follow=True)


def test_the_page_needs_an_account(client):
    response = client.get("/settings/digest/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_settings_page_renders_in_a_fixed_number_of_queries(
    client, vera, django_assert_num_queries
):
    DigestSubscriptionFactory(email=vera.email, user=vera)
    for n in range(3):
        FollowedAuthor.objects.create(user=vera, author=AuthorFactory())
        FollowedCategory.objects.create(user=vera, category=f"cs.{'ABC'[n]}I")
        FollowedKeyword.objects.create(user=vera, keyword=f"topic {n}")
    with django_assert_num_queries(6):  # session, user, subscription, 3 interest lists
        page = client.get("/settings/digest/")
    assert page.status_code == 200
    assert "Sent to <strong>vera@example.org</strong>" in page.content.decode()


def test_turning_it_on_asks_to_confirm_the_address_then_applies_the_choices(
    client, vera, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        page = save(client, frequency="weekly", send_hour="6", time_zone="Europe/Paris")

    assert "we emailed you a link to confirm" in page.content.decode()
    assert "Waiting for confirmation" in page.content.decode()
    sub = DigestSubscription.objects.get(user=vera)
    assert (sub.frequency, sub.send_hour, sub.time_zone) == ("weekly", 6, "Europe/Paris")
    assert sub.email == "vera@example.org" and not sub.is_receiving
    [message] = mailoutbox
    assert message.to == ["vera@example.org"]

    confirm = client.post(f"/digest/confirm/{tokens.confirm_token(sub)}/")
    assert "every Monday at 06:00 (Europe/Paris)" in confirm.content.decode()
    sub.refresh_from_db()
    assert sub.is_receiving


def test_a_verified_account_address_needs_no_second_confirmation(client, vera, mailoutbox):
    verified(vera)
    page = save(client, frequency="daily", send_hour="8", time_zone="Asia/Tokyo")
    assert "Your digest settings are saved" in page.content.decode()
    assert "every weekday at 08:00 (Asia/Tokyo)" in page.content.decode()
    sub = DigestSubscription.objects.get(user=vera)
    assert sub.is_receiving
    assert mailoutbox == []


def test_turning_it_off_stops_it_at_once(client, vera):
    sub = DigestSubscriptionFactory(email=vera.email, user=vera)
    page = save(client, enabled="")
    assert "The digest is off" in page.content.decode()
    sub.refresh_from_db()
    assert sub.paused_at is not None and not sub.is_receiving

    page = save(client)  # on again: the address was confirmed before
    sub.refresh_from_db()
    assert sub.is_receiving
    assert "Your digest settings are saved" in page.content.decode()


def test_bad_choices_are_refused_and_change_nothing(client, vera):
    sub = DigestSubscriptionFactory(email=vera.email, user=vera, time_zone="Europe/Paris")
    page = client.post(
        "/settings/digest/",
        {"enabled": "on", "frequency": "hourly", "send_hour": "25", "time_zone": "Mars/Olympus"},
    )
    assert page.status_code == 200
    content = page.content.decode()
    assert content.count('role="alert"') == 3
    sub.refresh_from_db()
    assert (sub.frequency, sub.send_hour, sub.time_zone) == ("daily", None, "Europe/Paris")


def test_a_visitor_subscription_to_the_address_joins_through_the_mailed_link(
    client, vera, mailoutbox, django_capture_on_commit_callbacks
):
    visitor = DigestSubscriptionFactory(email="vera@example.org", frequency="weekly")
    with django_capture_on_commit_callbacks(execute=True):
        page = save(client)
    assert "confirm" in page.content.decode()
    visitor.refresh_from_db()
    assert visitor.user is None  # not until the inbox's owner clicks
    assert len(mailoutbox) == 1

    link = f"/digest/confirm/{tokens.confirm_token(visitor)}/"
    assert "Link to my account" in client.get(link).content.decode()
    client.post(link)
    visitor.refresh_from_db()
    assert visitor.user == vera
    assert (
        "Sent to <strong>vera@example.org</strong>"
        in client.get("/settings/digest/").content.decode()
    )


def test_an_account_without_an_address_is_told_to_add_one(client, voter):
    voter.email = ""
    voter.save()
    client.force_login(voter)
    page = save(client)
    assert "Add an email address to your account first" in page.content.decode()
    assert not DigestSubscription.objects.exists()


def test_categories_and_keywords_are_added_and_removed_with_htmx(client, vera):
    htmx = {"HX-Request": "true"}
    url = "/settings/digest/interests/"
    added = client.post(url, {"action": "add_category", "category": " cs.CL "}, headers=htmx)
    assert added.status_code == 200 and 'id="digest-interests"' in added.content.decode()
    assert "cs.CL" in added.content.decode()
    client.post(url, {"action": "add_keyword", "keyword": "  Diffusion   Models "}, headers=htmx)
    client.post(url, {"action": "add_keyword", "keyword": "diffusion models"}, headers=htmx)
    assert list(FollowedKeyword.objects.values_list("keyword", flat=True)) == ["diffusion models"]

    bad = client.post(url, {"action": "add_category", "category": "Computer Vision"}, headers=htmx)
    assert "Use an arXiv category" in bad.content.decode()
    assert FollowedCategory.objects.count() == 1

    category = FollowedCategory.objects.get()
    client.post(url, {"action": "remove_category", "id": category.pk}, headers=htmx)
    assert not FollowedCategory.objects.exists()


def test_interests_work_without_javascript_and_only_touch_your_own(client, vera, stranger):
    theirs = FollowedCategory.objects.create(user=stranger, category="cs.AI")
    response = client.post(
        "/settings/digest/interests/", {"action": "remove_category", "id": theirs.pk}
    )
    assert response.status_code == 302
    assert FollowedCategory.objects.filter(pk=theirs.pk).exists()
    client.post("/settings/digest/interests/", {"action": "add_category", "category": "cs.*"})
    assert FollowedCategory.objects.filter(user=vera, category="cs.*").exists()


def test_following_is_capped(client, vera):
    FollowedKeyword.objects.bulk_create(
        FollowedKeyword(user=vera, keyword=f"word {n}") for n in range(MAX_FOLLOWS)
    )
    page = client.post(
        "/settings/digest/interests/",
        {"action": "add_keyword", "keyword": "one more"},
        headers={"HX-Request": "true"},
    )
    assert "remove some first" in page.content.decode()
    assert FollowedKeyword.objects.filter(user=vera).count() == MAX_FOLLOWS


def test_following_an_author_from_their_page(client, vera):
    author = AuthorFactory(name="Fei-Fei Li")
    url = f"/digest/follow/authors/{author.slug}/"

    swapped = client.post(url, {"action": "follow"}, headers={"HX-Request": "true"})
    assert swapped.status_code == 200
    assert "Following" in swapped.content.decode()
    assert 'name="action" value="unfollow"' in swapped.content.decode()
    assert FollowedAuthor.objects.filter(user=vera, author=author).exists()
    client.post(url, {"action": "follow"})  # twice is still once
    assert FollowedAuthor.objects.count() == 1

    back = client.post(url, {"action": "unfollow", "next": author.get_absolute_url()})
    assert back.status_code == 302 and back["Location"] == author.get_absolute_url()
    assert not FollowedAuthor.objects.exists()


def test_following_needs_an_account_and_a_csrf_token(client):
    author = AuthorFactory()
    response = client.post(f"/digest/follow/authors/{author.slug}/", {"action": "follow"})
    assert response.status_code == 302 and "login" in response["Location"]
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post(f"/digest/follow/authors/{author.slug}/").status_code == 403
    assert not FollowedAuthor.objects.exists()


def test_the_follow_partial_shows_the_viewers_state(vera, stranger):
    author = AuthorFactory(name="Yann LeCun")
    FollowedAuthor.objects.create(user=vera, author=author)
    template = Template('{% include "papers/_follow_author.html" %}')

    def render(user):
        request = RequestFactory().get(author.get_absolute_url())
        request.user = user
        return template.render(Context({"author": author, "user": user, "request": request}))

    assert "Following" in render(vera)
    assert ">\n    Follow<" in render(stranger) or "Follow<span" in render(stranger)


def test_the_digest_follows_a_changed_account_address_after_confirming_it(
    client, vera, mailoutbox, django_capture_on_commit_callbacks
):
    sub = DigestSubscriptionFactory(email=vera.email, user=vera)
    vera.email = "vera@new.example"
    vera.save()
    with django_capture_on_commit_callbacks(execute=True):
        page = save(client)
    assert "confirm" in page.content.decode()
    sub.refresh_from_db()
    assert sub.email == "vera@new.example" and not sub.is_receiving
    assert mailoutbox[0].to == ["vera@new.example"]


def test_the_author_page_has_the_follow_button(client, vera):
    author = AuthorFactory(name="Fei-Fei Li")
    page = client.get(author.get_absolute_url())
    assert page.status_code == 200
    assert f'action="/digest/follow/authors/{author.slug}/"' in page.content.decode()
    FollowedAuthor.objects.create(user=vera, author=author)
    assert (
        "Their new papers are in your digest"
        in client.get(author.get_absolute_url()).content.decode()
    )


def test_the_weekly_day_is_named_as_configured(client, vera, settings):
    settings.DIGEST_WEEKLY_DAY = 4
    DigestSubscriptionFactory(email=vera.email, user=vera, frequency="weekly")
    page = client.get("/settings/digest/").content.decode()
    assert "Weekly (Fridays)" in page and "Monday" not in page
    assert "every Friday at 07:00" in page
    assert "once a week, on Fridays" in client.get("/digest/subscribe/").content.decode()


def test_the_page_is_laid_out_like_the_other_settings_and_help_is_announced(client, vera):
    from .page_checks import check_page

    response = client.get("/settings/digest/")
    check_page(response.content)
    html = response.content.decode()
    assert 'class="panel" aria-labelledby="digest-delivery-heading"' in html
    assert 'class="panel" aria-labelledby="digest-interests-heading"' in html
    assert 'class="button button-primary">Save digest settings</button>' in html
    for field, help_id in [
        ("time_zone", "time-zone-help"),
        ("category", "category-help"),
        ("keyword", "keyword-help"),
    ]:
        assert re.search(
            rf'<(input|select) [^>]*name="{field}"[^>]*aria-describedby="{help_id}', html
        )
        assert f'id="{help_id}"' in html


def test_a_bad_category_s_error_is_announced_with_the_help(client, vera):
    html = client.post(
        "/settings/digest/interests/",
        {"action": "add_category", "category": "Computer Vision"},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert 'aria-describedby="category-help category-error"' in html
