"""The edge's one JSON reader (``oncall.jsonbody``): what it refuses, and what it replaces."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncall.jsonbody import MAX_DEPTH, InvalidJSON, decode, replacement_note, unstorable


def test_it_reads_ordinary_json_as_is():
    body = {"a": [1, 2.5, True, None, "ü 😀"], "b": {"c": "d"}}
    decoded = decode(json.dumps(body).encode())
    assert decoded.value == body
    assert decoded.replaced == []


def test_a_paired_surrogate_escape_is_a_real_character_and_stays():
    assert decode(b'{"t": "\\ud83d\\ude00"}').value == {"t": "😀"}


def test_it_replaces_nul_and_lone_surrogates_in_keys_and_values_and_says_where():
    raw = '{"alerts": [{"labels": {"te\\u0000am": "d\\ud800b", "ok": "x\\udfff"}}], "t": "\\u0000"}'
    decoded = decode(raw.encode())
    assert decoded.value == {
        "alerts": [{"labels": {"te\ufffdam": "d\ufffdb", "ok": "x\ufffd"}}],
        "t": "\ufffd",
    }
    assert decoded.replaced == [
        "alerts[0].labels.te\ufffdam",
        "alerts[0].labels.te\ufffdam",
        "alerts[0].labels.ok",
        "t",
    ]


def test_a_top_level_string_is_named_the_body():
    assert decode(b'"\\u0000"').replaced == ["the body"]


def test_text_given_as_str_with_a_lone_surrogate_is_cleaned_too():
    assert decode('["\ud800"]').value == ["\ufffd"]


def test_it_reads_exactly_max_depth_levels_and_refuses_one_more():
    assert decode("[" * MAX_DEPTH + "]" * MAX_DEPTH).value is not None
    with pytest.raises(InvalidJSON) as refused:
        decode("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert f"deeper than {MAX_DEPTH} levels" in refused.value.reason


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("[" * 100_000, "deeper than"),
        ('{"a": ' * 5000 + "1" + "}" * 5000, "deeper than"),
        ("9" * 4301, "4301 digits"),
        ("-" + "9" * 4301, "4301 digits"),
        ("NaN", "NaN is not a JSON value"),
        ("[Infinity]", "Infinity is not a JSON value"),
        ("1e999", "too large"),
        ("-1e999", "too large"),
        ("{", "not valid JSON"),
        ("", "not valid JSON"),
    ],
)
def test_it_refuses_what_it_cannot_read_with_the_reason(raw, reason):
    with pytest.raises(InvalidJSON) as refused:
        decode(raw.encode())
    assert reason in refused.value.reason


def test_it_refuses_bytes_that_are_not_utf8():
    with pytest.raises(InvalidJSON) as refused:
        decode(b'{"t": "\xff"}')
    assert refused.value.reason == "The body is not UTF-8 text."


def test_the_longest_integer_python_converts_is_read():
    assert decode(("9" * 4300).encode()).value == int("9" * 4300)


def test_unstorable_names_nul_and_lone_surrogates_only():
    assert all(unstorable(text) for text in ["a\x00", "\ud800", "\udfff"])
    assert not unstorable("😀 ü \x01 \ufffd")


def test_the_note_names_ten_paths_and_counts_the_rest():
    assert replacement_note([]) is None
    note = replacement_note([f"p{i}" for i in range(12)])
    assert "p0, p1" in note
    assert "p9 and 2 more" in note
    assert "p10" not in note


NASTY_TEXT = st.text(alphabet=st.sampled_from(["a", "\x00", "\ud800", "\udc00", "é", "😀"]))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | NASTY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(NASTY_TEXT, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(value=JSON)
def test_whatever_it_returns_can_be_stored_as_utf8(value):
    decoded = decode(json.dumps(value).encode())
    text = json.dumps(decoded.value, ensure_ascii=False)
    text.encode("utf-8")  # no lone surrogate left
    assert "\x00" not in text
    assert bool(decoded.replaced) == any(unstorable(text) for text in strings(value))


def strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in strings(item)]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in [key, *strings(item)]]
    return []
