"""A small HTTP server on 127.0.0.1 that answers with recorded responses, so the
ingestion code's HTTP side (paging, Retry-After, retries, error statuses) runs for real.

    server.add("/api/query", file="arxiv-api/2026/q_testing_s0_m10_....xml",
               when={"start": "0"})
    server.add("/oai", status=503, headers={"Retry-After": "1"}, times=1)

Routes are tried in the order added; a route with `times` is used that many times and
then skipped. Every request is recorded in `server.requests`.
"""

import dataclasses
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclasses.dataclass
class Route:
    path: str
    body: bytes
    status: int = 200
    headers: dict = dataclasses.field(default_factory=dict)
    when: dict = dataclasses.field(default_factory=dict)
    times: int | None = None
    delay: float = 0.0

    def matches(self, path, params) -> bool:
        if path != self.path or self.times == 0:
            return False
        return all(params.get(k) == v for k, v in self.when.items())


@dataclasses.dataclass
class Request:
    at: float
    path: str
    params: dict
    headers: dict


class RecordedServer:
    def __init__(self):
        self.routes: list[Route] = []
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                parts = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                with server._lock:
                    server.requests.append(
                        Request(time.monotonic(), parts.path, params, dict(self.headers))
                    )
                    route = next((r for r in server.routes if r.matches(parts.path, params)), None)
                    if route and route.times is not None:
                        route.times -= 1
                if route is None:
                    self.send_error(404, "No recorded response for this request")
                    return
                time.sleep(route.delay)  # a slow or stalled server
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(
        self,
        path,
        *,
        file=None,
        body=b"",
        status=200,
        headers=None,
        when=None,
        times=None,
        delay=0.0,
    ):
        if file is not None:
            body = (FIXTURES / file).read_bytes()
        elif isinstance(body, str):
            body = body.encode()
        content_type = "application/json" if str(file or "").endswith(".json") else "text/xml"
        self.routes.append(
            Route(
                path,
                body,
                status,
                {"Content-Type": content_type} | (headers or {}),
                when or {},
                times,
                delay,
            )
        )
        return self

    def requests_to(self, path) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")
