"""factory_boy factories for the four tables."""

from decimal import Decimal

import factory

from escrow.models import Milestone, Project, Transaction, TransactionType, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")


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


class TransactionFactory(factory.django.DjangoModelFactory):
    """A pending deposit by the project's buyer."""

    class Meta:
        model = Transaction

    project = factory.SubFactory(ProjectFactory)
    user = factory.SelfAttribute("project.buyer")
    transaction_type = TransactionType.DEPOSIT
    amount = Decimal("1000.00")
    fee = Decimal("0.00")
    net_amount = factory.LazyAttribute(lambda t: t.amount - t.fee)
    currency = factory.SelfAttribute("project.currency")
