"""Feishu's frequency limits that the sandbox enforces, and the codes it answers past them.

Kept free of Django imports so that the benchmarks can compare what they measure with these
numbers before Django is set up.

- Gateway, per app and API (tier 4 of https://open.feishu.cn/document/server-docs/api-call-guide/frequency-control):
  50/s and 1000/min; past them HTTP 429 with ``RATE_LIMITED``.
- IM (https://open.feishu.cn/document/server-docs/im-v1/message/create): 5/s per receiver (a
  user, or a chat shared by all its bots) and 5 updates/s per message; past them
  ``FREQUENCY_LIMIT``.
"""

from __future__ import annotations

RATE_LIMITED = 99991400
FREQUENCY_LIMIT = 230020

API_PER_SECOND = 50
API_PER_MINUTE = 1000
PER_RECEIVER_PER_SECOND = 5
PER_MESSAGE_PER_SECOND = 5
