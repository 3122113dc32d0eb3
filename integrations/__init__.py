"""Inbound alert sources (one parser module each) and, later, the Feishu / Lark app."""
