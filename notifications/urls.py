from django.urls import path

from config import converters  # noqa: F401  (registers <text:...>)

from . import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.inbox, name="inbox"),
    path("notifications/read/", views.mark_read, name="mark_read"),
    path("notifications/email/", views.email_settings, name="email_settings"),
    path("notifications/stop/<text:token>/", views.stop_emails, name="stop"),
]
