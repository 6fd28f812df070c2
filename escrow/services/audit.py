"""The audit trail: one ``escrow_events`` row per state change, in the change's transaction.

It is also where the change reaches the outside: the outbound webhook messages of the parties'
endpoints are written (and their delivery jobs deferred) in the same transaction, and so are the
jobs of the e-mails the change owes (escrow/notify/email.py).
"""

from decimal import Decimal

from escrow.models import ActorKind, EscrowEvent


def record_event(*, actor, roles: frozenset[str], action: str, project, milestone=None,
                 from_state: str = "", to_state: str = "", subject: str = "", **data) -> EscrowEvent:
    """``subject``: "project" or "milestone" (default: the milestone if one is given)."""
    if actor is None:
        kind = ActorKind.SYSTEM
    elif "operator" in roles and not roles & {"buyer", "seller", "creator"}:
        kind = ActorKind.OPERATOR
    else:
        kind = ActorKind.USER
    event = EscrowEvent.objects.create(
        actor=actor,
        actor_kind=kind,
        action=action,
        subject=subject or ("milestone" if milestone is not None else "project"),
        project=project,
        milestone=milestone,
        from_state=from_state,
        to_state=to_state or from_state,
        data={key: _jsonable(value) for key, value in data.items() if value is not None},
    )
    # notify reads the models, not the services
    from escrow.notify.email import notifications_queue
    from escrow.notify.webhooks import webhook_messages_queue

    if project is not None:
        webhook_messages_queue(event=event, project=project, milestone=milestone)
    notifications_queue(event=event, project=project, milestone=milestone)
    return event


def _jsonable(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if hasattr(value, "pk"):
        return str(value.pk)
    return value if isinstance(value, (str, int, float, bool, list)) else str(value)
