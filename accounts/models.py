from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from papers.models import Author, Paper, Vote, normalise_name


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
        from allauth.account.models import EmailAddress

        return EmailAddress.objects.filter(user=self, verified=True).exists()

    def orcid_name(self) -> str:
        """The name on the user's connected ORCID record, or "" without one."""
        from allauth.socialaccount.models import SocialAccount

        account = SocialAccount.objects.filter(user=self, provider="orcid").first()
        if account is None:
            return ""
        name = (account.extra_data.get("person") or {}).get("name") or {}

        def value(key):
            return ((name.get(key) or {}).get("value") or "").strip()

        given, family = value("given-names"), value("family-name")
        return " ".join(part for part in (given, family) if part) or value("credit-name")

    def delete_account(self):
        """Delete the user and withdraw their votes, keeping every paper's count exact.
        Papers they submitted stay, without their name (submitted_by is SET_NULL).

        Locks, in this order, so that concurrent votes can't deadlock with us:
        1. The user row FOR UPDATE: a vote by this user inserts a row referencing it
           (a KEY SHARE lock), so no new vote of theirs can land while we work, and one
           that was in flight commits first and is seen below.
        2. Their voted papers in id order, FOR NO KEY UPDATE: what add_vote's count
           UPDATE takes too, so other users' votes on them queue behind us; a KEY SHARE
           (a vote row being inserted) does not conflict with it.
        """
        with transaction.atomic():
            User.objects.select_for_update().filter(pk=self.pk).first()
            papers = list(
                Paper.objects.filter(votes__user=self)
                .order_by("pk")
                .select_for_update(no_key=True)
                .only("pk", "daily_date")
            )
            Vote.objects.filter(user=self).delete()
            for paper in papers:
                paper._count_update(-1)
            self.delete()
        return len(papers)


class AuthorClaimQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=[AuthorClaim.PENDING, AuthorClaim.APPROVED])

    def pending(self):
        return self.filter(status=AuthorClaim.PENDING)

    def approved(self):
        return self.filter(status=AuthorClaim.APPROVED)


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

    @classmethod
    def submit(cls, user, author, note=""):
        """File `user`'s claim on `author` (or return their open one). Approved at once
        when the user's ORCID record carries the author's name."""
        try:
            with transaction.atomic():
                claim = cls.objects.create(user=user, author=author, note=note)
        except IntegrityError:
            return cls.objects.active().get(user=user, author=author)
        claim.approve_if_orcid_matches()
        return claim

    def orcid_matches(self) -> bool:
        name = self.user.orcid_name()
        return bool(name) and normalise_name(name) == self.author.normalised_name

    def approve_if_orcid_matches(self) -> bool:
        if self.status != self.PENDING or not self.orcid_matches():
            return False
        try:
            self.approve(reason="ORCID record name matches the author name.")
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


class PendingVote(models.Model):
    """An upvote asked for before the user could cast it (signed out, or not yet
    verified), kept until their email is verified, which may happen in another session
    (the link in the verification mail). One per user: the latest click wins."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pending_vote"
    )
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="+")
    next_url = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.user} → {self.paper_id}"
