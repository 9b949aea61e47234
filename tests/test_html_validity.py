"""Every page type is valid HTML per the Nu HTML Checker (vnu.jar from npm's vnu-jar,
pinned in package-lock.json, run on the machine's Java): all pages in one run, since
the JVM's start costs more than checking a page."""

import json
import re
import shutil
import subprocess

import pytest
from django.test import Client

from .conftest import ROOT
from .site_pages import build_site

VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"

# htmx's attributes (hx-post, hx-swap...) are not in the HTML standard; browsers ignore
# unknown attributes and htmx reads them, so they are let through here. (htmx also reads
# them as data-hx-*, which the checker accepts: the way to drop this exception.)
HTMX_ATTRIBUTE = re.compile(r"^Attribute “hx-[a-z:-]+” not allowed on element")


def run_vnu(files) -> list[dict]:
    java = shutil.which("java")
    if not java:
        pytest.fail("No java on PATH: apt-get install -y default-jre-headless", pytrace=False)
    if not VNU.exists():
        pytest.fail(f"{VNU} is missing: run `make install` (npm ci)", pytrace=False)
    done = subprocess.run(
        [
            java,
            "-Xss8m",
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-jar",
            str(VNU),
            "--format",
            "json",
            "--exit-zero-always",
        ]
        + [str(f) for f in files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.stderr, f"vnu said nothing (exit {done.returncode}): {done.stdout[:2000]}"
    # vnu writes its JSON report to stderr.
    return json.loads(done.stderr)["messages"]


def test_every_page_type_passes_the_nu_html_checker(db, tmp_path, settings):
    reader, pages = build_site(settings)
    visitor, signed_in = Client(), Client()
    signed_in.force_login(reader)
    files = {}
    for page in pages:
        client = signed_in if page.signed_in else visitor
        if page.form is None:
            response = client.get(page.url)
        else:
            response = client.post(page.url, page.form)
        assert response.status_code == page.status, page
        assert response["Content-Type"].startswith("text/html"), page
        path = tmp_path / f"{page.name}.html"
        path.write_bytes(response.content)
        files[path.name] = page

    # A page with a known error: proof that the checker read the files (given paths
    # it can't read, or URLs it doesn't take, it reports nothing at all).
    canary = tmp_path / "canary.html"
    canary.write_text('<!doctype html><html lang="en"><title>c</title><img src="c.png">')

    messages = run_vnu([canary, *(tmp_path / name for name in files)])

    assert any(m["url"].endswith("/canary.html") and "alt" in m["message"] for m in messages)
    messages = [m for m in messages if not m["url"].endswith("/canary.html")]

    problems = [
        f"{files[m['url'].rsplit('/', 1)[-1]].url} line {m.get('lastLine')}: {m['message']}"
        f"\n    {m.get('extract', '')!r}"
        for m in messages
        if (m["type"] in ("error", "non-document-error") or m.get("subType") == "warning")
        and not HTMX_ATTRIBUTE.match(m["message"])
    ]
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
