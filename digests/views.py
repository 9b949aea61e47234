"""Digest pages reachable without an account: subscribing, confirming, the signed
links in every digest (view in browser, unsubscribe), and following authors."""

from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited

from accounts import signin
from papers.models import Author
from papers.queueing import QueueUnavailable

from . import subscribing, tokens
from .compose import Composer, Recipient, papers_for
from .forms import SubscribeForm
from .models import (
    MAX_FOLLOWS,
    DigestDelivery,
    DigestSubscription,
    FollowedAuthor,
    add_interest,
    weekly_day_name,
)
from .periods import Period


def _bad_link(request, status=400):
    return render(request, "digests/bad_link.html", status=status)


def _rate_limited(request, form) -> bool:
    """Per network (IP) and per address, so neither one visitor nor many can make
    the site mail one inbox again and again (the confirmation throttle on the
    subscription is the second line)."""
    by_ip = is_ratelimited(
        request,
        group="digests.subscribe.ip",
        key="ip",
        rate=settings.DIGEST_SUBSCRIBE_RATE_IP,
        increment=True,
    )
    if by_ip or not form.is_valid():
        return by_ip
    return is_ratelimited(
        request,
        group="digests.subscribe.email",
        key=lambda group, request: form.cleaned_data["email"],
        rate=settings.DIGEST_SUBSCRIBE_RATE_EMAIL,
        increment=True,
    )


@require_http_methods(["GET", "POST"])
def subscribe(request):
    """GET: a page with the box. POST (htmx or not): subscribe a visitor."""
    form = SubscribeForm(request.POST or None)
    state = "form"
    status = 200
    if request.method == "POST":
        if _rate_limited(request, form):
            state, status = "limited", 429
        elif form.is_valid():
            state = "sent"
            if not form.is_bot:
                try:
                    subscribing.subscribe_visitor(
                        form.cleaned_data["email"],
                        form.cleaned_data["frequency"],
                        form.cleaned_data["time_zone"],
                    )
                except QueueUnavailable:
                    state, status = "unavailable", 503
        else:
            status = 400
    context = {
        "form": form,
        "state": state,
        "email": form.data.get("email", ""),
        "weekly_day": weekly_day_name(),
    }
    if request.htmx:
        # The box swaps in 400 and 429 too (its data-swap-statuses), with the message.
        return render(request, "papers/_subscribe_box.html", context, status=status)
    return render(request, "digests/subscribe.html", context, status=status)


@require_http_methods(["GET", "POST"])
def confirm(request, token):
    """GET shows a button; only the POST confirms, because mail scanners open links
    (a GET that confirmed would let a scanner opt someone in)."""
    found = tokens.read_confirm_token(token)
    if found is None:
        return _bad_link(request)
    pk, email, sent = found
    sub = DigestSubscription.objects.filter(pk=pk, email=email).first()
    if sub is None:
        return _bad_link(request, status=404)
    if sub.confirmations_sent < sent:
        # Used already (confirming resets the count): a replayed link changes nothing,
        # so it can't restart mail to an address that unsubscribed since.
        if sub.is_receiving:
            return _confirmed(request, sub)
        return _bad_link(request)
    if request.method == "POST":
        subscribing.confirm(sub, request.user)
        return _confirmed(request, sub)
    return render(request, "digests/confirm.html", {"subscription": sub, "token": token})


def _confirmed(request, sub):
    context = {"subscription": sub, "schedule": subscribing.schedule(sub)}
    return render(request, "digests/confirmed.html", context)


def _subscription_for(request, token):
    """(subscription, None) for a valid unsubscribe token, or (None, an error page)."""
    pk = tokens.read_unsubscribe_token(token)
    if pk is None:
        return None, _bad_link(request)
    sub = DigestSubscription.objects.filter(pk=pk).first()
    if sub is None:
        return None, _bad_link(request, status=404)
    return sub, None


def _manage_page(request, sub, token, done=""):
    context = {
        "subscription": sub,
        "token": token,
        "done": done,
        "schedule": subscribing.schedule(sub),
    }
    return render(request, "digests/manage.html", context)


@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """The page behind the unsubscribe link in every digest. GET shows it and never
    changes anything (mail scanners prefetch links); its buttons POST with a CSRF
    token, so another site can't press them: unsubscribe, switch frequency, undo an
    unsubscribe, or ask for a confirmation mail to lift a bounce pause."""
    sub, error = _subscription_for(request, token)
    if error:
        return error
    done = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "unsubscribe":
            sub.pause(DigestSubscription.PauseReason.UNSUBSCRIBED)
            done = "unsubscribed"
        elif action == "resubscribe":
            # Not a bounce pause: only a fresh confirmation lifts that (below).
            done = "resubscribed" if sub.undo_unsubscribe() else ""
        elif action == "confirm" and not sub.is_receiving:
            try:
                done = "confirm-sent" if subscribing.request_confirmation(sub) else "confirm-wait"
            except QueueUnavailable:
                done = "confirm-unavailable"
        elif action in DigestSubscription.Frequency.values:
            DigestSubscription.objects.filter(pk=sub.pk).update(frequency=action)
            sub.frequency = action
            done = "frequency"
        else:
            return _bad_link(request)
    return _manage_page(request, sub, token, done)


# RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" here, with no session
# and no CSRF token; the signed token is the proof. Exempt because this view can only
# pause the subscription: the worst a forged cross-site POST could do with a stolen
# token is what the token's holder can do anyway.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def one_click_unsubscribe(request, token):
    """The List-Unsubscribe URL. POST unsubscribes at once. GET (a client that opens
    the header's URL as a link, or a scanner) goes to the page, which asks."""
    sub, error = _subscription_for(request, token)
    if error:
        return error
    if request.method == "GET":
        return redirect("digests:unsubscribe", token=token)
    sub.pause(DigestSubscription.PauseReason.UNSUBSCRIBED)
    return _manage_page(request, sub, token, done="unsubscribed")


# The mail's styles are inlined into style attributes (css_inline), which a strict
# style-src would drop; the page has no script, and script-src stays 'self'.
@csp_update({"style-src": ["'unsafe-inline'"]})
def view_in_browser(request, token):
    """The digest as it was mailed, for mail clients that mangle it."""
    pk = tokens.read_view_token(token)
    if pk is None:
        return _bad_link(request)
    delivery = get_object_or_404(
        DigestDelivery.objects.select_related("subscription").exclude(sections=[]), pk=pk
    )
    recipient = Recipient(
        delivery_id=delivery.pk,
        subscription_id=delivery.subscription_id,
        email=delivery.subscription.email,
        is_user=delivery.subscription.user_id is not None,
        sections=delivery.sections,
    )
    composer = Composer(Period.from_key(delivery.period), papers_for([delivery.sections]))
    _, _, html = composer.parts(recipient)
    response = HttpResponse(html)
    response["X-Robots-Tag"] = "noindex"
    return response


def _back(request, fallback):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


@require_POST
def follow_author(request, slug):
    """Follow (action=follow) or unfollow (action=unfollow) an author: their new
    papers join the follower's digest. Explicit actions, so a repeat is harmless."""
    author = get_object_or_404(Author, slug=slug)
    back = _back(request, author.get_absolute_url())
    if not request.user.is_authenticated:
        return redirect(signin.login_url(back, "follow_author"))
    error = ""
    if request.POST.get("action") == "unfollow":
        FollowedAuthor.objects.filter(user=request.user, author=author).delete()
    elif add_interest(FollowedAuthor, request.user, author=author) is None:
        error = f"You follow {MAX_FOLLOWS} authors already; unfollow some in your digest settings."
    following = FollowedAuthor.objects.filter(user=request.user, author=author).exists()
    if request.htmx:
        context = {"author": author, "following": following, "error": error}
        return render(request, "papers/_follow_author.html", context)
    if error:
        messages.error(request, error)
    elif following:
        messages.success(request, f"You follow {author.name}: their new papers join your digest.")
    else:
        messages.success(request, f"You no longer follow {author.name}.")
    return redirect(back)
