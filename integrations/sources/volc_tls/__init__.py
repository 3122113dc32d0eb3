"""Volcengine Log Service (TLS) alarms through a custom webhook; see README.md."""
