"""Ingestion: every source of papers, written through one upsert (upsert.py).

arxiv.py     the arXiv API (Atom): new papers by category and date, papers by id
oai.py       arXiv OAI-PMH (arXiv and arXivRaw formats): backfill
hf.py        the Hugging Face daily papers API: featured papers
snapshot.py  arXiv's bulk metadata snapshot (JSON lines)
upsert.py    batches, in one transaction each, and whole runs (writer threads)
clean.py     cleaning and validating records, merge rules
authors.py   author names matched and resolved in bulk
writers.py   rows written with COPY (PostgreSQL) or bulk_create
text.py      whitespace, HTML, TeX accents, links
submit.py    a user's submission of an arXiv paper (/submit/, views.py)
models.py    Submission, HarvestCheckpoint
tasks.py     the periodic fetches, backfills and submissions, with retries
demo.py      the demo data (fixtures/demo/), loaded by `manage.py load_demo`
"""
