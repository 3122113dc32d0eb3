"""API and push errors: a stable English ``code`` and a ``message`` in the language the request
asks for (``Accept-Language``); what the console stores of a refused push stays in English."""

from __future__ import annotations

import pytest

from oncall.models import RefusedPush
from tests.factories import AlertSourceFactory, ChannelFactory, UserFactory, api_as

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def error_of(response) -> dict:
    return response.json()["error"]


@pytest.fixture
def root():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def source(channel):
    return AlertSourceFactory(channel=channel)


def test_a_validation_error_is_said_in_the_request_language(root):
    api = api_as(root)

    chinese = error_of(api.post("/api/v1/channels/", {}, format="json", **ZH))
    english = error_of(api.post("/api/v1/channels/", {}, format="json", **EN))

    assert chinese["code"] == english["code"] == "invalid"
    assert english["message"] == "The request is not valid; see fields."
    assert chinese["message"] == "请求无效；请查看各字段。"  # noqa: RUF001 (Chinese punctuation)
    assert english["fields"]["name"] == ["This field is required."]
    assert chinese["fields"]["name"] == ["该字段是必填项。"]


def test_a_404_is_said_in_the_request_language(root):
    api = api_as(root)
    missing = "/api/v1/incidents/8f0c5f7e-4d2a-4c67-9a35-2f6d0d0a1b2c/"

    chinese, english = error_of(api.get(missing, **ZH)), error_of(api.get(missing, **EN))

    assert chinese["code"] == english["code"] == "not_found"
    assert english["message"] == "Not found."
    assert chinese["message"] == "未找到。"


def test_a_permission_error_is_said_in_the_request_language(responder):
    api = api_as(responder)  # no staff permission to manage channels
    channel = ChannelFactory(name="db")

    def refused(headers):
        path = f"/api/v1/channels/{channel.public_id}/"
        response = api.patch(path, {"name": "x"}, format="json", **headers)
        assert response.status_code == 403
        return error_of(response)

    chinese, english = refused(ZH), refused(EN)
    assert chinese["code"] == english["code"] == "permission_denied"
    assert english["message"].startswith("Only staff with the permission")
    assert chinese["message"].startswith("只有拥有")


def test_a_wrong_push_token_is_said_in_the_request_language(client):
    def refused(headers):
        response = client.post(
            "/push/not-a-token", data="{}", content_type="application/json", **headers
        )
        assert response.status_code == 401
        return error_of(response)

    chinese, english = refused(ZH), refused(EN)
    assert chinese["code"] == english["code"] == "invalid_token"
    assert english["message"] == "No alert source has this push token."
    assert chinese["message"] == "没有告警源使用这个推送令牌。"


def test_a_push_of_bad_json_is_said_in_the_request_language_and_stored_in_english(client, source):
    def refused(headers):
        response = client.post(
            f"/push/{source.token}", data="{oops", content_type="application/json", **headers
        )
        assert response.status_code == 400
        return error_of(response)

    chinese, english = refused(ZH), refused(EN)
    assert chinese["code"] == english["code"] == "invalid_json"
    assert english["message"].startswith("The body is not valid JSON: ")
    assert chinese["message"].startswith("请求体不是有效的 JSON：")  # noqa: RUF001
    stored = RefusedPush.objects.filter(source=source).values_list("message", flat=True)
    assert all(message.startswith("The body is not valid JSON: ") for message in stored)
    assert len(stored) == 2
