"""The image codec: pixels <-> container bytes through the VQ model and the rANS layer.

File layout (container kind "image", see docs/format.md for the container itself):

header fields ``model`` (str, weights id), ``quality`` (int), ``width``,
``height`` (int, original pixels), ``mode`` ("RGB" | "L" | "RGBA" | "LA" | "1"), ``tile`` and ``overlap``
(int, pixels), and ``stages`` (int, fine stages sent) for models whose qualities are not stage
prefixes (entropy-constrained qualities); without it quality q sends q stages. Sections, in this order: ``L0`` (coarse indices), ``L1`` .. ``Lq`` (fine stages),
then ``flat`` if some tile has a single colour, then ``alpha2`` for RGBA and LA (``alpha`` in
older files; :mod:`codec.image.alpha`). Each ``L`` section is one
rANS stream holding the indices of every tile that is not flat for that level, tile-major, then
group, row, column. A flat tile is coded as its colour only (``flat``: u32 tile index, R, G, B per
flat tile, in increasing tile order): the model does not reproduce a constant colour well (a
1x1 (200, 30, 40) came back as (169, 53, 47) with gmq-v5) and spends bits on it. Sections are level-major, so dropping the
last stages (:func:`reduce_quality`) gives a valid lower-quality file without re-encoding.
"""

from __future__ import annotations

import functools
import struct
import threading
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from entropy import EntropyError, decode_symbols, encode_symbols

from ..container import Container, pack, unpack
from ..errors import CorruptDataError, InvalidInputError, LimitExceededError
from ..weights import LoadedModel, default_weights_dir, load_image_model
from . import alpha as alpha_coding
from .exact import ExactModel, to_grid
from .model import MULTIPLE
from .pixels import ALPHA_MODES, MODES, from_pixels, to_pixels
from .refine import refine_latent
from .tiling import Tile, blend_weights, tile_grid

__all__ = ["ImageCodec", "reduce_quality", "DEFAULT_QUALITY", "MAX_PIXELS", "MAX_PADDED_PIXELS", "DEFAULT_TILE",
           "DEFAULT_OVERLAP"]

DEFAULT_QUALITY = 4
DEFAULT_TILE = 1024
DEFAULT_OVERLAP = 32
MAX_PIXELS = 1 << 28  # 268 MP: hard limit on decoded size
MIN_BYTES_PER_MPIXEL = 32  # a file claiming more pixels than this allows is a decompression bomb
MAX_PADDED_PIXELS = 2 * MAX_PIXELS  # hard limit on tile-padded pixels (what decoding computes)
_STRIDE = 16  # pixels per fine latent position


def reduce_quality(data: bytes, quality: int) -> bytes:
    """Keep the first ``quality`` fine stages of an image file (no re-encoding). Files of models
    whose qualities are not prefixes of each other (their header has ``stages``) refuse."""
    c = unpack(data, "image")
    h = _Header.parse(c.header, len(data))
    if h.stages is not None:
        raise InvalidInputError(f"the qualities of model {h.model} are not prefixes of each other (each chooses "
                                "its indices for its own rate): encode the image again at the lower quality")
    if not 1 <= quality <= h.quality:
        raise InvalidInputError(f"quality must be between 1 and {h.quality}, got {quality}")
    keep = {"L0", *(f"L{s}" for s in range(1, quality + 1)), "flat", *alpha_coding.SECTIONS}
    header = dict(c.header, quality=quality)
    return pack(Container("image", header, tuple((n, p) for n, p in c.sections if n in keep)))


@functools.lru_cache(maxsize=8)
def _shipped(model_id: str | None, weights_dir: str) -> LoadedModel:
    return load_image_model(model_id, Path(weights_dir))


class ImageCodec:
    """Encode images to bytes and back with a shipped (or given) model.

    ``quality`` is 1..Q (stages sent; higher = more bits, better fidelity; default 4, or Q when
    the model has fewer stages); decoding ignores it, the file says how many stages it holds.
    ``models`` maps model ids to :class:`LoadedModel`; other ids load from ``weights_dir``
    (default ``$GMCODEC_WEIGHTS`` or the shipped ``weights/``) on first use. ``refine`` > 0
    spends that many optimization steps per tile on the latent before quantizing
    (:mod:`codec.image.refine`: slower encoding, same decoder). Encoding and decoding hold no
    mutable state, so one instance may serve several threads.
    """

    def __init__(self, quality: int | None = None, device: str = "cpu", model_id: str | None = None,
                 weights_dir: str | Path | None = None, models: dict[str, LoadedModel] | None = None,
                 tile: int = DEFAULT_TILE, overlap: int = DEFAULT_OVERLAP, refine: int = 0) -> None:
        if refine < 0:
            raise InvalidInputError(f"refine must be 0 or more steps, got {refine}")
        if tile % MULTIPLE or tile < MULTIPLE or overlap % _STRIDE or overlap < 0 or 2 * overlap > tile:
            raise InvalidInputError(f"tile must be a multiple of {MULTIPLE}, overlap a multiple of {_STRIDE} "
                                    "and at most half the tile")
        self.device = torch.device(device)
        self.weights_dir = str(weights_dir or default_weights_dir())
        self.models = dict(models or {})
        self.model_id = model_id if model_id is not None else (next(iter(self.models)) if self.models else None)
        self.tile, self.overlap, self.refine = tile, overlap, refine
        self._lock = threading.Lock()
        self._exact: dict[str, ExactModel] = {}
        n = self._model(self.model_id).model.config.num_qualities
        self.quality = quality = min(DEFAULT_QUALITY, n) if quality is None else quality
        if not 1 <= quality <= n:
            raise InvalidInputError(f"quality must be between 1 and {n}, got {quality}")

    # -- models ----------------------------------------------------------------------------
    def _model(self, model_id: str | None) -> LoadedModel:
        if model_id in self.models:
            return self.models[model_id]
        with self._lock:
            loaded = _shipped(model_id, self.weights_dir)
            loaded.model.to(self.device)
            self.models.setdefault(loaded.model_id, loaded)
            if model_id is None:
                self.model_id = loaded.model_id
        return loaded

    def _exact_model(self, lm: LoadedModel) -> ExactModel:
        """The fixed-point twin of ``lm``'s model that encoding and decoding run (built once)."""
        with self._lock:
            if lm.model_id not in self._exact:
                self._exact[lm.model_id] = ExactModel(lm.model, lm.tables)
            return self._exact[lm.model_id]

    # -- encode ------------------------------------------------------------------------------
    def encode(self, image: str | Path | Image.Image | np.ndarray | torch.Tensor) -> bytes:
        """Compress one image (a file path, PIL, ``[H, W, 3]`` uint8 array or ``[3, H, W]`` float tensor)."""
        px = to_pixels(image)
        height, width = px.rgb.shape[:2]
        if height * width > MAX_PIXELS:
            raise LimitExceededError(f"image has {height * width} pixels, the limit is {MAX_PIXELS}")
        lm = self._model(self.model_id)
        exact = self._exact_model(lm)
        q = self.quality
        tiles = tile_grid(height, width, self.tile, self.overlap)
        _check_padded_work([_latent_shape(t) for t in tiles], MAX_PADDED_PIXELS,
                           _Header(lm.model_id, q, width, height, px.mode, self.tile, self.overlap))
        per_level: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(lm.model.config.stages(q) + 1)]
        flat = _flat_tiles(px.rgb, tiles)
        for i, t in enumerate(tiles):
            if i in flat:
                continue
            x = _to_tensor(px.rgb[t.top:t.top + t.height, t.left:t.left + t.width], self.device)
            # refinement optimizes in float (so its result may depend on the thread count); without
            # it the latent, like the indices, is computed exactly
            y = to_grid(refine_latent(lm.model, x, q, self.refine)) if self.refine else exact.latent(x)
            indices = exact.indices_from_latent(y, q)
            contexts = [exact.context(level, indices, q) for level in range(len(indices))]
            for level, (idx, ctx) in enumerate(zip(indices, contexts)):
                per_level[level].append((idx[0].cpu().numpy(), ctx[0].cpu().numpy()))
        sections = []
        for level, parts in enumerate(per_level):
            none = [np.zeros(0, np.int64)]  # every tile may be flat
            symbols = np.concatenate([i.ravel() for i, _ in parts] + none)
            table_ids = np.concatenate([_table_ids(c, lm.tables[level].num_tables) for _, c in parts] + none)
            sections.append((f"L{level}", encode_symbols(symbols, lm.tables[level], table_ids)))
        if flat:
            sections.append(("flat", _pack_flat(flat)))
        if px.alpha is not None:
            sections.append(alpha_coding.encode_section(px.alpha))
        header = {"model": lm.model_id, "quality": q, "width": width, "height": height, "mode": px.mode,
                  "tile": self.tile, "overlap": self.overlap}
        if not lm.model.config.prefix_qualities:
            header["stages"] = lm.model.config.stages(q)
        return pack(Container("image", header, tuple(sections)))

    def encode_batch(self, images: list) -> list[bytes]:
        """Compress several images (same settings); returns one file's bytes per image."""
        return [self.encode(im) for im in images]

    # -- decode ------------------------------------------------------------------------------
    def decode(self, data: bytes) -> Image.Image:
        """Decompress an image file's bytes to a PIL image of the original mode and size."""
        rgb, alpha, mode = self.decode_arrays(data)
        return from_pixels(rgb, alpha, mode)

    def decode_arrays(self, data: bytes) -> tuple[np.ndarray, np.ndarray | None, str]:
        """Like :meth:`decode` but returns ``rgb [H, W, 3]`` uint8, ``alpha`` or None, mode."""
        c = unpack(data, "image")
        h = _Header.parse(c.header, len(data))
        lm = self._model(h.model)
        config = lm.model.config
        if h.quality > config.num_qualities:
            raise CorruptDataError(f"quality {h.quality} is above the {config.num_qualities} of model {h.model}")
        if h.stages != (None if config.prefix_qualities else config.stages(h.quality)):
            raise CorruptDataError(f"header stages {h.stages} do not fit quality {h.quality} of model {h.model}")
        sections = dict(c.sections)
        tiles = tile_grid(h.height, h.width, h.tile, h.overlap)
        shapes = [_latent_shape(t) for t in tiles]
        _check_padded_work(shapes, h.max_work, h)
        flat = _unpack_flat(sections.get("flat", b""), len(tiles))
        coded = [i for i in range(len(tiles)) if i not in flat]
        indices: list[list[torch.Tensor]] = [[] for _ in tiles]
        exact = self._exact_model(lm)
        for level in range(config.stages(h.quality) + 1):
            name = f"L{level}"
            if name not in sections:
                raise CorruptDataError(f"image file lacks section {name}")
            groups = lm.groups[level]
            sizes = [(groups, hh // 2, ww // 2) if level == 0 else (groups, hh, ww) for hh, ww in (shapes[i] for i in coded)]
            if level == 0:
                ctxs = [exact.context(0, [torch.zeros((1, *s), dtype=torch.int64)], h.quality) for s in sizes]
            else:
                ctxs = [exact.context(level, indices[i], h.quality) for i in coded]
            table_ids = np.concatenate([_table_ids(c_.numpy()[0], lm.tables[level].num_tables) for c_ in ctxs]
                                       + [np.zeros(0, np.int64)])
            try:
                symbols = decode_symbols(sections[name], lm.tables[level], table_ids=table_ids)
            except EntropyError as exc:
                raise CorruptDataError(f"section {name} does not decode: {exc}") from None
            offset = 0
            for i, s in zip(coded, sizes):
                n = int(np.prod(s))
                indices[i].append(torch.from_numpy(symbols[offset:offset + n].astype(np.int64)).view(1, *s).to(self.device))
                offset += n
        rgb = self._reconstruct(lm, tiles, indices, flat, h)
        alpha = None
        if h.mode in ALPHA_MODES:
            alpha = alpha_coding.decode_section(sections, h.height, h.width)
        return rgb, alpha, h.mode

    def _reconstruct(self, lm: LoadedModel, tiles: list[Tile], indices: list[list[torch.Tensor]],
                     flat: dict[int, np.ndarray], h: "_Header") -> np.ndarray:
        exact = self._exact_model(lm)
        if len(tiles) == 1 and not flat:
            return _to_uint8(exact.decode(indices[0])[0, :, :h.height, :h.width])
        acc = np.zeros((h.height, h.width, 3), dtype=np.float32)
        for i, (t, idx) in enumerate(zip(tiles, indices)):
            if i in flat:
                patch = np.broadcast_to(flat[i].astype(np.float32) / 255, (t.height, t.width, 3))
            else:
                x = exact.decode(idx)[0, :, :t.height, :t.width].float()
                patch = x.clamp(0, 1).permute(1, 2, 0).cpu().numpy()
            w = blend_weights(t, h.height, h.width, h.overlap)
            acc[t.top:t.top + t.height, t.left:t.left + t.width] += patch * w[..., None]
        return np.clip(np.round(acc * 255), 0, 255).astype(np.uint8)


class _Header:
    """Validated header fields of an image file."""

    def __init__(self, model: str, quality: int, width: int, height: int, mode: str, tile: int, overlap: int,
                 stages: int | None = None):
        self.model, self.quality, self.width, self.height = model, quality, width, height
        self.mode, self.tile, self.overlap, self.stages = mode, tile, overlap, stages
        self.max_work = MAX_PADDED_PIXELS  # padded pixels decoding may compute (parse() lowers it)

    @classmethod
    def parse(cls, header: dict, file_size: int) -> "_Header":
        types = {"model": str, "quality": int, "width": int, "height": int, "mode": str, "tile": int, "overlap": int}
        for key, kind in types.items():
            if not isinstance(header.get(key), kind):
                raise CorruptDataError(f"image header field {key!r} is missing or not {kind.__name__}")
        h = cls(**{k: header[k] for k in types})
        if "stages" in header:
            if not isinstance(header["stages"], int) or header["stages"] < 1:
                raise CorruptDataError("image header field 'stages' is not a positive int")
            h.stages = header["stages"]
        if h.width < 1 or h.height < 1:
            raise CorruptDataError(f"invalid image size {h.width}x{h.height}")
        pixels = h.width * h.height
        if pixels > MAX_PIXELS:
            raise LimitExceededError(f"image of {h.width}x{h.height} exceeds the {MAX_PIXELS}-pixel limit")
        allowed = max(1 << 22, file_size * (1 << 20) // MIN_BYTES_PER_MPIXEL)
        if pixels > allowed:
            raise LimitExceededError(f"a {file_size}-byte file cannot hold a {h.width}x{h.height} image")
        # decoding works on tiles padded to multiples of 32 (plus overlaps): a thin strip in small
        # tiles costs up to 32x its pixels, so that padded work is bounded too, with 2x headroom
        # for the padding and overlaps of ordinary images (checked per tile in decode_arrays)
        h.max_work = min(2 * allowed, MAX_PADDED_PIXELS)
        if h.mode not in MODES:
            raise CorruptDataError(f"unknown colour mode {h.mode!r}")
        if h.quality < 1:
            raise CorruptDataError(f"invalid quality {h.quality}")
        if h.tile < MULTIPLE or h.tile % MULTIPLE or h.tile > 1 << 14 or h.overlap < 0 or h.overlap % _STRIDE \
                or 2 * h.overlap > h.tile:
            raise CorruptDataError(f"invalid tiling {h.tile}/{h.overlap}")
        n_tiles = -(-h.height // h.tile) * -(-h.width // h.tile)
        if n_tiles * MULTIPLE * MULTIPLE > h.max_work:  # before tile_grid builds the list
            raise LimitExceededError(f"a {file_size}-byte file cannot hold a {h.width}x{h.height} image "
                                     f"in {n_tiles} tiles of {h.tile}")
        return h


def _check_padded_work(shapes: list[tuple[int, int]], limit: int, h: "_Header") -> None:
    """Refuse a tiling whose padded area (what the decoder computes) exceeds ``limit`` pixels."""
    padded = sum(hh * ww for hh, ww in shapes) * _STRIDE * _STRIDE
    if padded > limit:
        raise LimitExceededError(f"a {h.width}x{h.height} image in tiles of {h.tile}/{h.overlap} needs "
                                 f"{padded} padded pixels, more than this file allows ({limit})")


def _latent_shape(t: Tile) -> tuple[int, int]:
    """Fine latent ``(h, w)`` of a tile after padding to a multiple of 32."""
    return -(-t.height // MULTIPLE) * (MULTIPLE // _STRIDE), -(-t.width // MULTIPLE) * (MULTIPLE // _STRIDE)


def _table_ids(ctx: np.ndarray, num_tables: int) -> np.ndarray:
    """Table of each symbol: group-major ``group * G + class`` for ``ctx`` ``[M, h, w]``."""
    m = ctx.shape[0]
    classes = num_tables // m
    return (np.arange(m).reshape(m, 1, 1) * classes + ctx).ravel()


def _to_tensor(rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    """``[h, w, 3]`` uint8 -> ``[1, 3, H, W]`` float in [0, 1], edge-padded to a multiple of 32."""
    x = torch.from_numpy(np.array(rgb)).permute(2, 0, 1).float().div(255).unsqueeze(0)
    h, w = rgb.shape[:2]
    ph, pw = -h % MULTIPLE, -w % MULTIPLE
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x.to(device)


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    """``[3, H, W]`` float -> ``[H, W, 3]`` uint8 (rounded)."""
    return x.clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def _flat_tiles(rgb: np.ndarray, tiles: list[Tile]) -> dict[int, np.ndarray]:
    """Tiles whose pixels all have one colour: index -> that colour ``[3]`` uint8."""
    flat = {}
    for i, t in enumerate(tiles):
        region = rgb[t.top:t.top + t.height, t.left:t.left + t.width]
        if (region == region[0, 0]).all():
            flat[i] = region[0, 0].copy()
    return flat


def _pack_flat(flat: dict[int, np.ndarray]) -> bytes:
    """Section ``flat``: per one-colour tile, u32 tile index (increasing) then R, G, B bytes."""
    return b"".join(struct.pack("<I3B", i, *map(int, colour)) for i, colour in sorted(flat.items()))


def _unpack_flat(data: bytes, n_tiles: int) -> dict[int, np.ndarray]:
    if len(data) % 7:
        raise CorruptDataError(f"flat section has {len(data)} bytes, not a multiple of 7")
    flat, last = {}, -1
    for i, r, g, b in struct.iter_unpack("<I3B", data):
        if not last < i < n_tiles:
            raise CorruptDataError(f"flat section names tile {i} out of order or beyond the {n_tiles} tiles")
        flat[i], last = np.array([r, g, b], dtype=np.uint8), i
    return flat
