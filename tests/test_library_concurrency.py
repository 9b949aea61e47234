"""The library under real concurrency: threads, each with its own PostgreSQL
connection, saving, appending to a collection and reordering it at once. The database's
constraints and the collection's row lock decide; nothing is lost or duplicated."""

import pytest

from library.models import Collection, CollectionItem, SavedPaper

from .factories import PaperFactory, UserFactory
from .test_vote_concurrency import run_together

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_same_paper_saved_at_once_is_saved_once():
    user, paper = UserFactory(), PaperFactory()
    run_together([lambda: SavedPaper.objects.save_paper(user, paper) for _ in range(8)])
    assert SavedPaper.objects.filter(user=user, paper=paper).count() == 1


def test_papers_appended_at_once_get_distinct_positions_and_no_duplicates():
    owner = UserFactory()
    collection = Collection.objects.create_named(owner, "Busy")
    papers = PaperFactory.create_batch(6)

    def add(paper):
        return lambda: Collection.objects.get(pk=collection.pk).add_paper(paper)

    # Each paper twice, all at once.
    run_together([add(p) for p in papers] + [add(p) for p in papers])
    positions = list(CollectionItem.objects.values_list("position", flat=True))
    assert len(positions) == 6
    assert sorted(positions) == list(range(6))


def test_reorders_at_once_leave_a_whole_order():
    owner = UserFactory()
    collection = Collection.objects.create_named(owner, "Shuffled")
    collection.add_papers(PaperFactory.create_batch(5))
    ids = list(collection.items.order_by("position").values_list("pk", flat=True))
    orders = [list(reversed(ids)), ids[1:] + ids[:1], ids[2:] + ids[:2]]

    def reorder(order):
        return lambda: Collection.objects.get(pk=collection.pk).reorder(order)

    def move(item_id):
        return lambda: Collection.objects.get(pk=collection.pk).move(item_id, -1)

    run_together([reorder(o) for o in orders] + [move(i) for i in ids])
    positions = sorted(collection.items.values_list("position", flat=True))
    assert positions == list(range(5))
