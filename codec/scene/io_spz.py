"""Niantic SPZ (nianticlabs/spz ``load-spz.cc``): read v2, v3 (gzip) and v4 (ZSTD); write v3.

Per Gaussian, structure of arrays in this order: positions (3 x 24-bit signed fixed point with
``fractionalBits``), alphas (u8 = sigmoid * 255), colours (u8 = f_dc * 0.15 * 255 + 127.5),
scales (u8 = (log_scale + 10) * 16), rotations (v2: xyz as u8 = q * 127.5 + 127.5 with w >= 0;
v3+: 32-bit "smallest three": top 2 bits = index of the largest of (x, y, z, w), then per other
component, first to last, a sign bit and a 9-bit magnitude of ``|q| / sqrt(1/2) * 511``), then
SH (u8 = x * 128 + 128, coefficient-major, RGB innermost; degree-1 values snapped to 5 bits and
higher degrees to 4 bits on write).

v1-v3: the whole thing, after a 16-byte header ``<u32 magic 'NGSP', u32 version, u32 count,
u8 shDegree, u8 fractionalBits, u8 flags, u8 reserved>``, is gzipped. v4: a plain 32-byte header
``<magic, version, count, shDegree, fractionalBits, flags, numStreams, u32 tocOffset, 12 reserved>``,
a table of ``numStreams x <u64 compressed, u64 uncompressed>`` at ``tocOffset``, then one ZSTD
frame per attribute stream. SPZ stores RUB (OpenGL) axes; we convert to and from the PLY (RDF)
convention by negating y and z (and the matching quaternion and SH signs), as the SPZ tools do.
"""

from __future__ import annotations

import gzip
import io
import struct
import zlib

import numpy as np

from codec.errors import CorruptDataError, LimitExceededError, NotACodecFileError, TruncatedError, UnsupportedVersionError

from ._files import MAX_GAUSSIANS
from .data import SH_COEFFS, GaussianScene, logit, sigmoid

__all__ = ["read_spz", "write_spz", "SPZ_MAGIC", "SH_FLIP_RUB"]

SPZ_MAGIC = 0x5053474E
COLOR_SCALE = 0.15
# Sign of each SH basis function (3DGS order, degrees 1..3) under (x, y, z) -> (x, -y, -z).
SH_FLIP_RUB = np.array([-1, -1, 1, -1, 1, 1, -1, 1, -1, 1, -1, -1, 1, -1, 1], np.float64)


def _sizes(n: int, version: int, sh_degree: int) -> list[int]:
    return [9 * n, n, 3 * n, 3 * n, (3 if version == 2 else 4) * n, SH_COEFFS[sh_degree] * 3 * n]


def _flip(means, quats, rest):
    """RUB <-> RDF (an involution): negate y, z; quaternion (w, x, -y, -z); SH signs."""
    means = means * np.array([1.0, -1.0, -1.0])
    quats = quats * np.array([1.0, 1.0, -1.0, -1.0])
    k = rest.shape[1]
    rest = rest * SH_FLIP_RUB[:k][None, :, None]
    return means, quats, rest


def _check_header(n: int, sh_degree: int, version: int, what: str) -> None:
    if version not in (2, 3, 4):
        raise UnsupportedVersionError(f"{what}: SPZ version {version} is not supported (2, 3 and 4 are)")
    if sh_degree not in SH_COEFFS:
        raise CorruptDataError(f"{what}: SH degree {sh_degree} is not supported (0..3)")
    if n > MAX_GAUSSIANS:
        raise LimitExceededError(f"{what}: {n} Gaussians is over the limit {MAX_GAUSSIANS}")


def read_spz(buf: bytes, what: str = ".spz", to_ply_axes: bool = True) -> GaussianScene:
    """Decode SPZ v2/v3/v4 bytes into a scene (in PLY axes unless ``to_ply_axes=False``)."""
    if len(buf) >= 4 and struct.unpack_from("<I", buf)[0] == SPZ_MAGIC:
        return _read_v4(buf, what, to_ply_axes)
    if buf[:2] != b"\x1f\x8b":
        raise NotACodecFileError(f"{what}: not an SPZ file (neither gzip nor an 'NGSP' header)")
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        head = d.decompress(buf, 16)
    except zlib.error as e:
        raise CorruptDataError(f"{what}: gzip data is corrupt ({e})") from None
    if len(head) < 16:
        raise TruncatedError(f"{what}: SPZ header is truncated")
    magic, version, n, sh_degree, frac, flags, _ = struct.unpack("<IIIBBBB", head)
    if magic != SPZ_MAGIC:
        raise NotACodecFileError(f"{what}: gzip data is not SPZ (bad magic {magic:#x})")
    _check_header(n, sh_degree, version, what)
    if version == 4:
        raise CorruptDataError(f"{what}: SPZ v4 must not be gzipped")
    sizes = _sizes(n, version, sh_degree)
    total = sum(sizes)
    try:
        body = d.decompress(d.unconsumed_tail, total + 1)
    except zlib.error as e:
        raise CorruptDataError(f"{what}: gzip data is corrupt ({e})") from None
    if len(body) < total:
        raise TruncatedError(f"{what}: SPZ body has {len(body)} bytes, header promises {total}")
    if len(body) > total:
        raise CorruptDataError(f"{what}: SPZ body is longer than its header says")
    try:
        tail = d.decompress(d.unconsumed_tail, 1)
    except zlib.error as e:
        raise CorruptDataError(f"{what}: gzip data is corrupt ({e})") from None
    if tail or not d.eof:
        raise TruncatedError(f"{what}: gzip stream is truncated or has trailing data")
    streams, off = [], 0
    for s in sizes:
        streams.append(body[off:off + s])
        off += s
    return _decode(streams, n, version, sh_degree, frac, to_ply_axes, what)


def _read_v4(buf: bytes, what: str, to_ply_axes: bool) -> GaussianScene:
    if len(buf) < 32:
        raise TruncatedError(f"{what}: SPZ v4 header is truncated")
    magic, version, n, sh_degree, frac, flags, nstreams, toc = struct.unpack_from("<IIIBBBBI", buf)
    _check_header(n, sh_degree, version, what)
    if version != 4:
        raise CorruptDataError(f"{what}: plain SPZ header with version {version} (only v4 is uncompressed)")
    sizes = _sizes(n, 4, sh_degree)
    expected = 6 if sh_degree else 5
    if nstreams != expected:
        raise CorruptDataError(f"{what}: {nstreams} streams, expected {expected}")
    if toc < 32 or toc + 16 * nstreams > len(buf):
        raise TruncatedError(f"{what}: SPZ v4 table of contents is outside the file")
    try:
        import zstandard
    except ImportError:  # pragma: no cover - zstandard is a declared dependency
        raise UnsupportedVersionError(f"{what}: SPZ v4 needs the 'zstandard' package (pip install zstandard)") from None
    off = toc + 16 * nstreams
    streams = []
    for i in range(nstreams):
        csize, usize = struct.unpack_from("<QQ", buf, toc + 16 * i)
        if usize != sizes[i]:
            raise CorruptDataError(f"{what}: stream {i} is {usize} bytes, expected {sizes[i]} for {n} Gaussians")
        if off + csize > len(buf):
            raise TruncatedError(f"{what}: stream {i} runs past the end of the file")
        # Stream at most usize + 1 bytes: decompress() would preallocate whatever content size the
        # frame header declares. The window (the decoder's buffer) is bounded as well.
        window = max(1 << 24, 1 << max(usize - 1, 0).bit_length())
        try:
            dctx = zstandard.ZstdDecompressor(max_window_size=window)
            with dctx.stream_reader(io.BytesIO(buf[off:off + csize])) as reader:
                data = _read_up_to(reader, usize + 1)
        except zstandard.ZstdError as e:
            raise CorruptDataError(f"{what}: stream {i} does not decompress ({e})") from None
        if len(data) != usize:
            got = "more than" if len(data) > usize else f"{len(data)} bytes,"
            raise CorruptDataError(f"{what}: stream {i} decompressed to {got} expected {usize}")
        streams.append(data)
        off += csize
    return _decode(streams, n, 4, sh_degree, frac, to_ply_axes, what)


def _read_up_to(reader, limit: int) -> bytes:
    parts, got = [], 0
    while got < limit:
        chunk = reader.read(min(limit - got, 1 << 20))
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _decode(streams, n, version, sh_degree, frac, to_ply_axes, what) -> GaussianScene:
    p = np.frombuffer(streams[0], np.uint8).reshape(n, 3, 3).astype(np.int32)
    fixed = p[..., 0] | (p[..., 1] << 8) | (p[..., 2] << 16)
    fixed = np.where(fixed & 0x800000, fixed - (1 << 24), fixed)
    means = fixed.astype(np.float64) / float(1 << frac)
    alpha = np.frombuffer(streams[1], np.uint8).astype(np.float64) / 255.0
    dc = (np.frombuffer(streams[2], np.uint8).reshape(n, 3).astype(np.float64) / 255.0 - 0.5) / COLOR_SCALE
    log_scales = np.frombuffer(streams[3], np.uint8).reshape(n, 3).astype(np.float64) / 16.0 - 10.0
    if version == 2:
        xyz = np.frombuffer(streams[4], np.uint8).reshape(n, 3).astype(np.float64) / 127.5 - 1.0
        w = np.sqrt(np.clip(1.0 - (xyz ** 2).sum(axis=1), 0.0, None))
        quats = np.concatenate([w[:, None], xyz], axis=1)
    else:
        quats = _unpack_smallest_three(np.frombuffer(streams[4], "<u4", count=n))
    k = SH_COEFFS[sh_degree]
    sh = streams[5] if len(streams) > 5 else b""
    rest = (np.frombuffer(sh, np.uint8).reshape(n, k, 3).astype(np.float64) - 128.0) / 128.0
    if to_ply_axes:
        means, quats, rest = _flip(means, quats, rest)
    return GaussianScene.cleaned(means, log_scales, quats, logit(alpha, 0.25 / 255), dc, rest, source=what)


def _unpack_smallest_three(comp: np.ndarray) -> np.ndarray:
    """[N] uint32 -> [N, 4] float64 quaternion (w, x, y, z)."""
    comp = comp.astype(np.uint32)
    largest = (comp >> np.uint32(30)).astype(np.int64)
    xyzw = np.zeros((len(comp), 4))
    shift = np.zeros(len(comp), np.uint32)
    for i in range(3, -1, -1):
        active = largest != i
        field = (comp >> shift) & np.uint32(0x3FF)
        mag = (field & np.uint32(0x1FF)).astype(np.float64) / 511.0 * np.sqrt(0.5)
        val = np.where(field & np.uint32(0x200), -mag, mag)
        xyzw[:, i] = np.where(active, val, 0.0)
        shift = shift + np.where(active, np.uint32(10), np.uint32(0)).astype(np.uint32)
    rows = np.arange(len(comp))
    xyzw[rows, largest] = np.sqrt(np.clip(1.0 - (xyzw ** 2).sum(axis=1), 0.0, None))
    return xyzw[:, [3, 0, 1, 2]]


def _pack_smallest_three(quats: np.ndarray) -> np.ndarray:
    """[N, 4] (w, x, y, z) -> [N] uint32 smallest-three (SPZ v3 layout)."""
    q = quats.astype(np.float64)[:, [1, 2, 3, 0]]  # x, y, z, w
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-30)
    largest = np.argmax(np.abs(q), axis=1)
    rows = np.arange(len(q))
    q = q * np.where(q[rows, largest] < 0, -1.0, 1.0)[:, None]
    comp = largest.astype(np.uint32)
    for i in range(4):
        active = largest != i
        mag = np.clip(np.round(np.abs(q[:, i]) / np.sqrt(0.5) * 511.0), 0, 511).astype(np.uint32)
        field = (np.where(q[:, i] < 0, np.uint32(0x200), np.uint32(0)) | mag).astype(np.uint32)
        comp = np.where(active, (comp << np.uint32(10)) | field, comp).astype(np.uint32)
    return comp


def _quantize_sh(x: np.ndarray, bits: int) -> np.ndarray:
    q = np.clip(np.round(x * 128.0) + 128.0, 0, 255)
    bucket = float(1 << (8 - bits))
    q = np.floor((q + bucket / 2) / bucket) * bucket
    return np.clip(q, 0, 255).astype(np.uint8)


def write_spz(scene: GaussianScene, fractional_bits: int = 12) -> bytes:
    """Encode ``scene`` as gzipped SPZ v3 (PLY axes in, RUB axes in the file)."""
    n = len(scene)
    means, quats, rest = _flip(scene.means.astype(np.float64), scene.quats.astype(np.float64),
                               scene.sh_rest.astype(np.float64))
    lim = (1 << 23) - 1
    fixed = np.clip(np.round(means * (1 << fractional_bits)), -lim - 1, lim).astype(np.int64) & 0xFFFFFF
    pos = np.stack([(fixed >> s) & 0xFF for s in (0, 8, 16)], axis=-1).astype(np.uint8)  # [N, 3, 3]
    alpha = np.clip(np.round(sigmoid(scene.opacity_logits) * 255.0), 0, 255).astype(np.uint8)
    color = np.clip(np.round(scene.sh_dc.astype(np.float64) * (COLOR_SCALE * 255.0) + 127.5), 0, 255).astype(np.uint8)
    scale = np.clip(np.round((scene.log_scales.astype(np.float64) + 10.0) * 16.0), 0, 255).astype(np.uint8)
    rot = _pack_smallest_three(quats).astype("<u4")
    sh = np.zeros(rest.shape, np.uint8)
    if rest.shape[1]:
        sh[:, :3] = _quantize_sh(rest[:, :3], 5)
        sh[:, 3:] = _quantize_sh(rest[:, 3:], 4)
    header = struct.pack("<IIIBBBB", SPZ_MAGIC, 3, n, scene.sh_degree, fractional_bits, 0, 0)
    body = b"".join([header, pos.tobytes(), alpha.tobytes(), color.tobytes(), scale.tobytes(),
                     rot.tobytes(), sh.tobytes()])
    return gzip.compress(body, compresslevel=6, mtime=0)
