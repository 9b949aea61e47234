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
        assert (tmp_path / "db.sqlite3").exists()
        # Search reads a query as typed: a misspelled word finds nothing, and no error.
        search = httpx.get(f"http://127.0.0.1:{port}/search/?q=memory+barrier", timeout=30)
        assert search.status_code == 200 and "Breaking the Memory Barrier" in search.text
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
    finally:
        server.terminate()
        server.wait(10)
