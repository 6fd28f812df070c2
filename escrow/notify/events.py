"""What the parties may see of an audit event: the timeline's entries and the webhooks' payloads.

An event's ``type`` is ``<subject>.<action>`` (``project.propose``, ``milestone.submit``...), the
audit trail's own words. Shown: who acted (their role in the project and their name — the public
profile — never another user's e-mail, phone or id; an operator or the system is not named), the
states, and the ``details`` listed in ``PUBLIC_DETAILS``. Not shown: whatever else the audit row
keeps for operators (payment-gateway statuses, flags of a payment under investigation) and the
events that are operators' business only (``HIDDEN_ACTIONS``).
"""

from escrow.money import decimals

SCHEMA_VERSION = "1"

# Every type the services record on a project (docs/webhooks.md lists what each means).
EVENT_TYPES = (
    "project.join", "project.propose", "project.accept", "project.fund", "project.deposit_failed", "project.confirm_deposit",
    "project.begin_work", "project.complete", "project.request_cancel", "project.cancel", "project.mutual_cancel",
    "project.mutual_cancel_refund", "project.dispute", "project.resolve", "project.resolve_release",
    "project.resolve_refund", "project.refund", "project.refund_refund",
    "milestone.start", "milestone.submit", "milestone.approve", "milestone.reject", "milestone.dispute",
    "milestone.resolve_release",
    # Disputes as cases (issue 14): a milestone's own dispute and its end; the case's messages
    # (never an operators' internal note), evidence, offers and passed deadline.
    "project.close_refunded", "milestone.resolve", "milestone.resolve_refund",
    *(f"{subject}.{action}" for subject in ("project", "milestone") for action in (
        "case_message", "case_evidence", "case_deadline", "offer_make", "offer_counter", "offer_withdraw",
        "offer_accept")),
)

# A payment that arrived but could not be held is an operator's to settle; the parties see the
# outcome (held, refunded), not the investigation.
HIDDEN_ACTIONS = frozenset({"deposit_flagged"})

PUBLIC_DETAILS = ("reason", "note", "notes", "outcome", "amount", "held", "total", "milestones", "gross",
                  "released", "commission", "refunded", "seller_amount", "buyer_amount", "dispute", "message",
                  "evidence", "offer", "due", "content_type", "size")
# The gateway's own words on a failed payment ("FinCra status failed") stay internal.
HIDDEN_DETAILS = {"deposit_failed": {"reason"}}


def subject_of(event) -> str:
    return event.subject or ("milestone" if event.milestone_id else "project")


def type_of(event) -> str:
    return f"{subject_of(event)}.{event.action}"


def actor_of(event, project, names: dict) -> dict:
    if event.actor_kind != "user" or event.actor_id is None:
        return {"kind": event.actor_kind, "role": event.actor_kind, "name": None}
    if event.actor_id == project.buyer_id:
        role = "buyer"
    elif event.actor_id == project.seller_id:
        role = "seller"
    elif event.actor_id == project.creator_id:
        role = "creator"
    else:
        role = "operator"  # someone acting on a deal they are not party to can only be staff
        return {"kind": "operator", "role": role, "name": None}
    return {"kind": "user", "role": role, "name": names.get(event.actor_id)}


def public_event(event, project, names: dict) -> dict:
    """One timeline entry. ``names``: user id → full name of the project's parties."""
    hidden = HIDDEN_DETAILS.get(event.action, set())
    return {
        "id": str(event.id),
        "type": type_of(event),
        "subject": subject_of(event),
        "action": event.action,
        "milestone_id": str(event.milestone_id) if event.milestone_id else None,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "actor": actor_of(event, project, names),
        "details": {key: event.data[key] for key in PUBLIC_DETAILS if key in event.data and key not in hidden},
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
    }


def webhook_payload(event, project, milestone, names: dict) -> dict:
    """The Standard Webhooks payload: ``type``, ``timestamp`` and versioned ``data``."""
    places = decimals(project.currency)
    entry = public_event(event, project, names)
    return {
        "type": entry["type"],
        "timestamp": entry["created_at"],
        "data": {
            "schema_version": SCHEMA_VERSION,
            "event": entry,
            "project": {
                "id": str(project.pk), "title": project.title, "status": project.status,
                "currency": project.currency, "total_amount": f"{project.total_amount:.{places}f}",
            },
            "milestone": None if milestone is None else {
                "id": str(milestone.pk), "title": milestone.title, "order_index": milestone.order_index,
                "status": milestone.status, "amount": f"{milestone.amount:.{places}f}",
            },
        },
    }
