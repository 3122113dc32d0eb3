"""Nightingale (n9e) / Flashcat alert events posted to a callback URL; see README.md."""
