"""Heartbeats (a dead man's switch): an incident when a job stops pinging; see README.md."""
