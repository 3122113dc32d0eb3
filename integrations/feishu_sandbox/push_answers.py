"""How Feishu waits for the answer to one of its pushes (an event, a card callback), whichever
way the push travels: to a request URL (``send``) or over the long connection
(``long_connection``, ``socket_server``)."""

from __future__ import annotations

# Feishu waits 3 s for an answer to a card callback, and counts an event as failed after that.
ANSWER_TIMEOUT_SECONDS = 3.0
# An answer is read whole up to this size: a card answer holds a whole card (up to 30 KB).
ANSWER_CHARS = 64 * 1024
# What a push that got no answer in time says, wherever it went.
NO_ANSWER = f"no answer within {ANSWER_TIMEOUT_SECONDS:g} s"
