"""Every write of the escrow engine: one function per step, atomic, locked, audited.

The API, the admin, the payment gateway's handlers and the management commands call these and
nothing else to change state or move money.
"""

from escrow.services.disputes import dispute_open, dispute_resolve
from escrow.services.disputes_case import (
    dispute_assign,
    dispute_evidence_add,
    dispute_message_post,
    disputes_deadline_due,
)
from escrow.services.disputes_offers import offer_accept, offer_counter, offer_make, offer_withdraw
from escrow.services.drafts import (
    milestone_create,
    milestone_delete,
    milestone_update,
    project_create,
    project_delete,
    project_update,
)
from escrow.services.funding import (
    amount_owed,
    deposit_confirm,
    deposit_fail,
    deposit_record_checkout,
    project_fund_start,
)
from escrow.services.invitations import (
    invitation_claim,
    invitation_resend,
    invitation_withdraw,
    invitations_join_for,
    project_create_by_email,
)
from escrow.services.milestones import (
    milestone_approve,
    milestone_auto_approve_due,
    milestone_dispute,
    milestone_reject,
    milestone_start,
    milestone_submit,
)
from escrow.services.projects import (
    project_accept,
    project_cancel,
    project_dispute,
    project_party_cancel,
    project_propose,
    project_refund,
    project_request_cancel,
)
from escrow.services.sessions import session_end, session_refresh, session_start, sessions_purge_expired
from escrow.services.users import (
    user_deactivate,
    user_logged_in,
    user_register,
    user_set_verified,
    user_update_profile,
)
from escrow.services.wallet import wallet_check
from escrow.services.withdrawals import (
    payout_destination,
    withdrawal_request,
    withdrawal_settle,
    withdrawal_submitted,
)

__all__ = [
    "amount_owed",
    "deposit_confirm",
    "deposit_fail",
    "deposit_record_checkout",
    "dispute_assign",
    "dispute_evidence_add",
    "dispute_message_post",
    "dispute_open",
    "dispute_resolve",
    "disputes_deadline_due",
    "invitation_claim",
    "invitation_resend",
    "invitation_withdraw",
    "invitations_join_for",
    "milestone_approve",
    "milestone_create",
    "milestone_delete",
    "milestone_update",
    "milestone_auto_approve_due",
    "milestone_dispute",
    "milestone_reject",
    "milestone_start",
    "milestone_submit",
    "offer_accept",
    "offer_counter",
    "offer_make",
    "offer_withdraw",
    "project_accept",
    "project_cancel",
    "project_create",
    "project_create_by_email",
    "project_delete",
    "project_party_cancel",
    "payout_destination",
    "project_update",
    "session_end",
    "session_refresh",
    "session_start",
    "sessions_purge_expired",
    "project_dispute",
    "project_fund_start",
    "project_propose",
    "project_refund",
    "project_request_cancel",
    "user_deactivate",
    "user_logged_in",
    "user_register",
    "user_set_verified",
    "user_update_profile",
    "wallet_check",
    "withdrawal_request",
    "withdrawal_settle",
    "withdrawal_submitted",
]
