"""The "has code" filter (issue 13): ?has_code=1 on the list pages, search and the API
keeps the papers with a code link (Paper.code_url: Hugging Face's githubRepo, or a
link found in the abstract or comments)."""


def has_code_asked(request) -> bool:
    return request.GET.get("has_code") == "1"


def only_with_code_if_asked(request, papers):
    return papers.with_code() if has_code_asked(request) else papers
