"""``make bench`` (second part): how long FinCra waits for our 2xx on a webhook.

FinCra waits 10 s for a 2xx. The app answers after verifying the signature, storing the event and
queueing its job — FinCra's records are consulted by the job, not in the request, so the answer
cannot depend on FinCra (the simulator here answers every API call after 12 s). 100 signed
``charge.successful`` webhooks (for references that are not ours: their jobs flag them) are posted
to gunicorn one after another while a job worker runs beside it. Prints the median and the maximum
time from sending a webhook to receiving the 2xx.
(tests/payments/test_fincra.py proves the other half: a deposit is credited once FinCra answers.)

    make bench                # both parts
    .venv/bin/python bench/webhook_ack.py
"""

import hashlib
import hmac
import json
import os
import secrets
import statistics
import sys
import time
import uuid

import psycopg
import requests
from stack import ROOT, Stack, database_of_its_own, ensure_database, manage

WEBHOOKS = int(os.environ.get("BENCH_WEBHOOKS", "100"))
FINCRA_LATENCY = float(os.environ.get("BENCH_FINCRA_LATENCY", "12"))


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amani.settings")
    from escrow.payments.simulator import Simulator

    url = database_of_its_own("amani_bench_webhooks")
    ensure_database(url)
    manage(url, "migrate", "--noinput")
    keys = {name: secrets.token_hex(12) for name in ("secret_key", "public_key", "business_id", "webhook_secret")}
    # business_id: 24 characters, as FinCra's
    simulator = Simulator(**keys).start()
    requests.post(f"{simulator.url}/_simulator/config", json={"latency": FINCRA_LATENCY}, timeout=5).raise_for_status()
    stack = Stack(url, FINCRA_BASE_URL=simulator.url, FINCRA_SECRET_KEY=keys["secret_key"],
                  FINCRA_PUBLIC_KEY=keys["public_key"], FINCRA_BUSINESS_ID=keys["business_id"],
                  FINCRA_WEBHOOK_SECRET=keys["webhook_secret"])
    try:
        with stack as base:
            endpoint = f"{base}/api/v1/webhooks/fincra/"
            references = [str(uuid.uuid4()) for _ in range(WEBHOOKS)]
            session = requests.Session()
            timings = []
            for reference in references:
                body = json.dumps({"event": "charge.successful", "type": "charge", "data": {
                    "merchantReference": reference, "amount": 1000, "amountReceived": 1000, "amountToSettle": 985,
                    "currency": "NGN", "status": "success", "reference": f"fcr-{reference[:8]}"}}).encode()
                signature = hmac.new(keys["webhook_secret"].encode(), body, hashlib.sha512).hexdigest()
                started = time.perf_counter()
                response = session.post(endpoint, data=body, headers={"signature": signature,
                                                                      "content-type": "application/json"}, timeout=30)
                timings.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
            with psycopg.connect(url) as conn:
                stored = conn.execute("SELECT count(*) FROM webhook_events WHERE reference = ANY(%s)",
                                      [references]).fetchone()[0]
    finally:
        simulator.stop()
    print(f"\nFinCra webhook → our 2xx, {len(timings)} webhooks, FinCra answering after {FINCRA_LATENCY:.0f} s "
          f"(gunicorn 2 workers, a job worker running):")
    print(f"  median {statistics.median(timings) * 1000:.1f} ms, max {max(timings) * 1000:.1f} ms "
          f"(FinCra's deadline: 10000 ms); {stored} events stored")


if __name__ == "__main__":
    main()
