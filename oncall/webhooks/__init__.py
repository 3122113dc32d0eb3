"""Outbound webhooks: alert and incident events POSTed, signed the Standard Webhooks way, to
endpoints an admin configures (see ``oncall.webhooks.outbox`` for how an event is written with
the change that caused it, and ``oncall.webhooks.delivery`` for how it is sent)."""
