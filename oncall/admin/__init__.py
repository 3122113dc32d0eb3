"""The admins' screen: channels, alert sources with their routes, alerts and incidents, API
tokens, escalation rules, custom incident actions and link integrations, on-call schedules and
the changes change sources report, one module per area; ``site`` names the admin after the
console and ``home`` is its home page's overview. Django's autodiscovery imports this
package, which registers them all; a chat platform's admin builds on ``AdminMedia`` and
``copy_field``.
"""

from oncall.admin import (  # noqa: F401 (registers)
    changes,
    configuration,
    custom_actions,
    escalation_rules,
    incidents,
    inhibition,
    schedule_swaps,
    schedules,
    shift_notices,
    silences,
    site,
    templates,
    webhooks,
)
from oncall.admin.shared import AdminMedia, copy_block, copy_field, severity_badge

__all__ = ["AdminMedia", "copy_block", "copy_field", "severity_badge"]
