"""No row a client writes can influence money: deposits and activation held to what is owed.

Issue 10's critical finding: RLS let a party insert a pending deposit of any amount and currency
(``transactions_insert_own``); the funding service reused it, FinCra charged its amount and
currency, and the hold was booked in the project's currency. Here, as database rules:

- clients never write ledger rows: the INSERT policy and the INSERT grant on ``transactions``
  to ``authenticated`` are gone (DESIGN §5);
- a deposit on a project is the project's buyer's, in the project's currency, for exactly what
  is owed (``transactions_chk_deposit_buyer``, ``_currency``, ``_amount``), whoever writes it —
  the table owner included;
- a project leaves draft/pending for a funded state only when a completed deposit and a completed
  escrow hold of exactly what is owed, in its currency, exist (``projects_chk_funded``).

"Owed" is the sum over the milestones of what the buyer pays (escrow/commission.py): the
commission, ``percent`` of the milestone's amount rounded half-up to the currency's minor unit,
goes to the buyer in full (fee bearer ``buyer``), not at all (``seller``), or less the seller's
half rounded down (``split``). Every input is a column of the project or its milestones, so the
database can compute it exactly; the rounding is in multiplications only (exact in ``numeric``),
and a test compares it with the Python for random amounts. The list of zero-decimal currencies is
copied from migration 0009 (migrations do not import app code); a test checks they agree.

Milestones, the rate and the fee bearer are frozen once a project is proposed (the policies and
the services), so "owed" cannot move between the deposit and its confirmation; the activation
check re-computes it anyway.
"""

from django.db import migrations

ZERO_DECIMAL = ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF",
                "XOF", "XPF")
CURRENCIES = "(" + ", ".join(f"'{c}'" for c in ZERO_DECIMAL) + ")"

# Columns a client could insert before (0002): given back on reverse.
TRANSACTION_CLIENT_COLUMNS = (
    "id, user_id, project_id, transaction_type, status, amount, currency, fee, net_amount, description"
)
OLD_INSERT_POLICY = (
    "CREATE POLICY transactions_insert_own ON transactions FOR INSERT TO authenticated"
    " WITH CHECK (user_id = (select auth.uid()) AND status = 'pending'"
    " AND transaction_type in ('deposit', 'withdrawal')"
    " AND (project_id IS NULL OR EXISTS (SELECT 1 FROM projects p"
    " WHERE p.id = project_id AND (select auth.uid()) in (p.creator_id, p.buyer_id, p.seller_id))))"
)

MINOR_UNIT_DECIMALS = f"""
CREATE FUNCTION escrow_minor_unit_decimals(currency text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN currency IN {CURRENCIES} THEN 0 ELSE 2 END
$$
"""

# commission_quote(...).buyer_pays, for one milestone. NULL for an unknown fee bearer.
BUYER_PAYS = """
CREATE FUNCTION escrow_buyer_pays(amount numeric, currency text, percent numeric, fee_bearer text)
RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT amount + CASE fee_bearer
        WHEN 'seller' THEN 0
        WHEN 'buyer' THEN c.commission
        WHEN 'split' THEN c.commission - trunc(c.commission * 0.5, c.places)
    END
    FROM (
        SELECT round(amount * percent * 0.01, escrow_minor_unit_decimals(currency)) AS commission,
               escrow_minor_unit_decimals(currency) AS places
    ) c
$$
"""

# What the buyer pays in for the whole project; NULL while it has no milestone.
AMOUNT_OWED = """
CREATE FUNCTION escrow_amount_owed(project uuid) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT sum(escrow_buyer_pays(m.amount, p.currency, p.commission_percent, p.fee_bearer))
    FROM projects p JOIN milestones m ON m.project_id = p.id
    WHERE p.id = project
$$
"""

CHECK_DEPOSIT = """
CREATE FUNCTION escrow_check_deposit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    p record;
    owed numeric;
BEGIN
    SELECT buyer_id, currency INTO p FROM projects WHERE id = NEW.project_id;
    IF NOT FOUND THEN
        RETURN NULL;  -- the foreign key refuses it
    END IF;
    IF NEW.user_id IS DISTINCT FROM p.buyer_id THEN
        RAISE EXCEPTION 'a deposit on project % is its buyer''s', NEW.project_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'transactions_chk_deposit_buyer';
    END IF;
    IF NEW.currency <> p.currency THEN
        RAISE EXCEPTION 'a deposit on project % is in %, not %', NEW.project_id, p.currency, NEW.currency
            USING ERRCODE = 'check_violation', CONSTRAINT = 'transactions_chk_deposit_currency';
    END IF;
    owed := escrow_amount_owed(NEW.project_id);
    IF owed IS NULL OR NEW.amount <> owed THEN
        RAISE EXCEPTION 'a deposit on project % is for what is owed, % %, not %',
            NEW.project_id, owed, p.currency, NEW.amount
            USING ERRCODE = 'check_violation', CONSTRAINT = 'transactions_chk_deposit_amount';
    END IF;
    RETURN NULL;
END
$$
"""

# AFTER triggers: a row breaking a CHECK constraint is refused by that constraint's name first.
DEPOSIT_TRIGGERS = [
    (
        "transactions_deposit_matches_project",
        "AFTER INSERT ON transactions FOR EACH ROW"
        " WHEN (NEW.transaction_type = 'deposit' AND NEW.project_id IS NOT NULL)",
    ),
    (
        # Amount, currency, type and user never change (transactions_immutable); the project might.
        "transactions_deposit_moved",
        "AFTER UPDATE OF project_id ON transactions FOR EACH ROW"
        " WHEN (NEW.transaction_type = 'deposit' AND NEW.project_id IS NOT NULL"
        " AND NEW.project_id IS DISTINCT FROM OLD.project_id)",
    ),
]

CHECK_FUNDED = """
CREATE FUNCTION escrow_check_funded() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    owed numeric;
BEGIN
    owed := escrow_amount_owed(NEW.id);
    IF owed IS NULL
       OR NOT EXISTS (
           SELECT 1 FROM transactions t
           WHERE t.project_id = NEW.id AND t.transaction_type = 'deposit' AND t.status = 'completed'
             AND t.user_id = NEW.buyer_id AND t.currency = NEW.currency AND t.amount = owed)
       OR NOT EXISTS (
           SELECT 1 FROM transactions t
           WHERE t.project_id = NEW.id AND t.transaction_type = 'escrow_hold' AND t.status = 'completed'
             AND t.user_id = NEW.buyer_id AND t.currency = NEW.currency AND t.amount = owed)
    THEN
        RAISE EXCEPTION 'project % cannot be % before its buyer paid, and escrow holds, % %',
            NEW.id, NEW.status, owed, NEW.currency
            USING ERRCODE = 'check_violation', CONSTRAINT = 'projects_chk_funded';
    END IF;
    RETURN NULL;
END
$$
"""

FUNDED_TRIGGER = (
    "CREATE TRIGGER projects_funded AFTER UPDATE OF status ON projects FOR EACH ROW"
    " WHEN (OLD.status IN ('draft', 'pending') AND NEW.status NOT IN ('draft', 'pending', 'cancelled'))"
    " EXECUTE FUNCTION escrow_check_funded()"
)


def sql(forward: str, backward: str) -> migrations.RunSQL:
    return migrations.RunSQL(sql=forward, reverse_sql=backward)


def pin_search_path(signature: str) -> migrations.RunSQL:
    """The function finds our tables in the schema they were migrated into, and nothing a caller
    put earlier in its search_path, nor a temporary table, can stand in for them."""
    return sql(
        f"DO $$ BEGIN EXECUTE format('ALTER FUNCTION {signature} SET search_path = %I, pg_temp',"
        " current_schema()); END $$",
        f"ALTER FUNCTION {signature} RESET search_path",
    )


class Migration(migrations.Migration):
    dependencies = [("escrow", "0010_party_pair_indexes")]

    operations = [
        # 1. Clients never write ledger rows.
        sql("DROP POLICY transactions_insert_own ON transactions", OLD_INSERT_POLICY),
        sql(
            "REVOKE INSERT ON transactions FROM authenticated",
            f"GRANT INSERT ({TRANSACTION_CLIENT_COLUMNS}) ON transactions TO authenticated",
        ),
        # 2. What is owed, computed by the database.
        sql(MINOR_UNIT_DECIMALS, "DROP FUNCTION escrow_minor_unit_decimals(text)"),
        pin_search_path("escrow_minor_unit_decimals(text)"),
        sql(BUYER_PAYS, "DROP FUNCTION escrow_buyer_pays(numeric, text, numeric, text)"),
        pin_search_path("escrow_buyer_pays(numeric, text, numeric, text)"),
        sql(AMOUNT_OWED, "DROP FUNCTION escrow_amount_owed(uuid)"),
        pin_search_path("escrow_amount_owed(uuid)"),
        # 3. A deposit is the buyer's, in the project's currency, for what is owed.
        sql(CHECK_DEPOSIT, "DROP FUNCTION escrow_check_deposit()"),
        pin_search_path("escrow_check_deposit()"),
        *(
            sql(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION escrow_check_deposit()",
                f"DROP TRIGGER {name} ON transactions")
            for name, when in DEPOSIT_TRIGGERS
        ),
        # 4. Active only once paid and held in full.
        sql(CHECK_FUNDED, "DROP FUNCTION escrow_check_funded()"),
        pin_search_path("escrow_check_funded()"),
        sql(FUNDED_TRIGGER, "DROP TRIGGER projects_funded ON projects"),
    ]
