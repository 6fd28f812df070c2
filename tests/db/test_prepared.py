"""``escrow.db.prepared``: a queryset compiled once answers every later run exactly as the ORM
would for that run's values — rows, field conversions, counts and pages."""

from uuid import uuid4

import pytest
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from escrow.db.prepared import Prepared, PreparedRows
from escrow.models import Milestone, Project, Transaction
from escrow.selectors import PROJECT_FIELDS
from tests.factories import MilestoneFactory, ProjectFactory, TransactionFactory, UserFactory


def _fields(model) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields]


def _as_dicts(instances, fields) -> list[dict]:
    return [{name: getattr(instance, name) for name in fields} for instance in instances]


def test_one_compiled_query_answers_for_each_value_as_the_orm_does(db):
    alice, bob = UserFactory(), UserFactory()
    for owner in (alice, alice, bob):
        ProjectFactory(buyer=owner, creator=owner, title=f"of {owner.email}")
    fields = _fields(Project)
    query = Prepared(lambda user_id, status: Project.objects.filter(buyer_id=user_id, status=status)
                     .order_by("title", "id").values_list(*fields), uuid4(), f"sample-{uuid4()}")
    for user in (alice, bob, UserFactory()):
        expected = list(Project.objects.filter(buyer=user, status="draft").order_by("title", "id"))
        got = query.run(user.pk, "draft")
        assert _as_dicts(got, fields) == _as_dicts(expected, fields)
        assert all(isinstance(project, Project) and project._state.adding is False for project in got)
    assert len(query.run(alice.pk, "draft")) == 2 and query.run(alice.pk, "active") == []


def test_annotations_and_json_columns_come_back_as_the_orm_gives_them(db):
    user = UserFactory()
    project = ProjectFactory(buyer=user, creator=user)
    milestone = MilestoneFactory(project=project, amount=project.total_amount)
    TransactionFactory(project=project, user=user, extra_data={"account_name": "Ada", "nested": [1, 2]})
    fields = _fields(Transaction)
    query = Prepared(lambda user_id, title: Transaction.objects.filter(user_id=user_id).annotate(
        has_milestone=Exists(Milestone.objects.filter(project_id=OuterRef("project_id"), title=title)))
        .values_list(*fields, "has_milestone"), uuid4(), f"sample-{uuid4()}")
    (row,) = query.run(user.pk, "Later")
    assert row.extra_data == {"account_name": "Ada", "nested": [1, 2]}
    assert row.has_milestone is False
    Milestone.objects.filter(pk=milestone.pk).update(title="Later")
    assert query.run(user.pk, "Later")[0].has_milestone is True


def test_a_model_queryset_comes_back_with_its_related_objects_and_annotations(db):
    user = UserFactory(full_name="Ada Buyer")
    with_milestone = ProjectFactory(buyer=user, creator=user, title="Bridge")
    MilestoneFactory(project=with_milestone, title="Piers")
    ProjectFactory(buyer=user, creator=user, title="Empty")

    def build(title):
        return (Project.objects.filter(title=title).select_related("buyer")
                .annotate(milestone_title=Subquery(Milestone.objects.filter(project_id=OuterRef("pk"))
                                                   .values("title")[:1])))

    query = Prepared(build, f"sample-{uuid4()}")
    for title, milestone_title in (("Bridge", "Piers"), ("Empty", None)):
        (project,) = query.run(title)
        (expected,) = build(title)
        assert _as_dicts([project], _fields(Project)) == _as_dicts([expected], _fields(Project))
        assert project.milestone_title == expected.milestone_title == milestone_title
        with CaptureQueriesContext(connection) as queries:
            assert project.buyer.full_name == "Ada Buyer"  # loaded with the row
        assert len(queries) == 0
    assert query.run("Nothing") == []


def test_a_query_without_a_column_of_its_model_only_counts(db):
    query = Prepared(lambda user_id: Project.objects.filter(buyer_id=user_id).values_list(Count("id")), uuid4())
    with pytest.raises(ValueError, match="no column"):
        query.run(uuid4())
    assert Prepared(lambda user_id: Project.objects.filter(buyer_id=user_id).values_list("id"), uuid4(),
                    count=True).run(uuid4()) == 0


def test_a_row_lock_outside_a_transaction_is_refused_as_the_orm_refuses_it(transactional_db):
    project = ProjectFactory()
    query = Prepared(lambda project_id: Project.objects.select_for_update().filter(pk=project_id), uuid4())
    with transaction.atomic():
        assert [p.pk for p in query.run(project.pk)] == [project.pk]  # compiled here, in a transaction
    with pytest.raises(TransactionManagementError):
        query.run(project.pk)
    with pytest.raises(TransactionManagementError):
        list(Project.objects.select_for_update().filter(pk=project.pk))


def test_a_sample_the_query_does_not_use_is_refused(db):
    query = Prepared(lambda user_id, unused: Project.objects.filter(buyer_id=user_id).values_list("id"),
                     uuid4(), uuid4())
    with pytest.raises(ValueError, match="sample"):
        query.run(uuid4(), uuid4())


def test_a_sample_the_query_rewrites_is_refused_rather_than_frozen(db):
    ProjectFactory(title="Bridge")
    # icontains sends %sample%: without the check the first title would be baked into the SQL.
    query = Prepared(lambda title: Project.objects.filter(Q(title=title) | Q(title__icontains=title)),
                     f"sample-{uuid4()}")
    with pytest.raises(ValueError, match="made from it"):
        query.run("Bridge")


def test_prepared_rows_count_and_slice_like_the_queryset(db):
    user = UserFactory()
    for n in range(7):
        ProjectFactory(buyer=user if n % 2 else UserFactory(), seller=user if n % 2 == 0 else None,
                       creator=user, title=f"P{n % 3}")
    ProjectFactory()  # a stranger's

    def build(user_id):
        return Project.objects.filter(Q(buyer_id=user_id) | Q(seller_id=user_id)).order_by("-title", "id")

    rows = PreparedRows(("test", "rows"), build, [uuid4()], [user.pk], PROJECT_FIELDS)
    expected = list(build(user.pk))
    assert rows.count() == len(expected) == 7
    for start, stop in ((0, 3), (3, 6), (6, 9), (9, 12), (0, 0)):
        assert [p.pk for p in rows[start:stop]] == [p.pk for p in expected[start:stop]]


def test_a_shape_is_compiled_once(db, monkeypatch):
    compiled = []
    original = Prepared.compile
    monkeypatch.setattr(Prepared, "compile", lambda self: (compiled.append(self), original(self)))

    def build(user_id):
        return Project.objects.filter(buyer_id=user_id).order_by("id")

    key = ("test", "compiled once", uuid4())
    for user in (UserFactory(), UserFactory(), UserFactory()):
        ProjectFactory(buyer=user, creator=user)
        rows = PreparedRows(key, build, [uuid4()], [user.pk], PROJECT_FIELDS)
        assert rows.count() == 1 and rows[0:20][0].buyer_id == user.pk
    assert len(compiled) == 2  # the count's and the page's, once each
