"""/settings/digest/: the signed-in side of the digest (issue 5), in the accounts
namespace (accounts:digest_settings; see urls.py). The visitor pages are in views.py."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from papers.queueing import QueueUnavailable

from . import subscribing
from .forms import CategoryForm, DigestSettingsForm, KeywordForm
from .models import (
    DigestSubscription,
    FollowedAuthor,
    FollowedCategory,
    FollowedKeyword,
    add_interest,
)

# Offered as you type; any valid category can be entered.
SUGGESTED_CATEGORIES = (
    "cs.AI cs.CL cs.CV cs.LG cs.RO cs.IR cs.CR cs.DC cs.HC cs.SE cs.NE cs.* stat.ML "
    "math.OC math.PR eess.AS eess.IV q-bio.NC physics.comp-ph quant-ph"
).split()

_UNQUEUED = "We couldn't send the confirmation link just now. Please try again in a few minutes."
_SAVED = {
    "on": "Your digest settings are saved.",
    "off": "The digest is off. Nothing more will be sent.",
    "confirm": "Almost done: we emailed you a link to confirm the address.",
    "no-email": "Add an email address to your account first.",
}


def _interests(user, category_form=None, keyword_form=None) -> dict:
    return {
        "followed_authors": FollowedAuthor.objects.filter(user=user).select_related("author"),
        "followed_categories": FollowedCategory.objects.filter(user=user),
        "followed_keywords": FollowedKeyword.objects.filter(user=user),
        "category_form": category_form or CategoryForm(),
        "keyword_form": keyword_form or KeywordForm(),
        "suggested_categories": SUGGESTED_CATEGORIES,
    }


@login_required
@require_http_methods(["GET", "POST"])
def digest_settings(request):
    sub = DigestSubscription.objects.filter(user=request.user).first()
    initial = {"enabled": False, "frequency": DigestSubscription.Frequency.DAILY}
    if sub is not None:
        initial = {
            "enabled": sub.paused_at is None,
            "frequency": sub.frequency,
            "send_hour": sub.send_hour,
            "time_zone": sub.time_zone,
        }
    form = DigestSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "resend" and sub is not None:
                if subscribing.request_confirmation(sub):
                    messages.success(request, f"We sent a new confirmation link to {sub.email}.")
                else:
                    messages.info(request, "We sent a link recently; please check your inbox.")
                return redirect("accounts:digest_settings")
            if form.is_valid():
                outcome = subscribing.save_for_user(request.user, **form.cleaned_data)
                messages.success(request, _SAVED[outcome])
                return redirect("accounts:digest_settings")
        except QueueUnavailable:
            # Saved, but the confirmation mail couldn't be queued (Redis down).
            messages.error(request, _UNQUEUED)
            return redirect("accounts:digest_settings")
    context = {
        "form": form,
        "subscription": sub,
        "schedule": subscribing.schedule(sub) if sub else "",
        **_interests(request.user),
    }
    return render(request, "accounts/digest_settings.html", context)


def _add(model, user, form):
    """Follow what `form` names. Returns (the form to show again, or None to show an
    empty one; "limit" if the user follows MAX_FOLLOWS of those already, else "")."""
    if not form.is_valid():
        return form, ""
    if add_interest(model, user, **form.cleaned_data) is None:
        return form, "limit"
    return None, ""


@login_required
@require_POST
def digest_interests(request):
    """Add or remove a followed category, keyword or author (htmx swaps the list)."""
    user, action = request.user, request.POST.get("action", "")
    category_form = keyword_form = None
    note = ""
    if action == "add_category":
        category_form, note = _add(FollowedCategory, user, CategoryForm(request.POST))
    elif action == "add_keyword":
        keyword_form, note = _add(FollowedKeyword, user, KeywordForm(request.POST))
    elif action == "remove_category":
        FollowedCategory.objects.filter(user=user, pk=request.POST.get("id") or 0).delete()
    elif action == "remove_keyword":
        FollowedKeyword.objects.filter(user=user, pk=request.POST.get("id") or 0).delete()
    elif action == "unfollow_author":
        FollowedAuthor.objects.filter(user=user, pk=request.POST.get("id") or 0).delete()
    context = {**_interests(user, category_form, keyword_form), "note": note}
    if request.htmx:
        return render(request, "accounts/_digest_interests.html", context)
    for form in (category_form, keyword_form):
        for error in form.errors.values() if form else ():
            messages.error(request, " ".join(error))
    if note:
        messages.error(request, "You follow as many as you can of those; remove some first.")
    return redirect("accounts:digest_settings")
