"""Splunk's webhook alert action; see README.md."""
