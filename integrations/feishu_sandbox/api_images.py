"""Uploading an image for messages and cards (``POST /open-apis/im/v1/images``).

Feishu's page: https://open.feishu.cn/document/server-docs/im-v1/image/create (multipart form:
``image_type`` ``message`` or ``avatar``, ``image`` the file; at most 10 MB, not empty; JPG,
JPEG, PNG, WEBP, GIF, BMP, ICO, TIFF, HEIC; the answer's ``data.image_key``). The sandbox keeps
the bytes and serves them to its chat client (``image``), so a card shows the image it names.
The error codes are the image API's as its page lists them (234001 a bad parameter, 234006 too
large, 234011 not an image it can read).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from integrations.feishu.cards.images import MAX_IMAGE_BYTES, image_format
from integrations.feishu_sandbox.api import ApiError, Call, open_api, success
from integrations.feishu_sandbox.models import SandboxImage

INVALID_PARAM = 234001
TOO_LARGE = 234006
NOT_AN_IMAGE = 234011
IMAGE_TYPES = ("message", "avatar")


@open_api("im.v1.image.create", methods=["POST"])
def upload_image(call: Call) -> dict[str, Any]:
    request = call.request
    image_type = request.POST.get("image_type", "")
    if image_type not in IMAGE_TYPES:
        raise ApiError(INVALID_PARAM, "image_type must be message or avatar")
    upload = request.FILES.get("image")
    if upload is None or not upload.size:
        raise ApiError(INVALID_PARAM, "image is required and may not be empty")
    if upload.size > MAX_IMAGE_BYTES:
        raise ApiError(TOO_LARGE, "The image is larger than 10 MB.")
    data = upload.read()
    kind = image_format(data[:32])
    if kind is None:
        raise ApiError(NOT_AN_IMAGE, "The file is not an image in a supported format.")
    image = SandboxImage.objects.create(
        app=call.tenant_app, image_type=image_type, content_type=f"image/{kind}", data=data
    )
    return success({"image_key": image.image_key})


@require_GET
def image(request: HttpRequest, image_key: str) -> HttpResponse:
    """An uploaded image, for the sandbox's chat client."""
    found = SandboxImage.objects.filter(image_key=image_key).first()
    if found is None:
        raise Http404("no such image")
    response = HttpResponse(bytes(found.data), content_type=found.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response
