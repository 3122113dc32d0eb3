"""The session engine: Django's database sessions, trusting only keys Django could have issued.

The session key comes from a cookie, that is from anyone. Django only checks that it has 8
characters or more, then looks it up; a cookie such as ``sessionid="\\000..."`` (the cookie
parser turns the octal escape into a NUL) made PostgreSQL refuse the query, a 500 on every page
that reads the session. Django issues 32 characters of ``[a-z0-9]``
(``SessionBase._get_new_session_key``); anything else is no session, and a fresh one starts.
"""

from __future__ import annotations

import re

from django.contrib.sessions.backends import db

_ISSUED_KEY = re.compile(r"[a-z0-9]{8,40}")  # 40: the session_key column's length


class SessionStore(db.SessionStore):
    def _validate_session_key(self, key: str | None) -> bool:
        return bool(key) and _ISSUED_KEY.fullmatch(key) is not None
