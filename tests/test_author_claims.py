"""Claiming an author: the claim, the moderator's decision in the admin, and what an
approved claim shows."""

import json
import threading
from pathlib import Path

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse

from accounts import orcid
from accounts.models import AuthorClaim
from papers.models import Paper

from .accounts_helpers import verified
from .factories import PaperFactory, UserFactory
from .page_checks import check_page

OAUTH = Path(__file__).parent / "fixtures" / "oauth"


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


def connect_orcid(user, record):
    from allauth.socialaccount.models import SocialAccount

    SocialAccount.objects.create(
        user=user, provider="orcid", uid="0000-0001-6796-198X", extra_data=record
    )


def recorded_orcid_record(**name):
    """The recorded ORCID record (tests/fixtures/oauth/), its name replaced."""
    record = json.loads((OAUTH / "orcid_record.json").read_text())
    record["person"]["name"].update({k.replace("_", "-"): {"value": v} for k, v in name.items()})
    return record


def test_orcid_name_matching_uses_the_normalised_name(member, author):
    # The ORCID sign-in flows themselves are in test_social_login.py.
    Paper.objects.filter(authorships__author=author).update(arxiv_id="2401.01234")
    connect_orcid(member, recorded_orcid_record(given_names="MIA", family_name="Mémber"))
    claim = AuthorClaim.submit(member, author)
    assert claim.status == "approved"
    assert claim.reason.startswith("The ORCID record's name matches")


def test_a_doi_on_the_orcid_record_matches_the_papers_doi_in_any_case(member, author):
    # The record lists 10.5555/12345678; arXiv gave the journal DOI in capitals.
    Paper.objects.filter(authorships__author=author).update(doi="10.5555/12345678".upper())
    connect_orcid(member, recorded_orcid_record(given_names="Mia", family_name="Member"))
    assert AuthorClaim.submit(member, author).status == "approved"


def test_a_listed_work_with_another_name_is_not_enough(member, author):
    Paper.objects.filter(authorships__author=author).update(arxiv_id="2401.01234")
    connect_orcid(member, recorded_orcid_record(given_names="Mia", family_name="Other"))
    assert AuthorClaim.submit(member, author).status == "pending"


def test_the_works_on_an_orcid_record_are_read_by_arxiv_id_and_doi():
    record = json.loads((OAUTH / "orcid_record.json").read_text())
    works = orcid.work_ids(record)
    assert works.arxiv == {"2401.01234", "2402.05678"}  # the second from its arXiv DOI
    assert works.doi == {"10.5555/12345678"}  # the handle is neither
    assert orcid.record_name(record) == "Patricia Lawrence"
    assert not orcid.work_ids({"activities-summary": {"works": {"group": []}}})


def test_claims_are_rate_limited_with_a_clear_message(client, member, settings):
    settings.CLAIM_RATE_LIMIT = "2/h"
    papers = [PaperFactory(authors=[f"Prolific Person {n}"]) for n in range(4)]
    authors = [paper.authorships.get().author for paper in papers]
    client.force_login(member)
    for author in authors[:2]:
        client.post(reverse("accounts:claim_author", args=[author.slug]))
    assert AuthorClaim.objects.count() == 2

    url = reverse("accounts:claim_author", args=[authors[2].slug])
    swapped = client.post(url, headers={"HX-Request": "true"})
    assert swapped.status_code == 429
    html = swapped.content.decode()
    assert "claimed several authors recently" in html and 'role="alert"' in html
    assert 'class="author-claim"' in html and "<html" not in html

    page = client.post(reverse("accounts:claim_author", args=[authors[3].slug]), follow=True)
    assert "claimed several authors recently" in page.content.decode()
    assert AuthorClaim.objects.count() == 2
    check_page(page.content)


def test_with_htmx_a_claim_swaps_the_claim_section_in_place(client, member, author):
    client.force_login(member)
    url = reverse("accounts:claim_author", args=[author.slug])
    response = client.post(url, {"note": "It's me."}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="author-claim"')
    assert "waits for a moderator" in html and "Withdraw my claim" in html
    withdraw = reverse("accounts:withdraw_claim", args=[author.slug])
    response = client.post(withdraw, headers={"HX-Request": "true"})
    assert "You withdrew your claim" in response.content.decode()
    assert AuthorClaim.objects.get().status == "withdrawn"


@pytest.mark.django_db(transaction=True)
def test_a_claim_filed_as_the_open_one_is_withdrawn_is_filed_not_a_500():
    # The race: our INSERT meets the user's open claim (the unique index refuses it),
    # and before we read that claim back, their other request withdraws it.
    member = verified(UserFactory(username="member"))
    author = PaperFactory(authors=["Mia Member"]).authorships.get().author
    open_claim = AuthorClaim.objects.create(user=member, author=author)

    def withdraw_elsewhere():
        try:
            AuthorClaim.objects.get(pk=open_claim.pk).withdraw()
        finally:
            connection.close()

    def after_the_refused_insert(execute, sql, params, many, context):
        try:
            return execute(sql, params, many, context)
        except IntegrityError:
            if sql.startswith('INSERT INTO "accounts_authorclaim"'):
                other = threading.Thread(target=withdraw_elsewhere)  # its own connection
                other.start()
                other.join()
            raise

    client = Client(raise_request_exception=False)
    client.force_login(member)
    with connection.execute_wrapper(after_the_refused_insert):
        response = client.post(reverse("accounts:claim_author", args=[author.slug]), follow=True)
    assert response.status_code == 200
    assert "waits for a moderator" in response.content.decode()
    statuses = sorted(AuthorClaim.objects.values_list("status", flat=True))
    assert statuses == ["pending", "withdrawn"]
