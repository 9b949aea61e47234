"""Benchmark: import N snapshot records into a fresh PostgreSQL database.

    .venv/bin/python bench/import_snapshot.py --records 100000
    make bench-import RECORDS=500000

Records are generated from the real 200-line snapshot sample in the demo fixtures:
new ids, the words of titles and abstracts shuffled, authors drawn (with realistic
counts per paper) from names recombined out of the sample, so author matching has
work to do. The file is written to a temporary directory, then imported with the same
function `manage.py import_snapshot` uses, into its own database (dropped and
re-created: --database, default dp_bench_import). Prints papers/s and memory: the
process's resident set at each tenth of the file and its peak, so one can see whether
memory stays flat as the file grows.

Target (issue 4): >= 5,000 papers/s on a 2-core machine, i.e. the full 2.7 M records
in under 10 minutes, with flat memory.
"""

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "ingest/fixtures/demo/arxiv-snapshot/arxiv-metadata-oai-snapshot.sample.jsonl"


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def generate(path: Path, records: int, seed: int = 4) -> None:
    rng = random.Random(seed)
    sample = [json.loads(line) for line in SAMPLE.open()]
    firsts = sorted({a[1] for s in sample for a in s["authors_parsed"] if a[1]})
    lasts = sorted({a[0] for s in sample for a in s["authors_parsed"] if a[0]})
    counts = [len(s["authors_parsed"]) for s in sample]
    initials = [""] + [f" {c}." for c in "ABCDEFGHIJKLMNOPRSTVW"]
    with path.open("w") as out:
        for i in range(records):
            base = sample[i % len(sample)]
            # Ids: 50,000 a month from 2015-01 on, as arXiv's own numbering goes.
            month = i // 50000
            yymm = f"{15 + month // 12:02d}{month % 12 + 1:02d}"
            title = base["title"].split()
            abstract = base["abstract"].split()
            rng.shuffle(title)
            rng.shuffle(abstract)
            # Popular names recur (authors of many papers), most are rare.
            authors = [
                [
                    lasts[int(rng.paretovariate(1.2)) % len(lasts)]
                    if rng.random() < 0.3
                    else rng.choice(lasts),
                    rng.choice(firsts) + rng.choice(initials),
                    "",
                ]
                for _ in range(rng.choice(counts))
            ]
            record = dict(base)
            record.update(
                id=f"{yymm}.{i % 50000 + 1:05d}",
                title=" ".join(title),
                abstract=" ".join(abstract),
                authors=", ".join(f"{a[1]} {a[0]}" for a in authors),
                authors_parsed=authors,
            )
            out.write(json.dumps(record) + "\n")


class CpuMonitor(threading.Thread):
    """CPU seconds used by the PostgreSQL backends serving this database (read from
    /proc: the server runs on this machine), sampled until stopped."""

    def __init__(self, database: str):
        super().__init__(daemon=True)
        self.database = database
        self.seen: dict[int, float] = {}
        self.running = True

    def run(self):
        import psycopg

        dsn = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            while self.running:
                pids = [
                    pid
                    for (pid,) in conn.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.database]
                    )
                ]
                for pid in pids:
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    ticks = int(fields[11]) + int(fields[12])
                    self.seen[pid] = ticks / os.sysconf("SC_CLK_TCK")
                time.sleep(0.2)

    def stop(self) -> float:
        self.running = False
        self.join()
        return sum(self.seen.values())


def fresh_database(name: str) -> str:
    base = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    subprocess.run(
        ["psql", f"{base}/postgres", "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True
    )
    subprocess.run(["psql", f"{base}/postgres", "-qc", f'CREATE DATABASE "{name}"'], check=True)
    return f"{base}/{name}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--database", default="dp_bench_import")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--writers", type=int, default=2, help="writer threads")
    parser.add_argument("--keep-file", action="store_true", help="keep the generated file")
    parser.add_argument(
        "--without-search-vector",
        action="store_true",
        help="drop the triggers that write search documents first, to see what they cost",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        run(args, workdir / "snapshot.jsonl")
    finally:
        if not args.keep_file:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args, path: Path):
    started = time.perf_counter()
    generate(path, args.records)
    size_mb = path.stat().st_size / 2**20
    print(
        f"generated {args.records:,} records ({size_mb:,.0f} MB) in "
        f"{time.perf_counter() - started:.0f} s: {path}"
    )

    os.environ["DATABASE_URL"] = fresh_database(args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from ingest import snapshot
    from papers.models import Author, Authorship, Paper

    call_command("migrate", verbosity=0)
    if args.without_search_vector:
        from django.db import connection

        with connection.cursor() as cursor:
            # No search documents written (papers.models.SearchDocument's triggers).
            cursor.execute("DROP TRIGGER paper_search_document_insert ON papers_paper")
            cursor.execute("DROP TRIGGER paper_search_document_update ON papers_paper")
    baseline = rss_mb()
    load = os.getloadavg()[0]
    monitor = CpuMonitor(args.database)
    monitor.start()
    cpu_before = os.times()
    marks = {max(args.records * n // 10, 1): n * 10 for n in range(1, 11)}
    seen = 0
    memory = []
    started = time.perf_counter()

    def on_item(_item):
        nonlocal seen
        seen += 1
        if seen in marks:
            memory.append((marks[seen], rss_mb(), time.perf_counter() - started))

    result = snapshot.import_file(
        path, batch_size=args.batch_size, on_item=on_item, writers=args.writers
    )
    elapsed = time.perf_counter() - started
    cpu_after = os.times()
    postgres_cpu = monitor.stop()
    python_cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(
        f"imported: {result.summary()} ({args.writers} writer threads, batches of "
        f"{args.batch_size})"
    )
    print(
        f"{Paper.objects.count():,} papers, {Author.objects.count():,} authors, "
        f"{Authorship.objects.count():,} authorships"
    )
    print(
        f"time: {elapsed:.1f} s -> {args.records / elapsed:,.0f} papers/s "
        f"(2.7 M would take {2_700_000 / (args.records / elapsed) / 60:.1f} min)"
    )
    cores = os.cpu_count() or 1
    bound = (python_cpu + postgres_cpu) / cores
    print(
        f"cpu: Python {python_cpu:.1f} s + PostgreSQL backends {postgres_cpu:.1f} s on {cores} "
        f"cores (load average {load:.1f} when the import began); with the cores to itself "
        f"this import would need at least {bound:.1f} s -> at most "
        f"{args.records / bound:,.0f} papers/s"
    )
    print(f"memory: {baseline:.0f} MB before the import; resident set as it went:")
    for percent, mb, at in memory:
        print(f"  {percent:3d}%  {mb:6.0f} MB  ({at:6.1f} s)")
    print(f"peak RSS of the process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
