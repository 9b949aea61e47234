"""A reader's library (issue 15): saved papers (the reading list), collections of
papers with notes, and the private feed of the library.

Saving is private: nobody else sees what a user saved. Collections are private,
unlisted (readable by whoever has the secret link) or public (on the owner's profile
and the pages of the papers in them).
"""

import secrets
import time

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, models, transaction
from django.db.models import Exists, Max, OuterRef, Q, Value
from django.db.models.functions import JSONObject
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from papers.models import Paper, Vote

from . import notes

NAME_MAX = 120
DESCRIPTION_MAX = 2000
NOTE_MAX = 5000


def new_token() -> str:
    """43 URL-safe characters from 32 random bytes: unguessable, and short enough to
    paste."""
    return secrets.token_urlsafe(32)


# Which of a user's saved papers are hidden, cached: leaving hidden papers out of the
# reading list otherwise joins every save with its paper (~15 ms for 5,000 saves at 1M
# papers), on every page, for the sake of a handful. A moderator hiding or showing
# papers changes HIDDEN_EPOCH (library.signals), which retires every entry; a save
# never adds a hidden paper (saving and importing refuse them).
HIDDEN_EPOCH_KEY = "library:hidden-epoch"
HIDDEN_SAVES_SECONDS = 24 * 60 * 60


def hidden_papers_changed():
    """Retire the cached lists of hidden saved papers, once the change is committed."""
    transaction.on_commit(lambda: cache.set(HIDDEN_EPOCH_KEY, time.time_ns(), None))


def hidden_saved_ids(user) -> list[int]:
    """The ids of the hidden papers in `user`'s library: one round trip to the cache,
    and a query on a miss."""
    key = f"library:hidden-saves:{user.pk}"
    found = cache.get_many([HIDDEN_EPOCH_KEY, key])
    epoch = found.get(HIDDEN_EPOCH_KEY)
    if epoch is None:
        epoch = time.time_ns()
        if not cache.add(HIDDEN_EPOCH_KEY, epoch, None):
            epoch = cache.get(HIDDEN_EPOCH_KEY, epoch)
    entry = found.get(key)
    if entry is not None and entry[0] == epoch:
        return entry[1]
    ids = list(
        SavedPaper.objects.filter(user=user, paper__is_hidden=True).values_list(
            "paper_id", flat=True
        )
    )
    cache.set(key, (epoch, ids), HIDDEN_SAVES_SECONDS)
    return ids


class SavedPaperQuerySet(models.QuerySet):
    def in_library(self, user, *, unread=False, category="", has_code=False):
        """`user`'s saves of visible papers, filtered: unread ones, papers in a
        category (`cs.LG`, `cs.*`), papers with a code link."""
        saves = self.filter(user=user)
        if unread:
            saves = saves.filter(read_at__isnull=True)
        if not (category or has_code):
            # The saves alone, through saved_by_user_newest: no paper row is read.
            return saves.exclude(paper_id__in=hidden_saved_ids(user))
        # These filters read the papers anyway: hidden ones go in the same join.
        saves = saves.filter(paper__is_hidden=False)
        if category:
            saves = saves.filter(paper__in=Paper.objects.in_category(category).values("pk"))
        if has_code:
            saves = saves.exclude(paper__code_url="")
        return saves

    def save_paper(self, user, paper) -> bool:
        """Add `paper` to `user`'s library; False if it was there already. The
        unique constraint decides, so a double click saves once."""
        _, created = self.get_or_create(user=user, paper=paper)
        return created

    def remove_paper(self, user, paper) -> bool:
        deleted, _ = self.filter(user=user, paper=paper).delete()
        return bool(deleted)

    def mark_read(self, user, paper, read: bool) -> bool:
        """Mark a saved paper read (now) or unread. False if it is not saved."""
        return bool(
            self.filter(user=user, paper=paper).update(read_at=timezone.now() if read else None)
        )


class SavedPaper(models.Model):
    """A paper in a user's library. `read_at` is when they marked it read (None:
    unread)."""

    # The unique constraint's (user, paper) index and saved_by_user_newest serve the
    # lookups by user; saved_paper_by_paper serves a paper's deletion.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="saved_papers",
        db_index=False,
    )
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="saves", db_index=False)
    saved_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = SavedPaperQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "paper"], name="one_save_per_user_per_paper")
        ]
        indexes = [
            # Covering: the reading list's page and total (and its unread filter) are
            # read from the index alone, not from saves scattered over the table.
            models.Index(
                fields=["user", "-saved_at", "-id"],
                include=["paper", "read_at"],
                name="saved_by_user_newest",
            ),
            models.Index(fields=["paper"], name="saved_paper_by_paper"),
        ]

    def __str__(self):
        return f"{self.user} saved {self.paper_id}"


class CollectionQuerySet(models.QuerySet):
    def public(self):
        return self.filter(visibility=Collection.Visibility.PUBLIC)

    def create_named(self, owner, name: str, description: str = "", visibility="private"):
        """A new collection with a slug unique among the owner's: "reading-group",
        then "reading-group-2", ... The unique constraint decides, so two collections
        created at once with the same name get different slugs."""
        base = slugify(name)[:100] or "collection"
        for attempt in range(1, 1000):
            slug = base if attempt == 1 else f"{base}-{attempt}"
            if self.filter(owner=owner, slug=slug).exists():
                continue
            try:
                with transaction.atomic():
                    return self.create(
                        owner=owner,
                        name=name,
                        slug=slug,
                        description=description,
                        visibility=visibility,
                    )
            except IntegrityError:
                continue
        raise IntegrityError("No free slug for this collection name.")


class Collection(models.Model):
    """A named, ordered group of papers. `share_token` is the secret of an unlisted
    collection's link (?key=...); regenerating it revokes the old link."""

    class Visibility(models.TextChoices):
        PRIVATE = "private", "Private: only you"
        UNLISTED = "unlisted", "Unlisted: anyone with the secret link"
        PUBLIC = "public", "Public: on your profile and the papers' pages"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="collections",
        db_index=False,
    )
    name = models.CharField(max_length=NAME_MAX)
    slug = models.SlugField(max_length=140)
    description = models.TextField(blank=True, max_length=DESCRIPTION_MAX)
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    share_token = models.CharField(max_length=64, default=new_token)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CollectionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "slug"], name="collection_slug_per_owner")
        ]

    def __str__(self):
        return f"{self.owner} / {self.slug}"

    def get_absolute_url(self):
        return reverse("library:collection", args=[self.owner.username, self.slug])

    @property
    def is_public(self):
        return self.visibility == self.Visibility.PUBLIC

    @property
    def is_unlisted(self):
        return self.visibility == self.Visibility.UNLISTED

    def share_url(self):
        return f"{self.get_absolute_url()}?key={self.share_token}"

    def viewable_by(self, user, key: str = "") -> bool:
        """The owner always; anyone for a public collection; for an unlisted one,
        whoever brings the current secret (compared in constant time)."""
        if user.is_authenticated and user.pk == self.owner_id:
            return True
        if self.is_public:
            return True
        return self.is_unlisted and bool(key) and secrets.compare_digest(key, self.share_token)

    def regenerate_token(self):
        self.share_token = new_token()
        self.save(update_fields=["share_token", "updated_at"])

    def touch(self):
        Collection.objects.filter(pk=self.pk).update(updated_at=timezone.now())

    def add_paper(self, paper, note: str = "") -> bool:
        """Append `paper`; False if it is in the collection already (the unique
        constraint decides)."""
        with transaction.atomic():
            # The collection's row lock serialises appends, so two get distinct positions.
            Collection.objects.select_for_update().filter(pk=self.pk).first()
            last = self.items.aggregate(last=Max("position"))["last"]
            try:
                with transaction.atomic():
                    CollectionItem.objects.create(
                        collection=self,
                        paper=paper,
                        position=(last + 1) if last is not None else 0,
                        note=note,
                        note_html=notes.render(note),
                    )
            except IntegrityError:
                return False
            self.touch()
        return True

    def add_papers(self, papers) -> int:
        """Append the papers not in the collection yet, in order; how many were added."""
        with transaction.atomic():
            Collection.objects.select_for_update().filter(pk=self.pk).first()
            present = set(self.items.values_list("paper_id", flat=True))
            last = self.items.aggregate(last=Max("position"))["last"]
            position = (last + 1) if last is not None else 0
            new = []
            for paper in papers:
                if paper.pk in present:
                    continue
                present.add(paper.pk)
                new.append(CollectionItem(collection=self, paper=paper, position=position))
                position += 1
            CollectionItem.objects.bulk_create(new, ignore_conflicts=True)
            if new:
                self.touch()
        return len(new)

    def move(self, item_id: int, offset: int) -> bool:
        """Move an item `offset` places (-1 up, +1 down), keeping the others' order.
        False if it is already at that end."""
        with transaction.atomic():
            Collection.objects.select_for_update().filter(pk=self.pk).first()
            ids = list(self.items.order_by("position", "id").values_list("pk", flat=True))
            if item_id not in ids:
                return False
            index = ids.index(item_id)
            target = index + offset
            if not 0 <= target < len(ids):
                return False
            ids.insert(target, ids.pop(index))
            self._write_order(ids)
        return True

    def reorder(self, item_ids: list[int]) -> bool:
        """Put these items (a page of the collection, or all of it) in the order of
        `item_ids`: they take, in that order, the places they held between them; the
        other items stay where they are. False (nothing changes) if an id is repeated
        or not in the collection: the page was stale."""
        with transaction.atomic():
            Collection.objects.select_for_update().filter(pk=self.pk).first()
            if len(set(item_ids)) != len(item_ids):
                return False
            rows = list(
                self.items.filter(pk__in=item_ids)
                .order_by("position", "id")
                .values_list("pk", flat=True)
            )
            if len(rows) != len(item_ids):
                return False
            everything = list(self.items.order_by("position", "id").values_list("pk", flat=True))
            slots = sorted(everything.index(pk) for pk in rows)
            for slot, pk in zip(slots, item_ids, strict=True):
                everything[slot] = pk
            self._write_order(everything)
        return True

    def _write_order(self, ids):
        """Positions 0..n-1 in the order of `ids`, in one UPDATE."""
        whens = [models.When(pk=pk, then=models.Value(i)) for i, pk in enumerate(ids)]
        if whens:
            self.items.filter(pk__in=ids).update(
                position=models.Case(*whens, output_field=models.IntegerField())
            )
        self.touch()


class CollectionItem(models.Model):
    """A paper in a collection, at `position` (0 first), with the owner's note:
    Markdown in `note`, and `note_html`, its sanitised rendering (library.notes),
    written with it."""

    collection = models.ForeignKey(
        Collection, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    paper = models.ForeignKey(
        Paper,
        on_delete=models.CASCADE,
        related_name="collection_items",
        db_index=False,
    )
    position = models.PositiveIntegerField(default=0)
    note = models.TextField(blank=True, max_length=NOTE_MAX)
    note_html = models.TextField(blank=True)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "paper"], name="paper_once_per_collection"
            )
        ]
        indexes = [
            models.Index(fields=["collection", "position"], name="collection_item_order"),
            models.Index(fields=["paper"], name="collection_item_by_paper"),
        ]

    def __str__(self):
        return f"{self.paper_id} in {self.collection_id} (#{self.position + 1})"

    def set_note(self, text: str):
        self.note = text
        self.note_html = notes.render(text)
        self.save(update_fields=["note", "note_html"])


class LibraryFeed(models.Model):
    """The secret of a user's private Atom feed of their library. Regenerating it
    revokes the old feed URL."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="library_feed"
    )
    token = models.CharField(max_length=64, unique=True, default=new_token)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"library feed of {self.user}"

    def get_absolute_url(self):
        return reverse("library:feed", args=[self.token])

    def regenerate(self):
        self.token = new_token()
        self.created_at = timezone.now()
        self.save(update_fields=["token", "created_at"])


def annotate_saved(papers, user):
    """`user_has_saved` on each paper: whether `user` has it in their library, as an
    EXISTS in the papers' own query. Registered with papers.hooks.add_viewer_annotation
    (library.signals), so every list of cards and the paper page carry it."""
    if user is None or not user.is_authenticated:
        return papers.annotate(user_has_saved=Value(False, output_field=models.BooleanField()))
    return papers.annotate(
        user_has_saved=Exists(SavedPaper.objects.filter(paper=OuterRef("pk"), user=user))
    )


def viewable_collection(user, username: str, slug: str, key: str = ""):
    """The collection at /collections/<username>/<slug>/ if `user` may read it (their
    own, a public one, an unlisted one with its secret), else None: to the visitor a
    private collection does not exist."""
    collection = (
        Collection.objects.select_related("owner")
        .filter(owner__username=username, owner__is_active=True, slug=slug)
        .first()
    )
    if collection is None or not collection.viewable_by(user, key):
        return None
    return collection


def visible_collections_with(paper):
    """The public collections that include `paper`, most recently updated first."""
    return (
        Collection.objects.public()
        .filter(items__paper=paper)
        .select_related("owner")
        .filter(Q(owner__is_active=True))
        .order_by("-updated_at")
    )


PUBLIC_COLLECTIONS_SHOWN = 10


def public_collections_shown():
    """What the paper page's "In collections" panel shows of each public collection
    (library_tags.public_collections_with), for the paper `OuterRef("pk")`: rows of
    the key of the page's cached parts (papers.hooks.add_page_relation)."""
    return visible_collections_with(OuterRef("pk")).values(
        json=JSONObject(
            name="name", slug="slug", owner="owner__username", owner_name="owner__display_name"
        )
    )[:PUBLIC_COLLECTIONS_SHOWN]


def positive_paper_ids(user):
    """The papers `user` has shown interest in: upvoted, saved, or put in a collection.
    For recommendations ("For you") and the personal digest to use as positive examples
    (a queryset of ids, to filter or join on)."""
    return Paper.objects.filter(
        Q(pk__in=Vote.objects.filter(user=user).values("paper"))
        | Q(pk__in=SavedPaper.objects.filter(user=user).values("paper"))
        | Q(pk__in=CollectionItem.objects.filter(collection__owner=user).values("paper"))
    ).values("pk")


def recent_positive_examples(user, limit: int) -> list[tuple[int, str]]:
    """(paper id, "saved" | "collected"), most recently saved or collected first, up to
    `limit`: the library's seeds for recommendations (papers.hooks.positive_examples).
    Visible papers only; a paper both saved and collected counts as saved."""
    saved = (
        SavedPaper.objects.filter(user=user, paper__is_hidden=False)
        .order_by("-saved_at", "-pk")
        .values_list("paper_id", "saved_at")[:limit]
    )
    collected = (
        CollectionItem.objects.filter(collection__owner=user, paper__is_hidden=False)
        .order_by("-added_at", "-pk")
        .values_list("paper_id", "added_at")[:limit]
    )
    latest = {}
    for reason, rows in (("saved", saved), ("collected", collected)):
        for pk, at in rows:
            if pk not in latest:
                latest[pk] = (at, reason)
            elif at > latest[pk][0]:
                latest[pk] = (at, latest[pk][1])
    ordered = sorted(latest.items(), key=lambda item: (item[1][0], item[0]), reverse=True)
    return [(pk, reason) for pk, (_, reason) in ordered[:limit]]
