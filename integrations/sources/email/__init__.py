"""E-mail as an alert source: an SMTP listener (``alert_smtpd``) and an inbound-relay door.

A Django app (its own tables: the mailbox address of each e-mail source, the raw messages as
received); the parser is pure (``mime``, ``subject``, ``parser``).
"""
