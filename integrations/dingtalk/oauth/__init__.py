"""Signing in with DingTalk (the app's homepage URLs) and the linked accounts it keeps:
``provider`` (allauth's OAuth2 classes, one provider per ``DingTalkApp``), ``views`` (the round
trip), ``linking`` (whose account an identity is) and ``account_page`` (the person's links)."""
