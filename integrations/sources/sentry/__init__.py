"""Sentry internal-integration webhooks (issue alerts, metric alerts, issues); see README.md."""
