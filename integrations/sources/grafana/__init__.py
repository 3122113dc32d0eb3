"""Grafana's webhook contact point (unified and legacy alerting); see README.md."""
