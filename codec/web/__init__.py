"""The browser player: static ES modules (``codec/web/static``) served by ``codec stream serve``.

The JavaScript decodes our own bitstream (container, rANS, scene keyframes, stream delta frames)
and renders with WebGL2; ``assets.py`` writes the integer tables it needs that are not stored in
the bitstream. No build step: the files under ``static/`` are what the browser loads.
"""

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"

__all__ = ["STATIC_DIR"]
