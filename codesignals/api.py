from .models import Repository, signals_of


def paper_fields(paper) -> dict:
    """`githubRepo` (the repository's current address once GitHub told us it moved)
    and `githubStars`, as Hugging Face names them, for the paper's JSON; left out when
    unknown, as Hugging Face leaves them out."""
    signals = signals_of(paper)
    repository = signals.repository if signals else None
    if repository is None or repository.status != Repository.Status.OK:
        return {}
    return {"githubRepo": repository.url, "githubStars": repository.stars}
