"""Claiming an author: the claim, the moderator's decision in the admin, and what an
approved claim shows."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import AuthorClaim

from .accounts_helpers import verified
from .factories import PaperFactory, UserFactory
from .page_checks import check_page


@pytest.fixture
def member(db):
    return verified(UserFactory(username="member", display_name="Mia Member"))


@pytest.fixture
def moderator(db):
    return UserFactory(username="mod", is_staff=True, is_superuser=True)


@pytest.fixture
def author(db):
    paper = PaperFactory(title="On Claims", authors=["Mia Member", "Co Author"])
    return paper.authorships.get(position=0).author


def test_author_page_invites_a_signed_in_user_to_claim(client, member, author):
    client.force_login(member)
    html = client.get(author.get_absolute_url()).content.decode()
    assert "Claim Mia Member" in html
    assert f'action="/authors/{author.slug}/claim/"' in html
    check_page(html)


def test_author_page_asks_visitors_to_sign_in_first(client, author):
    html = client.get(author.get_absolute_url()).content.decode()
    assert f"/accounts/login/?next=/authors/{author.slug}/" in html.replace("%2F", "/")
    check_page(html)


def test_a_claim_waits_for_a_moderator(client, member, author):
    client.force_login(member)
    response = client.post(
        reverse("accounts:claim_author", args=[author.slug]), {"note": "My ORCID is 0000-..."}
    )
    assert response["Location"] == author.get_absolute_url()
    claim = AuthorClaim.objects.get()
    assert (claim.user, claim.author, claim.status) == (member, author, "pending")
    assert claim.note == "My ORCID is 0000-..."
    author.refresh_from_db()
    assert author.claimed_by is None
    html = client.get(author.get_absolute_url()).content.decode()
    assert "waits for a moderator" in html
    check_page(html)


def test_claiming_twice_keeps_one_open_claim(client, member, author):
    client.force_login(member)
    url = reverse("accounts:claim_author", args=[author.slug])
    client.post(url)
    client.post(url)
    assert AuthorClaim.objects.count() == 1


def test_the_database_allows_one_open_claim_per_user_and_author(member, author):
    AuthorClaim.objects.create(user=member, author=author)
    with pytest.raises(IntegrityError), transaction.atomic():
        AuthorClaim.objects.create(user=member, author=author)
    AuthorClaim.objects.create(user=member, author=author, status="rejected")


def test_the_database_allows_one_approved_claim_per_author(member, stranger, author):
    AuthorClaim.objects.create(user=member, author=author, status="approved")
    with pytest.raises(IntegrityError), transaction.atomic():
        AuthorClaim.objects.create(user=stranger, author=author, status="approved")


def approve_in_admin(client, moderator, *claims):
    client.force_login(moderator)
    return client.post(
        reverse("admin:accounts_authorclaim_changelist"),
        {"action": "approve_claims", "_selected_action": [c.pk for c in claims]},
        follow=True,
    )


def test_a_moderator_approves_in_the_admin(client, member, moderator, author):
    claim = AuthorClaim.submit(member, author)
    response = approve_in_admin(client, moderator, claim)
    assert "Approved 1 claim" in response.content.decode()
    claim.refresh_from_db()
    assert claim.status == "approved" and claim.decided_by == moderator
    author.refresh_from_db()
    assert author.claimed_by == member

    client.logout()
    html = client.get(author.get_absolute_url()).content.decode()
    assert 'href="/u/member/">Mia Member</a>' in html
    profile = client.get("/u/member/").content.decode()
    assert "On Claims" in profile and "verified author" in profile


def test_a_second_claim_on_a_claimed_author_is_not_approved(
    client, member, stranger, moderator, author
):
    first, second = AuthorClaim.submit(member, author), AuthorClaim.submit(stranger, author)
    response = approve_in_admin(client, moderator, first, second)
    html = response.content.decode()
    assert "Approved 1 claim" in html and "already claimed" in html
    statuses = dict(AuthorClaim.objects.values_list("user__username", "status"))
    assert sorted(statuses.values()) == ["approved", "pending"]
    winner = next(name for name, status in statuses.items() if status == "approved")
    author.refresh_from_db()
    assert author.claimed_by.username == winner


def test_a_moderator_rejects_with_a_reason(client, member, moderator, author):
    claim = AuthorClaim.submit(member, author)
    client.force_login(moderator)
    changelist = reverse("admin:accounts_authorclaim_changelist")
    form = client.post(changelist, {"action": "reject_claims", "_selected_action": [claim.pk]})
    assert form.status_code == 200
    assert 'name="reason"' in form.content.decode()
    response = client.post(
        changelist,
        {
            "action": "reject_claims",
            "_selected_action": [claim.pk],
            "reason": "The papers' affiliation does not match.",
        },
        follow=True,
    )
    assert "Rejected 1 claim" in response.content.decode()
    claim.refresh_from_db()
    assert claim.status == "rejected"
    assert claim.reason == "The papers' affiliation does not match."

    client.force_login(member)
    html = client.get(author.get_absolute_url()).content.decode()
    assert "was not approved: The papers" in html
    assert "Claim Mia Member" in html, "they may claim again"


def test_withdrawing_an_approved_claim_frees_the_author(client, member, author):
    claim = AuthorClaim.submit(member, author)
    claim.approve()
    client.force_login(member)
    client.post(reverse("accounts:withdraw_claim", args=[author.slug]))
    author.refresh_from_db()
    assert author.claimed_by is None
    assert AuthorClaim.objects.get().status == "withdrawn"


def test_an_author_claimed_by_someone_else_cannot_be_claimed(client, member, stranger, author):
    AuthorClaim.submit(stranger, author).approve()
    client.force_login(member)
    response = client.post(reverse("accounts:claim_author", args=[author.slug]), follow=True)
    assert "already claimed by another account" in response.content.decode()
    assert not AuthorClaim.objects.filter(user=member).exists()


def test_claiming_needs_sign_in(client, author):
    response = client.post(reverse("accounts:claim_author", args=[author.slug]))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not AuthorClaim.objects.exists()


def test_admin_claim_list_renders(client, moderator, member, author):
    AuthorClaim.submit(member, author)
    client.force_login(moderator)
    response = client.get(reverse("admin:accounts_authorclaim_changelist") + "?status=pending")
    assert response.status_code == 200
    assert "Mia Member" in response.content.decode()


def test_orcid_name_matching_uses_the_normalised_name(member, author):
    # The ORCID sign-in flows themselves are in test_social_login.py.
    from allauth.socialaccount.models import SocialAccount

    SocialAccount.objects.create(
        user=member,
        provider="orcid",
        uid="0000-0002-0000-0000",
        extra_data={
            "person": {
                "name": {"given-names": {"value": "MIA"}, "family-name": {"value": "Mémber"}}
            }
        },
    )
    claim = AuthorClaim.submit(member, author)
    assert claim.status == "approved"
    assert claim.reason.startswith("ORCID")
