"""The personal digest's "Recommended for you": the same recommendations as /for-you/
(recommend.recommend_for), registered with digests.sections from AppConfig.ready(), so
digests does not import this app. Digests keeps its own rules (new in the period, not in
its other sections, never sent before, how many)."""

from accounts.models import User
from digests.sections import register_section

from .recommend import recommend_for

KIND = "recommended"
HEADING = "Recommended for you"


def recommended(user_ids, since, count: int) -> dict[int, list[tuple[int, str]]]:
    """{user id: [(paper id, "Because you upvoted …")]}, best first, for active accounts."""
    found = {}
    for user in User.objects.filter(pk__in=user_ids, is_active=True):
        picks = recommend_for(user, since, count)
        if picks:
            found[user.pk] = [(r.paper_id, r.because_text()) for r in picks]
    return found


def register():
    register_section(KIND, HEADING, recommended)
