"""The Feishu / Lark Open API seen from the console: ``open_api`` (the one HTTP client),
``errors`` (typed errors from Feishu's codes), ``ratelimit`` (limits shared by every process)
and ``crypto`` (signatures and encryption of callbacks)."""
