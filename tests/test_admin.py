from django.urls import reverse

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
