"""The FinCra payment gateway: its client, its webhook handler, reconciliation, and a simulator."""
