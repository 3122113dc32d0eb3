"""The admin of the integrations app: its screens live with each integration's package."""

from integrations.feishu import admin as feishu_admin  # noqa: F401
