"""Queries compiled once per process, for the hottest requests.

Building a queryset and compiling it to SQL costs more than running a small query:
measured in process on the 1M benchmark database, fetching a paper by its arXiv id
with `.only()` took ~1.2 ms of CPU, one `Exists` annotation more ~2.3 ms, the same SQL
sent through a cursor ~0.15 ms. A CompiledQuery keeps the SQL and parameters of a
queryset built with stand-in values (ids no row has, say) and runs it again with the
real values in their places.
"""

from django.db import connections


class CompiledQuery:
    """`queryset` (a values_list()), compiled once; run(**values) sends its SQL with each
    stand-in of `standins` ({stand-in value: name}) replaced by values[name]. Stand-ins
    must be values the query holds nowhere else: negative ids, improbable strings."""

    def __init__(self, queryset, standins: dict, names=()):
        self.names = list(names)  # of the columns, when the caller wants them
        self.compiler = queryset.query.get_compiler(using=queryset.db)
        self.sql, params = self.compiler.as_sql()
        self.params = list(params)
        # Where each stand-in sits among the parameters.
        self.slots = [
            (n, standins[p]) for n, p in enumerate(self.params) if _hashable(p) and p in standins
        ]

    def uses(self, name) -> bool:
        return any(slot_name == name for _, slot_name in self.slots)

    def run(self, **values):
        params = list(self.params)
        for n, name in self.slots:
            params[n] = values[name]
        with connections[self.compiler.using].cursor() as cursor:
            cursor.execute(self.sql, params)
            fetched = cursor.fetchall()
        # results_iter() converts the values as the ORM does (SQLite's dates, booleans).
        return self.compiler.results_iter([fetched], tuple_expected=True)


def _hashable(value) -> bool:
    return type(value) in (int, str)
