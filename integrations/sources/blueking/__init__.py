"""Tencent BlueKing Monitor's HTTP-callback action plan; see README.md."""
