"""Streaming a request body to the staging folder (used by the upload endpoints)."""

from __future__ import annotations

from fastapi import Request

from backend.config import Settings
from backend.errors import DomainError
from backend.storage import StagedUpload, receive_stream


#: OpenAPI description of a raw streamed body.
def binary_body(description: str) -> dict[str, object]:
    """``openapi_extra`` declaring a raw binary request body."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    }


def _declared_length(request: Request) -> int | None:
    header = request.headers.get("content-length")
    if header is None:
        return None
    try:
        value = int(header)
    except ValueError as exc:
        raise DomainError(f"Content-Length {header!r} is not a number", 400) from exc
    return value


async def receive_body(request: Request, settings: Settings, *, suffix: str) -> StagedUpload:
    """Stream the body to disk, sha256 on the way, refusing more than the upload limit."""
    return await receive_stream(
        request.stream(),
        staging_dir=settings.staging_dir,
        max_bytes=settings.max_upload_bytes,
        declared_length=_declared_length(request),
        suffix=suffix,
    )
