"""Benchmark aids, off unless the environment asks for them (bench/load.py does).

- BENCHMARK_VIEWS=1 routes /bench/constant/: a view that returns a constant string
  through the whole middleware stack, the ceiling the real pages are compared with.
- BENCH_COUNT_QUERIES=1 adds QueryCountMiddleware: every response says how many SQL
  queries it took in an X-SQL-Queries header.
"""

from django.db import connection
from django.http import HttpResponse

PER_PROCESS_LOOKUP = "SELECT oid, typarray FROM pg_type"


def constant(request):
    return HttpResponse("Daily Papers\n", content_type="text/plain; charset=utf-8")


class QueryCountMiddleware:
    """Counts the queries of everything below it (first in MIDDLEWARE, so sessions and
    authentication count too). An execute wrapper, not DEBUG's query log, so the
    server runs as in production."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        count = 0

        def counter(execute, sql, params, many, context):
            nonlocal count
            # django.contrib.postgres looks its types up once per process, on the first
            # connection: the worker's cost, not the page's.
            if not sql.startswith(PER_PROCESS_LOOKUP):
                count += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        response["X-SQL-Queries"] = str(count)
        return response
