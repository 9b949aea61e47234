"""Extra sections of the personal digest, given by feature apps without digests
importing them (docs/architecture.md): semantic registers "Recommended for you" from
its AppConfig.ready().

    register_section("recommended", "Recommended for you", candidates)

`candidates(user_ids, since, count)` returns {user id: [(paper id, note)]}: up to
`count` papers for each account, best first, each with a short note shown under it
("Because you upvoted …"). Digests keeps its own rules (selection.py): only accounts get
these sections, after the others; only papers new in the period, not in the digest's
other sections and never sent to the subscription before; at most
DIGEST_PERSONAL_COUNT of them.

Notices are sections of another kind: lines of text with a link, not papers
(notifications folds the replies and mentions of readers who chose "in my digest").

    register_notices("notifications", "Your notifications", collect, claimed)

`collect(user_ids, since)` returns {user id: Notices} for the accounts that have some;
`claimed(ids)` is called in the transaction that claims the digests carrying those
notices (with the ids they listed), so the provider marks them sent: if the claim
rolls back, so does that; a delivery sent again later carries the same notices. A
notice is in at most one digest if `collect` leaves out what `claimed` marked.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ExtraSection:
    kind: str
    heading: str
    candidates: Callable


_sections: dict[str, ExtraSection] = {}


def register_section(kind: str, heading: str, candidates: Callable):
    """Add (or replace) the section `kind`; registering twice is harmless."""
    _sections[kind] = ExtraSection(kind, heading, candidates)


def unregister_section(kind: str):
    _sections.pop(kind, None)
    _notices.pop(kind, None)


def registered() -> list[ExtraSection]:
    return list(_sections.values())


@dataclass(frozen=True)
class Notice:
    text: str
    url: str


@dataclass(frozen=True)
class Notices:
    """What one account is told: `items` (in order), their ids for `claimed`, the
    signed link that stops these (`stop_url`) and where to see them all (`more_url`)."""

    items: list[Notice]
    ids: list[int]
    stop_url: str
    more_url: str = ""


@dataclass(frozen=True)
class NoticeSection:
    kind: str
    heading: str
    collect: Callable
    claimed: Callable


_notices: dict[str, NoticeSection] = {}


def register_notices(kind: str, heading: str, collect: Callable, claimed: Callable):
    """Add (or replace) the notice section `kind`; registering twice is harmless."""
    _notices[kind] = NoticeSection(kind, heading, collect, claimed)


def registered_notices() -> list[NoticeSection]:
    return list(_notices.values())
