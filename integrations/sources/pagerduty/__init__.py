"""PagerDuty Events API v2, and PagerDuty's own enqueue URL; see README.md."""
