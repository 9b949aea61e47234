"""A person's whole account life in a real browser (Chromium through Playwright, against
the live server): sign up, verify by mail, sign in, upvote from the daily list and the
paper page (htmx swaps, no reload), see it on the profile, claim an author, turn on
TOTP, delete the account."""

import re

from allauth.mfa.models import Authenticator

from accounts.models import AuthorClaim, User
from papers.models import Paper, Vote

from .accounts_helpers import PASSWORD, join_and_sign_in_again, sign_in_with_form, totp_code
from .factories import PaperFactory


def test_a_person_signs_up_votes_claims_enables_totp_and_leaves(page, live_server, smtp_server):
    paper = PaperFactory(title="Browsers Considered Helpful", authors=["Bea Browser", "Co Writer"])
    author = paper.authorships.get(position=0).author

    # Sign up, verify from the mail (that signs them in), sign out and back in.
    join_and_sign_in_again(page, smtp_server, "bea@example.org", "bea")

    # Upvote from the daily list: the button swaps in place, the page does not reload.
    page.goto("/")
    page.evaluate("window.__notReloaded = true")
    card = page.locator(f"#paper-{paper.pk}")
    card.get_by_role("button", name=re.compile("^Upvote")).click()
    card.get_by_role("button", name=re.compile("^Remove your upvote")).wait_for()
    assert card.locator(".vote-count").inner_text() == "1"
    assert page.evaluate("window.__notReloaded") is True

    # And on the paper page: withdraw, then upvote again.
    page.goto(paper.get_absolute_url())
    page.evaluate("window.__notReloaded = true")
    page.get_by_role("button", name=re.compile("^Remove your upvote")).click()
    page.get_by_role("button", name=re.compile("^Upvote")).wait_for()
    assert page.locator(".vote-count").inner_text() == "0"
    page.get_by_role("button", name=re.compile("^Upvote")).click()
    page.get_by_role("button", name=re.compile("^Remove your upvote")).wait_for()
    assert page.evaluate("window.__notReloaded") is True
    assert Paper.objects.get(pk=paper.pk).upvote_count == 1

    # The profile lists it.
    page.locator("summary", has_text="bea").click()
    page.get_by_role("link", name="Your profile").click()
    page.get_by_role("link", name=re.compile("^Upvoted")).click()
    page.get_by_role("link", name="Browsers Considered Helpful").wait_for()

    # Claim an author.
    page.goto(author.get_absolute_url())
    page.get_by_text("Are you Bea Browser? Claim this author").click()
    page.get_by_label("Anything the moderators should know").fill("That's me.")
    page.get_by_role("button", name="Claim Bea Browser").click()
    page.get_by_text("waits for a moderator").first.wait_for()
    assert AuthorClaim.objects.get().status == "pending"

    # Turn on TOTP: reauthenticate, read the secret, type a code computed from it.
    page.goto("/settings/")
    page.get_by_role("link", name="Two-factor authentication").first.click()
    page.get_by_role("link", name="Activate").click()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    secret = page.locator("#authenticator_secret").input_value()
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    page.get_by_role("button", name="Activate").click()
    after = re.compile("Recovery codes|Two-factor authentication", re.IGNORECASE)
    page.get_by_role("heading", name=after).first.wait_for()
    user = User.objects.get(username="bea")
    assert Authenticator.objects.filter(user=user, type="totp").exists()

    # Delete the account.
    page.goto("/settings/")
    page.get_by_role("link", name="Delete my account…").click()
    page.get_by_label("Type your username").fill("bea")
    page.get_by_role("button", name="Delete my account").click()
    page.get_by_text("Your account is deleted").wait_for()
    assert not User.objects.filter(username="bea").exists()
    assert Paper.objects.get(pk=paper.pk).upvote_count == 0 == Vote.objects.count()


def test_a_refused_vote_shows_its_message_in_place(page, live_server, settings):
    from .accounts_helpers import verified
    from .factories import UserFactory

    settings.VOTE_RATE_LIMIT = "1/d"
    verified(UserFactory(username="quick", email="quick@example.org"))
    first, second = PaperFactory(title="First Paper"), PaperFactory(title="Second Paper")
    sign_in_with_form(page, "quick@example.org", "quick")
    page.goto("/")
    page.evaluate("window.__notReloaded = true")
    page.locator(f"#paper-{first.pk}").get_by_role("button", name=re.compile("^Upvote")).click()
    page.locator(f"#paper-{first.pk}").get_by_role("button", name=re.compile("^Remove")).wait_for()
    page.locator(f"#paper-{second.pk}").get_by_role("button", name=re.compile("^Upvote")).click()
    alert = page.locator(f"#paper-{second.pk}").get_by_role("alert")
    alert.wait_for()
    assert "voting too fast" in alert.inner_text()
    assert page.evaluate("window.__notReloaded") is True
    assert Vote.objects.count() == 1
