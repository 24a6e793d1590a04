"""3D Gaussian scenes: data model, format readers/writers, the scene codec and a CPU renderer.

Public API::

    GaussianScene(means, log_scales, quats, opacity_logits, sh_dc, sh_rest)   # data.py
    read(path) -> GaussianScene ; write(scene, path, force=False)            # io.py
    SceneCodec(quality=3, prune=False).encode(scene) -> bytes ; .decode(data) # codec.py
    render(scene, camera) -> [H, W, 3] tensor ; Camera                        # render.py
    evaluate(orig, other, views=8, size=512) -> dict ; orbit_cameras(...)     # evaluate.py

The renderer and the evaluation import torch; they load on first use.
"""

from .codec import SceneCodec
from .data import SH_C0, GaussianScene
from .io import read, write

__all__ = ["GaussianScene", "SH_C0", "SceneCodec", "read", "write", "render", "Camera", "evaluate",
           "orbit_cameras"]

_LAZY = {"render": "codec.scene.render", "Camera": "codec.scene.render",
         "evaluate": "codec.scene.evaluate", "orbit_cameras": "codec.scene.evaluate"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'codec.scene' has no attribute {name!r}")
