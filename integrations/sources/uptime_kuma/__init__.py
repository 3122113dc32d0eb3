"""Uptime Kuma notifications (its Webhook and FlashDuty types); see README.md."""
