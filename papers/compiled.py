"""Queries compiled once per process, for the hottest requests.

Building a queryset and compiling it to SQL costs more than running a small query:
measured in process on the 1M benchmark database, fetching a paper by its arXiv id
with `.only()` took ~1.2 ms of CPU, one `Exists` annotation more ~2.3 ms, the same SQL
sent through a cursor ~0.15 ms; building and compiling an uncached daily page's four
querysets was ~30 % of its CPU. A CompiledQuery keeps the SQL and parameters of a
queryset built with stand-in values (ids no row has, say) and runs it again with the
real values in their places.

`shaped(build, **values)` is the general form: `build(**values)` returns a queryset,
and the values that only fill the query's parameters (ids, dates, strings, a signed-in
user, a list of ids, `Ids` sent as one array) are replaced by stand-ins the first time
a shape is seen; the values that change the query's form (booleans, None, an anonymous
user, functions) make the shape. So a list's query is built and compiled once per
process for each of its forms, and each request sends it with its own values.
"""

import datetime as dt
import itertools
import threading

from django.core.signals import setting_changed
from django.db import connections
from django.db.models import Model
from django.db.models.expressions import RawSQL
from django.db.models.query import get_related_populators
from django.dispatch import receiver

# Stand-ins are negative ids and dates a thousand years ago: no row has them, and no
# query holds them for another reason.
_FIRST_ID = -7_000_001
_FIRST_DAY = dt.date(1001, 1, 1)


class CompiledQuery:
    """`queryset` (a values_list()), compiled once; run(**values) sends its SQL with each
    stand-in of `standins` ({stand-in value: name}) replaced by values[name]. Stand-ins
    must be values the query holds nowhere else: negative ids, improbable strings.
    `sql` wraps the compiled SQL ("SELECT COUNT(*) FROM ({}) counted"); `extra` names
    parameters added after the query's own (a LIMIT the wrapper adds)."""

    def __init__(self, queryset, standins: dict, names=(), sql="{}", extra=()):
        self.names = list(names)  # of the columns, when the caller wants them
        self.compiler = queryset.query.get_compiler(using=queryset.db)
        compiled, params = self.compiler.as_sql()
        self.sql = sql.format(compiled)
        self.params = list(params)
        ops = self.compiler.connection.ops
        # A date reaches the driver as the backend adapts it (a string on SQLite).
        adapted = {}
        for standin, name in standins.items():
            adapted[standin] = (name, None)
            if isinstance(standin, dt.date):
                adapted[ops.adapt_datefield_value(standin)] = (name, ops.adapt_datefield_value)
        # Where each stand-in sits among the parameters.
        self.slots = [
            (n, *adapted[p]) for n, p in enumerate(self.params) if _hashable(p) and p in adapted
        ]
        self.extra = tuple(extra)
        self._making = None  # what objects() needs, once
        self._converters = None

    def uses(self, name) -> bool:
        return any(slot_name == name for _, slot_name, _ in self.slots)

    def rows(self, **values) -> list:
        """The rows as the driver gives them."""
        params = list(self.params)
        for n, name, adapt in self.slots:
            params[n] = adapt(values[name]) if adapt else values[name]
        params += [values[name] for name in self.extra]
        with connections[self.compiler.using].cursor() as cursor:
            cursor.execute(self.sql, params)
            return cursor.fetchall()

    def run(self, **values):
        return self._converted(self.rows(**values), tuple_expected=True)

    def _converted(self, rows, tuple_expected=False):
        """The rows converted as the ORM converts them (SQLite's dates, booleans, JSON)
        in results_iter(), with the converters looked up once, not on every run (a
        paper page's row has some 60 columns)."""
        if self._converters is None:
            compiler = self.compiler
            fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
            self._converters = compiler.get_converters(fields)
            self._composite = compiler.has_composite_fields(fields)
        if self._composite:  # composite primary keys: as Django does it
            return self.compiler.results_iter([rows], tuple_expected=tuple_expected)
        if not self._converters:
            return rows
        rows = self.compiler.apply_converters(rows, self._converters)
        return map(tuple, rows) if tuple_expected else rows

    def objects(self, **values) -> list:
        """The rows as model instances, made as Django's ModelIterable makes them (with
        select_related's objects and the annotations), for a queryset compiled without
        values(). No prefetch_related: nothing here runs another query."""
        if self._making is None:
            compiler = self.compiler
            select, klass_info = compiler.select, compiler.klass_info
            fields = klass_info["select_fields"]
            start, end = fields[0], fields[-1] + 1
            self._making = (
                klass_info["model"],
                [f[0].target.attname for f in select[start:end]],
                start,
                end,
                get_related_populators(klass_info, select, compiler.using),
                tuple(compiler.annotation_col_map.items()),
            )
        model, init_list, start, end, populators, annotations = self._making
        made = []
        for row in self._converted(self.rows(**values)):
            obj = model.from_db(self.compiler.using, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            for name, position in annotations:
                setattr(obj, name, row[position])
            made.append(obj)
        return made


def _hashable(value) -> bool:
    return type(value) in (int, str, dt.date, _ArrayStandIn)


class Ids(tuple):
    """Ids a build sends as one array parameter (`pk__in=unnested(ids)`, PostgreSQL)
    rather than one parameter each: one shape whatever their number, and SQL that
    psycopg keeps parsed (it parses a statement of more than 50 parameters again each
    time it is sent)."""


def unnested(ids):
    """An Ids parameter as rows, for `pk__in=`: PostgreSQL's `unnest` of the array."""
    return RawSQL("SELECT unnest(%s::bigint[])", (ids,))


class _ArrayStandIn(list):
    """An Ids value's stand-in: a list (the build puts it in the query as an array),
    found among the compiled parameters by identity."""

    __hash__ = object.__hash__

    def __eq__(self, other):
        return self is other


# --- Compiled once per shape -----------------------------------------------------------


# Shapes are few (a list's forms: signed in or not, filtered or not, page lengths).
MAX_SHAPES = 2000
_shapes: dict = {}
_lock = threading.Lock()


def shaped(build, *, finish=None, sql="{}", extra=(), **values) -> "Shaped":
    """The query `build(**values)` returns, through `finish(queryset)` (a values_list(),
    say), compiled as CompiledQuery(..., sql=sql, extra=extra) the first time this
    process sees its shape, then sent with these values. `build` and `finish` are
    module-level functions: they are part of the key."""
    shape, standins, replacements, real = _shape_of(values)
    key = (build, finish, sql, extra, shape)
    compiled = _shapes.get(key)
    if compiled is None:
        built = build(**{**values, **replacements})
        _check_uses(build, built, standins)
        queryset = finish(built) if finish is not None else built
        compiled = CompiledQuery(queryset, standins, sql=sql, extra=extra)
        with _lock:
            if len(_shapes) >= MAX_SHAPES:  # a bound, should a caller's keys run away
                _shapes.clear()
            _shapes[key] = compiled
    return Shaped(compiled, real)


def _check_uses(build, queryset, standins):
    """Every value given as a parameter must reach the query as it was given: one the
    ORM changes on its way (a LIKE pattern, a date compared with a datetime) would run
    as its stand-in. A finish may leave some out (a count needs no viewer)."""
    found = CompiledQuery(queryset, standins).slots
    unused = set(standins.values()) - {name for _, name, _ in found}
    if unused:
        raise ValueError(f"{build.__qualname__}: no parameter holds {sorted(unused)}")


class Shaped:
    """A CompiledQuery and the values of one request."""

    def __init__(self, compiled, values):
        self.compiled, self.values = compiled, values

    def rows(self, **extra) -> list:
        return self.compiled.rows(**self.values, **extra)

    def run(self, **extra):
        return self.compiled.run(**self.values, **extra)

    def first(self):
        return next(iter(self.run()), None)

    def objects(self) -> list:
        return self.compiled.objects(**self.values)


def _shape_of(values: dict):
    """(the shape, {stand-in: slot name}, {name: stand-in value}, {slot name: real value})
    of a build's keyword values."""
    shape, standins, replacements, real = [], {}, {}, {}
    ids, days = itertools.count(_FIRST_ID, -1), itertools.count()
    for name in sorted(values):
        value = values[name]
        kind = type(value)
        if kind is int:
            standins[stand_in := next(ids)] = name
            replacements[name], real[name] = stand_in, value
            shape.append((name, "id"))
        elif kind is str:
            standins[stand_in := f"\x1fstand-in {next(ids)}\x1f"] = name
            replacements[name], real[name] = stand_in, value
            shape.append((name, "text"))
        elif kind is dt.date:
            standins[stand_in := _FIRST_DAY + dt.timedelta(days=next(days))] = name
            replacements[name], real[name] = stand_in, value
            shape.append((name, "day"))
        elif isinstance(value, Model) and getattr(value, "is_authenticated", False):
            # A signed-in user: the query holds its id.
            standins[stand_in := next(ids)] = name
            replacements[name] = value._meta.model(pk=stand_in)
            real[name] = value.pk
            shape.append((name, "user"))
        elif kind is Ids:
            # One array parameter: the shape is the same for any number of ids.
            standins[stand_in := _ArrayStandIn([next(ids)])] = name
            replacements[name], real[name] = stand_in, list(value)
            shape.append((name, "array"))
        elif kind in (list, tuple) and all(type(v) is int for v in value):
            # Ids for pk__in: one slot each; the shape is their number.
            names = [f"{name}.{n}" for n in range(len(value))]
            stand_ins = [next(ids) for _ in value]
            standins.update(zip(stand_ins, names, strict=True))
            replacements[name] = stand_ins
            real.update(zip(names, value, strict=True))
            shape.append((name, "ids", len(value)))
        elif getattr(value, "is_authenticated", None) is False:
            replacements[name] = value  # an anonymous user: nothing of it in the query
            shape.append((name, "anonymous"))
        else:
            # Booleans, None, functions: they change the query's form.
            hash(value)
            replacements[name] = value
            shape.append((name, value))
    return tuple(shape), standins, replacements, real


def forget():
    """Compile every shape again (tests that change settings a query reads)."""
    with _lock:
        _shapes.clear()


@receiver(setting_changed)
def _settings_changed(**kwargs):
    forget()
