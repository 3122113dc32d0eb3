"""Tencent Cloud Monitor (CM) alarm callbacks; see README.md."""
