"""With no database or Redis configured the site runs on SQLite with no Redis, as `make
run` starts it (DEBUG off, plain HTTP on 127.0.0.1), and its demo data (real papers)
shows on the front page."""

import os
import re
import subprocess
import sys
import time

import httpx

from .conftest import ROOT, free_port


def test_the_embedded_default_serves_the_front_page(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SITE_URL", "ALLOWED_HOSTS"}
    }
    port = free_port()
    env |= {
        "DEBUG": "0",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "SECRET_KEY": "embedded-default-test-key",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "STATIC_MANIFEST": "0",
        "DAILYPAPERS_VAR_DIR": str(tmp_path),
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    loaded = subprocess.run(
        [*manage, "load_demo"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    assert "Demo data loaded" in loaded.stdout
    again = subprocess.run(
        [*manage, "load_demo"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    assert "already loaded" in again.stdout
    # Spelling correction needs PostgreSQL's pg_trgm: on SQLite it is off, and says so.
    words = subprocess.run(
        [*manage, "refresh_search_words"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    assert b"needs PostgreSQL" in words.stdout
    # Search by meaning from the shipped vectors, as `make run` has it.
    subprocess.run(
        [*manage, "embed_papers", "--demo-vectors", "--refresh-index"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        response = None
        for _ in range(100):
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert response is not None, "the server did not start"
        assert response.status_code == 200
        assert "Daily papers" in response.text
        # Today's list is the recorded Hugging Face day, its top paper first.
        assert "Breaking the Memory Barrier" in response.text
        # The days before it, read by a query compiled with stand-in dates, which
        # SQLite takes as text (papers.compiled).
        assert 'rel="prev"' in response.text
        assert (tmp_path / "db.sqlite3").exists()
        # Search reads a query as typed: a misspelled word finds nothing, and no error.
        search = httpx.get(f"http://127.0.0.1:{port}/search/?q=memory+barrier", timeout=30)
        assert search.status_code == 200 and "Breaking the Memory Barrier" in search.text
        # By meaning too, once the model has loaded (the first query may time out
        # while it does, and is answered by words alone, with a notice).
        for _ in range(60):
            search = httpx.get(f"http://127.0.0.1:{port}/search/?q=memory+wall", timeout=30)
            if "unavailable" not in search.text:
                break
            time.sleep(0.5)
        # A card found by meaning alone shows its abstract's opening, unmarked, as on
        # PostgreSQL; those found by words show their marks (fulltext.mark_fallback).
        found = search.text.split('<article class="card')[1:]
        by_meaning = [card for card in found if "Similar in meaning</p>" in card]
        assert by_meaning and any("<mark>" in card for card in found)
        for card in by_meaning:
            assert "<mark>" not in card.split('class="card-abstract')[1].split("</p>")[0]
        typo = httpx.get(f"http://127.0.0.1:{port}/search/?q=memroy+barier&mode=keyword")
        assert typo.status_code == 200 and "No papers match" in typo.text
        # An author's page lists their papers through the card rows, which on
        # PostgreSQL read the first authors as an array: SQLite has none.
        author = re.search(r'href="(/authors/[^"/]+/)"', response.text).group(1)
        papers_of = httpx.get(f"http://127.0.0.1:{port}{author}", timeout=30)
        assert papers_of.status_code == 200 and 'class="card"' in papers_of.text
        missing = httpx.get(f"http://127.0.0.1:{port}/papers/2401.99999/", timeout=5)
        assert missing.status_code == 404
        assert "Page not found" in missing.text or "not found" in missing.text.lower()
        assert "Traceback" not in missing.text
        _a_member_votes_and_comments(f"http://127.0.0.1:{port}", response.text, manage, env)
    finally:
        server.terminate()
        server.wait(10)


MEMBER_SCRIPT = """
from allauth.account.models import EmailAddress
from accounts.models import User
import datetime as dt
from django.utils import timezone
user = User.objects.create_user("sqlite-member", "member@example.org", "a long sqlite passphrase")
user.date_joined = timezone.now() - dt.timedelta(days=30)
user.save()
EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
"""


def _a_member_votes_and_comments(base, front_page, manage, env):
    """On SQLite too: a member signs in (the session store and backends read by plain
    statements), upvotes a paper (its compiled query) and comments on it (the row and
    the count without PostgreSQL's one-statement insert)."""
    subprocess.run([*manage, "shell", "-c", MEMBER_SCRIPT], cwd=ROOT, env=env, check=True)
    with httpx.Client(base_url=base, timeout=30) as browser:
        browser.get("/accounts/login/")
        token = {"X-CSRFToken": browser.cookies["csrftoken"], "Referer": f"{base}/"}
        signed_in = browser.post(
            "/accounts/login/",
            data={"login": "member@example.org", "password": "a long sqlite passphrase"},
            headers=token,
        )
        assert signed_in.status_code == 302, signed_in.text[:500]
        # Signing in rotates the CSRF secret.
        token["X-CSRFToken"] = browser.cookies["csrftoken"]
        paper = re.search(r'action="/papers/([^/"]+)/vote/"', front_page).group(1)
        htmx = {**token, "HX-Request": "true", "HX-Current-URL": f"{base}/"}
        voted = browser.post(f"/papers/{paper}/vote/", data={"action": "up"}, headers=htmx)
        assert voted.status_code == 200 and 'aria-pressed="true"' in voted.text, voted.text[:800]
        posted = browser.post(
            f"/papers/{paper}/comments/", data={"body": "Read on SQLite."}, headers=htmx
        )
        assert posted.status_code == 200 and "Read on SQLite." in posted.text
        assert 'id="comment-count" hx-swap-oob="true">1<' in posted.text
        page = browser.get(f"/papers/{paper}/")
        assert "Read on SQLite." in page.text and "sqlite-member" in page.text
