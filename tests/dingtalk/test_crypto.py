"""DingTalk's event subscription cryptography against DingTalk's own published values, and what
must be refused (a wrong key, a message for another app, a tampered text).

The published values are the check_url example at the end of ``DingCallbackCrypto3.py`` in
DingTalk's official helper repository, https://github.com/open-dingtalk/DingTalk-Callback-Crypto
(``DingCallbackCrypto3("mryue", "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7",
"ding6ccabc44d2c8d38b")`` and ``getDecryptMsg("03044561...", "1608001896814", "WL4PK6yA",
"0vJiX6vl...")``).
"""

from __future__ import annotations

import base64

import pytest

from integrations.dingtalk.client import crypto

# DingTalk's published example (see the module docstring).
TOKEN = "mryue"
AES_KEY = "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7"
OWNER = "ding6ccabc44d2c8d38b"
SIGNATURE = "03044561471240d4a14bb09372dfcfd4fd0e40cb"
TIMESTAMP = "1608001896814"
NONCE = "WL4PK6yA"
ENCRYPTED = (
    "0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvmBKyDC"
    "YxxOK+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3"
)
MESSAGE = '{"EventType":"check_url"}'
# The 16 random characters DingTalk put in front of that message (read by decrypting it).
PREFIX = "l7Y3EcX2CU5w8av3"


def test_it_computes_dingtalks_published_signature():
    assert crypto.signature(TOKEN, TIMESTAMP, NONCE, ENCRYPTED) == SIGNATURE


def test_it_opens_dingtalks_published_message():
    assert crypto.decrypt(AES_KEY, OWNER, ENCRYPTED) == MESSAGE


def test_it_seals_exactly_what_dingtalk_sealed_given_the_same_random_prefix():
    # The IV is the key's first 16 bytes, so the output is fixed once the prefix is.
    assert crypto.encrypt(AES_KEY, OWNER, MESSAGE, prefix=PREFIX) == ENCRYPTED


def test_it_pads_to_dingtalks_32_byte_blocks():
    raw = base64.b64decode(crypto.encrypt(AES_KEY, OWNER, "x" * 12))
    # 16 + 4 + 12 + len(OWNER)=20 -> 52 bytes of plaintext, padded to 64 (not to 48 or 56).
    assert len(raw) == 64


@pytest.mark.parametrize("message", ["success", "", "群名称 🚨", "x" * 5000])
def test_what_it_seals_it_opens(message):
    sealed = crypto.encrypt(AES_KEY, OWNER, message)
    assert crypto.decrypt(AES_KEY, OWNER, sealed) == message


def test_a_message_sealed_for_another_app_is_refused():
    sealed = crypto.encrypt(AES_KEY, "dingotherapp000000", MESSAGE)
    with pytest.raises(crypto.CryptoError, match="another app"):
        crypto.decrypt(AES_KEY, OWNER, sealed)


def test_a_message_sealed_with_another_key_is_refused():
    other_key = "o1w0aum42yaptlz8alnhwikjd3jenzt9cb9wmzptgus"
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt(other_key, OWNER, ENCRYPTED)


@pytest.mark.parametrize(
    "encrypted",
    [
        "not base64 at all!",
        base64.b64encode(b"short").decode(),
        ENCRYPTED[:-8] + "AAAAAAA=",  # the last block changed
    ],
)
def test_a_corrupted_text_is_refused(encrypted):
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt(AES_KEY, OWNER, encrypted)


def test_the_signature_depends_on_each_part_and_not_on_their_order():
    parts = [TOKEN, TIMESTAMP, NONCE, ENCRYPTED]
    assert crypto.signature(*parts) == crypto.signature(NONCE, ENCRYPTED, TOKEN, TIMESTAMP)
    for index in range(4):
        changed = list(parts)
        changed[index] += "1"
        assert crypto.signature(*changed) != SIGNATURE


def test_signatures_are_compared_as_hex_whatever_their_case():
    assert crypto.signatures_match(SIGNATURE, SIGNATURE.upper())
    assert not crypto.signatures_match(SIGNATURE, SIGNATURE[:-1] + "0")


def test_the_answer_carries_a_signature_over_its_own_timestamp_and_nonce():
    answer = crypto.sealed_answer(AES_KEY, OWNER, TOKEN, "success", timestamp="1", nonce="n")
    assert answer["msg_signature"] == crypto.signature(TOKEN, "1", "n", answer["encrypt"])
    assert crypto.decrypt(AES_KEY, OWNER, answer["encrypt"]) == "success"


@pytest.mark.parametrize(
    ("aes_key", "usable"),
    [
        (AES_KEY, True),
        (AES_KEY[:-1], False),
        (AES_KEY + "a", False),
        (AES_KEY[:-1] + "=", False),
        (AES_KEY[:-1] + "/", False),
    ],
)
def test_only_43_letters_and_digits_are_an_aes_key(aes_key, usable):
    assert (crypto.aes_key_problem(aes_key) is None) is usable
