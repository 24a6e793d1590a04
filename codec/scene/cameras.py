"""Camera specs of the command line and :func:`codec.scene.evaluate.parse_camera`: ``orbit:K`` (the
K-th of 8 orbit views) and ``orbit:K/M`` (the K-th of M). Parsed here without torch, so a bad
spec is reported before a scene is read or the renderer imported.
"""

from __future__ import annotations

from codec.errors import InvalidInputError

__all__ = ["parse_orbit"]


def parse_orbit(spec: str, views: int = 8) -> tuple[int, int]:
    """``orbit:K`` -> ``(K, views)``, ``orbit:K/M`` -> ``(K, M)``; InvalidInputError saying what
    is wrong otherwise (M >= 1 views, 0 <= K < M)."""
    kind, _, arg = spec.partition(":")
    k_text, slash, m_text = arg.partition("/")
    try:
        if kind != "orbit":
            raise ValueError
        k, m = int(k_text), (int(m_text) if slash else views)
    except ValueError:
        raise InvalidInputError(f"bad camera {spec!r}: use orbit:K (0 <= K < {views}) or orbit:K/M "
                                "(K-th of M orbit views)") from None
    if m < 1:
        raise InvalidInputError(f"bad camera {spec!r}: M in orbit:K/M is the number of orbit views, "
                                f"at least 1, got {m}")
    if not 0 <= k < m:
        raise InvalidInputError(f"bad camera {spec!r}: K must be 0..{m - 1} for {m} orbit views, got {k}")
    return k, m
