#!/usr/bin/env python
"""Build a PostgreSQL database at arXiv scale for the benchmarks.

    python bench/seed.py [--papers N] [--database NAME] [--seed S]

At the default N = 1,000,000 it writes, into a fresh database migrated by the
project's own migrations:

    papers        N          realistic text recombined from the real samples in bench/data/
    authors       0.6 N      Zipf-like productivity: half have one paper, some thousands
    authorships   3 N        about 3 authors a paper, a few large collaborations
    users         0.05 N     all with the password BENCH_PASSWORD (hashed once)
    votes         5 N        featured papers get most; most papers few, a few thousands
    daily lists   20-60 papers a day for the last three years (~40k papers featured)

Every denormalised field is written consistent with the rows it summarises:
upvote_count == vote rows, author_names / author_count == authorships, rank_score from
papers.ranking. Rows go in with COPY ... FREEZE (psycopg 3's cursor.copy()) while the
secondary indexes and foreign keys are dropped; they are rebuilt afterwards, two at a
time, then the tables are analysed. Search terms for the load (common, rare, none) and
the timings are written to bench/out/<database>.json for bench/load.py.

The target database is dropped and recreated, but only if this script made it (it
leaves a comment on the database), so it can't destroy a real one by mistake.
"""

import argparse
import bisect
import datetime as dt
import glob
import json
import math
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
OUT = Path(__file__).resolve().parent / "out"
sys.path.insert(0, str(ROOT))

BENCH_PASSWORD = "bench-password-1"
DB_MARKER = "Daily Papers benchmark database, made by bench/seed.py"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/dailypapers"

EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
DAYS = 3 * 365  # daily lists and publication dates span three years
PER_DAY = (20, 60)  # papers in each daily list
USERS_PER_PAPER = 0.05
AUTHORS_PER_PAPER = 0.6
AUTHORSHIPS_PER_PAPER = 3
VOTES_PER_PAPER = 5
FEATURED_VOTE_SHARE = 0.4  # of all votes, on the ~4% of papers that were featured

# Primary categories, mostly ML; every paper is cross-listed to 0-3 of CROSS_LISTS.
PRIMARY = {
    "cs.LG": 30,
    "cs.CV": 22,
    "cs.CL": 20,
    "cs.AI": 10,
    "stat.ML": 5,
    "cs.RO": 3,
    "cs.IR": 2,
    "eess.IV": 2,
    "math.OC": 2,
    "cs.NE": 2,
    "cs.CR": 2,
}
CROSS_LISTS = ["cs.LG", "cs.AI", "stat.ML", "cs.CL", "cs.CV", "cs.NE", "cs.IR", "math.ST"]
# Authors per paper: 1..10 with these weights (mean ~3.1); 0.1% are collaborations of
# 20-100. The total is then nudged to exactly AUTHORSHIPS_PER_PAPER * N.
AUTHOR_COUNT_WEIGHTS = [0.22, 0.26, 0.20, 0.13, 0.07, 0.045, 0.03, 0.02, 0.015, 0.01]
# Author productivity by rank r: 1 + floor(C / (r + R0) ** S), C solved so the total is
# exact. With S = 1, R0 = 100 at N = 1M: the top author has ~3,000 papers, ~3,000 have
# 100 or more, and about half have a single paper.
AUTHOR_ZIPF_S = 1.0
AUTHOR_ZIPF_R0 = 100
# Invented terms (model names, acronyms) added to each abstract, Zipf-distributed over
# a vocabulary of N/2 terms: the top ones are in a fifth of all papers, most of the
# tail in one or two. Real words keep the frequencies of the sample sentences.
TAIL_TERMS_PER_PAPER = (1, 4)
TAIL_ZIPF_S = 1.0
NO_MATCH_TERM = "qzxjvkwy"
COMMON_TERMS = ["model", "learning", "data", "network", "method"]


# --- Database helpers -------------------------------------------------------------------


def database_url(name: str | None) -> str:
    """DATABASE_URL (or the local default) with its database name replaced by `name`."""
    parts = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    if name:
        parts = parts._replace(path="/" + name)
    return urlunsplit(parts)


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def index_dir(name: str) -> Path:
    """Where the benchmarks keep database `name`'s vector index (semantic.index): one
    folder per database, deleted when the database is seeded again."""
    return ROOT / "var" / "bench-index" / name


def connect(url: str, **kwargs):
    import psycopg

    return psycopg.connect(url.replace("postgres://", "postgresql://", 1), **kwargs)


def recreate_database(url: str, replace: bool) -> None:
    from psycopg import sql

    name = database_name(url)
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with connect(admin, autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [name],
        ).fetchone()
        if row is not None:
            if row[0] != DB_MARKER and not replace:
                sys.exit(
                    f"Database {name!r} exists and was not made by bench/seed.py. "
                    "Pick another --database, or pass --replace to drop it."
                )
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        shutil.rmtree(index_dir(name), ignore_errors=True)  # built from the old rows
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(DB_MARKER)
            )
        )


def in_process_settings(database: str, **overrides: str) -> None:
    """Set the environment for Django run in this process through its test client
    against the seeded `database`: production settings (DEBUG off) on plain HTTP as
    `testserver`. `overrides` adds or replaces settings (a script's rate limits, its
    page cache)."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url(database),
            "DEBUG": "0",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-in-process-not-for-production",
            "ALLOWED_HOSTS": "testserver",
            "SITE_URL": "http://testserver",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "STATIC_MANIFEST": "0",
            "LOG_LEVEL": "ERROR",
            **overrides,
        }
    )


def django_env(url: str) -> dict:
    """What Django needs to run against `url` outside a web process."""
    env = dict(os.environ)
    env["DATABASE_URL"] = url
    env.setdefault("SECRET_KEY", "bench-seed-not-secret")
    env.setdefault("SITE_URL", "http://127.0.0.1:8000")
    env.setdefault("STATIC_MANIFEST", "0")
    return env


def migrate(url: str) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"],
        env=django_env(url),
        cwd=ROOT,
        check=True,
    )


# --- Text from the real samples ------------------------------------------------------------


def copy_escape(text: str) -> str:
    """A value in COPY's text format."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _clean(text: str) -> str:
    return " ".join((text or "").split())


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z$\\(])")
_WORD = re.compile(r"[A-Za-z]{4,}")


class Corpus:
    """Sentences, titles, names and comments from bench/data/, ready to recombine. Every
    string is pre-escaped for COPY, so building a row is only joins."""

    def __init__(self, rng: random.Random, tail_size: int):
        import feedparser

        ml_abstracts, other_abstracts, titles = [], [], []
        first_names, last_names, comments, submitters = set(), set(), [], []

        snapshot = DATA / "arxiv-snapshot" / "arxiv-metadata-oai-snapshot.sample.jsonl"
        for line in snapshot.open(encoding="utf-8"):
            record = json.loads(line)
            other_abstracts.append(_clean(record["abstract"]))
            titles.append(_clean(record["title"]))
            if record.get("comments"):
                comments.append(_clean(record["comments"]))
            for parsed in record.get("authors_parsed") or []:
                last, first = parsed[0].strip(), parsed[1].strip()
                if last and first and "\\" not in last + first:
                    last_names.add(last)
                    first_names.add(first)
        for path in (DATA / "hf-daily-papers").glob("*.json"):
            for item in json.loads(path.read_text()):
                paper = item["paper"]
                ml_abstracts.append(_clean(paper["summary"]))
                titles.append(_clean(paper["title"]))
                for author in paper["authors"]:
                    self._split_name(author["name"], first_names, last_names)
                if isinstance(item.get("submittedBy"), dict):
                    submitters.append(item["submittedBy"].get("user") or "")
        for path in sorted(glob.glob(str(DATA / "arxiv-api" / "*.xml"))):
            for entry in feedparser.parse(path).entries:
                ml_abstracts.append(_clean(entry.get("summary", "")))
                titles.append(_clean(entry.get("title", "")))
                for author in entry.get("authors", []):
                    self._split_name(author.get("name", ""), first_names, last_names)

        sentences = []
        for weight, abstracts in ((3, ml_abstracts), (1, other_abstracts)):
            for abstract in abstracts:
                for sentence in _SENTENCE_END.split(abstract):
                    if 30 <= len(sentence) <= 400:
                        sentences.extend([copy_escape(sentence)] * weight)
        self.sentences = sentences
        self.titles = [copy_escape(t) for t in titles if t]
        self.comments = [copy_escape(c) for c in comments]
        self.first_names = sorted(first_names)
        self.last_names = sorted(last_names)
        self.github_users = [s for s in submitters if s] + [
            n.lower() for n in self.last_names[:200]
        ]

        words = set()
        for text in ml_abstracts + other_abstracts + titles:
            words.update(w.lower() for w in _WORD.findall(text))
        self.real_words = words
        self.tail = self._invent_terms(rng, sorted(words), tail_size)
        # Zipf weights over the invented terms, by rank.
        cumulative, total = [], 0.0
        for rank in range(1, len(self.tail) + 1):
            total += rank**-TAIL_ZIPF_S
            cumulative.append(total)
        self.tail_cumulative = cumulative

    @staticmethod
    def _split_name(name, first_names, last_names):
        parts = _clean(name).split(" ")
        if len(parts) >= 2 and "\\" not in name:
            first_names.add(" ".join(parts[:-1]))
            last_names.add(parts[-1])

    @staticmethod
    def _invent_terms(rng, words, count):
        """Model-name-like terms glued from pieces of real words ("contraston",
        "diphoformer"): never a real word, so their frequencies are exactly the Zipf
        draws."""
        terms, seen = [], set(words)
        attempts = 0
        while len(terms) < count:
            attempts += 1
            a, b = rng.choice(words), rng.choice(words)
            term = a[: rng.randint(3, 6)] + b[-rng.randint(3, 5) :]
            if attempts > count * 50:
                term += str(attempts)  # a tiny corpus runs out of pairs
            if term not in seen and NO_MATCH_TERM not in term:
                seen.add(term)
                terms.append(term)
        return terms

    def tail_terms(self, rng, k):
        return rng.choices(self.tail, cum_weights=self.tail_cumulative, k=k)

    def expected_documents(self, rank: int, papers: int) -> float:
        """How many papers are expected to contain the invented term of this rank."""
        draws = papers * sum(TAIL_TERMS_PER_PAPER) / 2
        return draws * rank**-TAIL_ZIPF_S / self.tail_cumulative[-1]


# --- The plan: every count decided before a row is written -----------------------------------


def _weighted_counts(rng, n, weights, big_share, big_range):
    values = list(range(1, len(weights) + 1))
    counts = rng.choices(values, weights=weights, k=n)
    for i in range(n):
        if rng.random() < big_share:
            counts[i] = rng.randint(*big_range)
    return counts


def _nudge_to_total(rng, counts, total, low, high):
    """Add or remove ones at random positions until sum(counts) == total, keeping every
    count within [low, high]."""
    diff = total - sum(counts)
    n = len(counts)
    while diff:
        i = rng.randrange(n)
        if diff > 0 and counts[i] < high:
            counts[i] += 1
            diff -= 1
        elif diff < 0 and counts[i] > low:
            counts[i] -= 1
            diff += 1
    return counts


def _author_productivity(n_authors, total):
    """Papers per author by rank, summing exactly to `total` (see AUTHOR_ZIPF_*)."""
    s, r0 = AUTHOR_ZIPF_S, AUTHOR_ZIPF_R0

    def counts_for(c):
        return [1 + int(c * (r + r0) ** -s) for r in range(1, n_authors + 1)]

    low, high = 0.0, float(total) * (1 + r0) ** s
    for _ in range(60):
        mid = (low + high) / 2
        if sum(counts_for(mid)) > total:
            high = mid
        else:
            low = mid
    counts = counts_for(low)
    # The floor leaves a few short: give them to the most productive authors.
    for i in range(total - sum(counts)):
        counts[i % n_authors] += 1
    return counts


def _coprime_strides(n, rng, k=64):
    strides = [s for s in range(1, min(n, 100_000)) if math.gcd(s, n) == 1]
    rng.shuffle(strides)
    return strides[:k] or [1]


class Plan:
    """Every paper's dates, daily list, vote count and authors, in arXiv-id order."""

    def __init__(self, papers: int, seed: int, now: dt.datetime):
        rng = random.Random(seed)
        self.seed, self.now, self.n = seed, now, papers
        self.n_users = max(10, int(papers * USERS_PER_PAPER))
        self.n_authors = max(1, int(papers * AUTHORS_PER_PAPER))
        today = now.date()

        # Daily lists: every day of the last three years (fewer for a small N, so that
        # about half the papers are featured at most).
        days = max(1, min(DAYS, papers // 80))
        featured = []  # (published timestamp, day ordinal)
        for back in range(days):
            day = today - dt.timedelta(days=back)
            midnight = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC).timestamp()
            for _ in range(rng.randint(*PER_DAY)):
                featured.append((midnight - rng.uniform(2 * 3600, 72 * 3600), day.toordinal()))
        if len(featured) > papers:
            raise SystemExit(f"--papers {papers} is too few for the daily lists")
        self.days = days
        # The others: published over the three years before today. Anchored at today's
        # midnight, not now, so a seed gives the same database whatever the time of day.
        window_end = dt.datetime.combine(today, dt.time.min, tzinfo=dt.UTC).timestamp()
        window_start = window_end - DAYS * 86400
        rest = [(rng.uniform(window_start, window_end), 0) for _ in range(papers - len(featured))]
        timeline = sorted(featured + rest)
        self.published = [t for t, _ in timeline]
        self.daily = [d for _, d in timeline]  # date ordinal, 0 if only indexed
        self.n_featured = len(featured)

        # arXiv ids: YYMM.NNNNN, numbered in publication order within each month.
        ids, month, seq = [], None, 0
        for t in self.published:
            stamp = time.gmtime(t)
            yymm = f"{stamp.tm_year % 100:02d}{stamp.tm_mon:02d}"
            seq = seq + 1 if yymm == month else 1
            month = yymm
            if seq > 99999:
                raise SystemExit("More than 99,999 papers in one month: lower --papers")
            ids.append(f"{yymm}.{seq:05d}")
        self.arxiv_ids = ids

        self._plan_votes(rng)
        self._plan_authors(rng)
        self.strides = _coprime_strides(self.n_users, rng)
        # One paper in a thousand hidden by a moderator: pages must leave them out.
        self.hidden = set(rng.sample(range(papers), max(1, papers // 1000)))

    def _plan_votes(self, rng):
        n, cap = self.n, self.n_users
        total = VOTES_PER_PAPER * n
        featured_budget = int(total * FEATURED_VOTE_SHARE)
        # Featured papers: log-normal (median ~15 at 1M, the best few thousand); the
        # others: Pareto(2) - 1, so most have 0-3 votes and a rare one hundreds.
        raw = [
            rng.lognormvariate(0.0, 1.5) if self.daily[i] else rng.paretovariate(2.0) - 1.0
            for i in range(n)
        ]
        featured_raw = sum(r for i, r in enumerate(raw) if self.daily[i]) or 1.0
        other_raw = sum(r for i, r in enumerate(raw) if not self.daily[i]) or 1.0
        f_scale = featured_budget / featured_raw
        o_scale = (total - featured_budget) / other_raw
        counts = []
        for i, r in enumerate(raw):
            x = r * (f_scale if self.daily[i] else o_scale)
            counts.append(min(cap, int(x + rng.random())))  # stochastic rounding
        self.votes = _nudge_to_total(rng, counts, total, 0, cap)

    def _plan_authors(self, rng):
        n = self.n
        per_paper = _weighted_counts(rng, n, AUTHOR_COUNT_WEIGHTS, 0.001, (20, 100))
        per_paper = [min(c, self.n_authors) for c in per_paper]
        total = max(AUTHORSHIPS_PER_PAPER * n, self.n_authors)
        self.author_counts = _nudge_to_total(rng, per_paper, total, 1, min(100, self.n_authors))

        productivity = _author_productivity(self.n_authors, total)
        author_ids = list(range(1, self.n_authors + 1))
        rng.shuffle(author_ids)  # rank -> id: the prolific authors are anywhere
        slots = []
        for author_id, count in zip(author_ids, productivity, strict=True):
            slots.extend([author_id] * count)
        rng.shuffle(slots)

        # Deal the slots out in order; an author twice on one paper swaps with a random
        # slot elsewhere, until every paper has distinct authors.
        offsets = [0]
        for c in self.author_counts:
            offsets.append(offsets[-1] + c)
        for p in range(n):
            start, end = offsets[p], offsets[p + 1]
            for _ in range(10_000):
                seen, dup = set(), None
                for j in range(start, end):
                    if slots[j] in seen:
                        dup = j
                        break
                    seen.add(slots[j])
                if dup is None:
                    break
                k = rng.randrange(len(slots))
                other = bisect.bisect_right(offsets, k) - 1
                if other != p and slots[k] not in seen:
                    other_start, other_end = offsets[other], offsets[other + 1]
                    others = set(slots[other_start:other_end]) - {slots[k]}
                    if slots[dup] not in others:
                        slots[dup], slots[k] = slots[k], slots[dup]
            else:
                raise SystemExit(f"Could not give paper {p} distinct authors")
        self.slots, self.offsets = slots, offsets
        self.top_author = author_ids[0]
        self.top_author_papers = productivity[0]


# --- Rows ----------------------------------------------------------------------------------


def author_names(corpus: Corpus, n_authors: int) -> list[str]:
    """n_authors distinct names ("Hang Z. Zhang"), distinct after normalisation too, by a
    bijection from ids to (first, middle initial, last)."""
    from papers.models import normalise_name

    firsts, lasts = corpus.first_names, corpus.last_names
    space = len(firsts) * len(lasts) * 27
    if space < n_authors * 2:
        raise SystemExit("Not enough name combinations in bench/data for this many authors")
    step = 1_000_003 if math.gcd(1_000_003, space) == 1 else 999_983
    names, seen, k = [""], set(), 0  # names[author_id]
    while len(names) <= n_authors:
        idx = (k * step) % space
        k += 1
        first = firsts[idx % len(firsts)]
        rest = idx // len(firsts)
        last = lasts[rest % len(lasts)]
        middle = rest // len(lasts)
        name = f"{first} {chr(64 + middle)}. {last}" if middle else f"{first} {last}"
        key = normalise_name(name)
        if key and key not in seen:
            seen.add(key)
            names.append(name)
    return names


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(ts))


class Writer:
    """Buffers COPY text and sends it in large chunks."""

    def __init__(self, copy, bar=None, chunk=4 << 20):
        self.copy, self.bar, self.chunk = copy, bar, chunk
        self.parts, self.size, self.rows = [], 0, 0

    def row(self, line: str):
        self.parts.append(line)
        self.size += len(line)
        self.rows += 1
        if self.size >= self.chunk:
            self.flush()

    def flush(self):
        if self.parts:
            self.copy.write("".join(self.parts))
            if self.bar is not None:
                self.bar.update(self.rows)
            self.parts, self.size, self.rows = [], 0, 0


def _progress(total, desc, position):
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        position=position,
        unit=" rows",
        unit_scale=True,
        mininterval=0.5 if sys.stderr.isatty() else 10,
        leave=True,
        dynamic_ncols=True,
    )


def _copy(conn, table, columns, generate, total, desc, position):
    """TRUNCATE + COPY ... FREEZE in one transaction: the rows arrive frozen and
    all-visible, so no VACUUM is needed before index-only scans work."""
    started = time.monotonic()
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(f"TRUNCATE {table}")
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FREEZE)"
        with _progress(total, desc, position) as bar, cur.copy(sql) as copy:
            writer = Writer(copy, bar)
            generate(writer)
            writer.flush()
    return time.monotonic() - started


PAPER_COLUMNS = [
    "id", "arxiv_id", "version", "title", "abstract", "comments", "journal_ref", "doi",
    "primary_category", "categories", "published_at", "updated_at", "code_url",
    "project_url", "daily_date", "submitted_by_id", "upvote_count", "rank_score",
    "is_hidden", "author_names", "author_count", "source", "created_at", "modified_at",
    "comment_count",
]  # fmt: skip


def write_papers(plan: Plan, corpus: Corpus, names: list[str], writer: Writer):
    from papers import ranking

    rng = random.Random(plan.seed + 1)
    now = plan.now
    now_iso = _iso(now.timestamp())
    sentences, titles, comments = corpus.sentences, corpus.titles, corpus.comments
    primaries, primary_weights = list(PRIMARY), list(PRIMARY.values())
    slots, offsets = plan.slots, plan.offsets
    escaped = {}  # author id -> escaped name, filled lazily

    def title_for():
        shape = rng.random()
        title = rng.choice(titles)
        if shape < 0.35:
            name = corpus.tail_terms(rng, 1)[0]
            return f"{name[0].upper()}{name[1:]}: {title}"
        words = title.split(" ")
        if shape < 0.7 and len(words) > 5:
            other = rng.choice(titles).split(" ")
            cut = rng.randint(2, max(2, len(words) // 2))
            joiner = rng.choice(("for", "via", "with", "in", "and"))
            return " ".join(words[:cut] + [joiner] + other[-rng.randint(2, 5) :])
        words[rng.randrange(len(words))] = corpus.tail_terms(rng, 1)[0]
        return " ".join(words)

    for i in range(plan.n):
        pid = i + 1
        chosen = rng.choices(sentences, k=rng.randint(4, 9))
        for term in corpus.tail_terms(rng, rng.randint(*TAIL_TERMS_PER_PAPER)):
            j = rng.randrange(len(chosen))
            words = chosen[j].split(" ")
            words[rng.randrange(len(words))] = term
            chosen[j] = " ".join(words)
        abstract = " ".join(chosen)

        primary = rng.choices(primaries, weights=primary_weights)[0]
        categories = [primary] + [
            c for c in rng.sample(CROSS_LISTS, rng.randint(0, 3)) if c != primary
        ]
        published = plan.published[i]
        version = rng.choices((1, 2, 3, 4), weights=(60, 28, 9, 3))[0]
        updated = min(published + (version - 1) * rng.uniform(86400, 40 * 86400), now.timestamp())
        day = plan.daily[i]
        featured = day != 0
        if featured:
            daily = dt.date.fromordinal(day)
            rank_score = ranking.hot_score(plan.votes[i], daily, now)
            daily_text = daily.isoformat()
            submitted_by = str(rng.randint(1, plan.n_users)) if rng.random() < 0.2 else "\\N"
        else:
            rank_score, daily_text, submitted_by = 0.0, "\\N", "\\N"
        code_url = project_url = ""
        if rng.random() < (0.4 if featured else 0.12):
            repo = corpus.tail_terms(rng, 1)[0]
            code_url = f"https://github.com/{rng.choice(corpus.github_users)}/{repo}"
            if rng.random() < 0.3:
                project_url = f"https://{repo}.github.io/"

        ids = slots[offsets[i] : offsets[i + 1]]
        parts = []
        for author_id in ids:
            name = escaped.get(author_id)
            if name is None:
                name = escaped[author_id] = copy_escape(names[author_id])
            parts.append(name)

        source = json.dumps(
            {
                "id": plan.arxiv_ids[i],
                "versions": [
                    {"version": f"v{v}", "created": _iso(published if v == 1 else updated)}
                    for v in range(1, version + 1)
                ],
                "license": "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
                "update_date": _iso(updated)[:10],
            }
        )
        writer.row(
            "\t".join(
                (
                    str(pid),
                    plan.arxiv_ids[i],
                    str(version),
                    title_for(),
                    abstract,
                    rng.choice(comments) if rng.random() < 0.6 else "",
                    "",
                    "",
                    primary,
                    json.dumps(categories),
                    _iso(published),
                    _iso(updated),
                    code_url,
                    project_url,
                    daily_text,
                    submitted_by,
                    str(plan.votes[i]),
                    repr(rank_score),
                    "t" if i in plan.hidden else "f",
                    ", ".join(parts),
                    str(len(ids)),
                    copy_escape(source),
                    now_iso,
                    now_iso,
                    "0",  # no seeded discussions
                )
            )
            + "\n"
        )


def write_authors(names, writer):
    from papers.models import normalise_name, slug_for

    for author_id in range(1, len(names)):
        name = names[author_id]
        key = normalise_name(name)
        writer.row(f"{author_id}\t{copy_escape(name)}\t{key}\t{slug_for(key)}\n")


def write_authorships(plan, writer):
    slots, offsets = plan.slots, plan.offsets
    row_id = 0
    for p in range(plan.n):
        pid = str(p + 1)
        for position, j in enumerate(range(offsets[p], offsets[p + 1])):
            row_id += 1
            writer.row(f"{row_id}\t{pid}\t{slots[j]}\t{position}\n")


def write_votes(plan, writer):
    """Each paper's voters are distinct by construction: user (offset + k * stride) mod
    U with stride coprime to U. A vote is cast within two days of the paper being
    featured (a month of its publication for the others), never in the future."""
    rng = random.Random(plan.seed + 2)
    n_users, strides, now = plan.n_users, plan.strides, plan.now.timestamp()
    minute_text = {}
    row_id = 0
    for p in range(plan.n):
        count = plan.votes[p]
        if not count:
            continue
        pid = str(p + 1)
        if plan.daily[p]:
            start = (plan.daily[p] - EPOCH_ORDINAL) * 86400.0
            span = 2 * 86400.0
        else:
            start, span = plan.published[p], 30 * 86400.0
        span = max(60.0, min(span, now - start))
        offset, stride = rng.randrange(n_users), rng.choice(strides)
        for k in range(count):
            row_id += 1
            minute = int((start + rng.random() * span) // 60)
            stamp = minute_text.get(minute)
            if stamp is None:
                stamp = minute_text[minute] = _iso(minute * 60.0)
            writer.row(f"{row_id}\t{(offset + k * stride) % n_users + 1}\t{pid}\t{stamp}\n")


def write_users(plan, writer):
    from django.contrib.auth.hashers import make_password

    password = make_password(BENCH_PASSWORD)  # hashed once, shared by every bench user
    joined = _iso(plan.now.timestamp() - DAYS * 86400)
    for uid in range(1, plan.n_users + 1):
        writer.row(
            f"{uid}\t{password}\t\\N\tf\tbench{uid}\t\t\tbench{uid}@bench.example.org"
            f"\tf\tt\t{joined}\tBench User {uid}\n"
        )


USER_COLUMNS = [
    "id", "password", "last_login", "is_superuser", "username", "first_name", "last_name",
    "email", "is_staff", "is_active", "date_joined", "display_name",
]  # fmt: skip


def write_email_addresses(plan, writer):
    for uid in range(1, plan.n_users + 1):
        writer.row(f"{uid}\t{uid}\tbench{uid}@bench.example.org\tt\tt\n")


# --- Schema handling ----------------------------------------------------------------------

SEEDED_TABLES = ["papers_paper", "papers_author", "papers_authorship", "papers_vote"]
# Written by PostgreSQL triggers as papers are copied (papers.models.SearchDocument): its
# GIN index is dropped and rebuilt around the COPY like the seeded tables' indexes.
# semantic_paperembedding is filled after the COPY (write_vectors).
DERIVED_TABLES = ["papers_searchdocument", "semantic_paperembedding"]
USER_TABLES = ["accounts_user", "account_emailaddress"]


def existing_tables(conn, names):
    rows = conn.execute(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname = ANY(%s)", [names]
    ).fetchall()
    return {r[0] for r in rows}


def check_columns(conn, table, filled):
    """A column this script doesn't fill must have a database default, or COPY fails
    with a less helpful message."""
    rows = conn.execute(
        """SELECT column_name FROM information_schema.columns
           WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL
             AND is_generated = 'NEVER' AND identity_generation IS NULL""",
        [table],
    ).fetchall()
    missing = [r[0] for r in rows if r[0] not in filled]
    if missing:
        raise SystemExit(
            f"{table} has NOT NULL columns without a database default that bench/seed.py "
            f"doesn't fill: {', '.join(missing)}. Teach write_* in bench/seed.py about them."
        )


def drop_secondary_structures(conn, tables, keep_indexes=False):
    """Drop the foreign keys touching `tables` and (unless keep_indexes) their
    non-primary-key indexes and unique constraints. Returns the statements that put
    them back, in three steps: CREATE [UNIQUE] INDEX (SHARE locks, so several run at
    once on one table), then attaching the unique indexes as constraints (brief, but an
    ACCESS EXCLUSIVE lock, so after every build), then the foreign keys."""
    fks = conn.execute(
        """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
           FROM pg_constraint
           WHERE contype = 'f' AND (conrelid::regclass::text = ANY(%s)
                                    OR confrelid::regclass::text = ANY(%s))""",
        [tables, tables],
    ).fetchall()
    uniques = conn.execute(
        """SELECT conrelid::regclass::text, conname, pg_get_indexdef(conindid),
                  condeferrable, condeferred
           FROM pg_constraint WHERE contype = 'u' AND conrelid::regclass::text = ANY(%s)""",
        [tables],
    ).fetchall()
    indexes = conn.execute(
        """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
           FROM pg_index i
           WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
        [tables],
    ).fetchall()
    if keep_indexes:
        uniques, indexes = [], []
    with conn.transaction():
        for table, name, _ in fks:
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for table, name, *_ in uniques:
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
    builds = list(indexes) + [(name, index_sql) for _, name, index_sql, *_ in uniques]
    attach = []
    for table, name, _, deferrable, deferred in uniques:
        when = (" DEFERRABLE" if deferrable else "") + (" INITIALLY DEFERRED" if deferred else "")
        attach.append(
            (name, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" UNIQUE USING INDEX "{name}"{when}')
        )
    foreign_keys = [
        (name, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for table, name, definition in fks
    ]
    return builds, attach, foreign_keys


DOCUMENT_TRIGGER = "paper_search_document_insert"


def write_search_documents(url, papers):
    """Every paper's search document (papers.models.SearchDocument), as its trigger
    would write it, in two halves at once; then the trigger is on again."""
    from importlib import import_module

    migration = import_module("papers.migrations.0008_search_documents")
    vector = migration.VECTOR.replace("NEW.", "")
    middle = papers // 2
    statements = [
        (
            f"search documents {i + 1}/2",
            "INSERT INTO papers_searchdocument (paper_id, vector) "
            f"SELECT id, {vector} FROM papers_paper WHERE id {condition}",
        )
        for i, condition in enumerate((f"<= {middle}", f"> {middle}"))
    ]
    try:
        return run_in_two_lanes(url, statements)
    finally:
        with connect(url, autocommit=True) as conn:
            conn.execute(f"ALTER TABLE papers_paper ENABLE TRIGGER {DOCUMENT_TRIGGER}")


# --- Paper vectors (semantic.models.PaperEmbedding) ---------------------------------------

# Each paper's vector is a real paper's vector (the demo's shipped vectors, encoded by the
# site's model) plus Gaussian noise of this norm, normalised: about 3,700 topics, a paper
# at cosine ~0.75 from its topic's centre and ~0.55 from its neighbours, as a corpus has.
# Real queries embedded by the model then land among them as they would in real papers.
VECTOR_NOISE = 0.9
VECTOR_CHUNK = 100_000


def _vector_centres():
    """(model key, float32 unit vectors) of the demo's shipped vectors for the current
    model (semantic/fixtures/demo-vectors/)."""
    import numpy as np

    from semantic import demo_vectors, encoder

    key = encoder.model_key()
    path = demo_vectors.fixture_path(key)
    if not path.exists():
        raise SystemExit(f"No shipped vectors for {key} ({path}): build_demo_vectors first.")
    centres = np.load(path)["vectors"].astype(np.float32)
    return key, centres / np.linalg.norm(centres, axis=1, keepdims=True)


def _copy_binary_vectors(ids, vectors) -> bytes:
    """COPY's binary format for rows (paper_id int4, vector bytea), built by numpy in
    one go: a million rows of 768 bytes are never Python objects."""
    import numpy as np

    width = vectors.shape[1] * 2
    row = np.dtype(
        [("fields", ">i2"), ("id_len", ">i4"), ("id", ">i4"), ("v_len", ">i4"), ("v", f"V{width}")]
    )
    rows = np.empty(len(ids), row)
    rows["fields"], rows["id_len"], rows["id"], rows["v_len"] = 2, 4, ids, width
    rows["v"] = np.ascontiguousarray(vectors.astype("<f2")).view(f"V{width}").ravel()
    return rows.tobytes()


def write_vectors(url, seed_value=1, log=print) -> float:
    """A float16 unit vector for every paper without one, stored as embed_papers stores
    them (the current model's key, the hash of the paper's text, its modified_at): the
    site sees them as current and does not embed those papers again. Adds to an already
    seeded database too (--vectors-only). Returns the seconds it took."""
    import numpy as np

    started = time.monotonic()
    key, centres = _vector_centres()
    rng = np.random.default_rng(seed_value + 5)
    dims = centres.shape[1]
    with connect(url, autocommit=True) as conn:
        low, high = conn.execute("SELECT min(id), max(id) FROM papers_paper").fetchone()
        conn.execute("DROP TABLE IF EXISTS bench_seed_vectors")
        conn.execute("CREATE UNLOGGED TABLE bench_seed_vectors (paper_id int4, vector bytea)")
        header = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
        with conn.cursor().copy("COPY bench_seed_vectors FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(header)
            for start in range(low or 1, (high or 0) + 1, VECTOR_CHUNK):
                ids = np.arange(start, min(start + VECTOR_CHUNK, high + 1), dtype=np.int32)
                block = centres[rng.integers(0, len(centres), len(ids))]
                noise = rng.standard_normal((len(ids), dims), dtype=np.float32)
                block += noise * (VECTOR_NOISE / np.sqrt(dims))
                block /= np.linalg.norm(block, axis=1, keepdims=True)
                copy.write(_copy_binary_vectors(ids, block))
            copy.write(b"\xff\xff")
        # semantic.encoder.document_text (title, blank line, abstract) and text_hash.
        text = "btrim(p.title, E' \\t\\n\\r') || E'\\n\\n' || btrim(p.abstract, E' \\t\\n\\r')"
        text_hash = f"left(encode(sha256(convert_to({text}, 'UTF8')), 'hex'), 32)"
        conn.execute(
            "INSERT INTO semantic_paperembedding "
            "(paper_id, model_key, vector, text_hash, paper_modified_at, updated_at) "
            # Written before any index is built: a vector newer than the index (less
            # WATERMARK_MARGIN) is searched exactly beside it, which for all of them would
            # measure an exact scan, not the index.
            f"SELECT p.id, %s, v.vector, {text_hash}, p.modified_at, now() - interval '1 day' "
            "FROM bench_seed_vectors v JOIN papers_paper p ON p.id = v.paper_id "
            "ON CONFLICT (paper_id) DO NOTHING",
            [key],
        )
        conn.execute("DROP TABLE bench_seed_vectors")
        conn.execute("ANALYZE semantic_paperembedding")
    seconds = round(time.monotonic() - started, 1)
    log(f"Wrote vectors ({key}) for papers {low:,}-{high:,} in {seconds} s")
    return seconds


def _run_statements(url, statements, timings):
    with connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        # Two of these run at once on two cores: no parallel workers on top.
        conn.execute("SET max_parallel_maintenance_workers = 0")
        for name, statement in statements:
            started = time.monotonic()
            conn.execute(statement)
            timings[name] = round(time.monotonic() - started, 1)


def run_in_two_lanes(url, statements, slow_first=("paper_search",)):
    """Run the statements on two connections at once, the known slow one alone in the
    first lane. Returns {name: seconds}."""
    import threading

    first = [s for s in statements if s[0] in slow_first]
    rest = [s for s in statements if s[0] not in slow_first]
    if not first:
        first, rest = rest[0::2], rest[1::2]
    timings = {}
    lanes = [
        threading.Thread(target=_run_statements, args=(url, lane, timings))
        for lane in (first, rest)
    ]
    for lane in lanes:
        lane.start()
    for lane in lanes:
        lane.join()
    missing = {s[0] for s in statements} - set(timings)
    if missing:
        raise SystemExit(f"Could not rebuild: {', '.join(sorted(missing))}")
    return timings


# --- Main ----------------------------------------------------------------------------------


def _copy_worker(url, jobs, position, results):
    """Runs in a child process: COPY the given tables one after another."""
    with connect(url) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.commit()
        for name, job in jobs:
            results[name] = job(conn, position)


def seed(papers, url, seed_value=1, replace=False, keep_indexes=False, log=print, vectors=True):
    timings = {}
    started = time.monotonic()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    recreate_database(url, replace)
    migrate(url)
    timings["migrate"] = round(time.monotonic() - started, 1)

    os.environ.update({k: v for k, v in django_env(url).items() if k not in os.environ})
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()

    t = time.monotonic()
    plan = Plan(papers, seed_value, now)
    corpus = Corpus(random.Random(seed_value + 3), tail_size=max(1000, papers // 2))
    names = author_names(corpus, plan.n_authors)
    timings["plan"] = round(time.monotonic() - t, 1)
    log(
        f"Planned {papers:,} papers ({plan.n_featured:,} featured over {plan.days:,} days), "
        f"{plan.n_authors:,} authors, {len(plan.slots):,} authorships, {plan.n_users:,} users, "
        f"{sum(plan.votes):,} votes in {timings['plan']} s"
    )

    with connect(url, autocommit=True) as conn:
        user_tables = existing_tables(conn, USER_TABLES)
        check_columns(conn, "papers_paper", PAPER_COLUMNS)
        check_columns(conn, "accounts_user", USER_COLUMNS)
        builds, attach, foreign_keys = drop_secondary_structures(
            conn, SEEDED_TABLES + DERIVED_TABLES + sorted(user_tables), keep_indexes
        )
        # Search documents are computed afterwards in bulk (write_search_documents):
        # the per-row trigger, fired for a million rows at the end of the COPY, takes
        # several times longer than two INSERT ... SELECT.
        conn.execute(f"ALTER TABLE papers_paper DISABLE TRIGGER {DOCUMENT_TRIGGER}")

    def job(table, columns, generate, total, desc):
        def run(conn, position):
            return round(_copy(conn, table, columns, generate, total, desc, position), 1)

        return (table, run)

    lane_a = [
        job("papers_paper", PAPER_COLUMNS, lambda w: write_papers(plan, corpus, names, w),
            plan.n, "papers"),
    ]  # fmt: skip
    lane_b = [
        job("accounts_user", USER_COLUMNS, lambda w: write_users(plan, w), plan.n_users, "users"),
        job("papers_author", ["id", "name", "normalised_name", "slug"],
            lambda w: write_authors(names, w), plan.n_authors, "authors"),
        job("papers_authorship", ["id", "paper_id", "author_id", "position"],
            lambda w: write_authorships(plan, w), len(plan.slots), "authorships"),
        job("papers_vote", ["id", "user_id", "paper_id", "created_at"],
            lambda w: write_votes(plan, w), sum(plan.votes), "votes"),
    ]  # fmt: skip
    if "account_emailaddress" in user_tables:
        lane_b.insert(
            1,
            job("account_emailaddress", ["id", "user_id", "email", "verified", '"primary"'],
                lambda w: write_email_addresses(plan, w), plan.n_users, "email addresses"),
        )  # fmt: skip

    # Two processes, one per core: papers alongside everything else.
    t = time.monotonic()
    ctx = multiprocessing.get_context("fork")
    with ctx.Manager() as manager:
        results = manager.dict()
        workers = [
            ctx.Process(target=_copy_worker, args=(url, lane, position, results))
            for position, lane in enumerate((lane_a, lane_b))
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        if any(w.exitcode for w in workers):
            raise SystemExit("A COPY worker failed (see above)")
        timings["copy"] = dict(results)
    timings["copy_total"] = round(time.monotonic() - t, 1)

    t = time.monotonic()
    timings["search_documents"] = write_search_documents(url, plan.n)
    timings["search_documents_total"] = round(time.monotonic() - t, 1)
    if vectors:
        timings["vectors"] = write_vectors(url, seed_value, log)

    t = time.monotonic()
    timings["indexes"] = run_in_two_lanes(url, builds)
    timings["indexes_total"] = round(time.monotonic() - t, 1)
    t = time.monotonic()
    timings["constraints"] = {}
    _run_statements(url, attach, timings["constraints"])
    timings["constraints"].update(run_in_two_lanes(url, foreign_keys))
    timings["constraints_total"] = round(time.monotonic() - t, 1)

    t = time.monotonic()
    with connect(url, autocommit=True) as conn:
        for table in SEEDED_TABLES + sorted(user_tables):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        conn.execute("ANALYZE")
    timings["analyze"] = round(time.monotonic() - t, 1)
    timings["total"] = round(time.monotonic() - started, 1)

    meta = describe(url, plan, corpus, timings)
    OUT.mkdir(exist_ok=True)
    (OUT / f"{database_name(url)}.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def describe(url, plan, corpus, timings):
    """What bench/load.py needs (terms, ids), and what seeding cost."""
    rng = random.Random(plan.seed + 4)
    # Rare terms: invented terms expected in ~3-30 papers.
    target = max(1, int(len(corpus.tail) * 0.01))
    for rank in range(1, len(corpus.tail) + 1):
        if corpus.expected_documents(rank, plan.n) <= 15:
            target = rank
            break
    candidates = corpus.tail[target - 1 : target + 199]
    with connect(url, autocommit=True) as conn:

        def documents(term):
            return conn.execute(
                "SELECT count(*) FROM papers_searchdocument "
                "WHERE vector @@ plainto_tsquery('english', %s)",
                [term],
            ).fetchone()[0]

        # An invented term can share its stem with real words ("electrant" ->
        # "electr"): keep the ones that really are rare.
        rare = [t for t in candidates if 1 <= documents(t) <= 50][:50]

        busy = conn.execute(
            "SELECT a.slug, count(*) FROM papers_authorship s JOIN papers_author a "
            "ON a.id = s.author_id WHERE s.author_id = %s GROUP BY a.slug",
            [plan.top_author],
        ).fetchone()
        sizes = dict(
            conn.execute(
                """SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c
                   WHERE c.relname = ANY(%s)""",
                [SEEDED_TABLES + DERIVED_TABLES + ["accounts_user"]],
            ).fetchall()
        )
        search_index = conn.execute("SELECT pg_relation_size('paper_search')").fetchone()[0]
        # What a search document costs: the same sample read with and without
        # computing it again.
        sample = min(plan.n, 20_000)
        elapsed = []
        for expression in (
            "length(title) + length(author_names) + length(abstract)",
            """length(
                 setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') ||
                 setweight(to_tsvector('simple'::regconfig, coalesce(author_names, '')), 'B') ||
                 setweight(to_tsvector('english'::regconfig, coalesce(abstract, '')), 'C'))""",
        ):
            t = time.monotonic()
            conn.execute(
                f"SELECT sum({expression}) FROM (SELECT title, author_names, abstract "
                "FROM papers_paper WHERE id <= %s) s",
                [sample],
            )
            elapsed.append(time.monotonic() - t)
        per_row = max(elapsed[1] - elapsed[0], 0.0) / sample
        vector_bytes = conn.execute(
            "SELECT avg(pg_column_size(vector)) FROM "
            "(SELECT vector FROM papers_searchdocument ORDER BY paper_id LIMIT %s) s",
            [sample],
        ).fetchone()[0]
        featured = plan.n_featured
        visible = [i for i in range(plan.n) if i not in plan.hidden]
        papers = [plan.arxiv_ids[i] for i in rng.sample(visible, min(1000, len(visible)))]
        latest = dt.date.fromordinal(max(plan.daily))
        return {
            "database": database_name(url),
            "seeded_at": plan.now.isoformat(),
            "papers": plan.n,
            "featured": featured,
            "days": plan.days,
            "latest_day": latest.isoformat(),
            "users": plan.n_users,
            "authors": plan.n_authors,
            "authorships": len(plan.slots),
            "votes": sum(plan.votes),
            "max_votes": max(plan.votes),
            "password": BENCH_PASSWORD,
            "busy_author": {"slug": busy[0], "papers": busy[1]},
            "sample_papers": papers,
            "voted_papers": [plan.arxiv_ids[i] for i in visible if plan.daily[i]][-500:],
            "hidden": len(plan.hidden),
            "terms": {
                "common": [{"q": t, "documents": documents(t)} for t in COMMON_TERMS[:2]],
                "rare": [{"q": t, "documents": documents(t)} for t in rare[:2]],
                "rare_pool": rare,
                "none": {"q": NO_MATCH_TERM, "documents": documents(NO_MATCH_TERM)},
            },
            "search_vector": {
                "seconds_per_paper": per_row,
                "estimated_seconds": round(per_row * plan.n, 1),
                "avg_bytes": float(vector_bytes or 0),
                "gin_index_bytes": search_index,
            },
            "table_bytes": sizes,
            "timings": timings,
        }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=1_000_000, help="default 1,000,000")
    parser.add_argument(
        "--database", default="dp_bench_1m", help="database name (host etc. from DATABASE_URL)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--replace", action="store_true", help="drop the database even if seed.py didn't make it"
    )
    parser.add_argument(
        "--keep-indexes",
        action="store_true",
        help="COPY with the indexes in place (slower; to measure what dropping them saves)",
    )
    parser.add_argument(
        "--no-vectors", action="store_true", help="leave the papers without vectors"
    )
    parser.add_argument(
        "--vectors-only",
        action="store_true",
        help="add vectors to the papers of an already seeded --database that have none",
    )
    args = parser.parse_args(argv)
    if args.vectors_only:
        url = database_url(args.database)
        os.environ.update({k: v for k, v in django_env(url).items() if k not in os.environ})
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        write_vectors(url, args.seed)
        return
    if args.papers < 200:
        parser.error("--papers must be at least 200 (a daily list needs 20-60 papers)")
    url = database_url(args.database)
    print(f"Seeding {database_name(url)} with {args.papers:,} papers", flush=True)
    meta = seed(
        args.papers, url, args.seed, args.replace, args.keep_indexes, vectors=not args.no_vectors
    )
    report(meta)


def report(meta):
    t = meta["timings"]
    mb = 1 << 20
    print()
    print(f"Seeded {meta['database']} in {t['total']} s")
    print(
        f"  {meta['papers']:,} papers ({meta['featured']:,} featured over {meta['days']:,} "
        f"days, latest {meta['latest_day']}), {meta['authors']:,} authors, "
        f"{meta['authorships']:,} authorships, {meta['users']:,} users, {meta['votes']:,} votes "
        f"(max {meta['max_votes']:,} on one paper)"
    )
    print(
        f"  busiest author: /authors/{meta['busy_author']['slug']}/ "
        f"({meta['busy_author']['papers']:,} papers)"
    )
    terms = meta["terms"]
    print(
        "  search terms: "
        + ", ".join(f"{x['q']!r} in {x['documents']:,}" for x in terms["common"] + terms["rare"])
        + f", {terms['none']['q']!r} in {terms['none']['documents']}"
    )
    print(
        f"  phases: migrate {t['migrate']} s, plan {t['plan']} s, COPY {t['copy_total']} s "
        f"({', '.join(f'{k} {v} s' for k, v in t['copy'].items())}), "
        f"search documents {t.get('search_documents_total', '-')} s, "
        f"vectors {t.get('vectors', '-')} s, "
        f"indexes {t['indexes_total']} s, constraints {t['constraints_total']} s, "
        f"analyze {t['analyze']} s"
    )
    slow = sorted(t["indexes"].items(), key=lambda kv: -kv[1])[:4]
    print("  slowest index builds: " + ", ".join(f"{k} {v} s" for k, v in slow))
    sv = meta["search_vector"]
    print(
        f"  search_vector: {sv['seconds_per_paper'] * 1e6:.0f} µs a paper to generate "
        f"(~{sv['estimated_seconds']} s of the papers COPY), {sv['avg_bytes']:.0f} bytes a "
        f"paper, GIN index {sv['gin_index_bytes'] / mb:,.0f} MB"
    )
    print(
        "  sizes: "
        + ", ".join(f"{k} {v / mb:,.0f} MB" for k, v in sorted(meta["table_bytes"].items()))
    )


if __name__ == "__main__":
    main()
