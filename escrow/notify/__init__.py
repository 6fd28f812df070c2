"""Reaching people outside the API: outbound webhooks (and, later, e-mail).

- ``events``: what the parties may see of an audit event — the timeline's entries and the
  webhooks' payloads share it;
- ``addresses``: which endpoint URLs may be called (no private, loopback or link-local address);
- ``signing``: Standard Webhooks signatures and secrets;
- ``webhooks``: the services (endpoints, the messages written with each state change, delivery,
  replay);
- ``jobs``: the procrastinate tasks that deliver.
"""
