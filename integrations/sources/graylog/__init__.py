"""Graylog HTTP notifications of event definitions; see README.md."""
