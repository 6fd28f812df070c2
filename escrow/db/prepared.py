"""Querysets compiled to SQL once per process, then run with each request's values.

The ORM stays the one definition of a query; what a hot path saves is compiling it again on every
request (for the ledger's page, a UNION of two filtered sub-queries, that took longer than the
database took to answer it). ``Prepared(build, *samples)`` calls ``build(*samples)`` once and
compiles the queryset; ``run(*values)`` executes the same SQL with each sample's parameter
replaced by the value in its place. Samples must be values no other parameter of the query can
equal (fresh UUIDs, or strings made for the purpose): a parameter equal to none of them is a
constant of the query. Rows are what the ORM would give: a model queryset's instances, with
their ``select_related`` objects and annotations; for ``values_list(*attnames, *annotations)``,
instances of its model with those fields (the others deferred). With ``count=True``, the number
of its rows.
"""

from collections.abc import Callable, Sequence
from uuid import UUID, uuid4

from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import get_related_populators
from django.db.transaction import TransactionManagementError


class Prepared:
    def __init__(self, build: Callable[..., QuerySet], *samples, count: bool = False):
        self.build, self.samples, self.counts = build, samples, count
        self.sql = None  # compiled at the first run: no database access while modules load

    def compile(self) -> None:
        queryset = self.build(*self.samples)
        self.using = queryset.db
        self.for_update = queryset.query.select_for_update
        compiler = queryset.query.get_compiler(self.using)
        sql, params = compiler.as_sql()
        # Field converters (a JSON column's text to Python, ...), as the ORM applies them.
        self.compiler = compiler
        self.converters = compiler.get_converters([column[0] for column in compiler.select[:compiler.col_count]])
        # Each parameter: the index of the sample it is (a value given to ``run``), or the constant.
        keys = [str(sample) for sample in self.samples]
        self.slots = [(keys.index(str(param)), None) if str(param) in keys else (None, param) for param in params]
        if not all(any(slot == index for slot, _ in self.slots) for index in range(len(keys))):
            raise ValueError("a sample does not appear among the query's parameters")
        if any(key in str(constant) for slot, constant in self.slots if slot is None for key in keys):
            # The query rewrote a sample (``icontains`` wraps it in %...%): it would run as a constant.
            raise ValueError("a sample appears in a parameter the query made from it")
        query = queryset.query
        if query.extra_select:
            raise ValueError("extra() columns are not supported")
        if not self.counts:
            # Rows built as Django's ModelIterable builds them (a values_list's too: the fields
            # it names, the others deferred).
            info, select = compiler.klass_info, compiler.select
            if not info:
                raise ValueError("the query selects no column of its model")
            first, last = info["select_fields"][0], info["select_fields"][-1] + 1
            self.model, self.width = info["model"], (first, last)
            self.fields = [column[0].target.attname for column in select[first:last]]
            self.populators = get_related_populators(info, select, self.using)
            self.annotations = list(compiler.annotation_col_map.items())
        self.sql = f"SELECT count(*) FROM ({sql}) counted" if self.counts else sql

    def run(self, *values):
        if self.sql is None:
            self.compile()
        params = [values[slot] if slot is not None else constant for slot, constant in self.slots]
        if self.for_update and not connections[self.using].in_atomic_block:
            # As the ORM refuses it: outside a transaction the lock would end with the statement.
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        with connections[self.using].cursor() as cursor:
            cursor.execute(self.sql, params)
            rows: Sequence = cursor.fetchall()
        if self.counts:
            return rows[0][0]
        if self.converters:
            rows = list(self.compiler.apply_converters(rows, self.converters))
        first, last = self.width
        instances = []
        for row in rows:
            instance = self.model.from_db(self.using, self.fields, row[first:last])
            for populator in self.populators:
                populator.populate(row, instance)
            for name, position in self.annotations:
                setattr(instance, name, row[position])
            instances.append(instance)
        return instances


def sample_like(value):
    """A sample for a parameter of ``value``'s type that no constant of a query can equal."""
    if isinstance(value, UUID):
        return uuid4()
    if isinstance(value, str):
        return f"sample-{uuid4()}"
    raise TypeError(f"no sample for a {type(value).__name__}")


_SHAPES: dict = {}


def prepared(key: tuple, build: Callable[..., QuerySet], samples: Sequence, **options) -> Prepared:
    """The ``Prepared`` of a query's shape ``key``, made from ``build`` and ``samples`` the first
    time. Shapes are few (a list's filters, ordering and page); the cache is bounded all the same."""
    found = _SHAPES.get(key)
    if found is None:
        if len(_SHAPES) >= 512:
            _SHAPES.clear()
        found = _SHAPES[key] = Prepared(build, *samples, **options)
    return found


class PreparedRows:
    """What Django's ``Paginator`` needs of a queryset — ``count()`` and slices — run as SQL
    compiled once per shape: ``build(*samples)`` is the ordered queryset, ``key`` its shape,
    ``values`` this request's values in the samples' places; rows are instances of its model
    with ``fields`` (and any annotations ``build`` adds)."""

    def __init__(self, key: tuple, build: Callable[..., QuerySet], samples: Sequence, values: Sequence,
                 fields: Sequence[str]):
        self.key, self.build, self.samples, self.values = key, build, samples, values
        self.fields = list(fields)

    def count(self) -> int:
        return prepared((*self.key, "count"), lambda *v: self.build(*v).order_by().values("pk"), self.samples,
                        count=True).run(*self.values)

    def __getitem__(self, window: slice) -> list:
        if not isinstance(window, slice) or window.step is not None:
            raise TypeError("PreparedRows takes a slice")
        if window.stop <= window.start:  # the paginator's empty first page (Django compiles LIMIT 0 to nothing)
            return []
        fields = self.fields
        return prepared((*self.key, window.start, window.stop),
                        lambda *v: self.build(*v)[window.start:window.stop].values_list(*fields),
                        self.samples).run(*self.values)
