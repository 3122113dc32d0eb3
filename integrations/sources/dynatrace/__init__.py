"""Dynatrace problem notifications through a custom integration; see README.md."""
