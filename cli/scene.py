"""``codec scene ...``: encode, decode, info, convert, render and eval 3D Gaussian scenes.

Only argument handling lives here; the work is in :mod:`codec.scene`.
"""

from __future__ import annotations

import argparse
import functools
import time
from pathlib import Path

from cli import common

__all__ = ["register"]

_FORMATS = "read (by content, whatever the name): .ply (INRIA float or PlayCanvas compressed), " \
           ".compressed.ply, .splat, .spz (v2-v4), .sog / meta.json (SOG v2), .gsz (ours); " \
           "write (by extension): .ply, .splat, .spz (v3), .gsz"
# Render side in pixels (square views). The CPU renderer's memory grows with the pixel count:
# `codec scene render biker.spz --size S` (playcanvas_biker, 2.2 MB) peaked at 1.0 GB RSS at 512,
# 2.0 GB at 2048 (2.7 min) and 4.9 GB at 4096 (19 min) here, so the side is capped at 2048. The
# SSIM of `scene eval` needs at least its 11-pixel window.
MIN_SIZE, MAX_SIZE = 16, 2048
_SIZE_HELP = (f"image side in pixels, {MIN_SIZE}..{MAX_SIZE} (default 512); memory grows with it, "
              "about 2 GB at 2048 for a 2 MB scene")


def register(subparsers) -> None:
    from codec.scene.presets import DEFAULT_QUALITY, PRESETS, bounds_text

    scene = common.add_command(subparsers, "scene", help="encode, decode, convert, render and evaluate 3D Gaussian scenes",
                               description="3D Gaussian Splatting scenes. Formats: " + _FORMATS)
    sub = scene.add_subparsers(title="scene commands", metavar="SUBCOMMAND", dest="scene_command")
    sub.required = True

    p = common.add_command(sub, "encode", help="compress a scene to .gsz",
                           description="Compress a scene with the scene codec. Max per-Gaussian errors "
                                       "each --quality guarantees (E = largest bounding-box side):\n"
                                       + bounds_text()
                                       + "\nThe decoded scene holds the Gaussians in Morton order.")
    p.add_argument("input", type=Path, metavar="IN", help="scene file (" + _FORMATS.split(";")[0] + ")")
    p.add_argument("-o", "--output", type=Path, metavar="OUT", help="output .gsz (default: IN with .gsz)")
    common.add_quality_option(p, f"preset {min(PRESETS)}..{max(PRESETS)} (default {DEFAULT_QUALITY}); higher is "
                                 "larger and more accurate",
                              type=int, default=DEFAULT_QUALITY, choices=sorted(PRESETS))
    p.add_argument("--prune", action="store_true",
                   help="drop the Gaussians that weigh under 1/255 in every pixel of 16 orbit views at "
                        "512x512 (5 and 40 degrees elevation); renders them, so it takes about a minute "
                        "for 150k Gaussians")
    p.add_argument("-f", "--force", action="store_true", help="overwrite OUT")
    p.set_defaults(func=_encode)

    p = common.add_command(sub, "decode", help="decompress a .gsz to a scene file")
    p.add_argument("input", type=Path, metavar="IN")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="output (.ply, .splat, .spz)")
    p.add_argument("-f", "--force", action="store_true")
    p.set_defaults(func=_decode)

    p = common.add_command(sub, "info", help="summarize a scene file of any supported format")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_info)

    p = common.add_command(sub, "convert", help="convert between scene formats by extension",
                           description="Convert IN to OUT, formats chosen by extension. " + _FORMATS)
    p.add_argument("input", type=Path, metavar="IN")
    p.add_argument("output", type=Path, metavar="OUT")
    p.add_argument("-f", "--force", action="store_true")
    p.set_defaults(func=_convert)

    p = common.add_command(sub, "render", help="render a view to PNG with the CPU renderer")
    p.add_argument("input", type=Path, metavar="SCENE")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="PNG")
    p.add_argument("--camera", default="orbit:0", type=_camera_spec,
                   help="orbit:K (K-th of 8 orbit views, 0 <= K < 8) or orbit:K/M (K-th of M)")
    p.add_argument("--size", type=common.int_in(MIN_SIZE, MAX_SIZE), default=512, metavar="PX", help=_SIZE_HELP)
    p.add_argument("-f", "--force", action="store_true")
    p.set_defaults(func=_render)

    p = common.add_command(sub, "eval", help="compare two scenes: render PSNR/SSIM, attribute errors, sizes",
                           description="Render ORIG and OTHER from the same orbit cameras and report PSNR/SSIM, "
                                       "per-attribute max/mean errors (when OTHER is a .gsz of ORIG, or has the "
                                       "same Gaussians in the same order), file sizes and the ratio to ORIG.")
    p.add_argument("orig", type=Path, metavar="ORIG")
    p.add_argument("other", type=Path, metavar="OTHER")
    p.add_argument("--views", type=common.int_in(1), default=8, metavar="N",
                   help="orbit cameras, rendered one after the other (default 8)")
    p.add_argument("--size", type=common.int_in(MIN_SIZE, MAX_SIZE), default=512, metavar="PX", help=_SIZE_HELP)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_eval)


def _camera_spec(spec: str) -> str:
    """argparse type of ``--camera``: a malformed spec is a usage error before the scene is read."""
    from codec.errors import InvalidInputError
    from codec.scene.cameras import parse_orbit

    try:
        parse_orbit(spec)
    except InvalidInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return spec


def _is_gsz(path: Path) -> bool:
    from codec.scene.io import SCENE_CODEC_SUFFIX, detect_format

    return detect_format(path) == SCENE_CODEC_SUFFIX


def _encode(args: argparse.Namespace) -> int:
    from codec.scene import SceneCodec, read
    from codec.scene._files import write_file

    scene = read(args.input)
    out = args.output or args.input.with_name(args.input.name.split(".")[0] + ".gsz")
    common.refuse_existing(out, args.force)  # before pruning renders for a minute
    t = time.perf_counter()
    views = functools.partial(common.progress_bar, desc="prune", unit="view", quiet=args.quiet)
    codec = SceneCodec(quality=args.quality, prune=args.prune, progress=views)
    data = codec.encode(scene)
    write_file(out, data, force=args.force)
    if not args.quiet:
        kept = len(codec.last_order)
        pruned = f" ({len(scene) - kept} pruned)" if args.prune else ""
        print(f"{out}: {common.format_bytes(len(data))}, {kept} Gaussians{pruned}, "
              f"{8 * len(data) / max(kept, 1):.2f} bits/Gaussian, {time.perf_counter() - t:.2f} s")
    return 0


def _decode(args: argparse.Namespace) -> int:
    from codec.scene import read, write

    scene = read(args.input)
    n = write(scene, args.output, force=args.force)
    if not args.quiet:
        print(f"{args.output}: {common.format_bytes(n)}, {len(scene)} Gaussians")
    return 0


def _convert(args: argparse.Namespace) -> int:
    return _decode(args)


def _info(args: argparse.Namespace) -> int:
    from codec.scene import read

    scene = read(args.file)
    lo, hi = scene.bounds()
    info = {"file": str(args.file), "size": args.file.stat().st_size, "gaussians": len(scene),
            "sh_degree": scene.sh_degree, "bounds_min": lo.tolist(), "bounds_max": hi.tolist(),
            "bytes_per_gaussian": args.file.stat().st_size / max(len(scene), 1)}
    if _is_gsz(args.file):
        from codec.container import unpack
        from codec.scene._files import read_file

        c = unpack(read_file(args.file), "scene")
        info["quality"] = c.header.get("quality")
        info["sections"] = {name: len(payload) for name, payload in c.sections}
    if args.json:
        common.print_json(info)
    else:
        for k, v in info.items():
            print(f"{k}: {v}")
    return 0


def _render(args: argparse.Namespace) -> int:
    import numpy as np
    from PIL import Image

    from codec.scene import read
    from codec.scene._files import write_file
    from codec.scene.evaluate import parse_camera, to_uint8
    from codec.scene.render import render

    scene = read(args.input)
    cam = parse_camera(args.camera, scene, args.size)
    img = to_uint8(render(scene, cam))
    import io

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img)).save(buf, format="PNG")
    write_file(args.output, buf.getvalue(), force=args.force)
    return 0


def _eval(args: argparse.Namespace) -> int:
    from codec.scene import read
    from codec.scene.evaluate import evaluate

    orig, other = read(args.orig), read(args.other)
    aligned = _align_to_gsz(orig, args.other) if _is_gsz(args.other) else None
    result = evaluate(orig if aligned is None else aligned, other, views=args.views, size=args.size,
                      same_order=aligned is not None)
    so, st = args.orig.stat().st_size, args.other.stat().st_size
    result.update(orig_bytes=so, other_bytes=st, ratio=st / max(so, 1), gaussians=[len(orig), len(other)])
    if args.json:
        common.print_json(result)
    else:
        print(f"PSNR {result['psnr']:.2f} dB  SSIM {result['ssim']:.4f}  ({args.views} views, {args.size} px)")
        print(f"size {st} B vs {so} B: ratio {result['ratio']:.4f}; Gaussians {len(other)} vs {len(orig)}")
        if "matching" in result:
            print(f"attribute errors, Gaussians paired by {result['matching']}:")
        for name, e in result.get("attributes", {}).items():
            print(f"  {name:10s} max {e['max']:.3g}  mean {e['mean']:.3g}")
    return 0


def _align_to_gsz(orig, path):
    """``orig`` in the order the codec wrote ``path`` (same grid, same Morton order), or None
    when ``path`` holds another number of Gaussians."""
    import struct

    import numpy as np

    from codec.container import unpack
    from codec.scene._files import read_file
    from codec.scene.codec import canonical_order

    h = unpack(read_file(path), "scene").header
    if h.get("n") != len(orig):
        return None  # pruned or another scene: renders only
    order = canonical_order(orig, np.array(struct.unpack("<3d", h["origin"])), h["pos_step"])
    return orig.subset(order)
