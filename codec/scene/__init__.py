"""3D Gaussian scenes: data model, format readers/writers, the scene codec and a CPU renderer."""

from .data import SH_C0, GaussianScene
from .io import read, write

__all__ = ["GaussianScene", "SH_C0", "read", "write"]
