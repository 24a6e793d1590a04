"""SH rest coefficients of the scene codec, band by band (scene formats 2 to 4).

Each band b (coefficients ``SH_BANDS[b - 1]`` of ``sh_rest``) is quantized on its own grid
(``quantize.grid_of``: the preset's step, or the input's own grid) and coded with one table per
coefficient: the RGB triple as one joint symbol when its alphabet is small
(:data:`SH_JOINT_MAX`), else one symbol and table per channel (section ``sh_{b}``).

Format 4 adds a *band flag* per Gaussian: a band whose every level equals the band's most common
level (``sh_{b}_zero``, the level of 0 in practice) is not coded; a binary stream ``sh_{b}_nz``
says which Gaussians code the band, and ``sh_{b}`` holds only theirs. The encoder codes each
band both ways and keeps the smaller; the header field ``sh_{b}_flagged`` says which. On tap
every band is flagged (10, 42 and 62 % of the Gaussians all-zero): 4.5 kB smaller, and the
decoder pops fewer symbols: a flag (alphabet 2) costs a fraction of a joint RGB symbol (alphabet
k^3, a binary search over its table), so the flags pay for speed where they pay for size. The
flag's context is whether the previous band was nonzero (its flag, or its decoded symbols when
it has none); band 1's has none.
Unflagged Gaussians decode to the zero level's value, so the decoded floats are those of
formats 2 and 3 for the same levels.
"""

from __future__ import annotations

import numpy as np

from codec.errors import CorruptDataError, InvalidInputError

from ._header import MAX_ALPHABET, float_field, int_field
from .quantize import grid_of, uniform_offset_from_int, uniform_offset_to_int
from .streams import decode_categorical, decode_categorical_columns, encode_categorical

__all__ = ["SH_BANDS", "SH_JOINT_MAX", "FLAG_VERSION", "encode_sh_bands", "decode_sh_bands", "sh_symbols",
           "sh_values"]

SH_BANDS = ((0, 3), (3, 8), (8, 15))  # coefficient ranges of SH bands 1, 2, 3
SH_JOINT_MAX = 8192  # largest joint alphabet for the RGB triple of one SH coefficient
FLAG_VERSION = 4  # the first scene format with band flags


def sh_symbols(v: np.ndarray, k: int) -> tuple[np.ndarray, int, int]:
    """(symbols [N, W] int64, W contexts, alphabet) for SH levels ``v`` [N, nb, 3] in [0, k): the
    RGB triple of each coefficient as one symbol (k^3 values; channels are strongly correlated
    and it is a third of the symbols) when k^3 <= SH_JOINT_MAX, else each channel alone."""
    if k ** 3 <= SH_JOINT_MAX:
        return (v[..., 0] * k + v[..., 1]) * k + v[..., 2], v.shape[1], k ** 3
    return v.reshape(len(v), -1), 3 * v.shape[1], k


def sh_values(k: int, lo: int, step: float, offset: float) -> np.ndarray:
    """The float32 value of every SH symbol of a band with levels ``lo + [0, k)``: [k^3, 3]
    (RGB triples, :func:`sh_symbols`'s joint symbols) or [k] (one channel per symbol).

    A decoder's lookup table: each entry is ``uniform_offset_from_int`` of the symbol's levels,
    so gathering from it gives the same floats as splitting every decoded symbol."""
    levels = np.arange(k ** 3 if k ** 3 <= SH_JOINT_MAX else k, dtype=np.int64)
    if k ** 3 <= SH_JOINT_MAX:
        levels = np.stack([levels // (k * k), levels // k % k, levels % k], axis=1)
    return uniform_offset_from_int(levels + lo, step, offset)


def _zero_symbol(zero: int, k: int) -> int:
    """The symbol of a coefficient whose levels all equal ``zero`` (joint or per channel)."""
    return (zero * k + zero) * k + zero if k ** 3 <= SH_JOINT_MAX else zero


def _columns(sym: np.ndarray, alphabet: int, width: int) -> bytes:
    ctx = np.broadcast_to(np.arange(width), sym.shape)  # one table per coefficient (or channel)
    return encode_categorical(sym.ravel(), alphabet, ctx.ravel(), width)


def encode_sh_bands(rest: np.ndarray, degree: int, step: float) -> tuple[dict, list[tuple[str, bytes]]]:
    """(header fields, sections) of the SH rest ``rest`` [N, K, 3] float32 (decoded order),
    bands 1..``degree`` at the nominal grid step ``step``, in the current format (4)."""
    header: dict = {}
    sections: list[tuple[str, bytes]] = []
    prev = None  # [N] bool: the previous band is nonzero
    for band, (c0, c1) in enumerate(SH_BANDS[:degree], start=1):
        vals = rest[:, c0:c1]  # [N, nb, 3]
        bstep, boff = grid_of(vals, step)
        q = uniform_offset_to_int(vals, bstep, boff)
        lo = int(q.min()) if q.size else 0
        kk = int(q.max()) - lo + 1 if q.size else 1
        if kk > MAX_ALPHABET:
            raise InvalidInputError(f"SH band {band} needs {kk} levels (limit {MAX_ALPHABET}); use a coarser preset")
        zero = int(np.argmax(np.bincount((q - lo).ravel(), minlength=kk))) if q.size else 0
        sym, width, alphabet = sh_symbols(q - lo, kk)
        nz = (sym != _zero_symbol(zero, kk)).any(axis=1)
        coded = [(f"sh_{band}", _columns(sym, alphabet, width))]
        if not nz.all():  # flags where they make the band smaller (then also faster to decode)
            ctx, t = (None, 1) if prev is None else (prev.astype(np.int64), 2)
            flagged = [(f"sh_{band}_nz", encode_categorical(nz.astype(np.int64), 2, ctx, t)),
                       (f"sh_{band}", _columns(sym[nz], alphabet, width))]
            if sum(len(p) for _, p in flagged) < len(coded[0][1]):
                coded = flagged
        header.update({f"sh_{band}_step": bstep, f"sh_{band}_offset": boff, f"sh_{band}_lo": lo, f"sh_{band}_k": kk,
                       f"sh_{band}_zero": zero, f"sh_{band}_flagged": int(len(coded) == 2)})
        sections += coded
        prev = nz
    return header, sections


def decode_sh_bands(h: dict, section, n: int, degree: int, version: int) -> np.ndarray:
    """[n, K, 3] float32 SH rest of a format 2..4 file; ``section(name) -> bytes``.

    Joint (RGB triple) symbols of every band are offset into one concatenated value table and
    gathered once at the end into the contiguous output (per-channel bands are written directly);
    unflagged Gaussians get the zero level's symbol, so each float is the table entry of its
    symbol, as in formats 2 and 3."""
    k = SH_BANDS[degree - 1][1] if degree else 0
    rest = np.empty((n, k, 3), np.float32)
    joint_tables: list[np.ndarray] = []  # value tables of the joint bands, concatenated below
    joint = np.empty((n, k), np.int32)  # their symbols + the table's offset (columns of joint bands)
    joint_cols: list[tuple[int, int]] = []
    offset = 0
    prev = None  # [n] bool: the previous band is nonzero (computed only when a flag needs it)
    for band, (c0, c1) in enumerate(SH_BANDS[:degree], start=1):
        nb = c1 - c0
        bstep = float_field(h, f"sh_{band}_step", 1e-6, 16.0)
        boff = float_field(h, f"sh_{band}_offset", -16.0, 16.0)
        lo = int_field(h, f"sh_{band}_lo", -(1 << 40), 1 << 40)
        kk = int_field(h, f"sh_{band}_k", 1, MAX_ALPHABET)
        values = sh_values(kk, lo, bstep, boff)  # [alphabet, 3] (joint) or [alphabet]
        if not np.isfinite(values).all():  # the band's values all come from this table
            raise CorruptDataError("decoded attributes are not finite")
        width = nb if values.ndim == 2 else 3 * nb
        what = f"sh_{band}"
        flagged = version >= FLAG_VERSION and int_field(h, f"{what}_flagged", 0, 1)
        zsym = _zero_symbol(int_field(h, f"{what}_zero", 0, kk - 1), kk) if version >= FLAG_VERSION else 0
        if flagged:
            ctx, t = (None, 1) if prev is None else (prev.view(np.uint8), 2)
            nz = decode_categorical(section(f"{what}_nz"), n, 2, ctx, t, what=f"{what}_nz").astype(bool)
            rows = np.flatnonzero(nz)
            coded = decode_categorical_columns(section(what), rows.size, len(values), width, what=what)
        else:
            rows = None
            coded = decode_categorical_columns(section(what), n, len(values), width, what=what)
            nz = None
            if version >= FLAG_VERSION and band < degree and int_field(h, f"sh_{band + 1}_flagged", 0, 1):
                nz = (coded != zsym).any(axis=1)
        if values.ndim == 2:  # joint symbols: offset into the concatenated table, gathered below
            cols = joint[:, c0:c1]
            if rows is None:
                np.add(coded, offset, out=cols)
            else:  # the others keep the zero symbol
                cols[:] = zsym + offset
                cols[rows] = coded + offset
            joint_tables.append(values)
            joint_cols.append((c0, c1))
            offset += len(values)
        else:
            sym = coded
            if rows is not None:
                sym = np.full((n, width), zsym, np.int32)
                sym[rows] = coded
            rest[:, c0:c1] = np.take(values, sym, axis=0).reshape(n, nb, 3)
        prev = nz
    if len(joint_cols) == degree and degree:  # every band joint: one gather, straight into the output
        # every index is a decoded symbol (< its table's size) plus its table's offset, so no
        # clipping happens; "clip" only spares numpy the buffered copy that "raise" makes with out=
        np.take(np.concatenate(joint_tables), joint, axis=0, out=rest, mode="clip")
    elif joint_cols:
        table = np.concatenate(joint_tables)
        for c0, c1 in joint_cols:
            rest[:, c0:c1] = np.take(table, joint[:, c0:c1], axis=0)
    return rest
