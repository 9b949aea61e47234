"""Atom feeds of a paper's discussion and of a user's comments. An entry's content is
the comment's sanitised HTML (rendered and cleaned by nh3 when it was saved)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from papers.models import Paper

from .models import Comment

FEED_SIZE = 50


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


class _CommentFeed(Feed):
    feed_type = Atom1Feed
    description_template = "discussion/feed_entry.html"

    def item_title(self, comment):
        return f"{comment.author.public_name} on “{' '.join(comment.paper.title.split())}”"

    def item_link(self, comment):
        return absolute(comment.get_absolute_url())

    def item_guid(self, comment):
        return absolute(comment.get_absolute_url())

    def item_pubdate(self, comment):
        return comment.created_at

    def item_updateddate(self, comment):
        return comment.edited_at or comment.created_at

    def item_author_name(self, comment):
        return comment.author.public_name

    def item_author_link(self, comment):
        return absolute(comment.author.get_absolute_url())


class PaperDiscussionAtom(_CommentFeed):
    def get_object(self, request, arxiv_id):
        return get_object_or_404(Paper.objects.visible(), arxiv_id=arxiv_id)

    def title(self, paper):
        return f"Discussion of “{' '.join(paper.title.split())}” · {settings.SITE_NAME}"

    def link(self, paper):
        return absolute(paper.get_absolute_url() + "#discussion")

    def feed_url(self, paper):
        return absolute(reverse("discussion:feed", args=[paper.arxiv_id]))

    def subtitle(self, paper):
        return f"New comments on arXiv:{paper.arxiv_id}"

    def items(self, paper):
        comments = Comment.objects.filter(paper=paper).shown().select_related("author", "paper")
        return comments.order_by("-created_at", "-pk")[:FEED_SIZE]


class UserCommentsAtom(_CommentFeed):
    def get_object(self, request, username):
        return get_object_or_404(get_user_model(), username=username, is_active=True)

    def title(self, person):
        return f"Comments by {person.public_name} · {settings.SITE_NAME}"

    def link(self, person):
        return absolute(reverse("discussion:user_comments", args=[person.username]))

    def feed_url(self, person):
        return absolute(reverse("discussion:user_feed", args=[person.username]))

    def subtitle(self, person):
        return f"What @{person.username} wrote about papers"

    def items(self, person):
        comments = (
            Comment.objects.filter(author=person, paper__is_hidden=False)
            .shown()
            .select_related("author", "paper")
        )
        return comments.order_by("-created_at", "-pk")[:FEED_SIZE]
