from django.urls import path, re_path

from config import converters  # noqa: F401  (registers <text:...>)
from papers.arxiv_ids import URL_PATTERN

from . import feeds, views

app_name = "moderation"

urlpatterns = [
    # The contract (issue 14): the public log and its feed.
    path("moderation/", views.moderation_log, name="log"),
    path("moderation.atom", feeds.ModerationAtom(), name="feed"),
    path("moderation/queue/", views.queue, name="queue"),
    path("moderation/comments/<int:pk>/hide/", views.hide_comment, name="hide_comment"),
    path("moderation/comments/<int:pk>/unhide/", views.unhide_comment, name="unhide_comment"),
    path("moderation/comments/<int:pk>/dismiss/", views.dismiss_flags, name="dismiss_flags"),
    re_path(
        rf"^moderation/papers/(?P<arxiv_id>{URL_PATTERN})/lock/$",
        views.lock_thread,
        name="lock_thread",
    ),
    path("moderation/users/<text:username>/suspend/", views.suspend_user, name="suspend_user"),
]
