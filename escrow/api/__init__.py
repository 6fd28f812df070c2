"""The client API (Django REST Framework) under /api/v1/. Views call services; no rule lives here."""
