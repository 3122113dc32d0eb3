"""What the models that call a receiver a user chose share (webhook endpoints, custom actions):
their own headers, stored encrypted because values are often a receiver's token, and a signing
secret of their own, made by the console, rotated with an overlap during which the previous
secret signs too."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from oncall.webhooks import headers as custom_headers
from oncall.webhooks.signing import new_secret


class SignedReceiverMixin:
    """Mixed into a model that has ``headers_json``, ``previous_secret`` and
    ``previous_secret_until`` fields, and its current secret in the field named by
    :attr:`secret_field`; :attr:`overlap_setting` names the setting of the rotation's overlap
    in hours. A row is given its first secret when first saved."""

    secret_field: ClassVar[str]
    overlap_setting: ClassVar[str]

    # Declared by the model.
    headers_json: str
    previous_secret: str
    previous_secret_until: datetime | None

    @property
    def current_secret(self) -> str:
        return getattr(self, self.secret_field)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.current_secret:
            setattr(self, self.secret_field, new_secret())
        super().save(*args, **kwargs)  # type: ignore[misc]

    def clean(self) -> None:
        super().clean()  # type: ignore[misc]
        try:
            custom_headers.check(self.headers)
        except ValidationError as error:
            raise ValidationError({"headers": error.messages}) from None

    def clean_fields(self, exclude: Any = None) -> None:
        # The secret is the console's, made at the first save: nothing a user gave to check.
        super().clean_fields(exclude={*(exclude or ()), self.secret_field})  # type: ignore[misc]

    @property
    def headers(self) -> dict[str, str]:
        """The receiver's own headers, ``{"name": "value"}`` (checked when set by
        ``oncall.webhooks.headers``)."""
        if not self.headers_json:
            return {}
        try:
            loaded = json.loads(self.headers_json)
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}

    @headers.setter
    def headers(self, value: dict[str, str]) -> None:
        self.headers_json = json.dumps(value) if value else ""

    def secret_overlap(self) -> timedelta:
        return timedelta(hours=getattr(settings, self.overlap_setting))

    def signing_secrets(self, now: datetime | None = None) -> list[str]:
        """The secrets that sign a request now: the current one, and the previous one while
        its rotation's overlap lasts."""
        now = now or timezone.now()
        keys = [self.current_secret]
        if self.previous_secret and self.previous_secret_until and self.previous_secret_until > now:
            keys.append(self.previous_secret)
        return keys

    def rotate_secret(self, now: datetime | None = None) -> str:
        """A new signing secret; the current one keeps signing besides it for the overlap, so
        that the receiver keeps verifying until it is given the new one. The row is locked:
        two rotations at once make the first's new secret the second's previous one. Returns
        the new secret, to be shown once."""
        now = now or timezone.now()
        fields = [self.secret_field, "previous_secret", "previous_secret_until"]
        with transaction.atomic():
            locked = type(self).objects.select_for_update().get(pk=self.pk)  # type: ignore[attr-defined]
            locked.previous_secret = locked.current_secret
            locked.previous_secret_until = now + self.secret_overlap()
            setattr(locked, self.secret_field, new_secret())
            locked.save(update_fields=fields)
        for name in fields:
            setattr(self, name, getattr(locked, name))
        return self.current_secret
