"""Volcengine Cloud-Detect (synthetic probing) alarm callbacks; see README.md."""
