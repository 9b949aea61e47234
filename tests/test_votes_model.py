from papers.models import Vote

from .factories import PaperFactory


def test_it_records_a_vote_and_counts_it(voter):
    paper = PaperFactory()
    assert paper.add_vote(voter) is True
    paper.refresh_from_db()
    assert paper.upvote_count == 1 == Vote.objects.filter(paper=paper).count()
    assert paper.rank_score > 0


def test_second_vote_is_ignored(voter):
    paper = PaperFactory()
    paper.add_vote(voter)
    assert paper.add_vote(voter) is False
    paper.refresh_from_db()
    assert paper.upvote_count == 1


def test_removing_a_vote_that_was_never_cast_changes_nothing(voter):
    paper = PaperFactory()
    assert paper.remove_vote(voter) is False
    paper.add_vote(voter)
    assert paper.remove_vote(voter) is True
    paper.refresh_from_db()
    assert paper.upvote_count == 0 == Vote.objects.count()


def test_refreshing_scores_lets_older_papers_sink(voter, stranger):
    import datetime as dt

    from django.utils import timezone

    from papers.models import Paper

    today = timezone.now().date()
    fresh = PaperFactory(daily_date=today)
    older = PaperFactory(daily_date=today - dt.timedelta(days=3))
    for user in (voter, stranger):
        older.add_vote(user)
    fresh.add_vote(voter)
    assert Paper.objects.refresh_rank_scores() == 2
    assert list(Paper.objects.trending()) == [fresh, older]
