from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .forms import EmailSettingsForm
from .mail import DIGEST, read_stop_token
from .models import Notification, NotificationSettings

PAGE_SIZE = 30


@login_required
def inbox(request):
    notifications = request.user.notifications.for_inbox()
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    settings_form = EmailSettingsForm(instance=NotificationSettings.of(request.user))
    unread = sum(1 for n in page if n.read_at is None)
    context = {"page": page, "settings_form": settings_form, "unread_on_page": unread}
    return render(request, "notifications/inbox.html", context)


@require_POST
@login_required
def mark_read(request):
    Notification.mark_all_read(request.user)
    return redirect("notifications:inbox")


@require_POST
@login_required
def email_settings(request):
    form = EmailSettingsForm(request.POST, instance=NotificationSettings.of(request.user))
    if form.is_valid():
        form.save()
        messages.success(request, "Your email settings are saved.")
    return redirect("notifications:inbox")


def stop_emails(request, token):
    """The signed link in every notification mail: a page with one button (a GET
    changes nothing: mail scanners follow links), which stops that kind of mail."""
    found = read_stop_token(token)
    user = kind = None
    if found:
        user = get_user_model().objects.filter(pk=found[0], is_active=True).first()
        kind = found[1] if found[1] in (*Notification.Kind.values, DIGEST) else None
    if user is None or kind is None:
        return render(request, "notifications/stop.html", {"invalid": True}, status=400)
    if kind == DIGEST:
        label = "your notifications, in your digest"
        kinds = Notification.Kind.values
    else:
        label, kinds = Notification.Kind(kind).label.lower(), [kind]
    done = False
    if request.method == "POST":
        prefs = NotificationSettings.of(user)
        for each in kinds:
            setattr(prefs, f"email_{each}", False)
        prefs.save()
        done = True
    context = {"label": label, "done": done, "person": user}
    return render(request, "notifications/stop.html", context)
