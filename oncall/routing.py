"""Which channels an event goes to: a private source's channel, or a shared source's routes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from oncall.change_events import ChangeRecord
from oncall.events import AlertEvent
from oncall.matchers import Matcher, all_match, parse_matchers, subject_of
from oncall.models import AlertSource, Route


@dataclass(frozen=True)
class CompiledRoute:
    matchers: list[Matcher]
    channel_ids: tuple[int, ...]
    stop: bool


@dataclass(frozen=True)
class RoutingTable:
    """A source's routes, loaded once per push request and applied to every event in it."""

    private_channel_id: int | None
    routes: tuple[CompiledRoute, ...] = ()
    default_channel_ids: tuple[int, ...] = ()

    @classmethod
    def load(cls, source: AlertSource) -> RoutingTable:
        if not source.is_shared:
            return cls(private_channel_id=source.channel_id)
        routes, default = [], ()
        for route in Route.objects.filter(source=source).prefetch_related("channels"):
            channel_ids = tuple(sorted(c.pk for c in route.channels.all()))
            if route.is_default:
                default = channel_ids
            else:
                routes.append(
                    CompiledRoute(parse_matchers(route.matchers), channel_ids, route.stop)
                )
        return cls(private_channel_id=None, routes=tuple(routes), default_channel_ids=default)

    def channels_for(self, event: AlertEvent) -> list[int]:
        """Channel ids in route order; empty when nothing matched and there is no default."""
        return self._channels_for_subject(
            lambda: subject_of(
                title=event.title,
                description=event.description,
                severity=event.severity,
                alert_key=event.alert_key,
                labels=event.labels,
            )
        )

    def channels_for_change(self, change: ChangeRecord) -> list[int]:
        """A change's channels, by the same routes as alerts: matchers see its title,
        description and labels, its key as ``alert_key``, and no severity."""
        return self._channels_for_subject(
            lambda: subject_of(
                title=change.title,
                description=change.description,
                severity="",
                alert_key=change.change_key,
                labels=change.labels,
            )
        )

    def _channels_for_subject(self, subject_for: Callable[[], dict[str, str]]) -> list[int]:
        if self.private_channel_id is not None:
            return [self.private_channel_id]
        subject = subject_for()
        matched: list[int] = []
        for route in self.routes:
            if all_match(route.matchers, subject):
                matched.extend(c for c in route.channel_ids if c not in matched)
                if route.stop:
                    break
        return matched or list(self.default_channel_ids)
