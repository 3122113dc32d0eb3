"""Tencent Cloud EventBridge events pushed to a custom webhook; see README.md."""
