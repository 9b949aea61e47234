from django.urls import path

from config import converters  # noqa: F401  (registers <text:...>)
from papers import urls as _papers_urls  # noqa: F401  (registers <arxiv:...>)

from . import feeds, views

app_name = "discussion"

urlpatterns = [
    # The contract (issue 14): POST a comment here with `body`, and `parent` for a reply.
    path("papers/<arxiv:arxiv_id>/comments/", views.post_comment, name="post"),
    path("papers/<arxiv:arxiv_id>/comments.atom", feeds.PaperDiscussionAtom(), name="feed"),
    path("papers/<arxiv:arxiv_id>/comments/<int:pk>/reply/", views.reply_form, name="reply"),
    path("papers/<arxiv:arxiv_id>/comments/<int:pk>/edit/", views.edit_comment, name="edit"),
    path("papers/<arxiv:arxiv_id>/comments/<int:pk>/delete/", views.delete_comment, name="delete"),
    path("papers/<arxiv:arxiv_id>/comments/<int:pk>/vote/", views.vote_comment, name="vote"),
    path("papers/<arxiv:arxiv_id>/comments/<int:pk>/flag/", views.flag_comment, name="flag"),
    path(
        "papers/<arxiv:arxiv_id>/comments/<int:pk>/history/",
        views.comment_history,
        name="history",
    ),
    path("u/<text:username>/comments/", views.user_comments, name="user_comments"),
    path("u/<text:username>/comments.atom", feeds.UserCommentsAtom(), name="user_feed"),
]
