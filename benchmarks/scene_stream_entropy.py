"""What would a previous-Gaussian context save on top of the scene codec's own contexts?

    python benchmarks/scene_stream_entropy.py ../shared/data/scenes/douglas_donut/donut.ply --quality 1

Encodes the scene once and records every categorical stream the encoder hands to the rANS coder
(``streams.encode_categorical``: opacity, scales, rotations, colours, position refinements, SH
flags), with the context the codec gives each symbol. For each stream it prints the empirical
entropy in bits per Gaussian given that context, and given also the previous symbol of the same
stream in the codec's Morton order (4 quantile bins), with the number of occupied (context,
symbol) cells as a rough measure of what the larger tables would cost. Empirical entropies are
optimistic (the tables are not paid for), so the saving is an upper bound. The colour channels r-g
and b-g are coded both plain and with colour contexts and the encoder keeps the smaller pair:
both appear, the pair the file does not use marked as not kept, and so do the refinement depths
that ``positions.py`` tried and did not keep.
No bitstream is changed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import codec.scene.codec as scene_codec  # noqa: E402
import codec.scene.positions as scene_positions  # noqa: E402
import codec.scene.sh_bands as scene_sh  # noqa: E402
from codec.container import unpack  # noqa: E402
from codec.scene.io import read  # noqa: E402
from scene_context_entropy import entropy  # noqa: E402  (this folder's sibling benchmark)


def conditional_bits(x: np.ndarray, ctx: np.ndarray) -> tuple[float, int]:
    """(total empirical bits of ``x`` given ``ctx``, occupied (ctx, x) cells)."""
    order = np.argsort(ctx, kind="stable")
    xs, cs = x[order], ctx[order]
    cuts = np.flatnonzero(np.diff(cs)) + 1
    total, cells = 0.0, 0
    for part in np.split(xs, cuts):
        total += len(part) * entropy(part)
        cells += len(np.unique(part))
    return total, cells


def record_streams(scene, quality: int) -> tuple[list[tuple[str, int, np.ndarray, np.ndarray]], bytes]:
    """Encode ``scene``; returns ([(caller, alphabet, [L] symbols, [L] contexts)], file bytes)."""
    calls: list[tuple[str, int, np.ndarray, np.ndarray]] = []
    modules = (scene_codec, scene_positions, scene_sh)
    originals = [m.encode_categorical for m in modules]

    def spy_for(module, original):
        def spy(values, k, ctx=None, t=1):
            v = np.asarray(values, np.int64).ravel()
            c = np.zeros(len(v), np.int64) if ctx is None else np.asarray(ctx, np.int64).ravel()
            calls.append((module.__name__.rsplit(".", 1)[-1], int(k), v.copy(), c.copy()))
            return original(values, k, ctx, t)
        return spy

    try:
        for m, original in zip(modules, originals):
            m.encode_categorical = spy_for(m, original)
        data, _ = scene_codec.encode_scene(scene, quality)
    finally:
        for m, original in zip(modules, originals):
            m.encode_categorical = original
    return calls, data


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scene", type=Path)
    p.add_argument("--quality", type=int, default=3)
    p.add_argument("--min-symbols", type=int, default=1000, help="skip shorter streams")
    args = p.parse_args()
    scene = read(args.scene)
    calls, data = record_streams(scene, args.quality)
    n = len(scene)
    header = unpack(data, "scene").header
    contextual = bool(header.get("color_contexts"))
    print(f"{args.scene.name} q{args.quality}: {n} Gaussians, {len(data):,} B = {8 * len(data) / n:.2f} bits/G; "
          f"colour contexts {'on' if contextual else 'off'}")
    print("stream  caller      symbols  bits/G|codec ctx  cells  bits/G|+previous  cells  saving bits/G")
    # encode_scene's last five categorical streams: colour g, r-g and b-g plain, r-g and b-g with contexts
    colour = [i for i, (caller, *_) in enumerate(calls) if caller == "codec"][-5:]
    dropped = set(colour[3:] if not contextual else colour[1:3])
    # positions.py tries several refinement depths and keeps one (header refine_levels)
    levels = header.get("refine_levels")
    dropped |= {i for i, (caller, k, *_) in enumerate(calls) if caller == "positions" and k != 1 << levels}
    kept_base = kept_with = 0.0
    for i, (caller, _, x, ctx) in enumerate(calls):
        if len(x) < args.min_symbols:
            continue
        prev = np.roll(x, 1)
        prev[0] = x[0]
        edges = np.unique(np.quantile(x, [0.25, 0.5, 0.75]))
        base, cells0 = conditional_bits(x, ctx)
        with_prev, cells1 = conditional_bits(x, ctx * 4 + np.searchsorted(edges, prev))
        if i not in dropped:
            kept_base += base
            kept_with += with_prev
        print(f"{i:6d}  {caller:10s} {len(x):8d}  {base / n:16.3f}  {cells0:5d}  {with_prev / n:16.3f}  {cells1:5d}"
              f"  {(base - with_prev) / n:13.3f}{'  (not kept)' if i in dropped else ''}")
    print(f"kept streams: {kept_base / n:.2f} -> {kept_with / n:.2f} bits/G "
          f"(-{(kept_base - kept_with) / n:.2f} bits/G, {100 * (kept_base - kept_with) / (8 * len(data)):.1f} % of the file)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
