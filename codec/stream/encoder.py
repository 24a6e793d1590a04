"""Frames in, stream records out: group-of-frames logic over keyframes and delta frames.

:class:`StreamEncoder` decides, frame by frame, between a keyframe (scene codec) and a
delta frame (:mod:`codec.stream.residual`) against its own reconstruction of the previous
frame, which is exactly what a decoder will hold (closed loop). A keyframe starts a group:

* at the first frame, every ``gop`` frames (``gop=0``: only when needed),
* when the Gaussian count or SH degree changes,
* when the delta frame would cost more than ``cut_ratio`` times the group's keyframe: the
  content changed too much, or Gaussian ``k`` is no longer the same Gaussian from one frame
  to the next. Before giving up on the delta, the encoder tries to recover the
  correspondence by matching positions (:func:`codec.stream.matching.match_order`) and keeps
  the match if it is cheaper.

Decoded frames keep the keyframe decoder's Gaussian order for the whole group: the encoder
permutes every source frame into that order (``perm``) before coding its residuals.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from codec.scene.data import GaussianScene

from .keyframe import KeyframeCodec, decode_keyframe, default_keyframe_codec
from .matching import is_identity_order, match_order
from .residual import DeltaState, ResidualConfig, encode_delta, initial_anchor

__all__ = ["StreamEncoder", "EncodedFrame", "extent_of"]


def extent_of(scene: GaussianScene) -> float:
    """Largest side of the bounding box of the means (1.0 for a degenerate scene)."""
    lo, hi = scene.bounds()
    e = float(np.max(hi - lo)) if len(scene) else 0.0
    return e if e > 0 and np.isfinite(e) else 1.0


@dataclass(frozen=True)
class EncodedFrame:
    """One coded frame: its payload, whether it is a keyframe, and the decoder's result."""

    keyframe: bool
    payload: bytes
    recon: GaussianScene
    matched: bool = False


class StreamEncoder:
    """Stateful frame encoder.

    Args:
        gop: a keyframe at least every ``gop`` frames (0: only when needed).
        quality: 1..5, the scene codec's preset for keyframes; delta frames use matching
            steps (:meth:`ResidualConfig.for_quality`).
        keyframe_codec: overrides the scene codec (tests).
        cut_ratio: largest delta/keyframe size ratio before a keyframe is coded instead.
        match: try to recover lost correspondence by matching positions.
    """

    def __init__(self, *, gop: int = 30, quality: int = 3,
                 keyframe_codec: KeyframeCodec | None = None, cut_ratio: float = 0.5,
                 match: bool = True) -> None:
        if isinstance(gop, bool) or not isinstance(gop, int) or gop < 0:
            raise ValueError(f"gop must be an int >= 0, got {gop!r}")
        ResidualConfig.for_quality(quality, 1.0)  # validates
        self.gop, self.quality, self.cut_ratio, self.match = gop, quality, float(cut_ratio), match
        self.codec = keyframe_codec if keyframe_codec is not None else default_keyframe_codec(quality)
        self._ref: GaussianScene | None = None
        self._since_key = 0
        self._frames = 0

    def encode(self, scene: GaussianScene) -> EncodedFrame:
        """Code the next frame."""
        if not isinstance(scene, GaussianScene):
            raise TypeError(f"expected a GaussianScene, got {type(scene).__name__}")
        self._frames += 1
        ref = self._ref
        if (ref is None or self._perm is None or len(scene) != len(ref)
                or scene.sh_degree != ref.sh_degree or (self.gop and self._since_key >= self.gop)):
            return self._keyframe(scene)
        best, perm, matched = self._delta(scene, self._perm), self._perm, False
        budget = self.cut_ratio * self._key_size
        if len(best.payload) > budget and self.match:
            p = match_order(ref.means, scene.means)
            alt = self._delta(scene, p)
            if len(alt.payload) < len(best.payload):
                best, perm, matched = alt, p, True
        if len(best.payload) > budget:
            return self._keyframe(scene)
        self._ref, self._anchor, self._state, self._perm = best.recon, best.anchor, best.state, perm
        self._since_key += 1
        return EncodedFrame(False, best.payload, best.recon, matched)

    def _delta(self, scene: GaussianScene, perm: np.ndarray):
        cur = scene if perm is _IDENTITY_MARK else scene.subset(perm)
        return encode_delta(self._ref, cur, self._anchor, self._state, self._config)

    def _keyframe(self, scene: GaussianScene) -> EncodedFrame:
        payload = bytes(self.codec.encode(scene))
        dec = decode_keyframe(self.codec, payload, self._frames - 1)
        self._ref, self._since_key, self._key_size = dec, 1, len(payload)
        self._state = DeltaState.initial(len(dec))
        self._config = ResidualConfig.for_quality(self.quality, extent_of(dec))
        tol = self._config.pos_step * 64
        if len(dec) != len(scene) or dec.sh_degree != scene.sh_degree:
            warnings.warn(f"the keyframe codec changed the Gaussian count ({len(scene)} -> {len(dec)}); "
                          "every frame of this stream will be a keyframe", RuntimeWarning, stacklevel=3)
            self._perm = None
        else:
            order = getattr(self.codec, "last_order", None)  # SceneCodec: input index per decoded one
            if isinstance(order, np.ndarray) and order.shape == (len(dec),):
                self._perm = _IDENTITY_MARK if np.array_equal(order, np.arange(len(dec))) else order.astype(np.int64)
            elif is_identity_order(dec.means, scene.means, tol):
                self._perm = _IDENTITY_MARK
            else:
                self._perm = match_order(dec.means, scene.means)
        if self._perm is not None:
            src = scene if self._perm is _IDENTITY_MARK else scene.subset(self._perm)
            self._anchor = initial_anchor(src)
        return EncodedFrame(True, payload, dec)


_IDENTITY_MARK = np.zeros(0, np.int64)  # "no permutation" sentinel (compared by identity)
