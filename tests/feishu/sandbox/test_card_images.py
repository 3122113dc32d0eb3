"""Alert images on Feishu cards, end to end: an alert pushed with an image opens an incident,
its card is delivered to the sandbox carrying the key the sandbox's image API returned, and
images that cannot be uploaded leave the card without them, never without the card.

The images are served by a small HTTP server on loopback; the outbound guard's resolver
(``fake_dns``) gives its names, and loopback is allow-listed as in every sandbox test."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.feishu.cards import delivery, images
from integrations.feishu.cards.body import split_images
from integrations.feishu.cards.images import CardImages, image_format
from integrations.feishu.cards.render import incident_card
from integrations.feishu.client import errors
from integrations.feishu.models import UploadedImage
from integrations.feishu_sandbox.models import ApiCall, Fault, SandboxImage, SandboxMessage
from integrations.feishu_sandbox.render import render_card
from oncall import lifecycle
from oncall.models import Incident, NotificationTemplate
from oncall.timeline import Actor
from tests.factories import AlertSourceFactory, UserFactory
from tests.feishu.sandbox.world import link

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
GIF = b"GIF89a" + b"\x01\x00\x01\x00" + b"\x00" * 64


class _Images(BaseHTTPRequestHandler):
    hits: Counter = Counter()

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        _Images.hits[path] += 1
        if path == "/graph.png":
            self._answer(200, "image/png", PNG)
        elif path == "/spinner.gif":
            self._answer(200, "image/gif", GIF)
        elif path == "/page.png":
            self._answer(200, "text/html", b"<html><body>not an image</body></html>")
        elif path == "/moved.png":
            self.send_response(302)
            self.send_header("Location", "/graph.png")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/slow.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG) + 40))
            self.end_headers()
            self.wfile.write(PNG)
            try:
                for _ in range(40):
                    self.wfile.write(b"\x00")
                    self.wfile.flush()
                    time.sleep(0.2)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif path == "/huge.png":
            # No Content-Length: only reading past the cap can tell.
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                self.wfile.write(PNG)
                for _ in range(11 * 16):
                    self.wfile.write(b"\x00" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                pass
        else:
            self._answer(404, "text/plain", b"no")

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def image_host(fake_dns):
    """``http://grafana.example.org:<port>/...`` served on loopback; ``intranet.example.org``
    is a private address; the live server's ``localhost`` resolves as it should."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    _Images.hits = Counter()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake_dns.answers["localhost"] = ["127.0.0.1"]
    fake_dns.answers["grafana.example.org"] = ["127.0.0.1"]
    fake_dns.answers["intranet.example.org"] = ["10.20.30.40"]
    yield f"http://grafana.example.org:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def alice(console_app, sandbox_app, sandbox_people):
    user = UserFactory(username="alice", first_name="Alice")
    link(user, console_app, sandbox_app, sandbox_people["alice"])
    return user


def open_incident(push, alice, images_: list[dict], description: str = "") -> Incident:
    source = AlertSourceFactory(kind="standard")
    source.channel.members.add(alice)
    payload = {
        "event_status": "Critical",
        "title_rule": "Checkout 5xx above 5%",
        "alert_key": "checkout-5xx",
        "description": description or "The 5xx rate of checkout is high.",
        "labels": {"service": "checkout"},
        "images": images_,
    }
    assert push(source, payload).status_code == 200
    return Incident.objects.get(channel=source.channel)


def delivered_card(incident, console_app, alice, sandbox_people) -> dict:
    """The card alice received: escalation may send it when the push opens the incident (else
    it is sent here); her latest copy."""
    messages = SandboxMessage.objects.filter(user=sandbox_people["alice"], msg_type="interactive")
    if not messages.exists():
        delivery.notify(incident, console_app, [alice], [])
    return json.loads(messages.order_by("created_at", "id").last().content)


def img_elements(card: dict) -> list[dict]:
    return [element for element in card["elements"] if element.get("tag") == "img"]


def uploads() -> int:
    return ApiCall.objects.filter(path="/open-apis/im/v1/images", code=0).count()


def test_an_alert_image_reaches_the_card_as_the_key_the_sandbox_returned_and_uploads_once(
    console_app, alice, sandbox_people, image_host, push, client
):
    incident = open_incident(
        push, alice, [{"src": f"{image_host}/graph.png", "alt": "5xx rate", "href": ""}]
    )
    card = delivered_card(incident, console_app, alice, sandbox_people)

    (element,) = img_elements(card)
    stored = SandboxImage.objects.get()
    assert element["img_key"] == stored.image_key
    assert element["alt"] == {"tag": "plain_text", "content": "5xx rate"}
    assert bytes(stored.data) == PNG
    assert stored.content_type == "image/png"
    assert UploadedImage.objects.get().image_key == stored.image_key
    # The text of the body is where it always was, before the image.
    texts = [
        e["text"]["content"] for e in card["elements"] if e.get("tag") == "div" and "text" in e
    ]
    assert any("The 5xx rate of checkout is high." in text for text in texts)

    # Rendered again and again (refreshes, another process with an empty cache): no upload.
    for _ in range(3):
        again = incident_card(incident, app=console_app)
        assert img_elements(again) == [element]
    assert uploads() == 1
    assert _Images.hits["/graph.png"] == 1

    # The sandbox's chat client shows it.
    html = render_card(card)
    assert f'src="/sandbox/feishu/images/{stored.image_key}"' in html
    served = client.get(f"/sandbox/feishu/images/{stored.image_key}")
    assert served.status_code == 200
    assert served.content == PNG


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/huge.png", "larger than 10 MB"),
        ("/page.png", "not an image"),
        ("/moved.png", "redirect"),
    ],
)
def test_an_image_that_cannot_be_uploaded_leaves_it_out_and_the_card_arrives(
    console_app, alice, sandbox_people, image_host, push, caplog, path, why
):
    incident = open_incident(push, alice, [{"src": f"{image_host}{path}", "alt": "graph"}])
    with caplog.at_level("INFO", logger="integrations.feishu.cards.images"):
        card = delivered_card(incident, console_app, alice, sandbox_people)
    assert img_elements(card) == []
    assert "Checkout 5xx above 5%" in json.dumps(card)
    assert uploads() == 0
    assert not UploadedImage.objects.exists()
    assert why in caplog.text
    assert not re.search(r"\bt-[0-9a-f]{16}", caplog.text)  # no tenant token in the log
    # A failure is remembered for a while: the next refresh does not fetch it again.
    hits = _Images.hits[path]
    incident_card(incident, app=console_app)
    assert _Images.hits[path] == hits


def test_a_private_address_is_refused_before_any_connection(
    console_app, alice, sandbox_people, image_host, push, caplog
):
    incident = open_incident(
        push, alice, [{"src": "http://intranet.example.org/graph.png", "alt": "graph"}]
    )
    with caplog.at_level("INFO", logger="integrations.feishu.cards.images"):
        card = delivered_card(incident, console_app, alice, sandbox_people)
    assert img_elements(card) == []
    assert "private" in caplog.text or "does not call such addresses" in caplog.text
    assert uploads() == 0


def test_an_image_written_into_an_alert_is_shown_as_text(
    console_app, alice, sandbox_people, image_host, push
):
    incident = open_incident(
        push,
        alice,
        [{"src": f"{image_host}/graph.png", "alt": "![y](img_forged2)"}],
        description="look: ![x](img_forged) and [link](https://evil.example)",
    )
    card = delivered_card(incident, console_app, alice, sandbox_people)
    (element,) = img_elements(card)  # the template's own image, and nothing else
    assert element["img_key"] == SandboxImage.objects.get().image_key
    assert element["alt"]["content"] == "![y](img_forged2)"  # plain text, shown as written
    rest = json.dumps([e for e in card["elements"] if e.get("tag") != "img"])
    assert "img_forged" not in rest
    assert "img&#95;forged" in rest
    html = render_card(card)
    # Drawn as the characters the alert sent (entities the browser shows as them).
    assert "![x](img_forged)" in unescape(html)
    assert 'img_forged"' not in html
    assert 'href="https://evil.example"' not in html


def test_at_most_a_few_images_are_uploaded_for_one_card(
    console_app, alice, sandbox_people, image_host, push
):
    sources = [{"src": f"{image_host}/graph.png?n={n}", "alt": f"graph {n}"} for n in range(5)]
    incident = open_incident(push, alice, sources)
    card = delivered_card(incident, console_app, alice, sandbox_people)
    assert len(img_elements(card)) == images.MAX_UPLOADS_PER_CARD
    assert uploads() == images.MAX_UPLOADS_PER_CARD


def test_the_sandbox_image_api_checks_the_token_the_size_and_the_format(
    sandbox_client, make_sandbox_client, sandbox_app
):
    key = sandbox_client.upload_image(GIF)
    assert key.startswith("img_")
    assert SandboxImage.objects.get(image_key=key).app == sandbox_app
    with pytest.raises(errors.PermanentError) as too_big:
        sandbox_client.upload_image(PNG + b"\x00" * (10 * 1024 * 1024))
    assert too_big.value.code == 234006
    with pytest.raises(errors.PermanentError) as not_image:
        sandbox_client.upload_image(b"%PDF-1.7 not an image")
    assert not_image.value.code == 234011
    with pytest.raises(errors.AuthError):
        make_sandbox_client(sandbox_app, secret="wrong").upload_image(GIF)


def test_formats_are_told_by_their_first_bytes():
    assert image_format(PNG) == "png"
    assert image_format(GIF) == "gif"
    assert image_format(b"\xff\xd8\xff\xe0rest") == "jpeg"
    assert image_format(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert image_format(b"\x00\x00\x00\x18ftypheic\x00\x00") == "heic"
    assert image_format(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None


def test_only_keys_this_card_uploaded_become_images():
    text, shown = split_images(
        "a\n![ok](img_v2_a-1) b ![no](img_other)\n![u](https://x/y.png)", {"img_v2_a-1"}
    )
    assert shown == [("img_v2_a-1", "ok")]
    assert "img_other" not in text.replace("img&#95;other", "")
    assert "&#91;no&#93;" in text
    assert "&#91;u&#93;" in text


def test_without_an_app_a_card_shows_no_image_and_asks_nothing(db):
    card_images = CardImages(None)
    assert card_images.lookup("https://grafana.example.org/a.png") == ""
    assert card_images.upload_wanted() is False


def test_feishu_refusing_the_upload_leaves_the_image_out_and_the_card_arrives(
    console_app, alice, sandbox_people, image_host, push, caplog
):
    Fault.objects.create(path_prefix="/open-apis/im/v1/images", status=500, remaining=5)
    incident = open_incident(push, alice, [{"src": f"{image_host}/graph.png", "alt": "graph"}])
    with caplog.at_level("INFO", logger="integrations.feishu.cards.images"):
        card = delivered_card(incident, console_app, alice, sandbox_people)
    assert img_elements(card) == []
    assert "Checkout 5xx above 5%" in json.dumps(card)
    assert "refused by Feishu" in caplog.text
    assert not UploadedImage.objects.exists()


def test_a_card_updated_after_a_change_keeps_its_image_without_uploading_again(
    console_app, alice, sandbox_people, image_host, push
):
    incident = open_incident(push, alice, [{"src": f"{image_host}/graph.png", "alt": "graph"}])
    (sent,) = img_elements(delivered_card(incident, console_app, alice, sandbox_people))
    lifecycle.claim(incident, Actor(alice, "api"))  # every sent copy is patched (eager tasks)
    updated = delivered_card(incident, console_app, alice, sandbox_people)
    assert "Claimed by Alice" in json.dumps(updated)
    assert img_elements(updated) == [sent]
    assert uploads() == 1


def test_a_custom_template_places_images_and_a_failing_one_is_recorded_once(
    console_app, alice, sandbox_people, image_host, push
):
    incident = open_incident(push, alice, [{"src": f"{image_host}/graph.png", "alt": "graph"}])
    channel = incident.channel
    channel.notification_template = NotificationTemplate.objects.create(
        name="Pictures",
        bodies={
            "feishu_card": "{% for v in Images %}{{ Title }}\n"
            "![{{ v.Alt }}]({{ transferImage(root, v.Src) }})\n"
            "![theirs](img_v2_someone_else){% endfor %}"
        },
    )
    channel.save()
    card = incident_card(incident, app=console_app)
    (image,) = img_elements(card)
    assert image["img_key"] == SandboxImage.objects.get().image_key
    assert "!&#91;theirs&#93;(img&#95;v2&#95;someone&#95;else)" in json.dumps(card)

    # A body that fails falls back to the default (which uploads a new image): one failure.
    channel.notification_template.bodies = {"feishu_card": "{{ 1 / 0 }}"}
    channel.notification_template.save()
    incident.alerts.update(images=[{"src": f"{image_host}/spinner.gif", "alt": "spinner"}])
    card = incident_card(incident, app=console_app)
    assert [e["alt"]["content"] for e in img_elements(card)] == ["spinner"]
    channel.notification_template.refresh_from_db()
    assert channel.notification_template.error_count == 1


def test_a_server_sending_an_image_slowly_is_given_up_on_in_time(image_host, settings, monkeypatch):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    monkeypatch.setattr(images, "FETCH_SECONDS", 1.0)
    started = time.monotonic()
    with pytest.raises(images.ImageRefused, match="too long"):
        images.fetch(f"{image_host}/slow.png")
    assert time.monotonic() - started < 3
    assert images.fetch(f"{image_host}/graph.png") == PNG


def test_an_image_without_alt_text_still_says_it_is_an_image(
    console_app, alice, sandbox_people, image_host, push
):
    incident = open_incident(push, alice, [{"src": f"{image_host}/graph.png"}])
    (element,) = img_elements(delivered_card(incident, console_app, alice, sandbox_people))
    assert element["alt"] == {"tag": "plain_text", "content": "Image"}
