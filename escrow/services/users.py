"""Accounts: registration and profile changes. Nobody grants themselves staff, superuser or
verified status here: those are the operators' to set, in the admin."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from escrow.errors import InvalidInput, NotAllowed
from escrow.models import User
from escrow.services.audit import record_event
from escrow.states import is_operator

PROFILE_FIELDS = ("full_name", "phone_number", "avatar_url", "bio", "notify_optional")


@transaction.atomic
def user_register(*, email: str, password: str, full_name: str, phone_number: str | None = None) -> User:
    email = User.objects.normalize_email(email.strip()).lower()
    candidate = User(email=email, full_name=full_name.strip(), phone_number=phone_number or None)
    try:
        validate_password(password, user=candidate)
    except ValidationError as error:
        raise InvalidInput(" ".join(error.messages), field="password") from error
    if User.objects.filter(email=email).exists():
        raise InvalidInput("An account with this e-mail already exists.", field="email")
    try:
        with transaction.atomic():
            return User.objects.create_user(email, password, full_name=candidate.full_name,
                                            phone_number=candidate.phone_number)
    except IntegrityError as error:  # registered concurrently
        raise InvalidInput("An account with this e-mail already exists.", field="email") from error


@transaction.atomic
def user_update_profile(*, user: User, **changes) -> User:
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise InvalidInput(f"These fields cannot be changed: {', '.join(sorted(unknown))}.", field=sorted(unknown)[0])
    for name, value in changes.items():
        setattr(user, name, value)
    # Only the profile columns: the only ones the `authenticated` role may write.
    user.save(update_fields=list(changes))
    return user


def user_logged_in(*, user: User) -> None:
    """A login through the API counts as the console's does: the user's page shows when they last
    signed in."""
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())


@transaction.atomic
def user_set_verified(*, user: User, actor: User, verified: bool = True) -> User:
    """An operator marks a user's identity as verified (or not)."""
    _require_operator(actor)
    if user.pk == actor.pk:
        raise NotAllowed("Operators cannot verify themselves.")
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_verified != verified:
        user.is_verified = verified
        user.save(update_fields=["is_verified"])
        record_event(actor=actor, roles=frozenset({"operator"}), action="user_verify" if verified else "user_unverify",
                     project=None, user=user)
    return user


@transaction.atomic
def user_deactivate(*, user: User, actor: User, reason: str) -> User:
    """An operator blocks a user from logging in; their ledger stays as it is."""
    _require_operator(actor)
    if not reason or not reason.strip():
        raise InvalidInput("A reason is required to deactivate a user.", field="reason")
    if user.pk == actor.pk:
        raise NotAllowed("Operators cannot deactivate themselves.")
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
        record_event(actor=actor, roles=frozenset({"operator"}), action="user_deactivate", project=None, user=user,
                     reason=reason.strip())
    return user


def _require_operator(actor: User) -> None:
    if not is_operator(actor):
        raise NotAllowed("Only operators may do this.")
