"""Jiankongbao (监控宝) URL-callback alarms; see README.md."""
