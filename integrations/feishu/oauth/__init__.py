"""Signing in with Feishu / Lark and linking Feishu users to console accounts.

``provider`` is the allauth OAuth2 provider (per-app credentials and hosts), ``linking`` decides
which console account a Feishu identity belongs to, ``problems`` turns every failure into a page a
person understands, and ``views`` runs the round trip from the web entry to the callback.
``account_page`` is the signed-in person's "Linked Feishu accounts" page; ``bulk_linking`` is the
admin's one-click linking of console users found in the tenant's directory by email.
"""
