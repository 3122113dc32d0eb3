"""Nightingale (n9e) / Flashcat alert events, by callback or the Flashduty media type; see README.md."""
