"""Writing paper and authorship rows.

On PostgreSQL new papers and authorships go in with COPY (ids drawn from the sequence
first), several times faster than a multi-row INSERT for the snapshot's millions. A
concurrent insert of the same paper makes COPY fail on the unique arxiv_id like an
INSERT would, and the batch is retried. Elsewhere (SQLite), bulk_create.
"""

import json
from collections.abc import Iterable

from django.db import connection

from papers.models import Authorship, Paper

from .clean import COMPARED


def chunks(items: list, size: int = 5000):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _copy(table: str, model, given: list[str], rows: Iterable[tuple]):
    """COPY rows (tuples of the `given` columns' values) into `table`. Columns not
    given get the field's default, so fields added to the model later still work;
    JSON columns are serialised here."""
    fields = {f.column: f for f in model._meta.concrete_fields}
    rest = [f for column, f in fields.items() if column not in given and not f.primary_key]
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in rest)
    json_at = [n for n, c in enumerate(given) if fields[c].get_internal_type() == "JSONField"]
    columns = ", ".join([*given, *(f.column for f in rest)])
    # COPY runs on psycopg's own cursor: have Django translate its errors (a unique
    # violation must be an IntegrityError, which upsert_batch retries).
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                if json_at:
                    row = list(row)
                    for n in json_at:
                        row[n] = json.dumps(row[n])
                    row = tuple(row)
                write(row + defaults if defaults else row)


def insert_papers(rows: list[dict], now) -> dict[str, int]:
    """Insert new papers; arxiv_id -> pk."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('papers_paper', 'id'))"
                " FROM generate_series(1, %s)",
                [len(rows)],
            )
            pks = [pk for (pk,) in cursor.fetchall()]
        # COMPARED names columns (submitted_by_id), as the COPY needs.
        given = ["id", "arxiv_id", "created_at", "modified_at", *COMPARED]
        _copy(
            "papers_paper",
            Paper,
            given,
            (
                (pk, row["arxiv_id"], now, now, *[row[f] for f in COMPARED])
                for pk, row in zip(pks, rows, strict=True)
            ),
        )
        return {row["arxiv_id"]: pk for pk, row in zip(pks, rows, strict=True)}
    papers = [Paper(modified_at=now, **row) for row in rows]
    Paper.objects.bulk_create(papers)
    return {p.arxiv_id: p.pk for p in papers}


def upsert_papers(rows: list[dict], now):
    """Rewrite changed papers (their rows are locked): INSERT ... ON CONFLICT DO UPDATE."""
    Paper.objects.bulk_create(
        [Paper(modified_at=now, **row) for row in rows],
        update_conflicts=True,
        unique_fields=["arxiv_id"],
        update_fields=[*COMPARED, "modified_at"],
    )


def insert_authorships(rows: list[tuple[int, int, int]]):
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy("papers_authorship", Authorship, ["paper_id", "author_id", "position"], rows)
    else:
        Authorship.objects.bulk_create(
            [Authorship(paper_id=p, author_id=a, position=n) for p, a, n in rows],
            batch_size=5000,
        )
