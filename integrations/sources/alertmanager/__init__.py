"""Prometheus Alertmanager's webhook receiver; see README.md."""
