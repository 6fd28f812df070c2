"""The Django admin is reachable and createsuperuser works with e-mail as the login name."""

import pytest
from django.core.management import call_command
from django.http import HttpRequest
from django.urls import reverse

from escrow.models import User
from tests.factories import MilestoneFactory, TransactionFactory


def test_createsuperuser_with_email_login(db, client, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long operator passphrase")
    call_command("createsuperuser", interactive=False, email="Ops@Example.com", full_name="Ops", verbosity=0)

    operator = User.objects.get(email="ops@example.com")
    assert (operator.email, operator.is_superuser, operator.is_staff) == ("ops@example.com", True, True)
    # django-axes needs a request to count the attempt against (the test client passes none).
    assert client.login(request=HttpRequest(), username="OPS@example.com", password="a long operator passphrase")
    assert client.get(reverse("admin:index")).status_code == 200


def test_createsuperuser_refuses_a_duplicate_email(db, monkeypatch):
    User.objects.create_user("ops@example.com", "x")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long operator passphrase")
    with pytest.raises(Exception, match="already"):
        call_command("createsuperuser", interactive=False, email="OPS@example.com", full_name="Ops", verbosity=0)
    assert User.objects.filter(email="ops@example.com").count() == 1


@pytest.mark.parametrize("model", ["user", "project", "milestone", "transaction"])
def test_model_pages_open(admin_client, model):
    TransactionFactory(milestone=MilestoneFactory())
    changelist = admin_client.get(reverse(f"admin:escrow_{model}_changelist"))
    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count >= 1


def test_admin_requires_login(client, db):
    response = client.get(reverse("admin:escrow_project_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
