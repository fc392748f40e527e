"""Files and media objects: photos (with the size ladder Telegram makes), stickers, voice, documents."""

from __future__ import annotations

import copy
import struct
from typing import Any

from .errors import bad_request
from .params import Upload
from .store import State

PHOTO_LADDER = (90, 320, 800, 1280)
MAX_PHOTO_SIDE = 2560


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF or JPEG; None for anything Telegram could not process."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data.startswith((b"GIF87a", b"GIF89a")) and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    return None


def make_photo(state: State, data: bytes, width: int, height: int) -> list[dict[str, Any]]:
    """PhotoSize objects, smallest first, as Telegram makes from one upload; resending any of
    their file_ids sends the same photo again."""
    longest = max(width, height)
    targets = [side for side in PHOTO_LADDER if side < longest] + [min(longest, MAX_PHOTO_SIDE)]
    sizes = []
    for side in targets:
        stored = state.store_file("photo", data, "jpg")
        scale = side / longest
        sizes.append({"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": len(data),
                      "width": max(1, round(width * scale)), "height": max(1, round(height * scale))})
    for size in sizes:
        state.photo_sets[size["file_id"]] = sizes
    return copy.deepcopy(sizes)


def photo_from_param(state: State, value: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    """sendPhoto's `photo`: an upload, attach://name, or the file_id of a photo Telegram has."""
    if isinstance(value, str) and value.startswith("attach://"):
        value = params.get(value[len("attach://"):])
    if isinstance(value, Upload):
        size = image_size(value.data)
        if size is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        return make_photo(state, value.data, *size)
    if isinstance(value, str) and value:
        return _known_photo(state, value)
    raise bad_request("there is no photo in the request")


def _known_photo(state: State, file_id: str) -> list[dict[str, Any]]:
    stored = state.files.get(file_id)
    if stored is None:
        if file_id.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        raise bad_request("wrong file identifier/HTTP URL specified")
    if stored.kind != "photo":
        raise bad_request(f"can't use file of type {stored.kind.capitalize()} as Photo")
    return copy.deepcopy(state.photo_sets[file_id])


def file_object(state: State, kind: str, data: bytes, extension: str, **fields: Any) -> dict[str, Any]:
    """A Document/Voice/Sticker object backed by a stored file (so getFile can fetch it)."""
    stored = state.store_file(kind, data, extension)
    return {**fields, "file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": len(data)}
