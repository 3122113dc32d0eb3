"""Factories of the DingTalk tests' rows."""

from __future__ import annotations

import factory

# 43 letters and digits, as DingTalk generates them (fixed so that tests can seal messages).
AES_KEY = "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7"


class DingTalkAppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "dingtalk.DingTalkApp"

    name = factory.Sequence(lambda n: f"DingTalk app {n}")
    platform = "dingtalk"
    corp_id = factory.Sequence(lambda n: f"ding{n:016x}")
    agent_id = factory.Sequence(lambda n: str(3000000000 + n))
    client_id = factory.Sequence(lambda n: f"dingclient{n:010d}")
    client_secret = factory.Sequence(lambda n: f"client-secret-{n}-7f3e2d1c")
    aes_key = AES_KEY
    signature_token = factory.Sequence(lambda n: f"signaturetoken{n}x9")


class DingTalkGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "dingtalk.DingTalkGroup"

    app = factory.SubFactory(DingTalkAppFactory)
    open_conversation_id = factory.Sequence(lambda n: f"cid{n:022d}")
    name = factory.Sequence(lambda n: f"Group {n}")
