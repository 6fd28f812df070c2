"""Shapes of the API's requests and responses. Validation of form only; rules live in services."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from escrow.api.fields import MoneyField, MoneyInputField
from escrow.models import FeeBearer, Milestone, Project, Transaction, User
from escrow.money import decimals
from escrow.states import MILESTONE_TRANSITIONS, PROJECT_TRANSITIONS, allowed_actions

# A party's e-mail: null while the party is only invited (docs/api.md, Invitations).
PARTY_EMAIL = serializers.EmailField(allow_null=True)
CURRENCY = serializers.RegexField(r"^[A-Z]{3}$", max_length=3, default="USD",
                                  error_messages={"invalid": "An ISO 4217 code such as USD."})


# --- accounts ---

class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=255)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    full_name = serializers.CharField(max_length=255)
    phone_number = serializers.CharField(max_length=32, required=False, allow_blank=True, allow_null=True)


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=255)
    password = serializers.CharField(max_length=128, style={"input_type": "password"})


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class TokenResponseSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name", "phone_number", "avatar_url", "bio", "notify_optional", "is_verified",
                  "created_at"]
        read_only_fields = ["id", "email", "is_verified", "created_at"]
        extra_kwargs = {
            "full_name": {"required": False},
            "notify_optional": {"help_text": "Receive the non-essential e-mails (proposals, acceptances, work "
                                             "started, rejections, cancellations). Those about money, disputes, "
                                             "payouts and deadlines are always sent."},
        }


# --- projects and milestones ---

class ActionsMixin(serializers.Serializer):
    actions = serializers.SerializerMethodField(help_text="What the caller may do now.")


class MilestoneSerializer(ActionsMixin, serializers.ModelSerializer):
    amount = MoneyField()

    class Meta:
        model = Milestone
        fields = ["id", "project_id", "title", "description", "order_index", "amount", "currency", "status",
                  "is_paid", "completion_criteria", "completion_notes", "due_date", "completed_at", "approved_at",
                  "paid_at", "created_at", "updated_at", "actions"]
        read_only_fields = fields

    def get_actions(self, milestone) -> list[str]:
        project = self.context.get("project") or milestone.project
        return allowed_actions(MILESTONE_TRANSITIONS, project=project, milestone=milestone,
                               actor=self.context["request"].user)


class ProjectSerializer(ActionsMixin, serializers.ModelSerializer):
    total_amount = MoneyField()
    held = serializers.SerializerMethodField(help_text="What escrow holds for this project now.")
    buyer_email = serializers.SerializerMethodField()
    seller_email = serializers.SerializerMethodField()
    creator_email = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["id", "title", "description", "total_amount", "currency", "status", "fee_bearer",
                  "commission_percent", "inspection_days", "creator_id", "creator_email", "buyer_id", "buyer_email",
                  "seller_id", "seller_email", "held", "terms_accepted_at", "completion_criteria", "start_date",
                  "due_date", "completed_at", "created_at", "updated_at", "actions"]
        read_only_fields = fields

    def get_actions(self, project) -> list[str]:
        return allowed_actions(PROJECT_TRANSITIONS, project=project, actor=self.context["request"].user)

    def get_held(self, project) -> str:
        return f"{self.context['held'].get(project.pk, 0):.{decimals(project.currency)}f}"

    @extend_schema_field(PARTY_EMAIL)
    def get_buyer_email(self, project) -> str | None:
        return self.context["emails"].get(project.buyer_id)

    @extend_schema_field(PARTY_EMAIL)
    def get_seller_email(self, project) -> str | None:
        return self.context["emails"].get(project.seller_id)

    @extend_schema_field(PARTY_EMAIL)
    def get_creator_email(self, project) -> str | None:
        return self.context["emails"].get(project.creator_id)


class ProjectDetailSerializer(ProjectSerializer):
    milestones = serializers.SerializerMethodField(help_text="The project's milestones, in order.")

    class Meta(ProjectSerializer.Meta):
        fields = [*ProjectSerializer.Meta.fields, "milestones"]
        read_only_fields = fields

    @extend_schema_field(MilestoneSerializer(many=True))
    def get_milestones(self, project) -> list[dict]:
        context = {**self.context, "project": project}
        return MilestoneSerializer(project.milestones.all(), many=True, context=context).data


class InvitationSerializer(serializers.Serializer):
    """The creator's view of the invitation: who was invited, not whether they have an account."""

    id = serializers.UUIDField()
    email = serializers.CharField()
    role = serializers.CharField()
    status = serializers.SerializerMethodField(help_text="open, expired, accepted or withdrawn")
    sent_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    accepted_at = serializers.DateTimeField(allow_null=True)
    withdrawn_at = serializers.DateTimeField(allow_null=True)

    def get_status(self, invitation) -> str:
        from escrow.services.invitations import invitation_status

        return invitation_status(invitation)


class InvitationClaimSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=128)


class ProjectTermsSerializer(serializers.Serializer):
    """Create (all required but the optional ones) and edit (partial) a draft's terms."""

    title = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=10_000)
    total_amount = MoneyInputField()
    currency = CURRENCY
    completion_criteria = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=10_000)
    start_date = serializers.DateTimeField(required=False, allow_null=True)
    due_date = serializers.DateTimeField(required=False, allow_null=True)
    fee_bearer = serializers.ChoiceField(choices=FeeBearer.choices, required=False)
    inspection_days = serializers.IntegerField(required=False, min_value=0, max_value=365)


class ProjectCreateSerializer(ProjectTermsSerializer):
    buyer_email = serializers.EmailField()
    seller_email = serializers.EmailField()


class MilestoneTermsSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=10_000)
    amount = MoneyInputField()
    order_index = serializers.IntegerField(required=False, min_value=0, max_value=10_000)
    completion_criteria = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=10_000)
    due_date = serializers.DateTimeField(required=False, allow_null=True)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5_000)


class OptionalReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5_000, required=False, allow_blank=True, default="")


class SubmitSerializer(serializers.Serializer):
    notes = serializers.CharField(max_length=10_000, required=False, allow_blank=True, default="")


class FundSerializer(serializers.Serializer):
    full_name = serializers.CharField(
        max_length=255, required=False, allow_blank=True,
        help_text="The payer's first and last name, for FinCra's checkout; needed when the profile's has no space.")


class FundResponseSerializer(serializers.Serializer):
    transaction_id = serializers.UUIDField()
    reference = serializers.CharField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    checkout_url = serializers.CharField(allow_null=True)


# --- money ---

class TransactionSerializer(serializers.ModelSerializer):
    amount = MoneyField()
    fee = MoneyField()
    net_amount = MoneyField()
    account_name = serializers.SerializerMethodField(
        help_text="A withdrawal's bank account holder: as FinCra resolved it (NGN), or as the seller gave it where "
                  "FinCra resolves no names (USD); null for other rows.")
    account_name_resolved = serializers.SerializerMethodField(
        help_text="Whether FinCra resolved account_name from the bank's records (NGN) rather than taking it as "
                  "given (USD); null for other rows.")

    class Meta:
        model = Transaction
        fields = ["id", "user_id", "project_id", "milestone_id", "transaction_type", "status", "amount", "fee",
                  "net_amount", "currency", "payment_gateway", "gateway_reference", "description", "created_at",
                  "processed_at", "completed_at", "account_name", "account_name_resolved"]
        read_only_fields = fields

    def get_account_name(self, row) -> str | None:
        return (row.extra_data or {}).get("account_name")

    def get_account_name_resolved(self, row) -> bool | None:
        extra = row.extra_data or {}
        if "account_name" not in extra:
            return None
        return extra.get("account_name_resolved", True)  # withdrawals before USD payouts were all resolved


class AddressSerializer(serializers.Serializer):
    street = serializers.CharField(max_length=255, required=False, allow_blank=True, help_text="Street and number. Required.")
    city = serializers.CharField(max_length=120, required=False, allow_blank=True, help_text="Required.")
    state = serializers.CharField(max_length=120, required=False, allow_blank=True,
                                  help_text="Required for a US address: its two-letter code (NY).")
    zip = serializers.CharField(max_length=20, required=False, allow_blank=True, help_text="Required for a US address: 12345 or "
                                                                         "12345-6789.")
    country = serializers.CharField(max_length=2, required=False, allow_blank=True, help_text="ISO 3166 alpha-2 (US, NG). Required.")


class BankAccountSerializer(serializers.Serializer):
    """The fields of every payout currency; which are required, and their formats, depend on the
    withdrawal's currency (escrow.payments.contract.BANK_ACCOUNT_FIELDS): an error names
    ``bank_account.<field>``."""

    account_number = serializers.RegexField(
        r"^[0-9]{4,20}$", error_messages={"invalid": "4 to 20 digits."},
        help_text="NGN: the 10-digit NUBAN. USD: the US account number (4 to 17 digits).")
    bank_code = serializers.RegexField(
        r"^[0-9A-Za-z]{2,12}$", required=False, allow_blank=True, error_messages={"invalid": "2 to 12 letters or digits."},
        help_text="NGN only: the bank's code (3 to 6 digits).")
    account_holder_name = serializers.CharField(
        max_length=255, help_text="The name on the account. NGN: FinCra resolves the name it pays; USD: sent as given.")
    country = serializers.RegexField(r"^[A-Z]{2}$", error_messages={"invalid": "An ISO 3166 code such as NG."},
                                     help_text="The bank account's country: NG for NGN, US for USD.")
    payment_scheme = serializers.CharField(
        max_length=20, required=False, allow_blank=True,
        help_text="USD only: ach (1-3 business days) or fed_wire (same day). swift is not supported.")
    routing_number = serializers.CharField(
        max_length=32, required=False, allow_blank=True, help_text="USD only: the bank's 9-digit ABA routing number (checksum verified).")
    bank_name = serializers.CharField(max_length=140, required=False, allow_blank=True, help_text="USD only: the bank's name.")
    address = AddressSerializer(required=False, help_text="USD only: the account holder's postal address.")


class WithdrawalSerializer(serializers.Serializer):
    amount = MoneyInputField()
    currency = CURRENCY
    bank_account = BankAccountSerializer()


class QuoteQuerySerializer(serializers.Serializer):
    amount = MoneyInputField()
    currency = CURRENCY
    fee_bearer = serializers.ChoiceField(choices=FeeBearer.choices, default=FeeBearer.SELLER)


class QuoteSerializer(serializers.Serializer):
    amount = serializers.CharField()
    currency = serializers.CharField()
    fee_bearer = serializers.CharField()
    commission = serializers.CharField()
    buyer_pays = serializers.CharField()
    seller_receives = serializers.CharField()


class BalanceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    available = serializers.CharField()


def error_shape():
    """For the schema: the one error shape (escrow.api.errors)."""
    class ErrorBody(serializers.Serializer):
        code = serializers.CharField()
        message = serializers.CharField()
        fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))

    class Error(serializers.Serializer):
        error = ErrorBody()

    return Error
