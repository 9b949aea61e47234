"""PyGithub's replay files (tests/fixtures/github-api/pygithub/, LGPL-3.0): real
exchanges with api.github.com, 10 lines each (scheme, method, host, port, path, request
headers, request body, status, response headers, response body). Served to our client
from tests.recorded_http.RecordedServer, headers and body as GitHub sent them."""

import ast
import dataclasses
import json
from urllib.parse import urlsplit

from .recorded_http import FIXTURES

REPLAYS = FIXTURES / "github-api" / "pygithub"
# Headers the local server sets itself (or that describe GitHub's own connection).
_HOP = {"content-length", "transfer-encoding", "connection", "status", "content-encoding"}


@dataclasses.dataclass
class Exchange:
    path: str
    request_headers: dict
    status: int
    headers: dict
    body: str

    @property
    def json(self):
        return json.loads(self.body)


def exchanges(name: str) -> list[Exchange]:
    lines = (REPLAYS / name).read_text(encoding="utf-8").split("\n")
    found, i = [], 0
    while i < len(lines):
        if lines[i] not in ("https", "http"):
            i += 1
            continue
        record = lines[i : i + 10]
        headers = {k: v for k, v in ast.literal_eval(record[8]) if k.lower() not in _HOP}
        found.append(
            Exchange(
                path=record[4],
                request_headers=ast.literal_eval(record[5]),
                status=int(record[7]),
                headers=headers,
                body=record[9],
            )
        )
        i += 10
    return found


def serve(server, exchange: Exchange, path: str | None = None, times=None, **header_changes):
    """Answer `path` (the recorded one by default) with the recorded response; a
    Location on api.github.com is pointed at the local server."""
    headers = dict(exchange.headers)
    for name in list(headers):
        if name.lower() == "location":
            headers[name] = server.url + urlsplit(headers[name]).path
    headers.update(header_changes)
    server.add(
        urlsplit(path or exchange.path).path,
        body=exchange.body,
        status=exchange.status,
        headers=headers,
        times=times,
    )
