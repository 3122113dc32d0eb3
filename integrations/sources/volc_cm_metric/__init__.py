"""Volcengine Cloud Monitor metric-alarm callbacks; see README.md."""
