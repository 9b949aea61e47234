"""Where feature apps plug into papers without papers importing them
(docs/architecture.md). Each app registers from its AppConfig.ready():

- `add_listing_relation("thumbnail")`: a one-to-one relation of Paper that cards, the
  paper page and the API join (select_related), so a feature shown on every card costs
  no query of its own. Cached cards (papers.cards) are keyed on every column of its
  rows: what a card shows of another app must come through one of these relations or
  a viewer annotation, or it would not change with it.
- `add_viewer_annotation(annotate)`: `annotate(queryset, user)` adds what the viewer's
  cards and paper page show from another app, in the papers' own query (the library's
  `user_has_saved`). Each annotation's value is part of a cached card's key.
- `add_page_relation(rows)`: `rows()` returns a values() queryset of what the paper
  page shows from another app (the library's public collections with the paper), with
  `OuterRef("pk")` for the paper; its rows are part of the key of the page's cached
  parts (papers.pageparts), so the page changes with them.
- `paper_json`: sent by papers.api for each paper object it writes, with `paper` and
  `data`; receivers add their fields to `data` (issue 13: githubStars, thumbnail).
- `papers_featured`: sent when papers join a daily list, with `day` and `paper_ids`
  (None: some papers of that day), inside the writer's transaction: a receiver that
  queues work does it on commit (papers.queueing.enqueue_on_commit).
- `set_rank_boost(lookup)`: a Paper lookup whose value, times TRENDING_STAR_WEIGHT,
  counts as votes in the trending score (papers.ranking); None: votes alone.
- `add_vote_refusal(refusal)`: `refusal(user)` returns (expression, message): an
  expression true where `user` may not vote (discussion: a suspended account), asked in
  the vote's own query of the paper, and what the refused voter is told. A pending vote
  (papers.pending_votes) is not cast for them either.
- `add_positive_examples(source)`: `source(user, limit)` returns [(paper id, reason)],
  most recent first, for papers the user showed interest in besides upvoting (the
  library: "saved", "collected"); recommendations read them with
  `positive_examples(user, limit)`, so they need not import the app that keeps them.
"""

from django.dispatch import Signal

_listing_relations: list[str] = []
_viewer_annotations: list = []
_rank_boost: list[str] = []
_positive_sources: list = []
_page_relations: list = []
_vote_refusals: list = []

paper_json = Signal()
papers_featured = Signal()


def add_listing_relation(name: str):
    if name not in _listing_relations:
        _listing_relations.append(name)


def listing_relations() -> tuple[str, ...]:
    return tuple(_listing_relations)


def add_viewer_annotation(annotate):
    if annotate not in _viewer_annotations:
        _viewer_annotations.append(annotate)


def viewer_annotations() -> tuple:
    return tuple(_viewer_annotations)


def set_rank_boost(lookup: str | None):
    _rank_boost[:] = [lookup] if lookup else []


def rank_boost() -> str | None:
    return _rank_boost[0] if _rank_boost else None


def add_vote_refusal(refusal):
    if refusal not in _vote_refusals:
        _vote_refusals.append(refusal)


def vote_refusals(user) -> dict:
    """{annotation name: (expression, message)} for `user`, from every registered app."""
    return {f"vote_refused_{n}": refusal(user) for n, refusal in enumerate(_vote_refusals)}


def featured(day, paper_ids=None):
    """Tell the feature apps that papers joined `day`'s list."""
    papers_featured.send(None, day=day, paper_ids=paper_ids)


def add_positive_examples(source):
    if source not in _positive_sources:
        _positive_sources.append(source)


def positive_examples(user, limit: int) -> list[tuple[int, str]]:
    """Up to `limit` (paper id, reason) from every registered source, each paper once
    (the first source to name it gives its reason)."""
    found, seen = [], set()
    for source in _positive_sources:
        for paper_id, reason in source(user, limit):
            if paper_id not in seen and len(found) < limit:
                seen.add(paper_id)
                found.append((paper_id, reason))
    return found


def add_page_relation(rows):
    if rows not in _page_relations:
        _page_relations.append(rows)


def page_relations() -> tuple:
    return tuple(_page_relations)
