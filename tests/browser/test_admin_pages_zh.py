"""The admin in Chinese, in a real browser, on a desktop and on a phone (390 x 844): the home page
and a Feishu app's page, whose steps use the Feishu guide's words. Their screenshots are the
artefacts an admin reviews (``test-artifacts/browser/``)."""

from __future__ import annotations

import pytest
from django.conf import settings
from selenium.webdriver.common.by import By

from tests import factories
from tests.browser.pages import (
    DESKTOP_SCREEN,
    SMALL_PHONE_SCREEN,
    script_errors,
    sign_in_to_the_admin,
)

pytestmark = pytest.mark.browser

SCREENS = pytest.mark.parametrize(
    "browser", [DESKTOP_SCREEN, SMALL_PHONE_SCREEN], indirect=True, ids=["desktop", "phone"]
)


def read_in_chinese(browser, live_server) -> None:
    """Sign in, then choose Chinese as a person does once (the language cookie)."""
    sign_in_to_the_admin(browser, live_server)
    browser.add_cookie({"name": settings.LANGUAGE_COOKIE_NAME, "value": "zh-hans", "path": "/"})


@SCREENS
def test_the_admin_home_is_in_chinese(
    transactional_db, browser, screenshot, console_over_http, live_server
):
    factories.ChannelFactory(name="Payments")
    read_in_chinese(browser, live_server)

    browser.get(f"{live_server.url}/admin/")
    screenshot("admin-home-zh")

    page = browser.find_element(By.TAG_NAME, "body").text
    assert "协作空间" in page
    assert "飞书应用" in page
    assert script_errors(browser) == []


@SCREENS
def test_the_feishu_app_page_follows_the_guide_in_chinese(
    transactional_db, browser, screenshot, console_over_http, live_server
):
    app = factories.FeishuAppFactory(name="Ops bot")
    read_in_chinese(browser, live_server)

    browser.get(f"{live_server.url}/admin/integrations/feishuapp/{app.pk}/change/")
    screenshot("feishu-app-zh")

    page = browser.find_element(By.TAG_NAME, "body").text
    for term in ("网页配置", "重定向 URL", "消息卡片请求网址", "事件与回调", "加密策略"):
        assert term in page
    assert script_errors(browser) == []
