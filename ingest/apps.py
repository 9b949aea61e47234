from django.apps import AppConfig


class IngestConfig(AppConfig):
    """Every source of papers (arXiv API, OAI-PMH, Hugging Face, the bulk snapshot),
    users' submissions and the demo data: see docs/architecture.md."""

    name = "ingest"
