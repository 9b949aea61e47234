#!/usr/bin/env python
"""Lighthouse scores of the pages issue 13 names, mobile and desktop.

    python bench/lighthouse.py [--base http://127.0.0.1:8000] [--lighthouse PATH] [--runs 1]

Against a running site with the demo data (`make run`: DEBUG off, hashed static files,
the demo's thumbnails rendered by load_demo_thumbnails), from the same checkout so the
script can read the database to pick the pages: the daily page (`/`), the day whose list
opens with the papers that have real thumbnails, a paper with a thumbnail, a search whose
first results have thumbnails, and the sign-in page. Lighthouse is not a dependency of the
project: install it anywhere (`npm install --prefix /tmp/lh lighthouse@12.8.2`) and pass
its binary; Chromium is CHROME_PATH (default /usr/bin/chromium). Prints, per page and
form factor, the four category scores, LCP, CLS and the bytes transferred; the JSON
reports go to --out. The scores move with the machine's load (report `uptime`); the
bytes don't.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def pages():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-lighthouse-reads-only")
    os.environ.setdefault("SITE_URL", "http://127.0.0.1:8000")
    import django

    django.setup()
    from thumbnails.models import Thumbnail

    ready = Thumbnail.objects.ready().select_related("paper").order_by("-paper__daily_date")
    thumbnail = ready.first()
    if thumbnail is None:
        raise SystemExit("No thumbnail in this database: run manage.py load_demo_thumbnails.")
    paper = thumbnail.paper
    return [
        ("daily", "/"),
        ("day with thumbnails", f"/papers/date/{paper.daily_date:%Y-%m-%d}/"),
        ("paper", paper.get_absolute_url()),
        ("search", "/search/?q=scientific+documents+citation"),
        ("sign-in", "/accounts/login/"),
    ]


def run(lighthouse, url, desktop, out):
    command = [
        lighthouse,
        url,
        "--quiet",
        "--output=json",
        f"--output-path={out}",
        f"--only-categories={','.join(CATEGORIES)}",
        "--chrome-flags=--headless=new --no-sandbox",
    ]
    if desktop:
        command.append("--preset=desktop")
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    for _attempt in range(3):
        # On a loaded machine Lighthouse sometimes loses the trace (NO_NAVSTART): again.
        if subprocess.run(command, env=env).returncode == 0:
            break
    else:
        raise SystemExit(f"lighthouse failed three times on {url}")
    report = json.loads(Path(out).read_text())
    audits = report["audits"]
    return {
        "scores": [round(report["categories"][c]["score"] * 100) for c in CATEGORIES],
        "lcp": audits["largest-contentful-paint"]["numericValue"] / 1000,
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "bytes": audits["total-byte-weight"]["numericValue"],
        "images": sum(
            item.get("transferSize", 0)
            for item in audits["network-requests"]["details"]["items"]
            if item.get("resourceType") == "Image"
        ),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--lighthouse", default="lighthouse", help="the lighthouse binary")
    parser.add_argument("--out", default=str(ROOT / "var" / "lighthouse"))
    parser.add_argument("--only", help="comma-separated page names")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    only = set(args.only.split(",")) if args.only else None
    print(
        f"{'page':22} {'form':8} perf a11y  bp seo {'LCP s':>6} {'CLS':>6} {'kB':>6} {'img kB':>6}"
    )
    for name, path in pages():
        if only and name not in only:
            continue
        for desktop in (False, True):
            form = "desktop" if desktop else "mobile"
            for n in range(args.runs):
                slug = name.replace(" ", "-")
                result = run(
                    args.lighthouse, args.base + path, desktop, out / f"{slug}-{form}-{n}.json"
                )
                perf, a11y, bp, seo = result["scores"]
                print(
                    f"{name:22} {form:8} {perf:4} {a11y:4} {bp:3} {seo:3} {result['lcp']:6.2f} "
                    f"{result['cls']:6.3f} {result['bytes'] / 1000:6.0f} "
                    f"{result['images'] / 1000:6.0f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
