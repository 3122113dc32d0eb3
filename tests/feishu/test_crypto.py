"""Feishu callback crypto against the published test vector and values computed elsewhere
(``openssl dgst``), not by the code under test."""

from __future__ import annotations

import json

import pytest

from integrations.feishu.client import crypto

BODY = b'{"schema":"2.0","header":{"event_type":"im.chat.disbanded_v1"}}'


def test_it_decrypts_feishus_published_test_vector():
    assert crypto.decrypt("test key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=") == (
        "hello world"
    )


def test_what_it_encrypts_decrypts_back():
    payload = json.dumps({"challenge": "ajls384kdjx98XX", "type": "url_verification"})
    sealed = crypto.encrypt("my-encrypt-key", payload)
    assert sealed != crypto.encrypt("my-encrypt-key", payload)  # a fresh IV every time
    assert crypto.decrypt("my-encrypt-key", sealed) == payload


@pytest.mark.parametrize(
    ("encrypted", "reason"),
    [
        ("not base64!", "not base64"),
        ("aGVsbG8=", "wrong length"),
    ],
)
def test_malformed_encrypted_bodies_are_refused(encrypted, reason):
    with pytest.raises(crypto.DecryptError, match=reason):
        crypto.decrypt("test key", encrypted)


def test_a_wrong_key_is_refused_without_echoing_it():
    with pytest.raises(crypto.DecryptError) as error:
        crypto.decrypt("another key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=")
    assert "another key" not in str(error.value)


def test_the_event_signature_matches_an_independent_sha256():
    # printf '%s' "1700000000nonce-1my-encrypt-key$BODY" | openssl dgst -sha256
    expected = "7dd2916cd6b1ddf235856fbed9dddf8655aee4b437596c5ef1d12fd889991f99"
    assert crypto.event_signature("1700000000", "nonce-1", "my-encrypt-key", BODY) == expected


def test_the_old_card_signature_matches_an_independent_sha1():
    # printf '%s' "1700000000nonce-1my-verification-token$BODY" | openssl dgst -sha1
    expected = "7ceec3c69f17f5e5773e1a6e0d6dc6c53a181456"
    assert (
        crypto.card_v1_signature("1700000000", "nonce-1", "my-verification-token", BODY) == expected
    )


def test_signatures_compare_exactly():
    signature = crypto.event_signature("1", "n", "k", BODY)
    assert crypto.signatures_match(signature, signature.upper())
    flipped = signature[:-1] + ("1" if signature[-1] == "0" else "0")
    assert not crypto.signatures_match(signature, flipped)
    assert not crypto.signatures_match(signature, "")
