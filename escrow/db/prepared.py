"""Querysets compiled to SQL once per process, then run with each request's values.

The ORM stays the one definition of a query; what a hot path saves is compiling it again on every
request (for the ledger's page, a UNION of two filtered sub-queries, that took longer than the
database took to answer it). ``Prepared(build, *samples)`` calls ``build(*samples)`` once and
compiles the queryset; ``run(*values)`` executes the same SQL with each sample's parameter
replaced by the value in its place. Samples must be values no other parameter of the query can
equal (fresh UUIDs, or strings made for the purpose): a parameter equal to none of them is a
constant of the query. With ``model=``, the queryset is ``values_list(*attnames, *annotations)``
of that model and rows are its instances, the annotations set on them (as the ORM would: the
other fields deferred); otherwise rows are tuples.
"""

from collections.abc import Callable, Sequence

from django.db import connections
from django.db.models import Model, QuerySet


class Prepared:
    def __init__(self, build: Callable[..., QuerySet], *samples, model: type[Model] | None = None):
        self.build, self.samples, self.model = build, samples, model
        self.sql = None  # compiled at the first run: no database access while modules load

    def compile(self) -> None:
        queryset = self.build(*self.samples)
        self.using = queryset.db
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
        query = queryset.query
        if self.model is not None and query.extra_select:
            raise ValueError("extra() columns are not supported")
        # The order in which Django selects a values_list's columns (ValuesListIterable).
        self.fields, self.annotations = list(query.values_select), list(query.annotation_select)
        self.sql = sql

    def run(self, *values) -> list:
        if self.sql is None:
            self.compile()
        params = [values[slot] if slot is not None else constant for slot, constant in self.slots]
        with connections[self.using].cursor() as cursor:
            cursor.execute(self.sql, params)
            rows: Sequence = cursor.fetchall()
        if self.converters:
            rows = list(self.compiler.apply_converters(rows, self.converters))
        if self.model is None:
            return [tuple(row) for row in rows]
        width = len(self.fields)
        instances = []
        for row in rows:
            instance = self.model.from_db(self.using, self.fields, row[:width])
            for name, value in zip(self.annotations, row[width:], strict=True):
                setattr(instance, name, value)
            instances.append(instance)
        return instances
