"""bench/soak.py, briefly: the harness itself works (the 10-minute run is `make soak`)."""

import os
import subprocess
import sys

import pytest

from .servers import ROOT

pytestmark = pytest.mark.worker


def test_a_short_soak_sees_no_5xx_and_the_database_matches_the_clients():
    database = f"dp_soak_smoke_{os.getpid()}"
    try:
        result = subprocess.run(
            [sys.executable, "bench/soak.py", "--duration", "10", "--clients", "3",
             "--database", database],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )  # fmt: skip
    finally:
        import psycopg
        from django.conf import settings

        db = settings.DATABASES["default"]
        with psycopg.connect(
            host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "5xx or no answer: 0" in result.stdout
    assert "OK: no 5xx, counts match" in result.stdout
    assert '"votes standing": ' in result.stdout
