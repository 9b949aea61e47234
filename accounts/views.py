import math

from allauth.account.decorators import reauthentication_required
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from papers.models import Author
from papers.pagination import UncountedPage, page_number, paginate_counted

from .forms import ClaimForm, DeleteAccountForm, ProfileForm
from .models import PROFILE_COUNT_CAP, AuthorClaim, User


def profile(request, username):
    person = get_object_or_404(User, username=username, is_active=True)
    claimed = list(person.claimed_authors.order_by("name"))
    tabs = person.profile_tabs()
    tab = request.GET.get("show")
    if tab not in User.PROFILE_TABS:
        tab = "authored" if claimed else "upvoted"
    count = next(t.count for t in tabs if t.name == tab)
    papers = person.profile_papers(tab).for_listing(request.user)
    # No COUNT of the tab: known from the tabs up to the cap; past it, the pages go on
    # as far as the user's rows do.
    if count <= PROFILE_COUNT_CAP:
        page = paginate_counted(request, papers, count)
    else:
        number = page_number(request, math.inf)
        page = UncountedPage(papers, number, settings.PAPERS_PER_PAGE)
    context = {"person": person, "claimed": claimed, "tab": tab, "tabs": tabs, "page": page}
    return render(request, "accounts/profile.html", context)


@login_required
def account_settings(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your profile is saved.")
        return redirect("accounts:settings")
    context = {"form": form, "delete_form": DeleteAccountForm(request.user)}
    return render(request, "accounts/settings.html", context)


def _can_reauthenticate(request) -> bool:
    """An account with a password or a second factor proves it is its owner again
    (allauth's reauthentication) before it can be deleted. One that signs in only
    through another site has neither and confirms with its username alone."""
    return request.user.has_usable_password() or is_mfa_enabled(request.user)


@login_required
@reauthentication_required(enabled=_can_reauthenticate)
def delete_account(request):
    form = DeleteAccountForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = request.user
        logout(request)
        user.delete_account()
        messages.success(request, "Your account is deleted. Papers you submitted stay listed.")
        return redirect("papers:home")
    return render(request, "accounts/delete.html", {"delete_form": form})


def _claim_rate(group, request):
    return settings.CLAIM_RATE_LIMIT


def _claim_answer(request, author, message, level="success", status=200, in_place=True):
    """With htmx, the author's claim section again, saying what happened (a refusal
    with its error status, which the section's data-swap-statuses swaps in too); without,
    the message on the author page. `in_place=False`: the section says it already."""
    if request.htmx:
        author = Author.objects.select_related("claimed_by").get(pk=author.pk)
        shown = message if in_place else ""
        context = {"author": author, "claim_message": shown, "claim_level": level}
        return render(request, "accounts/_claim_author.html", context, status=status)
    getattr(messages, level)(request, message)
    return redirect(author)


@require_POST
@login_required
@ratelimit(key="user", rate=_claim_rate, method="POST", block=False)
def claim_author(request, slug):
    author = get_object_or_404(Author, slug=slug)
    if getattr(request, "limited", False):
        message = "You have claimed several authors recently. Please wait an hour and try again."
        return _claim_answer(request, author, message, "error", 429)
    form = ClaimForm(request.POST)
    if not form.is_valid():
        message = "Your note is too long: keep it under 2,000 characters."
        return _claim_answer(request, author, message, "error", 400)
    if author.claimed_by_id and author.claimed_by_id != request.user.pk:
        message = f"{author.name} is already claimed by another account."
        return _claim_answer(request, author, message, "error", 409)
    try:
        claim = AuthorClaim.submit(request.user, author, note=form.cleaned_data["note"])
    except AuthorClaim.Busy:
        message = "Your claim changed while it was being filed. Please try again."
        return _claim_answer(request, author, message, "error", 409)
    if claim.status == AuthorClaim.APPROVED:
        return _claim_answer(request, author, f"You are now shown as {author.name}.")
    message = f"Your claim on {author.name} waits for a moderator."
    return _claim_answer(request, author, message, in_place=False)


@require_POST
@login_required
def withdraw_claim(request, slug):
    author = get_object_or_404(Author, slug=slug)
    claim = AuthorClaim.objects.active().filter(user=request.user, author=author).first()
    if claim is None:
        return _claim_answer(request, author, "You have no open claim on this author.", "info")
    claim.withdraw()
    return _claim_answer(request, author, f"You withdrew your claim on {author.name}.")
