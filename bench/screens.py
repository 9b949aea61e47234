#!/usr/bin/env python
"""Screenshots of every page type at phone and desktop widths, and how tall the lists are.

    python bench/screens.py OUT_DIR [--base http://127.0.0.1:8000]

Against a running site with the demo data (`make run` from the same checkout, or
runserver on the same DATABASE_URL/REDIS_URL and SECRET_KEY as this script): each page
at 375 and 1280 px wide, into OUT_DIR/<page>-<width>.png (the top 4,000 px of long
pages), and a table of each page's document.body.scrollHeight at both widths, in px,
with its transferred HTML size.
Signed-in pages use a reader this script makes ("screens", verified), given a session
the way the tests' sign_in_browser does. Also checks there is no horizontal scroll at
320 px (scrollWidth > innerWidth) and says where there is.

The daily page of the demo is the issue's yardstick: "a day of 29 papers at most
~2,500 px tall on desktop".
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIDTHS = {"375": (375, 812), "1280": (1280, 900)}
MAX_SHOT = 4000


def reader_session():
    """A session cookie for a verified reader who has voted for today's top paper."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # make run's settings: its secret key signs the session this makes, so the server
    # must share it (make run keeps it in var/secret_key).
    secret = ROOT / "var" / "secret_key"
    if "SECRET_KEY" not in os.environ and secret.exists():
        os.environ["SECRET_KEY"] = secret.read_text().strip()
    os.environ.setdefault("SITE_URL", "http://127.0.0.1:8000")
    import django

    django.setup()
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    from papers.models import Paper

    user, _ = get_user_model().objects.get_or_create(
        username="screens", defaults={"email": "screens@example.org", "display_name": "Sam Screens"}
    )
    EmailAddress.objects.get_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    paper = Paper.objects.visible().filter(daily_date=timezone.localdate()).ranked().first()
    if paper and not paper.votes.filter(user=user).exists():
        paper.add_vote(user)
    author = paper.authorships.order_by("position").first().author
    # The library's pages with something in them: the paper saved, and in a collection.
    from library.models import Collection, SavedPaper

    SavedPaper.objects.save_paper(user, paper)
    collection = Collection.objects.filter(owner=user).first() or Collection.objects.create_named(
        user, "Reading group", "Papers for Thursday's reading group.", visibility="public"
    )
    collection.add_paper(paper, "Start with section 3.")
    # The paper's discussion and the reader's profile with a comment in them.
    from discussion.models import Comment

    if not Comment.objects.filter(paper=paper, author=user).exists():
        Comment.post(
            paper, user, "The ablation in Table 2 answers my question: the gain is $2\\times$."
        )
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value, paper, author, collection.get_absolute_url()


def pages(paper, author, collection: str):
    import datetime as dt

    from django.utils import timezone

    from papers.dates import day_period, month_of, week_of

    today = timezone.localdate()
    return [
        ("daily", "/", False),
        ("day", f"/papers/date/{day_period(today - dt.timedelta(days=3)).slug}/", False),
        ("week", f"/papers/week/{week_of(today).slug}/", False),
        ("month", f"/papers/month/{month_of(today).slug}/", False),
        ("trending", "/trending/", False),
        ("new", "/new/", False),
        ("paper", paper.get_absolute_url(), False),
        ("related", f"{paper.get_absolute_url()}related/", False),
        ("author", author.get_absolute_url(), False),
        ("search", "/search/?q=language+models", False),
        ("search-empty", "/search/?q=zzyzx+quokka", False),
        ("search-form", "/search/", False),
        ("about-ranking", "/about/ranking/", False),
        ("api-docs", "/api/", False),
        ("not-found", "/no/such/page/", False),
        ("sign-in", "/accounts/login/", False),
        ("sign-up", "/accounts/signup/", False),
        ("password-reset", "/accounts/password/reset/", False),
        ("digest-subscribe", "/digest/subscribe/", False),
        ("daily-signed-in", "/", True),
        ("paper-signed-in", paper.get_absolute_url(), True),
        ("own-profile", "/u/screens/?show=upvoted", True),
        ("settings", "/settings/", True),
        ("settings-email", "/accounts/email/", True),
        ("settings-digest", "/settings/digest/", True),
        ("settings-password", "/accounts/password/change/", True),
        ("settings-2fa", "/accounts/2fa/", True),
        ("settings-connections", "/accounts/3rdparty/", True),
        ("submit", "/submit/", True),
        ("library", "/library/", True),
        ("library-import", "/library/import/", True),
        ("collections", "/collections/screens/", True),
        ("collection", collection, True),
        ("collection-new", "/collections/new/", True),
        ("notifications", "/notifications/", True),
        ("moderation-log", "/moderation/", False),
        ("profile-comments", "/u/screens/", False),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--only", help="comma-separated page names")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cookie, paper, author, collection = reader_session()

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-background-networking"],
        )
        visitor = browser.new_context(base_url=args.base)
        member = browser.new_context(base_url=args.base)
        member.add_cookies([{"name": "sessionid", "value": cookie, "url": args.base}])
        tabs = {False: visitor.new_page(), True: member.new_page()}
        print(f"{'page':20} {'h@1280':>7} {'h@375':>7} {'html KB':>8}  overflow@320")
        only = set(args.only.split(",")) if args.only else None
        for name, url, signed_in in pages(paper, author, collection):
            if only and name not in only:
                continue
            tab = tabs[signed_in]
            heights = {}
            size = 0
            for label, (width, height) in WIDTHS.items():
                tab.set_viewport_size({"width": width, "height": height})
                response = tab.goto(url, wait_until="load")
                size = len(response.body())
                tab.evaluate("document.fonts.ready")
                heights[label] = tab.evaluate("document.body.scrollHeight")
                tab.screenshot(
                    path=out / f"{name}-{label}.png",
                    full_page=True,
                    clip={"x": 0, "y": 0, "width": width, "height": min(heights[label], MAX_SHOT)},
                )
            tab.set_viewport_size({"width": 320, "height": 700})
            tab.goto(url, wait_until="load")
            overflow = tab.evaluate(
                """() => document.documentElement.scrollWidth > window.innerWidth
                ? [...document.querySelectorAll('body *')].filter(e =>
                    e.getBoundingClientRect().right > window.innerWidth + 1)
                    .slice(0, 3).map(e => e.tagName + '.' + e.className).join(' ')
                : ''"""
            )
            print(
                f"{name:20} {heights['1280']:>7} {heights['375']:>7} {size / 1024:>8.1f}  "
                f"{overflow or 'none'}"
            )
        browser.close()


if __name__ == "__main__":
    main()
