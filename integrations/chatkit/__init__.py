"""What every chat platform (``feishu/``, ``dingtalk/``, and the next ones) would otherwise write
again: the platform toolkit. It knows no platform: a platform subclasses or instantiates its
pieces with its own endpoints, models and field names (import-linter holds both directions).

* ``oauth`` — the allauth OAuth2 provider and adapter of one platform app (one OAuth client per
  app row), the state taken once, ``safe_next``, and the identity waiting in the session;
* ``sign_in`` — the round trip's decisions: linked people signed in login-free to ``next``,
  first visits linked, taken links and disabled accounts refused;
* ``targets`` — ``TargetFields`` for "a rule's app, a level's groups of that app";
* ``deliveries`` — card delivery rows per recipient, and refusals recorded on them;
* ``war_rooms`` — a group chat opened for one incident: asking, opening, members, inviting
  later, the sweep, the incident's offer; ``war_room_models``, the abstract model base of their
  rows; ``admin_war_rooms``, their read-only admin list;
* ``ratelimit`` — rate limits shared by every process, over sliding windows (in Redis, or in a
  platform's ``rate_windows.AbstractRateWindow`` rows without Redis), and ``wait_for``: wait in
  place up to a limit, else raise the platform's rate-limit error with the wait;
* ``system_checks`` — whether the outbound guard will refuse a sandbox's host;
* ``sandbox/`` — for the sandboxes only: the socket server an official SDK client connects to.

(A per-console answer counted once and kept in the shared cache, such as "does any app use X?",
is the core's ``oncall.counted``: the core asks such questions too.)
"""
