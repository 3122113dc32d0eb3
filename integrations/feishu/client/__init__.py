"""The Feishu / Lark Open API seen from the console: ``open_api`` (the one HTTP client),
``errors`` (typed errors from Feishu's codes) and ``crypto`` (signatures and encryption of
callbacks). Feishu's rate limits (its documented figures, in ``open_api``) are counted by the
toolkit's limiter shared by every process and platform (``integrations.chatkit.ratelimit``)."""
