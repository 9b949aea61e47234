"""Each account flow end to end through the views, with mail over real SMTP."""

import re

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from accounts.models import AuthorClaim
from digests.models import DigestSubscription, FollowedCategory
from digests.tokens import confirm_token
from papers.models import Paper, Vote

from .accounts_helpers import PASSWORD, link_in, mail_text, sign_in, totp_code, verified
from .factories import DigestSubscriptionFactory, PaperFactory, UserFactory, VoteFactory
from .page_checks import check_page

User = get_user_model()


@pytest.fixture
def member(db):
    return verified(UserFactory(username="member", display_name="Mia Member"))


def sign_up(client, email="new@example.org", username="newbie", next_url=None):
    data = {"email": email, "username": username, "password1": PASSWORD, "password2": PASSWORD}
    url = reverse("account_signup") + (f"?next={next_url}" if next_url else "")
    if next_url:
        data["next"] = next_url
    return client.post(url, data)


def confirm(client, link):
    """Open the link from the mail and press the confirm button on it."""
    page = client.get(link)
    assert page.status_code == 200
    check_page(page.content)
    return client.post(link)


def test_sign_up_sends_a_verification_mail_whose_link_signs_the_user_in(client, smtp_server, db):
    response = sign_up(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(username="newbie")
    assert not user.has_verified_email()
    assert "_auth_user_id" not in client.session

    [message] = smtp_server.messages
    assert message["To"] == "new@example.org"
    assert message["Subject"] == "[Daily Papers] Please Confirm Your Email Address"
    assert mail_text(message).startswith("Hello from Daily Papers!")
    link = link_in(message, "/accounts/confirm-email/")

    response = confirm(client, link)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    assert user.has_verified_email()


def test_an_unverified_account_cannot_sign_in_and_gets_a_new_link(client, smtp_server, db):
    sign_up(client)
    client.logout()
    response = client.post(
        reverse("account_login"), {"login": "new@example.org", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session


def test_sign_up_rejects_a_taken_username_and_a_weak_password(client, member):
    response = client.post(
        reverse("account_signup"),
        {"email": "x@example.org", "username": "member", "password1": "123", "password2": "123"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "already" in html and "too short" in html
    check_page(html)


def test_it_signs_in_with_email_and_out_only_with_a_post(client, member):
    sign_in(client, member)
    assert client.session["_auth_user_id"] == str(member.pk)
    page = client.get(reverse("account_logout"))
    assert page.status_code == 200
    assert client.session.get("_auth_user_id") == str(member.pk), "GET must not sign out"
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_is_refused(client, member):
    response = client.post(
        reverse("account_login"), {"login": member.email, "password": "not it at all"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_failed_logins_are_rate_limited(client, member):
    for _ in range(5):
        client.post(reverse("account_login"), {"login": member.email, "password": "nope nope"})
    response = client.post(reverse("account_login"), {"login": member.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert "Too many failed login attempts" in response.content.decode()


def test_password_reset_by_mail(client, member, smtp_server):
    response = client.post(reverse("account_reset_password"), {"email": member.email})
    assert response.status_code == 302
    [message] = smtp_server.messages
    link = link_in(message, "/accounts/password/reset/key/")
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    check_page(form_page.content)
    new_password = "a brand new long passphrase"
    response = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
        {"password1": new_password, "password2": new_password},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.check_password(new_password)


def test_password_change(client, member):
    sign_in(client, member)
    new_password = "another long passphrase here"
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": new_password, "password2": new_password},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.check_password(new_password)


def test_email_change_takes_effect_once_the_new_address_is_verified(client, member, smtp_server):
    sign_in(client, member)
    response = client.post(
        reverse("account_email"), {"action_add": "", "email": "mia@new.example.org"}
    )
    assert response.status_code == 302
    [message] = smtp_server.messages
    assert message["To"] == "mia@new.example.org"
    member.refresh_from_db()
    assert member.email == "member@example.org"

    confirm(client, link_in(message, "/accounts/confirm-email/"))
    member.refresh_from_db()
    assert member.email == "mia@new.example.org"
    assert list(EmailAddress.objects.filter(user=member).values_list("email", "verified")) == [
        ("mia@new.example.org", True)
    ]


def test_settings_save_the_display_name(client, member):
    sign_in(client, member)
    response = client.post(reverse("accounts:settings"), {"display_name": "Dr. Mia"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.display_name == "Dr. Mia"
    assert "Dr. Mia" in client.get("/u/member/").content.decode()


def test_settings_need_a_signed_in_user(client, db):
    response = client.get(reverse("accounts:settings"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- Two-factor authentication ----------------------------------------------------------


def enrol_totp(client, member):
    """Turn on TOTP from the settings pages, reauthenticating with the password first.
    Returns the secret the page showed."""
    response = client.get(reverse("mfa_activate_totp"))
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    response = client.post(response["Location"], {"password": PASSWORD})
    assert response.status_code == 302
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    check_page(page.content)
    html = page.content.decode()
    secret = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7]+)"', html)
    secret = secret or re.search(r'value="([A-Z2-7]{16,})"', html)
    secret = secret.group(1)
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert response.status_code == 302, response.content.decode()[:3000]
    return secret


def test_totp_enrolment_then_login_asks_for_a_code(client, member):
    sign_in(client, member)
    secret = enrol_totp(client, member)
    assert Authenticator.objects.filter(user=member, type="totp").exists()
    client.post(reverse("account_logout"))

    other = Client()
    response = other.post(reverse("account_login"), {"login": member.email, "password": PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in other.session
    page = other.get(reverse("mfa_authenticate"))
    check_page(page.content)
    wrong = other.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200 and "_auth_user_id" not in other.session
    response = other.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert response.status_code == 302
    assert other.session["_auth_user_id"] == str(member.pk)


def test_a_recovery_code_signs_in_once(client, member):
    sign_in(client, member)
    enrol_totp(client, member)
    page = client.get(reverse("mfa_view_recovery_codes"))
    if page.status_code == 302:  # asks to reauthenticate first
        client.post(page["Location"], {"password": PASSWORD})
        page = client.get(reverse("mfa_view_recovery_codes"))
    codes = re.findall(r"\b[a-z0-9]{8}\b", page.content.decode().split('id="recovery_codes"')[1])
    assert len(codes) >= 10
    client.post(reverse("account_logout"))

    for expect_ok in (True, False):
        other = Client()
        other.post(reverse("account_login"), {"login": member.email, "password": PASSWORD})
        other.post(reverse("mfa_authenticate"), {"code": codes[0]})
        assert ("_auth_user_id" in other.session) is expect_ok


# --- Delete account -----------------------------------------------------------------------


def test_delete_account_withdraws_votes_and_keeps_submitted_papers(client, member, voter):
    submitted = PaperFactory(submitted_by=member)
    voted = [PaperFactory() for _ in range(3)]
    for paper in voted:
        VoteFactory(user=member, paper=paper)
        VoteFactory(user=voter, paper=paper)
    sign_in(client, member)
    reauthenticate(client)

    wrong = client.post(reverse("accounts:delete"), {"username": "not-me"})
    assert wrong.status_code == 200
    assert "not your username" in wrong.content.decode()
    check_page(wrong.content)
    assert User.objects.filter(pk=member.pk).exists()

    response = client.post(reverse("accounts:delete"), {"username": member.username})
    assert response.status_code == 302
    assert not User.objects.filter(pk=member.pk).exists()
    assert "_auth_user_id" not in client.session
    submitted.refresh_from_db()
    assert submitted.submitted_by is None
    for paper in Paper.objects.all():
        assert paper.upvote_count == Vote.objects.filter(paper=paper).count()
    assert [p.upvote_count for p in Paper.objects.filter(pk__in=[p.pk for p in voted])] == [1] * 3


def reauthenticate(client, password=PASSWORD):
    response = client.post(reverse("account_reauthenticate"), {"password": password})
    assert response.status_code == 302, response.content.decode()[:2000]


def test_deleting_an_account_asks_for_the_password_again_first(client, member):
    sign_in(client, member)  # a sign-in some time ago is not enough
    page = client.get(reverse("accounts:delete"))
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("account_reauthenticate"))
    forced = client.post(reverse("accounts:delete"), {"username": member.username})
    assert forced.status_code == 302 and User.objects.filter(pk=member.pk).exists()
    reauthenticate(client)
    assert client.get(reverse("accounts:delete")).status_code == 200


def test_with_two_factor_on_deletion_asks_for_a_code_again(client, member):
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP

    TOTP.activate(member, "JBSWY3DPEHPK3PXP")
    assert Authenticator.objects.filter(user=member).exists()
    client.force_login(member)
    response = client.get(reverse("accounts:delete"))
    assert response.status_code == 302
    assert "reauthenticate" in response["Location"]
    assert User.objects.filter(pk=member.pk).exists()


def test_a_user_deleted_outside_delete_account_takes_their_votes_off_the_counts(member, voter):
    # From the shell, a script or a cascade: the pre_delete receiver withdraws the votes.
    papers = PaperFactory.create_batch(2)
    for paper in papers:
        VoteFactory(user=member, paper=paper)
    VoteFactory(user=voter, paper=papers[0])
    User.objects.get(pk=member.pk).delete()
    User.objects.filter(username="voter").delete()
    assert Vote.objects.count() == 0
    assert list(Paper.objects.values_list("upvote_count", flat=True)) == [0, 0]


def test_delete_account_takes_each_vote_off_once(member, voter):
    paper = PaperFactory()
    VoteFactory(user=member, paper=paper)
    VoteFactory(user=voter, paper=paper)
    assert User.objects.get(pk=member.pk).delete_account() == 1
    paper.refresh_from_db()
    assert paper.upvote_count == 1 == Vote.objects.count()


def test_an_account_without_a_password_confirms_deletion_with_its_username(client, db):
    user = verified(UserFactory(username="social-only"))
    user.set_unusable_password()
    user.save()
    client.force_login(user)
    assert client.post(reverse("accounts:delete"), {"username": "wrong"}).status_code == 200
    assert client.post(reverse("accounts:delete"), {"username": "social-only"}).status_code == 302
    assert not User.objects.filter(username="social-only").exists()


# --- CSRF on every POST -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, data",
    [
        ("/papers/{arxiv_id}/vote/", {"action": "up"}),
        ("/accounts/logout/", {}),
        ("/authors/{slug}/claim/", {"note": ""}),
        ("/authors/{slug}/claim/withdraw/", {}),
        ("/settings/", {"display_name": "Forged"}),
        ("/settings/delete/", {"username": "member"}),
        ("/accounts/email/", {"action_add": "", "email": "forged@example.org"}),
        ("/settings/digest/", {"enabled": "on", "frequency": "weekly"}),
        ("/settings/digest/interests/", {"action": "add_category", "category": "cs.CL"}),
        ("/digest/subscribe/", {"email": "forged@example.org", "frequency": "daily"}),
        ("/digest/confirm/{confirm_token}/", {}),
    ],
)
def test_posts_without_a_csrf_token_are_refused(member, url, data):
    paper = PaperFactory(authors=["Mia Member"])
    slug = paper.authorships.get().author.slug
    pending = DigestSubscriptionFactory(email="pending@example.org", confirmed_at=None)
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    url = url.format(arxiv_id=paper.arxiv_id, slug=slug, confirm_token=confirm_token(pending))
    response = client.post(url, data)
    assert response.status_code == 403
    assert "CSRF verification failed" in response.content.decode()
    member.refresh_from_db()
    assert member.display_name == "Mia Member"
    assert Vote.objects.count() == 0
    assert not AuthorClaim.objects.exists()
    assert list(DigestSubscription.objects.values_list("email", "confirmed_at")) == [
        ("pending@example.org", None)
    ]
    assert not FollowedCategory.objects.exists()
    assert client.session["_auth_user_id"] == str(member.pk)


def test_the_same_posts_with_the_token_go_through(member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    page = client.get(reverse("accounts:settings"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    response = client.post(
        reverse("accounts:settings"), {"display_name": "Real", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
