"""The card's body: the notification template's DingTalk medium.

The body is what the incident's notification template renders for ``dingtalk_card`` (the
channel's or rule's template, else :data:`DEFAULT_BODY`, the knowledge base's DingTalk default:
the first alert's ``body_text`` label or its description, the ``resource`` label, every other
label, and its images by URL through ``imageSrcToURL``, which is how the knowledge base says
DingTalk apps render images). The header, status and buttons are the card's own, around it.

Values are escaped for DingTalk's card Markdown: an alert cannot add a link, an image, a font
tag or emphasis of its own; the template's own text may.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from oncall.notify.engine import Medium

# Characters DingTalk's Markdown gives a meaning to; HTML numeric entities show them as text.
_MARKDOWN_SPECIALS = "&<>*_~`[]()#!\\|"
_MARKDOWN_ESCAPES = str.maketrans({char: f"&#{ord(char)};" for char in _MARKDOWN_SPECIALS})


def escape_markdown(text: str) -> str:
    """``text`` shown literally in a card's Markdown."""
    return text.translate(_MARKDOWN_ESCAPES)


DEFAULT_BODY = """\
{% if Labels.body_text %}
{{ clip(Labels.body_text, 2000) }}
{% elif Description %}
{{ clip(Description, 2000) }}
{% endif %}
{% if Labels.resource %}
**resource**: {{ oneLine(clip(joinAlertLabels(root, "resource", ", "), 500)) }}
{% endif %}
{% for key, value in Labels|dictsort(true)
   if key not in ["resource", "body_text", "body_text_with_table"] %}
**{{ oneLine(clip(key, 100)) }}**: {{ oneLine(clip(value, 500)) }}
{% endfor %}
{% for v in Images %}
{% set url = imageSrcToURL(root, v.Src) %}
{% if url %}
![{{ oneLine(clip(v.Alt, 100)) }}]({{ url }})
{% endif %}
{% endfor %}
"""

# DingTalk's card data is a string of at most some tens of KB (unsure of the exact limit for
# StandardCard; 20 KB keeps clear of every figure its documents give).
BODY_MAX_CHARS = 6000

DINGTALK_CARD = Medium(
    name="dingtalk_card",
    label=gettext_lazy("DingTalk card body"),
    escape=escape_markdown,
    max_chars=BODY_MAX_CHARS,
    default=DEFAULT_BODY,
    syntax=gettext_lazy(
        "Markdown: **bold**, [text](https://...), ![alt](https://image...), line breaks"
    ),
)
