"""Serve the FinCra sandbox simulator (escrow/payments/simulator.py) with this app's FinCra keys."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand

from escrow.payments.simulator import Simulator


class Command(BaseCommand):
    help = "Run the FinCra sandbox simulator on 127.0.0.1."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.FINCRA_SIMULATOR_PORT)
        parser.add_argument("--webhook-url", default=settings.FINCRA_SIMULATOR_WEBHOOK_URL)
        parser.add_argument("--if-simulated", action="store_true",
                            help="do nothing when real FinCra keys are configured (used by `make run`)")

    def handle(self, *args, port: int, webhook_url: str, if_simulated: bool, **options) -> None:
        if if_simulated and not settings.FINCRA_SIMULATED:
            self.stdout.write("FinCra keys are set: not starting the simulator.")
            return
        simulator = Simulator(secret_key=settings.FINCRA_SECRET_KEY, public_key=settings.FINCRA_PUBLIC_KEY,
                              business_id=settings.FINCRA_BUSINESS_ID, webhook_secret=settings.FINCRA_WEBHOOK_SECRET,
                              webhook_url=webhook_url, port=port).start()
        self.stdout.write(f"FinCra simulator at {simulator.url} (webhooks to {webhook_url or 'nowhere'})")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            simulator.stop()
