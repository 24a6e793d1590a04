"""Keyframes: how a stream codes a whole frame, through the scene codec.

A keyframe codec is any object with ``encode(scene) -> bytes`` and
``decode(data) -> GaussianScene``. The default is the project's scene codec
(:class:`codec.scene.codec.SceneCodec`), whose bytes are a complete scene container (magic
``GMCS``, its own CRCs) stored as the keyframe record's payload. Tests may pass another codec
to :class:`~codec.stream.StreamWriter` and :class:`~codec.stream.StreamReader`; both sides
must use the same one.
"""

from __future__ import annotations

from typing import Protocol

from codec.errors import CodecError, CorruptDataError, InvalidInputError
from codec.scene.data import GaussianScene

__all__ = ["KeyframeCodec", "default_keyframe_codec", "decode_keyframe"]


class KeyframeCodec(Protocol):
    def encode(self, scene: GaussianScene) -> bytes: ...

    def decode(self, data: bytes) -> GaussianScene: ...


def default_keyframe_codec(quality: int | None = None) -> KeyframeCodec:
    """The scene codec at ``quality`` (its default when None), in the input's frame: delta frames
    code attribute changes against the decoded keyframe, so its axes must stay the input's."""
    try:
        from codec.scene.codec import SceneCodec
    except ImportError as exc:
        raise InvalidInputError("the scene codec (codec.scene.codec) is not available in this "
                                f"build, so keyframes cannot be coded: {exc}") from None
    return SceneCodec(reframe=False) if quality is None else SceneCodec(quality=quality, reframe=False)


def decode_keyframe(codec: KeyframeCodec, data: bytes, number: int) -> GaussianScene:
    """``codec.decode(data)``, with any failure reported as a CodecError naming the frame."""
    try:
        scene = codec.decode(data)
    except CodecError as exc:
        raise type(exc)(f"keyframe {number}: {exc}") from None
    except Exception as exc:  # a scene decoder must not leak other exceptions; contain them
        raise CorruptDataError(f"keyframe {number} does not decode: {type(exc).__name__}: {exc}") from None
    if not isinstance(scene, GaussianScene):
        raise CorruptDataError(f"keyframe {number} does not decode to a scene")
    return scene
