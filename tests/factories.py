"""factory_boy factories for the four tables."""

from decimal import Decimal

import factory

from escrow.models import Milestone, Project, Transaction, TransactionType, User
from escrow.services.funding import amount_owed

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)


class ProjectFactory(factory.django.DjangoModelFactory):
    """A draft project created by its buyer."""

    class Meta:
        model = Project

    title = factory.Sequence(lambda n: f"Project {n}")
    total_amount = Decimal("1000.00")
    currency = "USD"
    buyer = factory.SubFactory(UserFactory)
    seller = factory.SubFactory(UserFactory)
    creator = factory.SelfAttribute("buyer")


class MilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Milestone

    project = factory.SubFactory(ProjectFactory)
    title = factory.Sequence(lambda n: f"Milestone {n}")
    order_index = factory.Sequence(lambda n: n)
    amount = Decimal("500.00")
    currency = factory.SelfAttribute("project.currency")


class PricedProjectFactory(ProjectFactory):
    """A draft project with one milestone worth its whole price, so something is owed for it."""

    class Meta:
        skip_postgeneration_save = True

    milestone = factory.RelatedFactory(
        MilestoneFactory, factory_related_name="project", order_index=0,
        amount=factory.LazyAttribute(lambda m: m.project.total_amount),
    )


def _default_amount(row) -> Decimal:
    # The database holds a deposit on a project to exactly what is owed for it (migration 0011).
    if row.transaction_type == TransactionType.DEPOSIT and row.project is not None:
        return amount_owed(row.project)
    return Decimal("1000.00")


class TransactionFactory(factory.django.DjangoModelFactory):
    """A pending deposit by the project's buyer, for what is owed."""

    class Meta:
        model = Transaction

    project = factory.SubFactory(PricedProjectFactory)
    user = factory.SelfAttribute("project.buyer")
    transaction_type = TransactionType.DEPOSIT
    amount = factory.LazyAttribute(_default_amount)
    fee = Decimal("0.00")
    net_amount = factory.LazyAttribute(lambda t: t.amount - t.fee)
    currency = factory.SelfAttribute("project.currency")


def account(**fields):
    """A user who can log in with PASSWORD (UserFactory does not save the hash it sets)."""
    user = UserFactory(**fields)
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user
