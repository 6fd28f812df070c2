"""What the OpenAPI schema tells a client about each operation: a summary and a description, by
operationId (escrow.api.schema reads this; a test fails when an operation has none). The views'
docstrings are for the people who maintain them, not for clients."""

OPERATIONS: dict[str, tuple[str, str]] = {
    # accounts
    "auth_register_create": (
        "Register", "Creates an account. Invitations sent to its e-mail are joined at once (docs/api.md, "
        "Invitations). Throttled per address."),
    "auth_token_create": (
        "Log in", "Exchanges an e-mail and password for an access token and a refresh token. Failed attempts "
        "count towards a lockout per account and per address (429 `locked_out`)."),
    "auth_token_refresh_create": (
        "Refresh the tokens", "Exchanges a refresh token, once, for a new pair. A refresh token presented again "
        "ends its whole session (every token of that login)."),
    "auth_logout_create": (
        "Log out", "Ends the session of a refresh token: every refresh token of that login is refused from now "
        "on. An access token stays valid until it expires (at most its TTL)."),
    "users_me_retrieve": ("Your profile", "The signed-in user's own profile."),
    "users_me_partial_update": (
        "Change your profile", "Changes your name, phone number, avatar, bio or e-mail preferences; the e-mail and "
        "the verification flag are not yours to change."),
    "invitations_claim_create": (
        "Accept an invitation", "Joins the project of an invitation link's token, for a signed-in user whose "
        "e-mail is the invited one. Unknown, expired, withdrawn and other e-mails' tokens are all a 404."),
    # projects
    "projects_list": (
        "List your projects", "The projects you created, buy or sell, newest first unless `ordering` says "
        "otherwise; filter by `status` and by your `role`."),
    "projects_create": (
        "Create a project", "Creates a draft between you and a counterparty named by e-mail (registered or not: "
        "the answer is the same). You are the buyer or the seller; the other is invited."),
    "projects_retrieve": ("A project", "A project you are a party of, with its milestones and what you may do now."),
    "projects_partial_update": (
        "Change a draft's terms", "The creator changes a draft's terms; once proposed, the terms are fixed."),
    "projects_destroy": ("Delete a draft", "The creator deletes a draft; a proposed or funded project cannot be deleted."),
    "projects_milestones_list": ("A project's milestones", "The project's milestones, in order (not paged)."),
    "projects_milestones_create": (
        "Add a milestone", "Adds a milestone to a draft; the milestones' amounts must add up to the project's "
        "total before it can be proposed."),
    "projects_propose_create": (
        "Propose the terms", "Sends the draft's terms to the counterparty, who accepts them before anything is "
        "funded."),
    "projects_accept_create": ("Accept the terms", "The counterparty accepts the proposed terms; the buyer may then fund."),
    "projects_fund_create": (
        "Fund the project", "Starts the buyer's payment into escrow: answers FinCra's checkout link. The money is "
        "held once FinCra confirms the payment (its webhook, or reconciliation). 502 when FinCra refuses (a retry "
        "will not help), 503 when it does not answer (retry with the same Idempotency-Key)."),
    "projects_cancel_create": (
        "Cancel the project", "Either party cancels a project before it is funded (a draft or a proposal)."),
    "projects_dispute_create": (
        "Dispute the project", "Either party of a funded project disputes it, with the reason: the money still held "
        "is frozen until the dispute is resolved."),
    "projects_events_list": (
        "The project's timeline", "What happened to the project and its milestones, oldest first, paged by "
        "cursor; the same entries the outbound webhooks carry."),
    "projects_invitation_retrieve": (
        "The project's invitation", "The invitation of the counterparty, for the project's creator only."),
    "projects_invitation_resend_create": (
        "Resend the invitation", "Sends the invitation again and starts its validity again."),
    "projects_invitation_withdraw_create": (
        "Withdraw the invitation", "The invitation's link stops working; the draft stays."),
    # milestones
    "milestones_retrieve": ("A milestone", "A milestone of a project you are a party of, with what you may do now."),
    "milestones_partial_update": ("Change a milestone", "Changes a draft's milestone."),
    "milestones_destroy": ("Delete a milestone", "Deletes a draft's milestone."),
    "milestones_start_create": ("Start the work", "The seller starts a funded milestone."),
    "milestones_submit_create": (
        "Deliver the work", "The seller delivers a milestone; the buyer approves or rejects it (or it is approved "
        "for them when the inspection period ends)."),
    "milestones_approve_create": (
        "Approve the work", "The buyer approves a delivered milestone: its share is released to the seller, less "
        "the commission."),
    "milestones_reject_create": ("Reject the work", "The buyer sends a delivered milestone back, with the reason."),
    "milestones_dispute_create": ("Dispute the milestone", "Freezes the milestone's money until the dispute is resolved."),
    # dispute cases
    "disputes_list": (
        "Your dispute cases", "The cases of your projects, newest first; filter by `status` and `project`."),
    "disputes_retrieve": (
        "A dispute case", "Who raised it and why, what it freezes (one milestone or the whole project), the "
        "response deadline, the offers, the outcome once resolved, and what you may do now."),
    "disputes_messages_list": (
        "The case's messages", "Messages of the parties and the operator, oldest first (never an operator's "
        "internal note)."),
    "disputes_messages_create": ("Write to the case", "Posts a message the other party and the operator see."),
    "disputes_evidence_list": ("The case's evidence", "The files attached to the case, with their download links."),
    "disputes_evidence_create": (
        "Attach evidence", "Uploads a file (`multipart/form-data`): PDF, PNG, JPEG, GIF or WebP, recognised by its "
        "content, not its name, up to the size limit."),
    "disputes_evidence_download_retrieve": (
        "Download evidence", "The file, for the case's parties only."),
    "disputes_offers_list": ("The case's settlement offers", "Every offer made on the case, with its status."),
    "disputes_offers_create": (
        "Offer a settlement", "Proposes a split of what the case freezes: the seller's amount (commission is taken "
        "from it) and the buyer's; they must add up exactly to the frozen amount."),
    "disputes_offers_accept_create": (
        "Accept an offer", "The other party accepts an open offer: the dispute is settled as it says, without an "
        "operator (outcome `settled`)."),
    "disputes_offers_counter_create": (
        "Counter an offer", "The other party answers an open offer with their own split (the first offer ends)."),
    "disputes_offers_withdraw_create": ("Withdraw an offer", "The maker takes back their open offer."),
    # money
    "transactions_list": (
        "Your ledger", "The ledger rows you are party to (deposits, holds, releases, commissions, refunds, "
        "withdrawals), newest first; filter by project, type and status."),
    "transactions_retrieve": ("A ledger row", "One ledger row you are party to."),
    "balance_list": ("Your balances", "What you may withdraw, per currency."),
    "withdrawals_create": (
        "Withdraw", "Pays part of your balance to a bank account through FinCra (NGN: NUBAN, name resolved by "
        "FinCra; USD: ACH or Fedwire). The row is `processing` until FinCra settles it. 503 when FinCra does not "
        "answer the account look-up (retry with the same Idempotency-Key)."),
    "payout_documents_retrieve": (
        "A USD payout's supporting document", "The PDF FinCra reads for a USD payout; readable only with the "
        "signature of its URL, which expires."),
    "commission_quote_retrieve": (
        "Quote the commission", "What the buyer pays and the seller receives for an amount, per who bears the "
        "commission. No account needed."),
    # outbound webhooks
    "webhook_endpoints_list": ("Your webhook endpoints", "Where your escrow events are sent."),
    "webhook_endpoints_create": (
        "Add a webhook endpoint", "Registers an https URL for the event types you choose; the answer shows the "
        "signing secret once."),
    "webhook_endpoints_retrieve": ("A webhook endpoint", "One of your endpoints (its secret is never shown again)."),
    "webhook_endpoints_partial_update": (
        "Change a webhook endpoint", "Changes the URL, description, event types or whether it is active."),
    "webhook_endpoints_destroy": ("Delete a webhook endpoint", "Nothing more is sent to it."),
    "webhook_endpoints_deliveries_list": (
        "An endpoint's deliveries", "Every attempt to deliver to the endpoint, newest first, paged by cursor."),
    "webhook_endpoints_messages_replay_create": (
        "Replay a message", "Sends one message to the endpoint again, with the same `webhook-id`."),
    # the platform
    "webhooks_fincra_create": (
        "FinCra's webhook", "For FinCra only: its signed callbacks about payments and payouts. Answered at once; "
        "the event is settled from FinCra's own records by a job."),
    "health_retrieve": ("Health", "Whether the API and its database answer (503 when the database does not)."),
}

TAGS = [
    {"name": "auth", "description": "Registration, login, token refresh and logout."},
    {"name": "users", "description": "Your profile."},
    {"name": "invitations", "description": "Joining a project you were invited to by e-mail."},
    {"name": "projects", "description": "Projects, their terms and milestones, and the escrow steps."},
    {"name": "milestones", "description": "The work steps of a milestone: start, deliver, approve, reject, dispute."},
    {"name": "disputes", "description": "Dispute cases: messages, evidence and settlement offers."},
    {"name": "transactions", "description": "The ledger: every movement of money you are party to."},
    {"name": "balance", "description": "What you may withdraw."},
    {"name": "withdrawals", "description": "Paying your balance out to a bank account."},
    {"name": "payout-documents", "description": "Supporting documents of USD payouts, for FinCra."},
    {"name": "commission", "description": "The platform's commission."},
    {"name": "webhook-endpoints", "description": "Outbound webhooks: where your escrow events are sent."},
    {"name": "webhooks", "description": "Inbound webhooks from FinCra."},
    {"name": "health", "description": "The API's health."},
]
