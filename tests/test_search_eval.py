"""The search evaluation set (bench/data/search_eval/queries.jsonl) stays usable: every
paper it names is in the demo `load_demo` loads, it has enough queries, none twice, and
bench/search_quality.py scores rankings the way its README says."""

import gzip
import json
import re
import sys
from pathlib import Path

import pytest

from ingest import arxiv, demo, demo_archive, hf, oai, snapshot
from ingest.clean import prepare
from ingest.records import PaperRecord

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import search_quality  # noqa: E402  (bench/ is not a package)

QUERIES = search_quality.load_queries()


def demo_ids() -> set[str]:
    """The arXiv ids of every paper in the demo's fixtures, read by the same readers
    load_demo uses."""
    records = [*hf.read_file(demo.HF_FILE)]
    for path in sorted((demo.FIXTURES / "arxiv-api").glob("*/*.xml")):
        records += arxiv.read_file(path)
    for path in sorted((demo.FIXTURES / "arxiv-oai").glob("*/*.xml")):
        records += oai.read_file(path)
    for path in sorted((demo.FIXTURES / "arxiv-snapshot").glob("*.jsonl")):
        records += snapshot.SnapshotReader(path)
    ids = {prepare(r).arxiv_id for r in records if isinstance(r, PaperRecord)}
    with gzip.open(demo_archive.ARCHIVE_FILE, "rt", encoding="utf-8") as lines:
        ids.update(json.loads(line)["paper"]["id"] for line in lines)
    return ids


def test_every_paper_judged_relevant_is_in_the_demo():
    known = demo_ids()
    assert len(known) == 317 + 3403
    missing = {
        (q["id"], arxiv_id) for q in QUERIES for arxiv_id in q["relevant"] if arxiv_id not in known
    }
    assert not missing


def test_the_set_has_enough_distinct_queries_of_both_kinds():
    assert len(QUERIES) >= 50
    assert len({q["id"] for q in QUERIES}) == len(QUERIES)
    normalised = [" ".join(re.findall(r"\w+", q["query"].casefold())) for q in QUERIES]
    assert len(set(normalised)) == len(normalised), "a query is there twice"
    kinds = [q["kind"] for q in QUERIES]
    assert set(kinds) == {"paraphrase", "topical"}
    # About two thirds describe a paper in other words; the rest are short topics.
    assert 0.55 <= kinds.count("paraphrase") / len(kinds) <= 0.8


@pytest.mark.parametrize("query", QUERIES, ids=[q["id"] for q in QUERIES])
def test_each_query_names_one_to_five_papers_with_a_grade(query):
    assert set(query) == {"id", "kind", "query", "relevant"}
    assert query["query"].strip() == query["query"] and len(query["query"]) <= 250
    assert 1 <= len(query["relevant"]) <= 5
    assert set(query["relevant"].values()) <= {1, 2}
    assert 2 in query["relevant"].values(), "nothing the query asks for outright"


def test_ndcg_is_one_for_the_ideal_order_and_falls_with_worse_ones():
    relevant = {"a": 2, "b": 1}
    ndcg = search_quality.ndcg_at
    assert ndcg(["a", "b", "x"], relevant) == pytest.approx(1.0)
    assert ndcg(["b", "a"], relevant) < 1.0
    assert ndcg(["x", "a", "b"], relevant) < ndcg(["b", "a"], relevant)
    assert ndcg(["x", "y"], relevant) == 0.0
    # Only the first ten count.
    assert ndcg([f"x{n}" for n in range(10)] + ["a", "b"], relevant) == 0.0


def test_recall_counts_the_listed_papers_in_the_first_ten():
    relevant = {"a": 2, "b": 1, "c": 1, "d": 2}
    recall = search_quality.recall_at
    assert recall(["a", "x", "c"], relevant) == 0.5
    assert recall([f"x{n}" for n in range(10)] + ["a"], relevant) == 0.0
