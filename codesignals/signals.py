"""How code signals plug into papers (papers.hooks): cards, the paper page and the API
join the paper's signals and repository; the API gains githubRepo/githubStars; the
trending score may count the stars its code gained (TRENDING_STAR_WEIGHT)."""

from django.dispatch import receiver

from papers import hooks

from .api import paper_fields

hooks.add_listing_relation("code_signals__repository")
hooks.set_rank_boost("code_signals__repository__stars_gained")


@receiver(hooks.paper_json)
def add_code_fields(sender, paper, data, **kwargs):
    data.update(paper_fields(paper))
