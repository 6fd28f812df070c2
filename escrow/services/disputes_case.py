"""The case file of a dispute: messages, evidence files, and the response deadline.

Both parties and operators post messages; an operator's message may be an internal note, which
the parties never see (RLS policy ``dispute_messages_select_involved``, and the API). Evidence
files are images or PDFs, their type read from the content (magic bytes), never from the name or
the client's Content-Type; they are stored through Django's storage API under a random name and
read back only through the API's download, after its access check.

When a case's response deadline passes, the operators are told once (``disputes_deadline_due``,
run by a periodic job in escrow/jobs.py).
"""

import hashlib
import logging
import uuid

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from escrow.errors import InvalidInput, NotAllowed
from escrow.models import Dispute, DisputeAssignment, DisputeEvidence, DisputeMessage, DisputeStatus, User
from escrow.services.audit import record_event
from escrow.services.locks import lock_dispute
from escrow.states import OPERATOR_PERMISSION, actor_roles, require_on_case

logger = logging.getLogger(__name__)

MESSAGE_MAX_CHARS = 5000
EVIDENCE_MAX_FILES = 50

# (content type, extension, test on the first bytes)
KINDS = (
    ("application/pdf", ".pdf", lambda head: head.startswith(b"%PDF-")),
    ("image/png", ".png", lambda head: head.startswith(b"\x89PNG\r\n\x1a\n")),
    ("image/jpeg", ".jpg", lambda head: head.startswith(b"\xff\xd8\xff")),
    ("image/gif", ".gif", lambda head: head[:6] in (b"GIF87a", b"GIF89a")),
    ("image/webp", ".webp", lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP"),
)


def sniff(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a file from its first bytes, or None if not an accepted kind."""
    for content_type, extension, matches in KINDS:
        if matches(head):
            return content_type, extension
    return None


def _case(dispute_id, actor, action: str):
    project, _, dispute = lock_dispute(dispute_id)
    roles = actor_roles(project, actor)
    require_on_case(action, dispute=dispute, offer=None, actor=actor, roles=roles)
    return project, dispute, roles


@transaction.atomic
def dispute_message_post(*, dispute: Dispute, actor: User, body: str, internal: bool = False) -> DisputeMessage:
    """A party or an operator writes on the case; ``internal``: an operators' note, for operators only."""
    body = (body or "").strip()
    if not body:
        raise InvalidInput("A message cannot be empty.", field="body")
    if len(body) > MESSAGE_MAX_CHARS:
        raise InvalidInput(f"A message is at most {MESSAGE_MAX_CHARS} characters.", field="body")
    project, dispute, roles = _case(dispute.pk, actor, "post_internal_note" if internal else "post_message")
    message = DisputeMessage.objects.create(dispute=dispute, author=actor, body=body, internal=internal)
    if not internal:  # an internal note is no event the parties are told of
        record_event(actor=actor, roles=roles, action="case_message", project=project, milestone=dispute.milestone,
                     subject="milestone" if dispute.milestone_id else "project", from_state=dispute.status,
                     dispute=dispute, message=message)
    return message


def dispute_evidence_add(*, dispute: Dispute, actor: User, upload, description: str = "") -> DisputeEvidence:
    """Attach a file to the case: checked by content and size, stored, then recorded.

    The file is written to storage before its row; if the row is not written (a refusal, an
    error), the file is deleted again, so storage never keeps a file the case does not name.
    (A process killed between the two leaves an orphan file that no row names: never served.)"""
    description = (description or "").strip()
    if len(description) > 500:
        raise InvalidInput("A description is at most 500 characters.", field="description")
    limit = settings.ESCROW_EVIDENCE_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is None or size > limit:
        raise InvalidInput(f"A file is at most {limit} bytes.", field="file")
    if size == 0:
        raise InvalidInput("The file is empty.", field="file")
    upload.seek(0)
    head = upload.read(16)
    kind = sniff(head)
    if kind is None:
        raise InvalidInput("Only PDF files and images (PNG, JPEG, GIF, WebP) are accepted, by their content.",
                           field="file")
    content_type, extension = kind
    upload.seek(0)
    digest, content = hashlib.sha256(), bytearray()
    for chunk in upload.chunks():
        digest.update(chunk)
        content.extend(chunk)
        if len(content) > limit:
            raise InvalidInput(f"A file is at most {limit} bytes.", field="file")
    # Authority and the case's state are checked before anything is stored.
    with transaction.atomic():
        _case(dispute.pk, actor, "add_evidence")
    name = f"dispute-evidence/{dispute.pk}/{uuid.uuid4().hex}{extension}"
    stored = default_storage.save(name, ContentFile(bytes(content)))
    try:
        return _evidence_record(dispute_id=dispute.pk, actor=actor, stored=stored, content_type=content_type,
                                size=len(content), sha256=digest.hexdigest(), description=description,
                                original_name=(getattr(upload, "name", "") or "file")[-255:])
    except BaseException:
        default_storage.delete(stored)
        raise


@transaction.atomic
def _evidence_record(*, dispute_id, actor, stored: str, **fields) -> DisputeEvidence:
    project, dispute, roles = _case(dispute_id, actor, "add_evidence")
    if dispute.evidence.count() >= EVIDENCE_MAX_FILES:
        raise InvalidInput(f"A case holds at most {EVIDENCE_MAX_FILES} files.", field="file")
    evidence = DisputeEvidence.objects.create(dispute=dispute, uploaded_by=actor, file=stored, **fields)
    record_event(actor=actor, roles=roles, action="case_evidence", project=project, milestone=dispute.milestone,
                 subject="milestone" if dispute.milestone_id else "project", from_state=dispute.status,
                 dispute=dispute, evidence=evidence, content_type=fields["content_type"], size=fields["size"])
    return evidence


def evidence_open(evidence: DisputeEvidence):
    """The stored file, opened for reading (the API streams it after its access check)."""
    return default_storage.open(evidence.file.name, "rb")


def operators() -> list[User]:
    """Active staff with the operator permission (directly or through a group)."""
    permission = Permission.objects.filter(codename=OPERATOR_PERMISSION.split(".")[1],
                                           content_type__app_label="escrow").first()
    if permission is None:
        return []
    return list(User.objects.filter(Q(user_permissions=permission) | Q(groups__permissions=permission)
                                    | Q(is_superuser=True), is_active=True, is_staff=True).distinct())


def disputes_deadline_due(*, now=None) -> list[Dispute]:
    """Every open case whose response deadline passed and whose operators were not told yet:
    mark it, record the event and e-mail each operator — once per case, each case in its own
    transaction under its lock (two runs at once tell the operators once)."""
    from escrow.notify.email import notification_defer

    now = now or timezone.now()
    due = Dispute.objects.filter(status=DisputeStatus.OPEN, response_due_at__lte=now,
                                 deadline_notified_at__isnull=True).values_list("pk", flat=True)
    told = []
    for dispute_id in due:
        with transaction.atomic():
            project, _, dispute = lock_dispute(dispute_id)
            if dispute.status != DisputeStatus.OPEN or dispute.deadline_notified_at is not None:
                continue
            dispute.deadline_notified_at = now
            dispute.save(update_fields=["deadline_notified_at", "updated_at"])
            event = record_event(actor=None, roles=frozenset({"system"}), action="case_deadline", project=project,
                                 milestone=dispute.milestone, subject="milestone" if dispute.milestone_id else "project",
                                 from_state=dispute.status, dispute=dispute, due=dispute.response_due_at.isoformat())
            for operator in operators():
                notification_defer(kind="case_deadline", recipient_id=operator.pk, event_id=event.pk)
            told.append(dispute)
    if told:
        logger.info("dispute response deadlines passed: %d case(s)", len(told))
    return told


@transaction.atomic
def dispute_assign(*, dispute: Dispute, actor: User, operator: User) -> DisputeAssignment:
    """An operator gives an open case to an operator (themselves or another): the queue's "assigned
    to". Not to a party of the project, who may not act on it as an operator. No escrow event: the
    parties read the audit trail, and who handles their case is the operators' business (the
    console's log records it)."""
    project, dispute, _ = _case(dispute.pk, actor, "resolve")
    if not (operator.is_active and operator.is_staff and operator.has_perm(OPERATOR_PERMISSION)):
        raise InvalidInput(f"{operator} is not an operator.", field="operator")
    if operator.pk in (project.creator_id, project.buyer_id, project.seller_id):
        raise NotAllowed(f"{operator} is a party to this project: another operator must handle the case.")
    assignment, _ = DisputeAssignment.objects.update_or_create(
        dispute=dispute, defaults={"operator": operator, "assigned_by": actor})
    return assignment
