"""Jira's issue webhook as a change source: each issue is one change; see README.md."""
