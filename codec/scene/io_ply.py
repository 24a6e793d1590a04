"""Binary PLY: a bounded header parser and the INRIA 3DGS layout (read and write).

The INRIA layout (graphdeco-inria ``save_ply``): one ``vertex`` element of float properties
``x y z [nx ny nz] f_dc_0..2 f_rest_0..(3K-1) opacity scale_0..2 rot_0..3``. Properties are
looked up by name, normals are optional, ``f_rest`` is channel-major (all R coefficients, then G,
then B), values are pre-activation. Only ``binary_little_endian`` and ``binary_big_endian`` are
read; list properties are refused.
"""

from __future__ import annotations

import numpy as np

from codec.errors import CorruptDataError, LimitExceededError, NotACodecFileError, TruncatedError

from ._files import MAX_GAUSSIANS
from .data import GaussianScene

__all__ = ["PlyElement", "parse_ply", "read_inria_ply", "write_inria_ply", "is_inria_ply"]

MAX_HEADER_BYTES = 1 << 16
_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}


class PlyElement:
    """One element of a parsed PLY: ``name``, ``count`` and a structured ``data`` array."""

    def __init__(self, name: str, count: int, dtype: np.dtype):
        self.name, self.count, self.dtype = name, count, dtype
        self.data: np.ndarray | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.dtype.names or ())


def parse_ply(buf: bytes, what: str = "PLY") -> tuple[dict[str, PlyElement], list[str]]:
    """Parse a binary PLY into elements (in file order) and header comments.

    Validates the body size against ``len(buf)`` before touching the body, so a lying header
    cannot make us allocate. Raises NotACodecFileError / CorruptDataError / TruncatedError.
    """
    if not buf.startswith(b"ply\n") and not buf.startswith(b"ply\r\n"):
        raise NotACodecFileError(f"{what}: not a PLY file (no 'ply' magic)")
    end = buf.find(b"end_header", 0, MAX_HEADER_BYTES)
    if end < 0:
        raise CorruptDataError(f"{what}: no 'end_header' in the first {MAX_HEADER_BYTES} bytes")
    nl = buf.find(b"\n", end)
    if nl < 0:
        raise TruncatedError(f"{what}: file ends inside the header")
    try:
        lines = buf[:end].decode("ascii").replace("\r", "").split("\n")
    except UnicodeDecodeError:
        raise CorruptDataError(f"{what}: header is not ASCII") from None
    order, comments, elements = "<", [], {}
    current: list | None = None
    specs: list[tuple[str, int, list]] = []
    for line in lines[1:]:
        tok = line.split()
        if not tok:
            continue
        if tok[0] == "format":
            if len(tok) < 2 or tok[1] not in ("binary_little_endian", "binary_big_endian"):
                raise CorruptDataError(f"{what}: PLY format {' '.join(tok[1:2])!r} is not supported "
                                       "(binary_little_endian or binary_big_endian only)")
            order = "<" if tok[1] == "binary_little_endian" else ">"
        elif tok[0] in ("comment", "obj_info"):
            comments.append(line[len(tok[0]):].strip())
        elif tok[0] == "element":
            if len(tok) != 3 or not tok[2].isdigit():
                raise CorruptDataError(f"{what}: bad element line {line!r}")
            count = int(tok[2])
            if count > MAX_GAUSSIANS:
                raise LimitExceededError(f"{what}: element {tok[1]} has {count} rows (limit {MAX_GAUSSIANS})")
            current = []
            specs.append((tok[1], count, current))
        elif tok[0] == "property":
            if current is None:
                raise CorruptDataError(f"{what}: property before any element")
            if len(tok) != 3 or tok[1] == "list":
                raise CorruptDataError(f"{what}: unsupported property {line!r} (list properties are not read)")
            if tok[1] not in _TYPES:
                raise CorruptDataError(f"{what}: unknown property type {tok[1]!r}")
            if any(n == tok[2] for n, _ in current):
                raise CorruptDataError(f"{what}: duplicate property {tok[2]!r}")
            current.append((tok[2], order + _TYPES[tok[1]]))
        else:
            raise CorruptDataError(f"{what}: unexpected header line {line!r}")
    offset = nl + 1
    total = sum(count * np.dtype(props).itemsize if props else 0 for _, count, props in specs)
    if offset + total > len(buf):
        raise TruncatedError(f"{what}: header promises {total} body bytes, file has {len(buf) - offset}")
    for name, count, props in specs:
        dt = np.dtype(props) if props else np.dtype([])
        el = PlyElement(name, count, dt)
        size = count * dt.itemsize
        el.data = np.frombuffer(buf, dtype=dt, count=count, offset=offset) if props else np.zeros(count, dt)
        offset += size
        elements[name] = el
    return elements, comments


def is_inria_ply(elements: dict[str, PlyElement]) -> bool:
    v = elements.get("vertex")
    return v is not None and all(k in v.names for k in ("x", "y", "z", "opacity", "rot_0", "scale_0"))


def _col(v: np.ndarray, name: str, what: str) -> np.ndarray:
    if name not in v.dtype.names:
        raise CorruptDataError(f"{what}: vertex property {name!r} is missing")
    return v[name].astype(np.float32)


def read_inria_ply(buf: bytes, what: str = "PLY") -> GaussianScene:
    """Decode an INRIA-layout binary PLY (see the module docstring) into a scene."""
    elements, _ = parse_ply(buf, what)
    if "vertex" not in elements:
        raise CorruptDataError(f"{what}: no 'vertex' element")
    v = elements["vertex"].data
    cols = lambda names: np.stack([_col(v, n, what) for n in names], axis=1)  # noqa: E731
    means = cols(["x", "y", "z"])
    dc = cols(["f_dc_0", "f_dc_1", "f_dc_2"])
    n_rest = 0
    while f"f_rest_{n_rest}" in v.dtype.names:
        n_rest += 1
    if n_rest % 3 or n_rest // 3 not in (0, 3, 8, 15):
        raise CorruptDataError(f"{what}: {n_rest} f_rest properties is not an SH degree 0..3 layout")
    k = n_rest // 3
    rest = cols([f"f_rest_{i}" for i in range(n_rest)]) if n_rest else np.zeros((len(v), 0), np.float32)
    rest = rest.reshape(len(v), 3, k).transpose(0, 2, 1)  # channel-major -> [N, K, 3]
    return GaussianScene.cleaned(means, cols(["scale_0", "scale_1", "scale_2"]),
                                 cols(["rot_0", "rot_1", "rot_2", "rot_3"]), _col(v, "opacity", what), dc,
                                 rest, source=what)


def write_inria_ply(scene: GaussianScene, normals: bool = False) -> bytes:
    """Encode ``scene`` as an INRIA-layout binary little-endian PLY (float32 properties).

    Normals (always zero in 3DGS) are left out unless ``normals=True``, as gsplat's exporter
    and splat-transform do; readers look properties up by name either way.
    """
    n, k = len(scene), scene.sh_rest.shape[1]
    names = ["x", "y", "z"] + (["nx", "ny", "nz"] if normals else []) + ["f_dc_0", "f_dc_1", "f_dc_2"]
    names += [f"f_rest_{i}" for i in range(3 * k)] + ["opacity", "scale_0", "scale_1", "scale_2"]
    names += ["rot_0", "rot_1", "rot_2", "rot_3"]
    parts = [scene.means] + ([np.zeros((n, 3), np.float32)] if normals else []) + [scene.sh_dc]
    parts += [scene.sh_rest.transpose(0, 2, 1).reshape(n, 3 * k), scene.opacity_logits[:, None],
              scene.log_scales, scene.quats]
    body = np.ascontiguousarray(np.concatenate(parts, axis=1), dtype="<f4")
    header = "ply\nformat binary_little_endian 1.0\n" + f"element vertex {n}\n"
    header += "".join(f"property float {p}\n" for p in names) + "end_header\n"
    return header.encode("ascii") + body.tobytes()
