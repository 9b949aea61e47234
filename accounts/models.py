from typing import NamedTuple

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import IntegrityError, models, transaction
from django.db.models import Exists, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from papers.models import Author, Paper, Vote, normalise_name

from . import orcid

# A profile tab's count stops here: it is a walk over the user's own rows, and past a
# thousand papers the exact number tells a reader nothing more ("1,000+").
PROFILE_COUNT_CAP = 1000


class CappedCount(models.Subquery):
    """How many rows `queryset` has, counted up to `cap`: the LIMIT is inside, so the
    database stops reading there however many rows there are."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS capped)"

    def __init__(self, queryset, cap):
        limited = queryset.order_by().values("pk")[:cap]
        super().__init__(limited, output_field=models.IntegerField())


class ProfileTab(NamedTuple):
    name: str
    label: str
    count: int  # up to PROFILE_COUNT_CAP + 1

    @property
    def shown_count(self) -> str:
        if self.count > PROFILE_COUNT_CAP:
            return f"{PROFILE_COUNT_CAP:,}+"
        return f"{self.count:,}"


def verified_email_exists(user) -> Exists:
    """Whether `user` (a user, a pk, or a stand-in for one) has a verified address."""
    return Exists(EmailAddress.objects.filter(user=user, verified=True))


class User(AbstractUser):
    """The site's user. `username` is the public handle (/u/<username>/); sign-in is by
    email through allauth."""

    display_name = models.CharField(max_length=150, blank=True)

    def __str__(self):
        return self.display_name or self.username

    @property
    def public_name(self):
        return self.display_name or self.username

    def get_absolute_url(self):
        return reverse("accounts:profile", args=[self.username])

    def has_verified_email(self) -> bool:
        return EmailAddress.objects.filter(user=self, verified=True).exists()

    def has_verified_email_expression(self) -> Exists:
        """has_verified_email() as an expression: for a view that asks it in a query it
        makes anyway (the paper a vote is for) instead of a round trip of its own."""
        return verified_email_exists(self.pk)

    def orcid_record(self) -> dict | None:
        """The public record of the user's connected ORCID account (see accounts.orcid),
        or None without one."""
        account = SocialAccount.objects.filter(user=self, provider="orcid").first()
        return account.extra_data if account else None

    def orcid_name(self) -> str:
        """The name on the user's connected ORCID record, or "" without one."""
        return orcid.record_name(self.orcid_record() or {})

    # --- The public profile (/u/<username>/) ------------------------------------------

    PROFILE_TABS = {"authored": "Authored", "upvoted": "Upvoted", "submitted": "Submitted"}

    def profile_papers(self, tab: str):
        """The visible papers a profile tab lists, in its order (see PaperQuerySet)."""
        by_tab = {
            "authored": Paper.objects.by_claimed_author,
            "upvoted": Paper.objects.upvoted_by,
            "submitted": Paper.objects.submitted_by,
        }
        return by_tab[tab](self).visible()

    def profile_tabs(self) -> list[ProfileTab]:
        """The tabs with their counts, capped at PROFILE_COUNT_CAP, in one query."""
        counts = {
            tab: CappedCount(self.profile_papers(tab), PROFILE_COUNT_CAP + 1)
            for tab in self.PROFILE_TABS
        }
        row = User.objects.filter(pk=self.pk).values(**counts).get()
        return [ProfileTab(tab, label, row[tab]) for tab, label in self.PROFILE_TABS.items()]

    def delete_account(self):
        """Delete the user and withdraw their votes, keeping every paper's count exact.
        Papers they submitted stay, without their name (submitted_by is SET_NULL).
        Returns how many votes were withdrawn."""
        with transaction.atomic():
            withdrawn = self.withdraw_votes()
            # The pre_delete receiver (accounts.signals) withdraws votes too, for deletes
            # that don't come through here: it finds none left and changes nothing.
            self.delete()
        return withdrawn

    def withdraw_votes(self) -> int:
        """Delete all the user's votes and take each off its paper's count. Safe to
        repeat: only the votes this call deletes are counted off.

        Locks, in this order, so that concurrent votes can't deadlock with us:
        1. The user row FOR UPDATE: a vote by this user inserts a row referencing it
           (a KEY SHARE lock), so no new vote of theirs can land while we work, and one
           that was in flight commits first and is seen below.
        2. Their vote rows FOR UPDATE: one they withdraw at this moment (remove_vote) is
           either gone when we read (skipped, and counted off by remove_vote) or waits
           for us and then finds nothing to delete.
        3. The papers, one UPDATE each in id order, as add_vote/remove_vote take them
           (one paper each), so there is no cycle.
        """
        with transaction.atomic():
            User.objects.select_for_update().filter(pk=self.pk).first()
            votes = list(
                Vote.objects.filter(user=self)
                .select_for_update()
                .order_by("paper_id")
                .values_list("pk", "paper_id")
            )
            if not votes:
                return 0
            Vote.objects.filter(pk__in=[pk for pk, _ in votes]).delete()
            papers = Paper.objects.filter(pk__in=[paper for _, paper in votes])
            for paper in papers.order_by("pk").only("pk", "arxiv_id", "daily_date"):
                paper._count_update(-1)
        return len(votes)


class AuthorClaimQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=AuthorClaim.OPEN)

    def pending(self):
        return self.filter(status=AuthorClaim.PENDING)

    def state_of(self, user, author) -> dict:
        """`user`'s standing on `author`, for the author page: {"claim": their open
        claim or None, "last_rejected": their latest rejected claim or None}."""
        if not user.is_authenticated:
            return {"claim": None, "last_rejected": None}
        claims = list(self.filter(user=user, author=author).order_by("-created_at"))
        open_claim = next((c for c in claims if c.status in AuthorClaim.OPEN), None)
        rejected = next((c for c in claims if c.status == AuthorClaim.REJECTED), None)
        return {"claim": open_claim, "last_rejected": rejected}


class AuthorClaim(models.Model):
    """A user's claim to be an Author. A moderator approves or rejects it in the admin;
    approval sets Author.claimed_by. The database keeps one open (pending or approved)
    claim per user and author, and one approved claim per author."""

    PENDING, APPROVED, REJECTED, WITHDRAWN = "pending", "approved", "rejected", "withdrawn"
    STATUS_CHOICES = [
        (PENDING, "Pending"),
        (APPROVED, "Approved"),
        (REJECTED, "Rejected"),
        (WITHDRAWN, "Withdrawn"),
    ]
    OPEN = (PENDING, APPROVED)  # at most one per user and author (the constraint below)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="author_claims"
    )
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="claims")
    status = models.CharField(max_length=16, choices=STATUS_CHOICES, default=PENDING)
    note = models.TextField(
        blank=True, max_length=2000, help_text="What the claimant told the moderators"
    )
    reason = models.TextField(blank=True, help_text="The moderator's reason for the decision")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = AuthorClaimQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "author"],
                condition=Q(status__in=["pending", "approved"]),
                name="one_open_claim_per_user_and_author",
            ),
            models.UniqueConstraint(
                fields=["author"],
                condition=Q(status="approved"),
                name="one_approved_claim_per_author",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="claim_by_status")]

    def __str__(self):
        return f"{self.user} claims {self.author} ({self.status})"

    class AlreadyClaimed(Exception):
        pass

    class Busy(Exception):
        """The user's open claim on the author kept changing while theirs was filed."""

    @classmethod
    def submit(cls, user, author, note="", attempts=3):
        """File `user`'s claim on `author` (or return their open one). Approved at once
        when their ORCID record shows they are the author (orcid_evidence)."""
        for _ in range(attempts):
            try:
                with transaction.atomic():
                    claim = cls.objects.create(user=user, author=author, note=note)
            except IntegrityError:
                # Their open claim exists... unless it was withdrawn or rejected between
                # our INSERT and this read: then there is nothing in the way, try again.
                existing = cls.objects.active().filter(user=user, author=author).first()
                if existing is not None:
                    return existing
                continue
            claim.approve_if_orcid_matches()
            return claim
        raise cls.Busy(str(author))

    def orcid_evidence(self) -> str | None:
        """Why the claimant's connected ORCID record shows they are this author, or None
        if it doesn't. Both must hold: the record's name is the author's name, and one
        of the works it lists is one of the author's papers here, by arXiv id or DOI.
        A name alone is what anyone can type into a new ORCID account, and a record that
        lists no works leaves nothing to check it against: those wait for a moderator."""
        record = self.user.orcid_record()
        if not record:
            return None
        name = orcid.record_name(record)
        if not name or normalise_name(name) != self.author.normalised_name:
            return None
        works = orcid.work_ids(record)
        if not works:
            return None
        paper = (
            Paper.objects.by_author(self.author)
            .annotate(doi_lower=Lower("doi"))
            .filter(Q(arxiv_id__in=works.arxiv) | Q(doi_lower__in=works.doi))
            .order_by("pk")
            .first()
        )
        if paper is None:
            return None
        return (
            f"The ORCID record's name matches, and it lists {paper.arxiv_id} "
            f"(“{paper.title[:120]}”), a paper by this author."
        )

    def approve_if_orcid_matches(self) -> bool:
        if self.status != self.PENDING:
            return False
        evidence = self.orcid_evidence()
        if evidence is None:
            return False
        try:
            self.approve(reason=evidence)
        except self.AlreadyClaimed:
            return False
        return True

    def approve(self, moderator=None, reason=""):
        """Approve and set Author.claimed_by. Raises AlreadyClaimed if someone else holds
        the author: the partial unique index decides, not a check here."""
        with transaction.atomic():
            Author.objects.select_for_update().filter(pk=self.author_id).first()
            previous = self.status
            try:
                with transaction.atomic():
                    self._decide(self.APPROVED, moderator, reason)
            except IntegrityError as exc:
                self.status = previous
                raise self.AlreadyClaimed(str(self.author)) from exc
            Author.objects.filter(pk=self.author_id).update(claimed_by=self.user_id)

    def reject(self, moderator=None, reason=""):
        self._close(self.REJECTED, moderator, reason)

    def withdraw(self):
        self._close(self.WITHDRAWN, None, "")

    def _close(self, status, moderator, reason):
        with transaction.atomic():
            was_approved = self.status == self.APPROVED
            self._decide(status, moderator, reason)
            if was_approved:
                Author.objects.filter(pk=self.author_id, claimed_by=self.user_id).update(
                    claimed_by=None
                )

    def _decide(self, status, moderator, reason):
        self.status = status
        self.decided_by = moderator
        self.reason = reason
        self.decided_at = timezone.now()
        self.save(update_fields=["status", "decided_by", "reason", "decided_at"])
