"""Typed domain errors raised by the services; the API maps each ``code`` to an HTTP status."""


class EscrowError(Exception):
    """Base of every refusal by the escrow engine. ``str()`` is a message fit for the user."""

    code = "escrow_error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(EscrowError):
    """This user may not take this action on this object (whatever its state)."""

    code = "not_allowed"


class InvalidTransition(EscrowError):
    """The action exists for this user, but not from the object's current state."""

    code = "invalid_transition"


class AmountsDoNotAddUp(EscrowError):
    """Milestones, splits or received payments do not sum to what they must."""

    code = "amounts_do_not_add_up"


class InsufficientBalance(EscrowError):
    """More is asked than is available."""

    code = "insufficient_balance"


class InvalidInput(EscrowError):
    """A value is malformed or missing (an amount, a currency, a reason)."""

    code = "invalid_input"


class SessionRefused(EscrowError):
    """A refresh token that cannot be exchanged (unknown, used, revoked, expired): log in again."""

    code = "authentication_failed"
