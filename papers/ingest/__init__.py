"""Ingestion: every source of papers, written through one upsert (upsert.py).

arxiv.py     the arXiv API (Atom): new papers by category and date, papers by id
oai.py       arXiv OAI-PMH (arXiv and arXivRaw formats): backfill
hf.py        the Hugging Face daily papers API: featured papers
snapshot.py  arXiv's bulk metadata snapshot (JSON lines)
upsert.py    batches, merge rules, authors
text.py      whitespace, HTML, TeX accents, links
"""
