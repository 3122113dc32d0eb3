"""A Chinese-speaking admin follows the Feishu guide (shared/seeds/feishu-integration-guide.zh.md)
step by step against the Feishu app's admin pages: every term the guide names for a place in the
Feishu developer console, or for a value the console shows, is on the page in the guide's words."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import FeishuAppFactory
from tests.zh_text import visible_text

pytestmark = pytest.mark.django_db

CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}

# 二、添加飞书集成: what the admin copies from the Feishu developer console into the add form.
ADD_PAGE_TERMS = [
    "凭证与基础信息",  # 一、2. 复制凭证信息
    "App ID",
    "App Secret",
    "事件与回调",  # 一、3. 开发配置 → 事件与回调 → 加密策略
    "加密策略",
    "Encrypt Key",
    "Verification Token",
]

# 二 and 三, 四: what the app's page shows and the steps the admin then takes in Feishu.
CHANGE_PAGE_TERMS = [
    "网页配置",  # the three addresses the guide says the integration's page shows
    "重定向 URL",
    "消息卡片请求网址",
    "添加应用能力",  # 三、1.1 添加应用能力 → 按能力添加: 网页应用 and 机器人
    "按能力添加",
    "网页应用",
    "机器人",
    "桌面端主页",  # 三、1.2
    "移动端主页",
    "事件与回调",  # 三、1.3 (the guide's 事件回调 → 回调配置)
    "回调配置",
    "安全设置",  # 三、2
    "权限管理",  # 三、3
    "im:chat",
    "im:message",
    "可见范围",  # 四
    "应用发布",
    "工作台",  # 飞书 → 工作台 → 打开应用, to link each account
    "加密策略",
    "Encrypt Key",
    "Verification Token",
    "App Secret",
]


def chinese_page(client, url: str) -> str:
    response = client.get(url, **CHINESE)
    assert response.status_code == 200
    return visible_text(response.content.decode(), with_code=True)


def test_it_names_what_to_copy_from_feishu_as_the_guide_does(admin_client):
    text = chinese_page(admin_client, reverse("admin:integrations_feishuapp_add"))

    missing = [term for term in ADD_PAGE_TERMS if term not in text]

    assert missing == []


def test_it_names_every_step_of_the_guide_on_the_apps_page(admin_client):
    app = FeishuAppFactory()

    text = chinese_page(admin_client, reverse("admin:integrations_feishuapp_change", args=[app.pk]))

    missing = [term for term in CHANGE_PAGE_TERMS if term not in text]

    assert missing == []


def test_the_english_page_keeps_the_guides_words_beside_the_english_ones(admin_client):
    app = FeishuAppFactory()

    response = admin_client.get(
        reverse("admin:integrations_feishuapp_change", args=[app.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    text = visible_text(response.content.decode())

    assert "Web configuration URL (网页配置)" in text
    assert "Security Settings (安全设置)" in text
    assert "Message card request URL (消息卡片请求网址)" in text
