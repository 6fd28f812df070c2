"""A Python integrator's first program, on the client openapi-python-client generated from the
live schema (the package ``amani_client``, on PYTHONPATH):  python program.py <base url>

tests/clients/test_generated_clients.py generates the client and runs this. It registers a buyer
and a seller, logs them in, drafts a project with two milestones naming the seller by e-mail, lets
the seller join, proposes, has the seller accept, and lists the projects, checking every answer.
The client raises on any status the schema does not document.

Request bodies are built with the model class the generated function declares for ``body``, so
renaming a component in the schema does not break this program; using the function does.
"""

import json
import random
import sys
import time
import typing
from http import HTTPStatus

from amani_client import AuthenticatedClient, Client
from amani_client.api.auth import auth_register_create, auth_token_create
from amani_client.api.projects import (
    projects_accept_create,
    projects_create,
    projects_invitation_retrieve,
    projects_list,
    projects_milestones_create,
    projects_milestones_list,
    projects_propose_create,
    projects_retrieve,
)
from amani_client.models import Error
from amani_client.types import Unset

PASSWORD = "a long and unusual passphrase"


def check(condition: bool, what: str, answer=None) -> None:
    if not condition:
        raise SystemExit(f"FAILED: {what}; the answer was: {answer!r}")


def body_model(operation) -> type:
    """The one model class the generated function takes as ``body`` (never a union of encodings)."""
    declared = typing.get_type_hints(operation.sync_detailed)["body"]
    models = [t for t in typing.get_args(declared) or (declared,) if t is not Unset and t is not type(None)]
    check(len(models) == 1, f"{operation.__name__}: one body model", declared)
    return models[0]


def field_type(model: type, field: str) -> type:
    """The class a model declares for a field (an enum's, say), without ``Unset``."""
    declared = typing.get_type_hints(model)[field]
    return next(t for t in typing.get_args(declared) or (declared,) if t is not Unset and t is not type(None))


def value(enum_or_str) -> str:
    return getattr(enum_or_str, "value", enum_or_str)


def main(base_url: str) -> None:
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    run = f"{int(time.time() * 1000)}-{random.randrange(10**9)}"
    buyer_email, seller_email = f"buyer-{run}@example.net", f"seller-{run}@example.net"

    def register(email: str, full_name: str) -> str:
        answer = auth_register_create.sync_detailed(
            client=anonymous, body=body_model(auth_register_create)(email=email, password=PASSWORD, full_name=full_name))
        check(answer.status_code == HTTPStatus.CREATED, f"register {email}: 201", answer.content)
        user = answer.parsed
        check(user.email == email and user.full_name == full_name, "register answers the user", user)
        return str(user.id)

    def log_in(email: str) -> AuthenticatedClient:
        answer = auth_token_create.sync_detailed(
            client=anonymous, body=body_model(auth_token_create)(email=email, password=PASSWORD))
        check(answer.status_code == HTTPStatus.OK, f"log in {email}: 200", answer.content)
        tokens = answer.parsed
        check(tokens.token_type == "bearer" and tokens.access and tokens.expires_in > 0, "a bearer token", tokens)
        return AuthenticatedClient(base_url=base_url, token=tokens.access, raise_on_unexpected_status=True)

    buyer_id, seller_id = register(buyer_email, "Ada Buyer"), register(seller_email, "Sam Seller")
    check(buyer_id != seller_id, "two users")
    buyer = log_in(buyer_email)

    # The buyer drafts the deal, naming the seller by e-mail: the seller is invited.
    answer = projects_create.sync_detailed(
        client=buyer, idempotency_key=f"create-{run}",
        body=body_model(projects_create)(
            title="Website", total_amount="1500.00", currency="USD", buyer_email=buyer_email,
            seller_email=seller_email, fee_bearer=field_type(body_model(projects_create), "fee_bearer")("split")),
    )
    check(answer.status_code == HTTPStatus.CREATED, "create the project: 201", answer.content)
    project = answer.parsed
    check(value(project.status) == "draft" and project.total_amount == "1500.00" and project.currency == "USD",
          "a USD draft of 1500.00", project)
    check(str(project.buyer_id) == buyer_id and project.seller_id is None and project.seller_email is None,
          "the seller is invited, not yet a party (no id, no e-mail)", project)
    answer = projects_invitation_retrieve.sync_detailed(project.id, client=buyer)
    check(answer.status_code == HTTPStatus.OK, "the invitation: 200", answer.content)
    invitation = answer.parsed
    check(invitation.email == seller_email and value(invitation.status) == "open" and invitation.accepted_at is None
          and invitation.withdrawn_at is None, "an open invitation", invitation)

    milestones = []
    for title, amount in (("Design", "500.00"), ("Build", "1000.00")):
        answer = projects_milestones_create.sync_detailed(
            project.id, client=buyer, idempotency_key=f"milestone-{title}-{run}",
            body=body_model(projects_milestones_create)(title=title, amount=amount))
        check(answer.status_code == HTTPStatus.CREATED, f"add milestone {title}: 201", answer.content)
        milestone = answer.parsed
        check(milestone.project_id == project.id and milestone.amount == amount and value(milestone.status) == "pending",
              f"milestone {title}", milestone)
        milestones.append(milestone)

    answer = projects_milestones_list.sync_detailed(project.id, client=buyer)
    check(answer.status_code == HTTPStatus.OK, "list the milestones: 200", answer.content)
    check(sorted(str(m.id) for m in answer.parsed) == sorted(str(m.id) for m in milestones),
          "both milestones listed", answer.parsed)

    # Proposing before the seller joined is refused: 409 in the one error shape.
    answer = projects_propose_create.sync_detailed(project.id, client=buyer, idempotency_key=f"propose-early-{run}")
    check(answer.status_code == HTTPStatus.CONFLICT and isinstance(answer.parsed, Error), "early propose: 409",
          answer.content)
    check(answer.parsed.error.code == "invalid_transition", "invalid_transition", answer.parsed)

    # The seller joins by logging in with the invited e-mail.
    seller = log_in(seller_email)
    answer = projects_retrieve.sync_detailed(project.id, client=seller)
    check(answer.status_code == HTTPStatus.OK, "the seller sees the project", answer.content)
    check(str(answer.parsed.seller_id) == seller_id and len(answer.parsed.milestones) == 2, "the seller is the party",
          answer.parsed)
    check(all(isinstance(m.amount, str) for m in answer.parsed.milestones), "the project's milestones are typed",
          answer.parsed.milestones)

    answer = projects_propose_create.sync_detailed(project.id, client=buyer, idempotency_key=f"propose-{run}")
    check(answer.status_code == HTTPStatus.OK, "propose: 200", answer.content)
    check(value(answer.parsed.status) == "pending" and answer.parsed.id == project.id, "pending", answer.parsed)

    # The buyer may not accept its own terms: 403 not_allowed.
    answer = projects_accept_create.sync_detailed(project.id, client=buyer, idempotency_key=f"accept-buyer-{run}")
    check(answer.status_code == HTTPStatus.FORBIDDEN and isinstance(answer.parsed, Error), "buyer accepting: 403",
          answer.content)
    check(answer.parsed.error.code == "not_allowed", "not_allowed", answer.parsed)

    answer = projects_accept_create.sync_detailed(project.id, client=seller, idempotency_key=f"accept-{run}")
    check(answer.status_code == HTTPStatus.OK, "accept: 200", answer.content)

    answer = projects_list.sync_detailed(client=buyer)
    check(answer.status_code == HTTPStatus.OK, "list the projects: 200", answer.content)
    page = answer.parsed
    check(page.count == 1 and len(page.results) == 1, "one project", page)
    listed = page.results[0]
    check(listed.id == project.id and value(listed.status) == "pending" and listed.total_amount == "1500.00",
          "the project, pending, its amount a string", listed)
    check(str(listed.buyer_id) == buyer_id and str(listed.seller_id) == seller_id, "both parties", listed)

    print(json.dumps({"ok": True, "project": str(project.id), "milestones": [str(m.id) for m in milestones]}))


if __name__ == "__main__":
    main(sys.argv[1])
