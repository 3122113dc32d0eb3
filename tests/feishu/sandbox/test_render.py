"""The card renderer: every element kind, colours, escaping, and cards it cannot draw."""

from __future__ import annotations

import json

import pytest

from integrations.feishu_sandbox.render import (
    ClickForm,
    find_element,
    looks_like_card,
    render_card,
    render_message,
    render_post,
    render_text,
)

CLICK = ClickForm("/sandbox/feishu/client/u1/cards/om_1/click", "csrf-token", {"format": "old"})
SCRIPT = "<script>alert(1)</script>"


def plain(content: str) -> dict:
    return {"tag": "plain_text", "content": content}


def md(content: str) -> dict:
    return {"tag": "lark_md", "content": content}


def card(*elements: dict, header: dict | None = None) -> dict:
    built: dict = {"config": {"update_multi": True}, "elements": list(elements)}
    if header is not None:
        built["header"] = header
    return built


def html_of(*elements: dict, click: ClickForm | None = CLICK, names=None) -> str:
    return str(render_card(json.dumps(card(*elements)), click=click, names=names))


# --- Header -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    ["red", "orange", "yellow", "green", "blue", "grey", "turquoise", "purple", "carmine"],
)
def test_it_colours_the_header_with_the_template_class(template):
    html = str(render_card(card(header={"title": plain("Disk full"), "template": template})))

    assert f'class="card-header card-template-{template}"' in html
    assert "Disk full" in html


def test_it_draws_an_unknown_template_like_default():
    html = str(render_card(card(header={"title": plain("x"), "template": 'neon" onclick="x'})))

    assert "card-template-default" in html
    assert "onclick" not in html


def test_it_shows_a_header_subtitle():
    html = str(render_card(card(header={"title": plain("T"), "subtitle": plain("Sub")})))

    assert '<div class="card-subtitle">Sub</div>' in html


# --- Text -------------------------------------------------------------------------------------


def test_it_formats_lark_md_bold_italic_strike_and_newlines():
    html = html_of({"tag": "div", "text": md("**Sev1** is *now* ~~closed~~\nline two")})

    assert "<strong>Sev1</strong> is <em>now</em> <del>closed</del><br>line two" in html


def test_it_links_https_urls_in_lark_md():
    html = html_of(
        {"tag": "div", "text": md("see [the runbook](https://wiki.example.com/r?a=1&b=2)")}
    )

    assert (
        '<a href="https://wiki.example.com/r?a=1&amp;b=2" target="_blank" '
        'rel="noopener noreferrer">the runbook</a>'
    ) in html


def test_it_never_links_a_javascript_url():
    html = html_of({"tag": "div", "text": md("[click](javascript:alert(1))")})

    assert "href" not in html
    assert "click" in html


def test_it_names_mentions_from_the_directory_and_says_all_for_everyone():
    html = html_of(
        {"tag": "div", "text": md("<at id=ou_abc></at> and <at id=all></at> please look")},
        names={"ou_abc": "Alice Chen"},
    )

    assert '<span class="mention">@Alice Chen</span> and <span class="mention">@all</span>' in html


def test_it_shows_an_unknown_mention_by_its_id():
    html = html_of({"tag": "div", "text": md('<at email="x@example.com"></at>')})

    assert "@x@example.com" in html


def test_it_colours_font_tags_with_known_colours_only():
    html = html_of(
        {"tag": "div", "text": md("<font color='red'>down</font> <font color=x1>up</font>")}
    )

    assert '<span class="card-font-red">down</span>' in html
    assert '<span class="card-font-default">up</span>' in html


def test_it_escapes_plain_text_and_keeps_its_asterisks():
    html = html_of({"tag": "div", "text": plain("**not bold** <b>x</b>")})

    assert "**not bold** &lt;b&gt;x&lt;/b&gt;" in html


# --- Elements -----------------------------------------------------------------------------------


def test_it_lays_short_fields_in_two_columns_and_long_ones_across():
    html = html_of(
        {
            "tag": "div",
            "fields": [
                {"is_short": True, "text": md("**Service**\napi")},
                {"is_short": False, "text": md("**Summary**\nlatency")},
            ],
        }
    )

    assert '<div class="card-field card-field-short"><strong>Service</strong><br>api</div>' in html
    assert (
        '<div class="card-field card-field-long"><strong>Summary</strong><br>latency</div>' in html
    )


def test_it_draws_a_divider():
    assert '<hr class="card-hr">' in html_of({"tag": "hr"})


def test_it_draws_a_note_with_text_markdown_and_image_alt():
    html = html_of(
        {
            "tag": "note",
            "elements": [
                plain("Fired 3 times"),
                md("by **alertmanager**"),
                {"tag": "img", "img_key": "img_1", "alt": plain("logo")},
            ],
        }
    )

    assert '<div class="card-note">' in html
    assert "Fired 3 times" in html
    assert "by <strong>alertmanager</strong>" in html
    assert 'aria-label="logo"' in html


def test_it_draws_a_markdown_element_with_its_alignment():
    html = html_of(
        {
            "tag": "markdown",
            "content": "**Runbook**: [open](https://r.example.com)",
            "text_align": "center",
        }
    )

    assert '<div class="card-markdown card-align-center"><strong>Runbook</strong>' in html
    assert 'href="https://r.example.com"' in html


def test_it_shows_an_image_by_its_alt_text_without_fetching_it():
    html = html_of({"tag": "img", "img_key": "img_v2_123", "alt": plain("Latency graph")})

    assert "Latency graph" in html
    assert "<img" not in html
    assert "img_v2_123" not in html


def test_it_draws_columns():
    html = html_of(
        {
            "tag": "column_set",
            "columns": [
                {"tag": "column", "elements": [{"tag": "div", "text": plain("left")}]},
                {"tag": "column", "elements": [{"tag": "div", "text": plain("right")}]},
            ],
        }
    )

    assert html.count('<div class="card-column">') == 2


@pytest.mark.parametrize("kind", ["primary", "default", "danger"])
def test_it_posts_a_value_button_with_its_pointer_and_the_csrf_token(kind):
    html = html_of(
        {"tag": "hr"},
        {
            "tag": "action",
            "actions": [
                {
                    "tag": "button",
                    "text": plain("Claim"),
                    "type": kind,
                    "value": {"action": "claim"},
                }
            ],
        },
    )

    assert f'action="{CLICK.url}"' in html
    assert '<input type="hidden" name="csrfmiddlewaretoken" value="csrf-token">' in html
    assert '<input type="hidden" name="format" value="old">' in html
    assert '<input type="hidden" name="element" value="elements/1/actions/0">' in html
    assert f'<button type="submit" class="card-button card-button-{kind}">Claim</button>' in html
    # The value stays on the server: the click view reads it from the stored card.
    assert "claim" not in html.replace("Claim", "")


def test_it_draws_a_url_button_as_a_link():
    html = html_of(
        {
            "tag": "action",
            "actions": [
                {"tag": "button", "text": plain("Open"), "url": "https://console.example.com/i/1"}
            ],
        }
    )

    assert (
        '<a class="card-button card-button-default" href="https://console.example.com/i/1"' in html
    )
    assert "<form" not in html


def test_it_draws_a_multi_url_button_with_its_pc_url():
    html = html_of(
        {
            "tag": "action",
            "actions": [
                {
                    "tag": "button",
                    "text": plain("Open"),
                    "multi_url": {
                        "url": "https://a.example.com",
                        "pc_url": "https://pc.example.com",
                    },
                }
            ],
        }
    )

    assert 'href="https://pc.example.com"' in html


def test_it_keeps_a_button_with_an_unsafe_url_inert():
    html = html_of(
        {
            "tag": "action",
            "actions": [{"tag": "button", "text": plain("Go"), "url": "javascript:alert(1)"}],
        }
    )

    assert "href" not in html
    assert "card-disabled" in html


def test_it_asks_for_confirmation_when_the_button_has_a_confirm():
    html = html_of(
        {
            "tag": "action",
            "actions": [
                {
                    "tag": "button",
                    "text": plain("Close"),
                    "value": {},
                    "confirm": {"title": plain("Close it?"), "text": plain("Everyone is told.")},
                }
            ],
        }
    )

    assert 'data-confirm="Close it?\nEveryone is told."' in html


def test_it_draws_buttons_inert_without_a_click_target():
    html = html_of(
        {"tag": "action", "actions": [{"tag": "button", "text": plain("Ack"), "value": {}}]},
        click=None,
    )

    assert "<form" not in html
    assert "disabled" in html


def test_it_posts_the_chosen_option_of_a_static_select():
    html = html_of(
        {
            "tag": "action",
            "actions": [
                {
                    "tag": "select_static",
                    "placeholder": plain("Snooze for"),
                    "initial_option": "2h",
                    "options": [
                        {"text": plain("1 hour"), "value": "1h"},
                        {"text": plain("2 hours"), "value": "2h"},
                    ],
                    "value": {"action": "snooze"},
                }
            ],
        }
    )

    assert '<input type="hidden" name="element" value="elements/0/actions/0">' in html
    assert '<select name="option" class="card-select" data-autosubmit>' in html
    assert '<option value="" disabled>Snooze for</option>' in html
    assert '<option value="1h">1 hour</option>' in html
    assert '<option value="2h" selected>2 hours</option>' in html


def test_it_posts_the_chosen_option_of_an_overflow_menu():
    html = html_of(
        {
            "tag": "action",
            "actions": [
                {
                    "tag": "overflow",
                    "options": [
                        {"text": plain("Escalate"), "value": "escalate"},
                        {"text": plain("Runbook"), "url": "https://r.example.com"},
                    ],
                }
            ],
        }
    )

    assert '<details class="card-overflow">' in html
    assert '<button type="submit" name="option" value="escalate">Escalate</button>' in html
    assert 'href="https://r.example.com"' in html


def test_it_shows_a_date_picker_as_unsupported():
    html = html_of({"tag": "action", "actions": [{"tag": "date_picker", "value": {}}]})

    assert '<div class="card-unsupported">Unsupported element: date_picker</div>' in html


def test_it_notes_an_unknown_element_and_draws_the_rest():
    html = html_of({"tag": "chart", "chart_spec": {}}, {"tag": "div", "text": plain("still here")})

    assert "Unsupported element: chart" in html
    assert "still here" in html


def test_it_draws_the_english_version_of_an_i18n_card():
    content = {
        "i18n_elements": {
            "zh_cn": [{"tag": "div", "text": plain("中文")}],
            "en_us": [{"tag": "div", "text": plain("English")}],
        }
    }

    html = str(render_card(content))

    assert "English" in html
    assert "中文" not in html


def test_it_draws_a_json_2_card_body_with_standalone_buttons():
    content = {
        "schema": "2.0",
        "header": {"title": plain("v2"), "template": "green"},
        "body": {"elements": [{"tag": "button", "text": plain("Ack"), "value": {"a": 1}}]},
    }

    html = str(render_card(content, click=CLICK))

    assert 'name="element" value="body/elements/0"' in html
    assert "card-template-green" in html


def test_it_says_it_cannot_draw_a_template_card():
    html = str(render_card({"type": "template", "data": {"template_id": "ctp_1"}}))

    assert "Unsupported element: a card built from template ctp_1" in html


# --- Escaping ---------------------------------------------------------------------------------

EVERY_TEXT_SPOT = {
    "header title": {"header": {"title": plain(SCRIPT)}, "elements": []},
    "header subtitle": {"header": {"title": plain("t"), "subtitle": plain(SCRIPT)}, "elements": []},
    "div plain_text": card({"tag": "div", "text": plain(SCRIPT)}),
    "div lark_md": card({"tag": "div", "text": md(SCRIPT)}),
    "lark_md bold": card({"tag": "div", "text": md(f"**{SCRIPT}**")}),
    "lark_md link text": card({"tag": "div", "text": md(f"[{SCRIPT}](https://x.example.com)")}),
    "lark_md mention": card({"tag": "div", "text": md(f"<at id=ou_1>{SCRIPT}</at>")}),
    "lark_md font": card({"tag": "div", "text": md(f"<font color=red>{SCRIPT}</font>")}),
    "field": card({"tag": "div", "fields": [{"is_short": True, "text": md(SCRIPT)}]}),
    "note": card({"tag": "note", "elements": [plain(SCRIPT), md(SCRIPT)]}),
    "note image alt": card({"tag": "note", "elements": [{"tag": "img", "alt": plain(SCRIPT)}]}),
    "markdown": card({"tag": "markdown", "content": SCRIPT}),
    "img alt": card({"tag": "img", "alt": plain(SCRIPT)}),
    "button text": card(
        {"tag": "action", "actions": [{"tag": "button", "text": plain(SCRIPT), "value": {}}]}
    ),
    "button confirm": card(
        {
            "tag": "action",
            "actions": [{"tag": "button", "text": plain("b"), "confirm": {"title": plain(SCRIPT)}}],
        }
    ),
    "select placeholder and options": card(
        {
            "tag": "action",
            "actions": [
                {
                    "tag": "select_static",
                    "placeholder": plain(SCRIPT),
                    "options": [{"text": plain(SCRIPT), "value": f'"><{SCRIPT}'}],
                }
            ],
        }
    ),
    "overflow options": card(
        {
            "tag": "action",
            "actions": [{"tag": "overflow", "options": [{"text": plain(SCRIPT), "value": SCRIPT}]}],
        }
    ),
    "unknown tag": card({"tag": SCRIPT}),
    "malformed card's raw JSON": {"elements": SCRIPT},
}


@pytest.mark.parametrize("spot", sorted(EVERY_TEXT_SPOT))
def test_it_escapes_script_in_every_text_spot(spot):
    html = str(render_card(json.dumps(EVERY_TEXT_SPOT[spot]), click=CLICK, names={"ou_1": SCRIPT}))

    assert "<script" not in html.lower()
    assert "&lt;script&gt;" in html


def test_it_drops_a_link_whose_url_could_break_out_of_its_attribute():
    html = html_of({"tag": "div", "text": md('[a](https://x.example.com/"><script>)')})

    assert "<script" not in html
    assert "href" not in html


def test_it_escapes_the_click_target_and_hidden_fields():
    click = ClickForm('/c"><script>', 'tok"><script>', {"format": '"><script>'})

    html = html_of(
        {"tag": "action", "actions": [{"tag": "button", "text": plain("b")}]}, click=click
    )

    assert "<script" not in html


# --- Cards that cannot be drawn -----------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[1, 2]",
        json.dumps({"elements": "div"}),
        json.dumps({"elements": ["div"]}),
        json.dumps({"elements": [{"tag": "div", "fields": ["x"]}]}),
        json.dumps({"config": {}}),
        json.dumps({"schema": "2.0", "body": []}),
    ],
)
def test_it_shows_a_malformed_card_as_cannot_be_shown_with_its_raw_json(content):
    html = str(render_card(content))

    assert "This card cannot be shown." in html
    assert '<pre class="card-raw">' in html


def test_it_escapes_the_raw_json_of_a_malformed_card():
    html = str(render_card('{"elements": 1, "x": "</pre><script>"}'))

    assert "&lt;/pre&gt;&lt;script&gt;" in html


# --- Other message types and helpers ------------------------------------------------------------


def test_it_shows_a_text_message_with_its_mentions_escaped():
    content = json.dumps({"text": '<at user_id="ou_bot">On-call bot</at> ack <b>now</b>'})

    html = str(render_text(content))

    assert html == (
        '<div class="msg-text"><span class="mention">@On-call bot</span> ack '
        "&lt;b&gt;now&lt;/b&gt;</div>"
    )


def test_it_does_not_apply_markdown_to_a_text_message():
    html = str(render_message("text", json.dumps({"text": "**x** [a](https://a.example.com)"})))

    assert "<strong>" not in html
    assert "href" not in html


def test_it_shows_a_post_message():
    content = json.dumps(
        {
            "zh_cn": {
                "title": "Weekly",
                "content": [
                    [
                        {"tag": "text", "text": "See "},
                        {"tag": "a", "href": "https://w.example.com", "text": "the report"},
                        {"tag": "at", "user_id": "ou_1", "user_name": "Alice"},
                    ]
                ],
            }
        }
    )

    html = str(render_post(content))

    assert '<div class="msg-post-title">Weekly</div>' in html
    assert 'href="https://w.example.com"' in html
    assert "@Alice" in html


def test_it_shows_a_broken_text_message_as_cannot_be_shown():
    assert "This message cannot be shown." in str(render_text("not json"))


def test_it_finds_the_clicked_element_by_its_pointer():
    content = card(
        {"tag": "div", "text": plain("x")},
        {"tag": "action", "actions": [{"tag": "button", "value": {"a": 1}}]},
    )

    assert find_element(content, "elements/1/actions/0") == {"tag": "button", "value": {"a": 1}}
    assert find_element(content, "elements/0") is None  # not interactive
    assert find_element(content, "elements/1/actions/5") is None
    assert find_element(content, "elements/x") is None
    assert find_element(content, "") is None


def test_it_recognises_what_looks_like_a_card():
    assert looks_like_card({"elements": []})
    assert looks_like_card({"header": {}})
    assert not looks_like_card({})
    assert not looks_like_card({"toast": {}})
    assert not looks_like_card([])


def test_numeric_entities_in_lark_md_show_the_character_and_stay_text():
    html = html_of({"tag": "div", "text": md("a&#95;b &#60;x&#62;")})
    assert "a&#95;b" in html
    assert "&#60;x&#62;" in html
    assert "<x>" not in html
