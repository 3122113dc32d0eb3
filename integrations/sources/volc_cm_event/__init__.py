"""Volcengine Cloud Monitor event-alarm callbacks (Event Center); see README.md."""
