#!/usr/bin/env python
"""CPU time of one uncached page render, in process, and where it goes.

    python bench/render_cpu.py [--database NAME] [--url /] [-n 50] [--profile]
    python bench/render_cpu.py --votes 500          # the htmx upvote toggle
    python bench/render_cpu.py --cached --gzip      # a page-cache hit, as browsers ask
    python bench/render_cpu.py --cold               # no card cached (papers.cards)

Renders the page N times through Django's test client against a seeded database
(bench/seed.py), with the anonymous page cache off, signed out and signed in (a seeded
user), and prints the CPU time per request (time.process_time, the best of 5 batches, so
other processes on a busy machine count as little as they can; the database's own CPU
is in another process and doesn't count either). Rendered cards stay cached from one
render to the next (papers.cards), as between a site's requests; --cold forgets them
before each request. --profile runs cProfile over the
renders and prints the CPU split by layer (template engine, template tags and
filters, URL building, CSRF, middleware, ORM and database driver) and the top
functions. --votes N times N htmx vote toggles (up, then remove) by one user on one
paper, then puts the vote back as it was. --cached leaves the page cache on (an hour)
and times signed-out hits after the first miss (set REDIS_URL for the production
cache); --gzip sends `Accept-Encoding: gzip, deflate, br` as browsers do; --signed-out
skips the signed-in renders (which write a session row). The same script run from
another checkout (ROOT is the script's) compares commits on one database.

CPU time moves with the machine's load; instruction counts don't. --callgrind renders
the page N times inside itertools.starmap, the one C function callgrind is told to count
(so Django's start-up and the warm-up request are left out), and prints nothing else:

    valgrind --tool=callgrind --callgrind-out-file=/dev/null --collect-atstart=no \
      --toggle-collect=starmap_next python bench/render_cpu.py --signed-out --callgrind -n 10

callgrind's "Collected" line divided by N is the instructions a request.
"""

import argparse
import cProfile
import itertools
import pstats
import sys
import time
from collections import defaultdict

from seed import ROOT, in_process_settings

LAYERS = (
    # (layer, substrings of a function's file path), first match wins
    ("CSRF", ("django/middleware/csrf.py",)),
    ("URL building (reverse)", ("django/urls/", "papers/links.py")),
    (
        "template tags and filters",
        (
            "django/template/defaultfilters.py",
            "django/template/defaulttags.py",
            "django/templatetags/",
            "templatetags/",
            "django/utils/html.py",
            "django/utils/safestring.py",
            "django/utils/text.py",
            "django/utils/dateformat.py",
            "django/utils/formats.py",
            "humanize",
        ),
    ),
    (
        "template engine (loading, nodes, variables, context)",
        ("django/template/", "django/utils/functional.py"),
    ),
    ("ORM and psycopg", ("django/db/", "psycopg")),
    (
        "middleware, sessions, auth, messages",
        (
            "django/middleware/",
            "django/contrib/sessions",
            "django/contrib/auth",
            "django/contrib/messages",
            "csp/",
            "django_htmx",
            "allauth",
            "whitenoise",
            "accounts/",
            "config/middleware.py",
            "papers/pagecache.py",
            "django/core/handlers",
            "django/utils/cache.py",
        ),
    ),
    ("views and models (papers/, search/)", ("papers/", "search/")),
    ("test client, request/response", ("django/test/", "django/http/", "django/core/")),
)


OTHER = "other"


def layer_of(filename: str) -> str:
    for layer, needles in LAYERS:
        if any(needle in filename for needle in needles):
            return layer
    return OTHER


def layer_shares(stats, func, depth=0, seen=()):
    """{layer: fraction} of `func`'s own time: its own layer, or for builtins and the
    standard library (str methods, re, getattr, ...), the layers of its callers, in
    proportion to the time each caller spent in it, walking up until a layer is found."""
    layer = layer_of(func[0])
    callers = stats.stats[func][4]
    if layer != OTHER or depth > 8 or not callers or func in seen:
        return {layer: 1.0}
    total = sum(entry[2] for entry in callers.values()) or 1.0
    shares = defaultdict(float)
    for caller, entry in callers.items():
        if caller not in stats.stats:
            continue
        for up_layer, fraction in layer_shares(stats, caller, depth + 1, (*seen, func)).items():
            shares[up_layer] += fraction * entry[2] / total
    return shares or {OTHER: 1.0}


def setup(database, cached=False):
    in_process_settings(database, PAGE_CACHE_SECONDS="3600" if cached else "0")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def a_member():
    from accounts.models import User

    return User.objects.filter(emailaddress__verified=True).order_by("pk").first()


BATCHES = 5


def cpu_per_request(fn, n):
    """CPU ms a request: the best of BATCHES batches of n/BATCHES requests. On a busy
    machine other processes still slow this one (shared caches, hyperthreads), only
    upwards: the best batch is the closest to the cost on a quiet one."""
    fn()  # warm: templates compiled, connections open
    size = max(n // BATCHES, 1)
    best = float("inf")
    for _ in range(max(n // size, 1)):
        start = time.process_time()
        for _ in range(size):
            fn()
        best = min(best, (time.process_time() - start) / size)
    return best * 1000


def template_times(fn, n):
    """Own CPU time of each template (its nested includes subtracted), and how many
    times it is rendered, per request: wraps django.template.base.Template.render."""
    from django.template import base

    own, calls, stack = defaultdict(float), defaultdict(int), []
    original = base.Template.render

    def timed(self, context):
        stack.append(0.0)
        start = time.process_time()
        try:
            return original(self, context)
        finally:
            spent = time.process_time() - start
            nested = stack.pop()
            own[self.name] += spent - nested
            calls[self.name] += 1
            if stack:
                stack[-1] += spent

    base.Template.render = timed
    try:
        for _ in range(n):
            fn()
    finally:
        base.Template.render = original
    print("  templates, own CPU time a request (includes subtracted), renders a request:")
    for name, seconds in sorted(own.items(), key=lambda item: -item[1])[:12]:
        print(f"    {name:<44} {seconds / n * 1000:6.2f} ms  x{calls[name] / n:g}")


def profile(fn, n, top, real_ms):
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(n):
        fn()
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = sum(row[2] for row in stats.stats.values())  # tottime: own time, adds up
    by_layer = defaultdict(float)
    for func, row in stats.stats.items():
        for layer, fraction in layer_shares(stats, func).items():
            by_layer[layer] += row[2] * fraction
    print(
        f"  CPU by layer (cProfile's shares over {n} renders, applied to the unprofiled"
        " time; builtins and stdlib charged to their callers):"
    )
    for layer, seconds in sorted(by_layer.items(), key=lambda item: -item[1]):
        print(f"    {layer:<52} {seconds / total:6.1%}  {seconds / total * real_ms:6.2f} ms")
    if top:
        print("  top functions by cumulative time:")
        stats.sort_stats("cumulative").print_stats(top)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="dp_perf_bench")
    parser.add_argument("--url", action="append", help="page(s) to render (default /)")
    parser.add_argument("-n", type=int, default=50, help="renders per page (default 50)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--votes", type=int, default=0, help="time N htmx vote toggles")
    parser.add_argument("--cached", action="store_true", help="page-cache hits, signed out")
    parser.add_argument("--gzip", action="store_true", help="ask for compressed pages")
    parser.add_argument("--signed-out", action="store_true", help="signed-out renders only")
    parser.add_argument("--callgrind", action="store_true", help="see the docstring")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="no card cached for any request (papers.cards): the first visit of a list",
    )
    args = parser.parse_args(argv)
    setup(args.database, cached=args.cached)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from papers import cards

    member = a_member()
    if args.votes:
        return votes(member, args.votes, args)
    headers = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"} if args.gzip else {}
    kind = ("cached" if args.cached else "uncached") + (", gzip asked" if args.gzip else "")
    for url in args.url or ["/"]:
        clients = [("signed out", Client())]
        if not (args.cached or args.signed_out):
            clients.append(("signed in", Client()))
            clients[1][1].force_login(member)
        for who, client in clients:

            def render(client=client, url=url):
                if args.cold:
                    cards.forget(queries=False)
                response = client.get(url, **headers)
                assert response.status_code == 200, response.status_code

            with CaptureQueriesContext(connection) as queries:
                size = len(client.get(url, **headers).content)
            queried = len(queries)  # now: each request clears the connection's log
            if args.callgrind:
                for _ in itertools.starmap(render, itertools.repeat((), args.n)):
                    pass
                print(f"{url} {who}, {kind}: {args.n} renders under callgrind ({size:,} bytes)")
                continue
            ms = cpu_per_request(render, args.n)
            print(
                f"{url} {who}, {kind}: {ms:.2f} ms CPU a request (n={args.n}, {size:,} bytes, "
                f"{queried} queries the first time)"
            )
            if args.profile:
                profile(render, args.n, args.top, ms)
                template_times(render, args.n)


def votes(member, n, args):
    from django.test import Client

    from papers.models import Paper, Vote

    paper = Paper.objects.visible().featured().order_by("-daily_date", "-upvote_count").first()
    had_voted = Vote.objects.filter(user=member, paper=paper).exists()
    client = Client()
    client.force_login(member)
    url = f"/papers/{paper.arxiv_id}/vote/"
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/"}
    state = {"up": not had_voted}

    def toggle():
        action = "up" if state["up"] else "remove"
        state["up"] = not state["up"]
        response = client.post(url, {"action": action}, **headers)
        assert response.status_code == 200, response.status_code

    from django.conf import settings

    settings.VOTE_RATE_LIMIT = "1000000/m"
    if n % 2:
        n += 1  # an even number leaves the vote as it was
    if args.callgrind:
        toggle()
        for _ in itertools.starmap(toggle, itertools.repeat((), n)):
            pass
        toggle()  # back to the start
        print(f"htmx vote toggle: {n} toggles under callgrind (paper {paper.arxiv_id})")
        return
    ms = cpu_per_request(toggle, n)
    toggle()  # the warm-up toggled once more: back to the start
    print(f"htmx vote toggle: {ms:.2f} ms CPU a request (n={n}, paper {paper.arxiv_id})")
    if args.profile:
        profile(toggle, n, args.top, ms)
        template_times(toggle, n)
    assert Vote.objects.filter(user=member, paper=paper).exists() == had_voted


if __name__ == "__main__":
    main()
