"""Invitations: a draft's counterparty named by e-mail, whether or not the e-mail is registered.

``project_create_by_email`` always makes the project with the creator as their party and the other
party missing, and an open invitation for the other e-mail, whose ``invited`` e-mail is deferred in
the same transaction — for a registered e-mail exactly as for an unknown one, so that neither the
answer nor what follows it says whether the e-mail has an account. The invitee becomes the party
(``invitation_join``) when they register, log in, refresh their session or make a first request
with a Supabase token with that e-mail (``invitations_join_for``), or when, signed in with that
e-mail, they present the link's token (``invitation_claim``). Until then the project cannot be
proposed (the ``propose`` guard in escrow/states.py).

The link's token is derived from the invitation and SECRET_KEY (``invitation_token``); only its
SHA-256 is stored. A resend renews the token (the old link stops working) and the expiry.
"""

import hashlib
import hmac
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from escrow.errors import InvalidInput, InvalidTransition
from escrow.models import Invitation, InvitationRole, Project, ProjectStatus, User
from escrow.services.audit import record_event
from escrow.services.drafts import project_create
from escrow.services.locks import lock_project
from escrow.states import PROJECT_TRANSITIONS, actor_roles, require


def invitation_token(invitation: Invitation) -> str:
    message = f"amani-invitation:{invitation.pk}:{invitation.sent_at.isoformat()}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_link(invitation: Invitation) -> str:
    return f"{settings.PUBLIC_BASE_URL}/invitations/{invitation_token(invitation)}"


def invitation_status(invitation: Invitation, now=None) -> str:
    if invitation.accepted_at:
        return "accepted"
    if invitation.withdrawn_at:
        return "withdrawn"
    return "expired" if invitation.expires_at <= (now or timezone.now()) else "open"


def _send(invitation: Invitation, now) -> None:
    """(Re)start the invitation's clock and token, and defer its e-mail in the caller's transaction."""
    invitation.sent_at = now
    invitation.expires_at = now + timedelta(days=settings.INVITATION_TTL_DAYS)
    invitation.token_hash = token_hash(invitation_token(invitation))
    from escrow.notify.jobs import send_notification

    send_notification.defer(kind="invited", recipient_id="", invitation_id=str(invitation.pk))


@transaction.atomic
def project_create_by_email(*, creator: User, buyer_email: str, seller_email: str, **terms) -> Project:
    """A draft whose counterparty is invited by e-mail (registered or not: the same either way)."""
    emails = {role: User.objects.normalize_email(str(email).strip()).lower()
              for role, email in (("buyer", buyer_email), ("seller", seller_email))}
    if emails["buyer"] == emails["seller"]:
        raise InvalidInput("The buyer and the seller must be different people.", field="seller_email")
    own = [role for role, email in emails.items() if email == creator.email.lower()]
    if not own:
        raise InvalidInput("You must be the buyer or the seller of a project you create.", field="buyer_email")
    role = own[0]
    other = "seller" if role == "buyer" else "buyer"
    project = project_create(creator=creator, **{role: creator, other: None}, **terms)
    now = timezone.now()
    invitation = Invitation(id=uuid.uuid4(), project=project, email=emails[other], role=other, created_by=creator)
    _send(invitation, now)
    invitation.save(force_insert=True)
    return project


def _open_invitation(project: Project, actor: User) -> Invitation:
    require(PROJECT_TRANSITIONS, "edit", state=project.status, roles=actor_roles(project, actor))
    invitation = Invitation.objects.select_for_update().filter(
        project=project, accepted_at__isnull=True, withdrawn_at__isnull=True).first()
    if invitation is None:
        raise InvalidTransition("This project has no open invitation.")
    return invitation


@transaction.atomic
def invitation_resend(*, project: Project, actor: User) -> Invitation:
    """The creator sends the invitation again: a new link (the old one stops working), a new expiry."""
    project = lock_project(project.pk)
    invitation = _open_invitation(project, actor)
    _send(invitation, timezone.now())
    invitation.save(update_fields=["sent_at", "expires_at", "token_hash"])
    return invitation


@transaction.atomic
def invitation_withdraw(*, project: Project, actor: User) -> Invitation:
    """The creator withdraws the invitation: its link and the invitee's sign-in no longer join them."""
    project = lock_project(project.pk)
    invitation = _open_invitation(project, actor)
    invitation.withdrawn_at = timezone.now()
    invitation.save(update_fields=["withdrawn_at"])
    return invitation


@transaction.atomic
def invitation_join(*, invitation_id, user: User) -> Project | None:
    """``user`` becomes the invited party, if the invitation is open, unexpired, for their e-mail,
    and the project still a draft missing that party. ``None`` (and nothing written) otherwise."""
    project_id = Invitation.objects.filter(pk=invitation_id).values_list("project_id", flat=True).first()
    if project_id is None:
        return None
    project = lock_project(project_id)  # the fixed order: the project, then its invitation
    invitation = Invitation.objects.select_for_update().get(pk=invitation_id)
    now = timezone.now()
    role = invitation.role
    if (invitation_status(invitation, now) != "open" or invitation.email != user.email.lower() or not user.is_active
            or project.status != ProjectStatus.DRAFT or getattr(project, f"{role}_id") is not None
            or user.pk == project.creator_id):
        return None
    setattr(project, role, user)
    project.save(update_fields=[role, "updated_at"])
    invitation.accepted_at, invitation.accepted_by = now, user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    record_event(actor=user, roles=actor_roles(project, user), action="join", project=project,
                 from_state=project.status, role=role)
    return project


def invitations_join_for(user: User) -> list[Project]:
    """At sign-in: join every open invitation to ``user``'s e-mail. Each in its own transaction."""
    if user is None or not user.is_active:
        return []
    ids = Invitation.objects.filter(email=user.email.lower(), accepted_at__isnull=True, withdrawn_at__isnull=True,
                                    expires_at__gt=timezone.now()).values_list("pk", flat=True)
    return [project for project in (invitation_join(invitation_id=pk, user=user) for pk in list(ids)) if project]


def invitation_claim(*, token: str, user: User) -> Project | None:
    """The link's token, presented by a signed-in user: joins them if the invitation is theirs."""
    invitation_id = Invitation.objects.filter(token_hash=token_hash(str(token))).values_list("pk", flat=True).first()
    return invitation_join(invitation_id=invitation_id, user=user) if invitation_id else None


__all__ = ["InvitationRole", "invitation_claim", "invitation_join", "invitation_link", "invitation_resend",
           "invitation_status", "invitation_token", "invitation_withdraw", "invitations_join_for",
           "project_create_by_email"]
