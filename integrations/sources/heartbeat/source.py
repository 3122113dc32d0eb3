"""Heartbeats (a dead man's switch) as an alert source.

A job pings the source's push URL, by GET or by POST with no body, form fields or JSON, which
is not read (a cron job's ``curl``, Alertmanager's always-firing Watchdog alert through a
webhook receiver): every ping is answered 200 and stored as the heartbeat's last ping
(``models.Heartbeat``), never as a push.
A minute's sweep (``tasks.sweep_heartbeats``) opens an incident through the normal ingestion
when no ping came within the interval plus the grace ("No heartbeat from nightly-backup for 35
min"), and the next ping recovers it (``monitor.py``). A heartbeat that was never pinged is
waiting for its first ping and raises nothing (healthchecks does the same: a job being set up
is not down).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from integrations.sources.heartbeat.schedule import (
    KIND,
    MAX_MINUTES,
    Schedule,
    Signal,
    event_of,
    recognises,
    schedule_of,
)
from oncall.events import AlertEvent, Severity
from oncall.sources import (
    Answer,
    DeclaredOption,
    OptionType,
    PushRequest,
    SetupGuide,
    Snippet,
    SourceKind,
)

SWEEP_SECONDS = 60.0

CRON = """# at the end of the job's script: ping only when it succeeded
set -e
/usr/local/bin/nightly-backup
curl -fsS -m 10 --retry 3 '{url}' > /dev/null
"""

WATCHDOG = """# prometheus rules: an alert that always fires
groups:
  - name: meta
    rules:
      - alert: Watchdog
        expr: vector(1)
        labels:
          severity: none

# alertmanager.yml: send it, and only it, to the heartbeat, more often than every {interval} min
route:
  routes:
    - receiver: heartbeat
      matchers: ['alertname = "Watchdog"']
      group_wait: 0s
      group_interval: 1m
      repeat_interval: {repeat}m
receivers:
  - name: heartbeat
    webhook_configs:
      - url: '{url}'
        send_resolved: false
"""


class HeartbeatSource(SourceKind):
    kind = KIND
    label = _("Heartbeat (dead man's switch)")
    sender = _(
        "a job that pings the push URL by GET or POST every N minutes: a cron job "
        "(`curl -fsS -m 10 <url>`), Alertmanager's Watchdog alert"
    )
    identity = _("one alert per heartbeat source")
    recovery = _("the first ping after the heartbeat was declared missing")
    severity_table = ((_("a missing heartbeat (the `severity` option)"), Severity.CRITICAL),)
    # A ping may carry anything (curl -d sends form fields): it is never read.
    form_body = True

    def parse(self, payload: Any) -> list[AlertEvent]:
        return [event_of(Signal.from_payload(payload))]

    def recognises(self, payload: Any) -> bool:
        return recognises(payload)

    def handshake(self, payload: Any, push: PushRequest) -> Answer | None:
        """Every POST is a ping: answered 200, never stored as a push."""
        return self._ping(push)

    def answer_get(self, push: PushRequest) -> Answer | None:
        return self._ping(push)

    def _ping(self, push: PushRequest) -> Answer | None:
        if push.source_id is None:
            return None  # not a request on a source's URL: nothing to record
        # Imported here: the registry is read while the models load.
        from integrations.sources.heartbeat import monitor

        heartbeat = monitor.record_ping_of(push.source_id)
        if heartbeat is None:
            return None
        schedule = schedule_of(push.options)
        assert heartbeat.last_ping_at is not None  # just recorded
        return Answer(
            200,
            {
                "ok": True,
                "last_ping_at": heartbeat.last_ping_at.isoformat(),
                "next_ping_by": (
                    heartbeat.last_ping_at + schedule.interval + schedule.grace
                ).isoformat(),
            },
        )

    def default_options(self) -> dict[str, Any]:
        return Schedule.defaults()

    def clean_options(self, options: Any) -> dict[str, Any]:
        options = options or {}
        Schedule.from_options(options)
        return {**Schedule.defaults(), **options}

    def options_help(self) -> str:
        return str(
            _(
                "interval_minutes: a ping is expected at least this often; grace_minutes: how "
                "much later it may come before the heartbeat is missing (whole minutes, up to "
                "%(max)d); severity: of the incident a missing heartbeat opens."
            )
            % {"max": MAX_MINUTES}
        )

    def declared_options(self) -> Sequence[DeclaredOption]:
        return (
            DeclaredOption(
                "interval_minutes",
                _("Expected every (minutes)"),
                OptionType.WHOLE_NUMBER,
                _("A ping is expected at least this often."),
            ),
            DeclaredOption(
                "grace_minutes",
                _("Grace (minutes)"),
                OptionType.WHOLE_NUMBER,
                _("How much later a ping may come before the heartbeat is missing."),
            ),
            DeclaredOption(
                "severity",
                _("Severity"),
                OptionType.CHOICE,
                _("Of the incident a missing heartbeat opens."),
                Severity.choices,
            ),
        )

    def periodic_tasks(self) -> dict[str, dict[str, Any]]:
        return {
            "sweep-heartbeats": {
                "task": "integrations.sources.heartbeat.tasks.sweep_heartbeats",
                "schedule": SWEEP_SECONDS,
            }
        }

    def status(self, source: Any) -> Sequence[tuple[str, str]]:
        """The source page's rows: the heartbeat's state, its last ping and when the next is due."""
        from integrations.sources.heartbeat.models import Heartbeat

        schedule = schedule_of(source.options)
        heartbeat = Heartbeat.objects.filter(source_id=source.pk).first() or Heartbeat()
        state = heartbeat.state(timezone.now(), schedule.interval, schedule.grace)
        due = heartbeat.due_at(schedule.interval, schedule.grace)
        return [
            (str(_("Heartbeat")), str(state.label)),
            (str(_("Last ping")), _when(heartbeat.last_ping_at)),
            (str(_("Missing after")), _when(due)),
        ]

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            [
                str(_("Set how often a ping is expected and the grace in the options, and save.")),
                str(
                    _(
                        "Make the job ping {url} (GET or POST) each time it runs, at the end of "
                        "its script so that a failed run sends none."
                    ).format(url=push_url)
                ),
                str(
                    _(
                        "Or use Alertmanager's Watchdog alert: a rule that always fires, routed "
                        "to a webhook receiver with this URL and a repeat_interval shorter than "
                        "the heartbeat's interval."
                    )
                ),
                str(
                    _(
                        "Nothing is raised before the first ping. After it, no ping within the "
                        "interval plus the grace opens an incident; the next ping recovers it."
                    )
                ),
            ],
            [
                Snippet(str(_("A cron job's script")), "sh", CRON.format(url=push_url)),
                Snippet(
                    str(_("Alertmanager's Watchdog")),
                    "yaml",
                    WATCHDOG.format(url=push_url, interval=60, repeat=30),
                ),
            ],
        )


def _when(moment: Any) -> str:
    """``2026-01-01 10:00:00 (2 hours ago)``, ``... (just now)`` or, ahead, ``(in 5 min)``."""
    from oncall.wording import ago  # it imports the models

    if moment is None:
        return "—"
    local, now = timezone.localtime(moment), timezone.now()
    if moment <= now + timedelta(minutes=1):
        return f"{local:%Y-%m-%d %H:%M:%S} ({ago(moment, now)})"
    ahead = int((moment - now).total_seconds() // 60)
    return f"{local:%Y-%m-%d %H:%M:%S} ({_('in %(minutes)d min') % {'minutes': ahead}})"
