from django.dispatch import receiver

from papers.models import papers_hidden

from .models import ModerationAction


@receiver(papers_hidden)
def log_hidden_papers(sender, papers, hidden, moderator, **kwargs):
    """The admin's hiding of papers goes into the public moderation log too."""
    ModerationAction.log_papers(moderator, papers, hidden)
