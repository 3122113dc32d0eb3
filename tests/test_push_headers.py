"""The push request's headers as a source reads them (``oncall.views.push.RequestHeaders``):
every header by its lower-case name, read from the request when first asked for."""

from __future__ import annotations

from django.test import RequestFactory

from oncall.views.push import RequestHeaders


def test_it_reads_every_header_by_its_lower_case_name():
    request = RequestFactory().post(
        "/push/t", data=b"{}", content_type="application/json", HTTP_X_SIGNATURE="abc"
    )

    headers = RequestHeaders(request)

    assert headers.get("x-signature") == "abc"
    assert headers["content-type"] == "application/json"
    assert headers.get("X-Signature") is None  # names are asked for in lower case
    assert dict(headers) == {name.lower(): value for name, value in request.headers.items()}
    assert len(headers) == len(request.headers)


def test_nothing_is_read_until_a_source_asks():
    request = RequestFactory().post("/push/t", data=b"{}", content_type="application/json")
    headers = RequestHeaders(request)
    request.META["HTTP_X_LATE"] = "set after the mapping was made"

    assert headers["x-late"] == "set after the mapping was made"  # read when first asked
