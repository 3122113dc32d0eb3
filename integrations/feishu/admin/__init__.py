"""The Feishu integration in the admin, one module a screen: ``apps`` (the integration: its form,
checklist and actions), ``budget`` (the API budget's part of it), ``chats`` (chats and linked
accounts), ``deliveries`` (card deliveries, also inline on incidents) and ``war_rooms``.
Importing the package (the admin's autodiscovery does) registers them all."""

from integrations.feishu.admin import apps, chats, deliveries, war_rooms  # noqa: F401 (registers)
from integrations.feishu.admin.deliveries import CardDeliveryInline

__all__ = ["CardDeliveryInline"]
