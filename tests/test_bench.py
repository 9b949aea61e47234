"""The benchmark harness (bench/) can't rot: the seeder builds a small database whose
denormalised fields agree with its rows, the signed-in sessions bench/load.py writes
really sign users in and pass CSRF, and the benchmark aids stay off unless asked for."""

import datetime as dt
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.apps import apps
from django.contrib.auth.hashers import check_password
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.urls import clear_url_caches

from accounts.models import User
from config.bench import QueryCountMiddleware
from papers import ranking
from papers.models import Vote

from .factories import PaperFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402  (bench/ is not a package)
import seed  # noqa: E402

PAPERS = 300


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """bench/seed.py run for real, as a command, into a database of its own."""
    with django_db_blocker.unblock():
        name = connection.settings_dict["NAME"] + "_seed"
    url = seed.database_url(name)
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "seed.py"), "--papers", str(PAPERS),
         "--database", name],
        cwd=ROOT, env=os.environ | {"DATABASE_URL": url}, check=True, capture_output=True,
    )  # fmt: skip
    meta_file = seed.OUT / f"{name}.json"
    meta = json.loads(meta_file.read_text())
    with seed.connect(url, autocommit=True) as conn:
        yield conn, meta
    meta_file.unlink()
    admin = seed.database_url("postgres")
    with seed.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def scalar(conn, sql, params=()):
    return conn.execute(sql, params).fetchone()[0]


def test_seed_writes_the_asked_for_scale(seeded):
    conn, meta = seeded
    assert scalar(conn, "SELECT count(*) FROM papers_paper") == PAPERS
    assert scalar(conn, "SELECT count(*) FROM papers_vote") == 5 * PAPERS
    assert scalar(conn, "SELECT count(*) FROM papers_authorship") == 3 * PAPERS
    assert scalar(conn, "SELECT count(*) FROM papers_author") == int(0.6 * PAPERS)
    assert scalar(conn, "SELECT count(*) FROM accounts_user") == meta["users"] == 15


def test_seeded_upvote_counts_equal_the_vote_rows(seeded):
    conn, _ = seeded
    mismatched = scalar(
        conn,
        """SELECT count(*) FROM papers_paper p
           LEFT JOIN (SELECT paper_id, count(*) AS n FROM papers_vote GROUP BY paper_id) v
             ON v.paper_id = p.id
           WHERE p.upvote_count <> coalesce(v.n, 0)""",
    )
    assert mismatched == 0
    assert scalar(conn, "SELECT count(*) FROM papers_paper WHERE upvote_count > 0") > PAPERS / 2


def test_seeded_authors_agree_with_the_authorships(seeded):
    conn, _ = seeded
    mismatched = scalar(
        conn,
        """SELECT count(*) FROM papers_paper p
           JOIN (SELECT s.paper_id, count(*) AS n,
                        string_agg(a.name, ', ' ORDER BY s.position) AS names,
                        max(s.position) AS last
                 FROM papers_authorship s JOIN papers_author a ON a.id = s.author_id
                 GROUP BY s.paper_id) s ON s.paper_id = p.id
           WHERE p.author_count <> s.n OR p.author_names <> s.names OR s.last <> s.n - 1""",
    )
    assert mismatched == 0
    assert scalar(conn, "SELECT count(*) FROM papers_paper WHERE author_count = 0") == 0


def test_seeded_daily_lists_hold_20_to_60_papers(seeded):
    conn, meta = seeded
    sizes = [
        n
        for (n,) in conn.execute(
            "SELECT count(*) FROM papers_paper WHERE daily_date IS NOT NULL GROUP BY daily_date"
        )
    ]
    assert len(sizes) == meta["days"] >= 2
    assert all(20 <= n <= 60 for n in sizes)
    latest = scalar(conn, "SELECT max(daily_date) FROM papers_paper")
    assert latest.isoformat() == meta["latest_day"]


def test_seeded_rank_scores_follow_the_ranking_formula(seeded):
    conn, meta = seeded
    seeded_at = dt.datetime.fromisoformat(meta["seeded_at"])
    rows = conn.execute("SELECT upvote_count, daily_date, rank_score FROM papers_paper").fetchall()
    for votes, day, score in rows:
        assert score == pytest.approx(ranking.hot_score(votes, day, seeded_at))


def test_seeded_papers_have_current_vectors_that_embed_papers_leaves_alone(seeded):
    """Every paper gets a float16 unit vector under the current model's key, with the
    hash of its text and its modified_at as embed_papers writes them: the site sees
    them as current (nothing is embedded again) and searches them by meaning."""
    from semantic import encoder

    conn, _ = seeded
    rows = conn.execute(
        """SELECT p.title, p.abstract, p.modified_at, e.model_key, e.text_hash,
                  e.paper_modified_at, e.vector
           FROM papers_paper p LEFT JOIN semantic_paperembedding e ON e.paper_id = p.id"""
    ).fetchall()
    assert len(rows) == PAPERS
    for title, abstract, modified_at, key, text_hash, paper_modified_at, _ in rows:
        assert key == encoder.model_key()
        assert text_hash == encoder.text_hash(encoder.document_text(title, abstract))
        assert paper_modified_at == modified_at
    vectors = np.array([np.frombuffer(bytes(r[-1]), "<f2") for r in rows], np.float32)
    assert vectors.shape == (PAPERS, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=2e-3)
    # Clustered around real papers' vectors, as a corpus has topics: each paper's
    # nearest centre is close, where random unit vectors in 384 dimensions are not.
    from semantic import demo_vectors

    centres = np.load(demo_vectors.fixture_path(encoder.model_key()))["vectors"]
    nearest = (vectors @ centres.astype(np.float32).T).max(axis=1)
    assert np.median(nearest) > 0.6


def test_seed_vectors_only_adds_the_missing_vectors(seeded):
    conn, meta = seeded
    kept = dict(conn.execute("SELECT paper_id, vector FROM semantic_paperembedding").fetchall())
    conn.execute("DELETE FROM semantic_paperembedding WHERE mod(paper_id, 3) = 0")
    missing = PAPERS - scalar(conn, "SELECT count(*) FROM semantic_paperembedding")
    assert missing == PAPERS // 3

    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "seed.py"), "--vectors-only",
         "--database", meta["database"]],
        cwd=ROOT, env=os.environ | {"DATABASE_URL": seed.database_url(meta["database"])},
        check=True, capture_output=True,
    )  # fmt: skip

    now = dict(conn.execute("SELECT paper_id, vector FROM semantic_paperembedding").fetchall())
    assert len(now) == PAPERS
    # Those left in place are untouched, and the seed makes the same vector again.
    assert all(bytes(now[i]) == bytes(kept[i]) for i in now)


def test_seed_puts_back_every_index_and_constraint(seeded, db):
    """The seeder drops indexes and foreign keys around COPY; the result must have the
    same ones as a database the migrations built (the test database)."""
    conn, _ = seeded
    tables = [
        "papers_paper",
        "papers_author",
        "papers_authorship",
        "papers_vote",
        "papers_searchdocument",
        "semantic_paperembedding",
        "accounts_user",
    ]
    indexes = "SELECT indexname FROM pg_indexes WHERE tablename = ANY(%s) ORDER BY 1"
    constraints = (
        "SELECT conname FROM pg_constraint WHERE conrelid::regclass::text = ANY(%s) ORDER BY 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(indexes, [tables])
        expected_indexes = cursor.fetchall()
        cursor.execute(constraints, [tables])
        expected_constraints = cursor.fetchall()
    assert conn.execute(indexes, [tables]).fetchall() == expected_indexes
    assert conn.execute(constraints, [tables]).fetchall() == expected_constraints
    assert ("paper_search",) in expected_indexes


def test_seeded_users_share_the_known_password(seeded):
    conn, meta = seeded
    hashes = {h for (h,) in conn.execute("SELECT DISTINCT password FROM accounts_user")}
    assert len(hashes) == 1
    assert check_password(meta["password"], hashes.pop())


def test_seed_records_search_terms_that_match_as_described(seeded):
    conn, meta = seeded
    terms = meta["terms"]
    assert terms["none"]["documents"] == 0
    assert all(1 <= t["documents"] <= 50 for t in terms["rare"])
    assert terms["common"][0]["documents"] > PAPERS / 3
    busy = meta["busy_author"]
    assert busy["papers"] == scalar(
        conn,
        "SELECT count(*) FROM papers_authorship s JOIN papers_author a ON a.id = s.author_id "
        "WHERE a.slug = %s",
        [busy["slug"]],
    )


def test_seed_refuses_to_drop_a_database_it_did_not_make(db):
    name = connection.settings_dict["NAME"]  # the test database itself
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "seed.py"), "--papers", "300", "--database", name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "was not made by bench/seed.py" in result.stderr


def test_bench_sessions_sign_in_and_pass_csrf_for_a_vote(db):
    user = UserFactory(username="bench1")
    if apps.is_installed("allauth.account"):
        from allauth.account.models import EmailAddress

        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    paper = PaperFactory()
    [(signed_in, headers)] = load.sign_in(1)
    assert signed_in == user

    client = Client(enforce_csrf_checks=True)
    for pair in headers["Cookie"].split("; "):
        key, value = pair.split("=", 1)
        client.cookies[key] = value
    response = client.post(
        f"/papers/{paper.arxiv_id}/vote/",
        {"action": "up", "next": "/"},
        headers={"X-CSRFToken": headers["X-CSRFToken"], "HX-Request": "true"},
    )
    assert response.status_code == 200
    assert Vote.objects.filter(user=user, paper=paper).exists()


def test_query_count_middleware_reports_the_queries_of_a_request(db, rf):
    def view(request):
        list(User.objects.all())
        User.objects.count()
        return HttpResponse("ok")

    response = QueryCountMiddleware(view)(rf.get("/"))
    assert response["X-SQL-Queries"] == "2"


def test_constant_view_is_off_by_default(client, db):
    assert client.get("/bench/constant/").status_code == 404


def test_constant_view_is_routed_when_benchmark_views_is_on(client, settings):
    import config.urls

    settings.BENCHMARK_VIEWS = True
    importlib.reload(config.urls)
    clear_url_caches()
    try:
        response = client.get("/bench/constant/")
        assert response.status_code == 200
        assert response.content == b"Daily Papers\n"
    finally:
        settings.BENCHMARK_VIEWS = False
        importlib.reload(config.urls)
        clear_url_caches()


def test_seed_hides_a_few_papers_and_never_gives_them_to_the_load(seeded):
    conn, meta = seeded
    hidden = {a for (a,) in conn.execute("SELECT arxiv_id FROM papers_paper WHERE is_hidden")}
    assert len(hidden) == meta["hidden"] >= 1
    assert not hidden & set(meta["sample_papers"] + meta["voted_papers"])


def test_seed_writes_each_papers_search_document_as_the_trigger_would(seeded):
    conn, meta = seeded
    from importlib import import_module

    vector = import_module("papers.migrations.0008_search_documents").VECTOR.replace("NEW.", "")
    documents = conn.execute("SELECT count(*) FROM papers_searchdocument").fetchone()[0]
    differ = conn.execute(
        f"SELECT count(*) FROM papers_paper p JOIN papers_searchdocument d ON d.paper_id = p.id "
        f"WHERE d.vector IS DISTINCT FROM ({vector})"
    ).fetchone()[0]
    enabled = conn.execute(
        "SELECT tgenabled FROM pg_trigger WHERE tgname = 'paper_search_document_insert'"
    ).fetchone()[0]
    assert documents == meta["papers"]
    assert differ == 0
    assert enabled == "O"  # on again after the COPY
