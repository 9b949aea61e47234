"""Authors: one Author per normalised name, resolved in bulk for a batch of papers."""

import functools
import re

from django.db import IntegrityError, connection, transaction

from papers.models import Author, normalise_name, slug_for

from .writers import chunks

# Authors: name and normalised name are CharField(300).
NAME_LENGTH = 300


_NON_WORD = re.compile(r"[\W_]+")


@functools.lru_cache(maxsize=65536)
def author_key(name: str) -> str:
    """papers.models.normalise_name, cut to the column's length. Names recur (a batch
    looks each one up twice, and prolific authors are everywhere), hence the cache;
    plain ASCII names, most of them, skip the Unicode decomposition, which can't
    change them."""
    if name.isascii():
        key = " ".join(_NON_WORD.sub(" ", name.lower()).split())
    else:
        key = normalise_name(name)
    return key[:NAME_LENGTH].strip()


def _author_ids(keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in chunks(keys):
        found.update(
            Author.objects.filter(normalised_name__in=chunk).values_list("normalised_name", "id")
        )
    return found


def _resolve_authors_pg(names: dict[str, str]) -> dict[str, int]:
    """PostgreSQL: the batch's names go into a temporary table with COPY; one INSERT
    ... ON CONFLICT DO NOTHING adds the new ones, one join reads all the ids."""
    other = [
        f
        for f in Author._meta.concrete_fields
        if f.column not in {"id", "name", "normalised_name", "slug"}
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS import_author_names"
            " (normalised_name text PRIMARY KEY, name text, slug text) ON COMMIT DELETE ROWS"
        )
        cursor.execute("TRUNCATE import_author_names")
        # COPY runs on psycopg's own cursor: have Django translate its errors.
        with connection.wrap_database_errors:
            with cursor.cursor.copy("COPY import_author_names FROM STDIN") as copy:
                for key, name in names.items():
                    copy.write_row((key, name[:NAME_LENGTH], slug_for(key)))
        columns = ", ".join(["name", "normalised_name", "slug", *(f.column for f in other)])
        cursor.execute(
            f"INSERT INTO papers_author ({columns})"
            f" SELECT t.name, t.normalised_name, t.slug{', %s' * len(other)}"
            " FROM import_author_names t"
            " WHERE NOT EXISTS (SELECT 1 FROM papers_author a"
            "                   WHERE a.normalised_name = t.normalised_name)"
            " ORDER BY t.normalised_name"
            " ON CONFLICT DO NOTHING",
            [f.get_db_prep_save(f.get_default(), connection) for f in other],
        )
        cursor.execute(
            "SELECT t.normalised_name, a.id FROM import_author_names t"
            " JOIN papers_author a ON a.normalised_name = t.normalised_name"
        )
        return dict(cursor.fetchall())


def resolve_authors(names: dict[str, str]) -> dict[str, int]:
    """Author ids for {normalised name: display name}, creating the missing Authors.
    Safe against a concurrent run creating the same ones (ON CONFLICT DO NOTHING,
    then read back)."""
    if connection.vendor == "postgresql":
        ids = _resolve_authors_pg(names)
    else:
        ids = _author_ids(list(names))
        missing = [key for key in names if key not in ids]
        if missing:
            Author.objects.bulk_create(
                [
                    Author(name=names[k][:NAME_LENGTH], normalised_name=k, slug=slug_for(k))
                    for k in missing
                ],
                ignore_conflicts=True,
                batch_size=2000,
            )
            ids.update(_author_ids(missing))
    for key in names.keys() - ids.keys():
        # The slug was taken by an author with another normalised name (e.g. one
        # renamed by hand): give this one a numbered slug.
        ids[key] = _create_with_free_slug(names[key][:NAME_LENGTH], key)
    return ids


def _create_with_free_slug(name: str, key: str) -> int:
    base = slug_for(key)[: NAME_LENGTH - 8]
    for n in range(2, 1000):
        try:
            with transaction.atomic():
                return Author.objects.create(name=name, normalised_name=key, slug=f"{base}-{n}").pk
        except IntegrityError:
            existing = (
                Author.objects.filter(normalised_name=key).values_list("id", flat=True).first()
            )
            if existing:
                return existing
    raise IntegrityError(f"no free slug for author {name!r}")


def spellings(names) -> tuple[dict[str, str], dict[str, str]]:
    """({name: key}, {key: first spelling met}) for author names."""
    keys = {name: author_key(name) for name in names}
    spelling: dict[str, str] = {}
    for name, key in keys.items():
        if key:
            spelling.setdefault(key, name)  # a new Author takes the first spelling met
    return keys, spelling
