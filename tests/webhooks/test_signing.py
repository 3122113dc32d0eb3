"""Standard Webhooks signing (oncall/webhooks/signing.py), checked by the reference verifier."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from oncall.webhooks import signing

BODY = b'{"event_type":"i_new"}'


def test_a_new_secret_is_whsec_and_base64_of_32_bytes():
    secret = signing.new_secret()

    assert secret.startswith("whsec_")
    assert len(signing.secret_key(secret)) == 32
    assert secret != signing.new_secret()


def test_the_reference_library_verifies_a_signed_request_unchanged():
    secret = signing.new_secret()
    headers = signing.sign([secret], "msg_1", BODY)

    assert Webhook(secret).verify(BODY, headers) == {"event_type": "i_new"}


def test_during_a_rotation_both_secrets_verify():
    old, new = signing.new_secret(), signing.new_secret()
    headers = signing.sign([new, old], "msg_2", BODY)

    assert Webhook(old).verify(BODY, headers)
    assert Webhook(new).verify(BODY, headers)
    assert signing.verify(old, headers, BODY)
    assert signing.verify(new, headers, BODY)


def test_another_secret_or_a_changed_body_does_not_verify():
    headers = signing.sign([signing.new_secret()], "msg_3", BODY)

    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(BODY, headers)
    assert not signing.verify(signing.new_secret(), headers, BODY)


def test_the_signature_covers_id_timestamp_and_body():
    secret = signing.new_secret()
    headers = signing.sign([secret], "msg_4", BODY, timestamp=1_700_000_000)

    assert signing.verify(secret, headers, BODY)
    assert not signing.verify(secret, {**headers, "webhook-id": "msg_5"}, BODY)
    assert not signing.verify(secret, {**headers, "webhook-timestamp": "1700000001"}, BODY)
    assert not signing.verify(secret, headers, BODY + b" ")


@pytest.mark.parametrize("bad", ["", "secret", "whsec_", "whsec_!!!", "whsec_c2hvcnQ="])
def test_a_malformed_secret_is_refused(bad):
    with pytest.raises(signing.InvalidSecret):
        signing.secret_key(bad)


def test_signing_needs_a_secret():
    with pytest.raises(signing.InvalidSecret):
        signing.sign([], "msg_6", BODY)
