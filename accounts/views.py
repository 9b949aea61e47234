from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from papers.models import Author, Authorship, Paper, Vote

from .forms import ClaimForm, DeleteAccountForm, ProfileForm
from .models import AuthorClaim, User

PROFILE_TABS = {
    "authored": "Authored",
    "upvoted": "Upvoted",
    "submitted": "Submitted",
}


def profile(request, username):
    person = get_object_or_404(User, username=username, is_active=True)
    claimed = list(Author.objects.filter(claimed_by=person).order_by("name"))
    voted_at = Vote.objects.filter(paper=OuterRef("pk"), user=person).values("created_at")
    authored = Authorship.objects.filter(author__claimed_by=person).values("paper")
    papers_by_tab = {
        "authored": Paper.objects.filter(pk__in=authored).newest(),
        "upvoted": Paper.objects.annotate(voted_at=Subquery(voted_at[:1]))
        .filter(voted_at__isnull=False)
        .order_by("-voted_at", "-id"),
        "submitted": Paper.objects.filter(submitted_by=person).newest(),
    }
    tab = request.GET.get("show")
    if tab not in PROFILE_TABS:
        tab = "authored" if claimed else "upvoted"
    papers = papers_by_tab[tab].for_listing(request.user)
    page = Paginator(papers, settings.PAPERS_PER_PAGE).get_page(request.GET.get("page"))
    counts = {name: qs.visible().count() for name, qs in papers_by_tab.items()}
    tabs = [(name, label, counts[name]) for name, label in PROFILE_TABS.items()]
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


@login_required
def delete_account(request):
    form = DeleteAccountForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = request.user
        logout(request)
        user.delete_account()
        messages.success(request, "Your account is deleted. Papers you submitted stay listed.")
        return redirect("papers:home")
    return render(request, "accounts/delete.html", {"delete_form": form})


@require_POST
@login_required
def claim_author(request, slug):
    author = get_object_or_404(Author, slug=slug)
    form = ClaimForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Your note is too long: keep it under 2,000 characters.")
        return redirect(author)
    if author.claimed_by_id and author.claimed_by_id != request.user.pk:
        messages.error(request, f"{author.name} is already claimed by another account.")
        return redirect(author)
    claim = AuthorClaim.submit(request.user, author, note=form.cleaned_data["note"])
    if claim.status == AuthorClaim.APPROVED:
        messages.success(request, f"You are now shown as {author.name}.")
    else:
        messages.success(request, f"Your claim on {author.name} waits for a moderator.")
    return redirect(author)


@require_POST
@login_required
def withdraw_claim(request, slug):
    author = get_object_or_404(Author, slug=slug)
    claim = AuthorClaim.objects.active().filter(user=request.user, author=author).first()
    if claim:
        claim.withdraw()
        messages.success(request, f"You withdrew your claim on {author.name}.")
    return redirect(author)
