from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from .models import ModerationAction

FEED_SIZE = 50


class ModerationAtom(Feed):
    """The public moderation log as Atom: what, when, by whom and why."""

    feed_type = Atom1Feed
    description_template = "moderation/feed_entry.html"

    def title(self):
        return f"Moderation log · {settings.SITE_NAME}"

    def link(self):
        return settings.SITE_URL + reverse("moderation:log")

    def feed_url(self):
        return settings.SITE_URL + reverse("moderation:feed")

    def subtitle(self):
        return "Every action of the moderators, with their reasons."

    def items(self):
        actions = ModerationAction.objects.select_related(
            "moderator", "paper", "target_user", "comment"
        )
        return actions[:FEED_SIZE]

    def item_title(self, action):
        return action.get_kind_display()

    def item_link(self, action):
        return settings.SITE_URL + reverse("moderation:log") + f"#action-{action.pk}"

    def item_guid(self, action):
        return self.item_link(action)

    def item_pubdate(self, action):
        return action.created_at

    def item_author_name(self, action):
        return action.moderator.username if action.moderator else "a former moderator"
