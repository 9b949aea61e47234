import datetime as dt

import factory
from django.utils import timezone

from accounts.models import User
from digests.models import DigestSubscription
from papers.models import Author, Authorship, Paper, Vote, normalise_name, slug_for


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


class AuthorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Author
        django_get_or_create = ("normalised_name",)

    name = factory.Sequence(lambda n: f"Ada Lovelace {n}")
    normalised_name = factory.LazyAttribute(lambda a: normalise_name(a.name))
    slug = factory.LazyAttribute(lambda a: slug_for(a.normalised_name))


class PaperFactory(factory.django.DjangoModelFactory):
    """A featured paper; pass daily_date=None for one that is only indexed. Pass
    authors=[...names] to attach authors in order."""

    class Meta:
        model = Paper
        skip_postgeneration_save = True

    arxiv_id = factory.Sequence(lambda n: f"2411.{n + 10000:05d}")
    title = factory.Sequence(lambda n: f"Attention Variants Considered, Part {n}")
    abstract = "We study how attention mechanisms generalise across tasks and datasets."
    primary_category = "cs.LG"
    categories = factory.LazyFunction(lambda: ["cs.LG", "cs.AI"])
    published_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))
    updated_at = factory.SelfAttribute("published_at")
    daily_date = factory.LazyFunction(lambda: timezone.now().date())

    @factory.post_generation
    def authors(self, create, names, **kwargs):
        if not create or not names:
            return
        for position, name in enumerate(names):
            author = AuthorFactory(name=name)
            Authorship.objects.create(paper=self, author=author, position=position)
        Paper.objects.filter(pk=self.pk).update(
            author_names=", ".join(names), author_count=len(names)
        )
        self.author_names, self.author_count = ", ".join(names), len(names)


class VoteFactory(factory.django.DjangoModelFactory):
    """Creates the vote through Paper.add_vote so the count stays exact."""

    class Meta:
        model = Vote

    user = factory.SubFactory(UserFactory)
    paper = factory.SubFactory(PaperFactory)

    @classmethod
    def _create(cls, model_class, user, paper, **kwargs):
        paper.add_vote(user)
        paper.refresh_from_db(fields=["upvote_count", "rank_score"])
        return Vote.objects.get(user=user, paper=paper)


# --- Digests (issue 5) ------------------------------------------------------------------


class DigestSubscriptionFactory(factory.django.DjangoModelFactory):
    """A confirmed subscription, receiving; pass confirmed_at=None for a pending one."""

    class Meta:
        model = DigestSubscription

    email = factory.Sequence(lambda n: f"reader{n}@example.org")
    frequency = DigestSubscription.Frequency.DAILY
    confirmed_at = factory.LazyFunction(timezone.now)
