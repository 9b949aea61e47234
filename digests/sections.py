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


def registered() -> list[ExtraSection]:
    return list(_sections.values())
