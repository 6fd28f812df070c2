"""Accounts: registration and profile changes. Nobody grants themselves staff, superuser or
verified status here: those are the operators' to set, in the admin."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from escrow.errors import InvalidInput
from escrow.models import User

PROFILE_FIELDS = ("full_name", "phone_number", "avatar_url", "bio")


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
