from django.urls import reverse

from accounts.models import User
from papers.models import Paper, Vote

from .factories import PaperFactory, UserFactory


def _admin_client(client):
    admin = UserFactory(username="moderator", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_moderators_can_search_and_filter_papers(client, db):
    PaperFactory(title="Hidden gem of diffusion", authors=["Grace Hopper"])
    PaperFactory(title="Unrelated work")
    client = _admin_client(client)
    response = client.get(reverse("admin:papers_paper_changelist"), {"q": "Hopper"})
    assert response.status_code == 200
    assert "Hidden gem of diffusion" in response.text
    assert "Unrelated work" not in response.text
    response = client.get(reverse("admin:papers_paper_changelist"), {"is_hidden__exact": "1"})
    assert "Hidden gem" not in response.text


def test_hiding_a_paper_from_the_admin_removes_it_from_lists(client, db):
    paper = PaperFactory(title="Spam paper")
    client = _admin_client(client)
    client.post(
        reverse("admin:papers_paper_changelist"),
        {"action": "hide", "_selected_action": [paper.pk]},
    )
    assert Paper.objects.get(pk=paper.pk).is_hidden
    assert client.get(reverse("papers:detail", args=[paper.arxiv_id])).status_code == 404


def test_deleting_a_vote_in_the_admin_keeps_the_count_exact(client, voter):
    paper = PaperFactory()
    paper.add_vote(voter)
    vote = Vote.objects.get()
    client = _admin_client(client)
    client.post(reverse("admin:papers_vote_delete", args=[vote.pk]), {"post": "yes"})
    paper.refresh_from_db()
    assert paper.upvote_count == 0 == Vote.objects.count()


def counts(papers):
    """Each paper's stored count, after checking it against its vote rows."""
    for paper in papers:
        paper.refresh_from_db()
        assert paper.upvote_count == Vote.objects.filter(paper=paper).count()
    return [paper.upvote_count for paper in papers]


def test_deleting_a_user_in_the_admin_takes_their_votes_off_the_counts(client, voter, stranger):
    papers = PaperFactory.create_batch(3)
    for paper in papers:
        paper.add_vote(voter)
    papers[0].add_vote(stranger)
    client = _admin_client(client)
    response = client.post(reverse("admin:accounts_user_delete", args=[voter.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=voter.pk).exists()
    assert counts(papers) == [1, 0, 0]


def test_deleting_users_with_the_admin_bulk_action_keeps_counts_exact(client, voter, stranger):
    papers = PaperFactory.create_batch(3)
    for paper in papers:
        paper.add_vote(voter)
        paper.add_vote(stranger)
    keeper = UserFactory(username="keeper")
    papers[2].add_vote(keeper)
    client = _admin_client(client)
    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "delete_selected", "_selected_action": [voter.pk, stranger.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not User.objects.filter(pk__in=[voter.pk, stranger.pk]).exists()
    assert counts(papers) == [0, 0, 1]
