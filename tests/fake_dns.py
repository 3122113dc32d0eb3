"""A resolver that answers only what a test told it, for the outbound guard's tests."""

from __future__ import annotations

import socket


class FakeDNS:
    """Answers for host names in place of the outbound guard's resolver (``oncall.outbound.
    getaddrinfo``, the one place the console resolves a user-set name itself): set
    ``answers["proxy.example.com"] = ["93.184.216.34"]``; a name it does not know does not
    resolve. ``lookups`` lists the names asked, in order."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}
        self.lookups: list[str] = []

    def getaddrinfo(self, host: str, port: int) -> list[tuple]:
        self.lookups.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in self.answers[host]
        ]
