"""Fixtures the Feishu tests share."""

from __future__ import annotations

import pytest

from tests.factories import FeishuAppFactory


@pytest.fixture
def app():
    return FeishuAppFactory()


@pytest.fixture
def plain_app():
    """An app without an Encrypt Key: nothing is encrypted or signed, the token authenticates."""
    return FeishuAppFactory(encrypt_key="")
