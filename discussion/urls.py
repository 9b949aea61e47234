from django.urls import path, re_path

from config import converters  # noqa: F401  (registers <text:...>)
from papers.arxiv_ids import URL_PATTERN

from . import feeds, views

app_name = "discussion"

# /papers/<arxiv id>/comments...: the id as papers' own URLs match it (an old-style id
# has a slash).
PAPER = rf"^papers/(?P<arxiv_id>{URL_PATTERN})/comments"

urlpatterns = [
    # The contract (issue 14): POST a comment here with `body`, and `parent` for a reply.
    re_path(rf"{PAPER}/$", views.post_comment, name="post"),
    re_path(rf"{PAPER}\.atom$", feeds.PaperDiscussionAtom(), name="feed"),
    re_path(rf"{PAPER}/(?P<pk>[0-9]+)/reply/$", views.reply_form, name="reply"),
    re_path(rf"{PAPER}/(?P<pk>[0-9]+)/edit/$", views.edit_comment, name="edit"),
    re_path(rf"{PAPER}/(?P<pk>[0-9]+)/delete/$", views.delete_comment, name="delete"),
    re_path(rf"{PAPER}/(?P<pk>[0-9]+)/vote/$", views.vote_comment, name="vote"),
    re_path(rf"{PAPER}/(?P<pk>[0-9]+)/flag/$", views.flag_comment, name="flag"),
    re_path(rf"{PAPER}/(?P<pk>[0-9]+)/history/$", views.comment_history, name="history"),
    path("u/<text:username>/comments/", views.user_comments, name="user_comments"),
    path("u/<text:username>/comments.atom", feeds.UserCommentsAtom(), name="user_feed"),
]
