"""``field__in_array=<queryset>`` → ``field = ANY(ARRAY(<subquery>))``.

Like ``__in``, but PostgreSQL computes the sub-query once (an InitPlan) and can then use the
field's index, even when the condition is OR-ed with another indexed one; ``IN (subquery)`` in an
OR makes it filter every row instead. And unlike a Python list, the ids never leave the database.
"""

from django.db.models import Field, ForeignObject, Lookup


@Field.register_lookup
@ForeignObject.register_lookup  # foreign keys keep their own lookup registry
class InArray(Lookup):
    lookup_name = "in_array"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY(ARRAY{rhs})", [*lhs_params, *rhs_params]
