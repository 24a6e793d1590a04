"""``codec stream encode|decode|info|serve|play``: free-viewpoint video streams (``.gss``).

* ``encode FRAMES -o out.gss [--gop N] [--quality Q] [--fps F] [--force]``: a folder (or glob)
  of per-frame scene files (``.ply``, ``.splat``, ``.spz``, ``.sog``), in name order.
* ``decode IN -d DIR [--format ply|splat|spz] [--force]``: one scene file per frame.
* ``info IN [--json]``: header, frame counts and sizes, after checking every CRC.
* ``serve PATH [--host 127.0.0.1] [--port 8000]``: a stream file or a folder of them.
* ``play URL [--frames N] [--start N]``: receive the live WebSocket stream and decode it.
"""

from __future__ import annotations

import argparse
import glob
import ipaddress
import time
import warnings
from pathlib import Path

from cli import common
from codec.errors import InvalidInputError

__all__ = ["register", "frame_files", "describe_stream", "FRAME_SUFFIXES"]

FRAME_SUFFIXES = (".ply", ".splat", ".spz", ".sog")
_DESCRIPTION = """\
Free-viewpoint video streams (.gss): keyframes through the scene codec, other frames as
gated residuals against the previous decoded frame.

  encode FRAMES -o out.gss [--gop N] [-Q Q] [--fps F] [--force]
  decode IN -d DIR [--format ply|splat|spz] [--force]
  info IN [--json]
  serve PATH [--host 127.0.0.1] [--port 8000]
  play URL [--frames N] [--start N]

See docs/streaming.md for the file layout and the server protocol."""


def register(subparsers) -> None:
    parser = common.add_command(subparsers, "stream", help="encode, inspect, serve and play frame streams",
                                description=_DESCRIPTION)
    sub = parser.add_subparsers(title="stream commands", metavar="ACTION", dest="action")
    sub.required = True

    enc = common.add_command(sub, "encode", help="encode a folder of frames into a .gss stream",
                             description="Encode per-frame scene files (name order) into a stream: "
                                         "keyframes through the scene codec, other frames as residuals.")
    enc.add_argument("frames", help="folder of frame files, or a glob pattern")
    enc.add_argument("-o", "--output", type=Path, metavar="FILE", help="output stream (default FRAMES.gss)")
    enc.add_argument("--gop", type=int, default=30, help="a keyframe at least every N frames (0: only when needed)")
    enc.add_argument("-Q", "--quality", type=int, default=3, help="scene codec preset 1..5 (default 3)")
    enc.add_argument("--fps", type=float, default=30.0, help="playback rate stored in the stream")
    enc.add_argument("-f", "--force", action="store_true", help="overwrite the output")
    enc.set_defaults(func=_run_encode)

    dec = common.add_command(sub, "decode", help="decode a stream to one scene file per frame")
    dec.add_argument("input", type=Path, metavar="IN")
    dec.add_argument("-d", "--output-dir", type=Path, required=True, metavar="DIR")
    dec.add_argument("--format", choices=("ply", "splat", "spz"), default="ply")
    dec.add_argument("-f", "--force", action="store_true", help="overwrite existing frame files")
    dec.set_defaults(func=_run_decode)

    info = common.add_command(sub, "info", help="describe a stream after checking every CRC")
    info.add_argument("input", type=Path, metavar="IN")
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=_run_info)

    srv = common.add_command(sub, "serve", help="serve streams over HTTP and WebSocket")
    srv.add_argument("path", type=Path, metavar="PATH", help="a .gss file or a folder of them")
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    srv.add_argument("--port", type=int, default=8000)
    srv.set_defaults(func=_run_serve)

    play = common.add_command(sub, "play", help="play a served stream, printing per-frame statistics")
    play.add_argument("url", help="http://HOST:PORT/streams/ID")
    play.add_argument("--frames", type=int, default=None, help="stop after N frames")
    play.add_argument("--start", type=int, default=0, help="first frame (snapped to its keyframe; -1: the newest keyframe)")
    play.set_defaults(func=_run_play)


def frame_files(spec: str) -> list[Path]:
    """Frame files of a folder (by name) or a glob pattern."""
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in FRAME_SUFFIXES)
    elif glob.has_magic(spec):
        files = sorted(Path(m) for m in glob.glob(spec))
    elif path.exists():
        raise InvalidInputError(f"{spec} is a file; give a folder of frame files or a glob pattern")
    else:
        raise InvalidInputError(f"no such folder: {spec}")
    if not files:
        raise InvalidInputError(f"no frame files ({', '.join(FRAME_SUFFIXES)}) in {spec}")
    return files


def _run_encode(args: argparse.Namespace) -> int:
    from codec.scene import read
    from codec.stream import encode_frames

    files = frame_files(args.frames)
    if args.gop < 0:
        raise InvalidInputError("--gop must be >= 0")
    if not 0 < args.fps <= 1000:
        raise InvalidInputError("--fps must be in (0, 1000]")
    out = args.output or Path(str(Path(args.frames)).rstrip("/") + ".gss")
    if out.exists() and not args.force:
        raise InvalidInputError(f"{out} already exists (use --force to overwrite it)")
    from codec.scene.presets import get_preset

    get_preset(args.quality)
    total = [0, 0.0]

    def report(entry, frame, seconds):
        total[0] += entry.size
        total[1] += seconds
        kind = "key" if entry.keyframe else ("delta*" if frame.matched else "delta")
        print(f"frame {entry.number:5d} {kind:6s} {entry.size:10,d} B {seconds * 1e3:8.1f} ms", flush=True)

    frames = (read(p) for p in common.progress_bar(files, desc="encode", unit="frame", quiet=args.quiet))
    entries = encode_frames(frames, out, fps=args.fps, gop=args.gop, quality=args.quality,
                            force=args.force, on_frame=report)
    keys = sum(e.keyframe for e in entries)
    print(f"{out}: {len(entries)} frames ({keys} keyframes), {common.format_bytes(out.stat().st_size)}, "
          f"{len(entries) / max(total[1], 1e-9):.2f} frames/s")
    return 0


def _run_decode(args: argparse.Namespace) -> int:
    from codec.fileio import output_path_in
    from codec.scene import write
    from codec.stream import StreamReader

    try:
        args.output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"cannot create {args.output_dir}: {exc.strerror or exc}") from None
    with StreamReader(args.input) as reader:
        t0 = time.perf_counter()
        for n, scene in enumerate(common.progress_bar(reader, total=len(reader), desc="decode",
                                                      unit="frame", quiet=args.quiet)):
            write(scene, output_path_in(args.output_dir, f"frame_{n:05d}.{args.format}"), force=args.force)
        count = len(reader)
    print(f"{args.output_dir}: {count} frames in {time.perf_counter() - t0:.1f} s")
    return 0


def describe_stream(path: Path) -> dict:
    """JSON-ready description of the stream file ``path`` after checking every record's CRCs
    (``codec info`` can delegate here for kind "stream")."""
    from codec.stream.format import RECORD_HEADER_SIZE, check_payload, parse_record_header
    from codec.stream.reader import FileSource

    src = FileSource(path)
    try:
        src.refresh(complete=True)
        for e in src.entries:
            data = src.record(e)
            check_payload(parse_record_header(data, 0), data[RECORD_HEADER_SIZE:], e.number)
        info, entries, finished = src.info, list(src.entries), src.finished
    finally:
        src.close()
    keys = [e.size for e in entries if e.keyframe]
    deltas = [e.size for e in entries if not e.keyframe]
    return {"file": str(path), "kind": "stream", "size": Path(path).stat().st_size, "fps": info.fps,
            "gop": info.gop, "sh_degree": info.sh_degree, "frames": len(entries), "keyframes": len(keys),
            "duration_s": len(entries) / info.fps, "indexed": finished,
            "keyframe_bytes_mean": sum(keys) / len(keys) if keys else 0,
            "delta_bytes_mean": sum(deltas) / len(deltas) if deltas else 0, "created_by": info.created_by,
            "frame_list": [{"n": e.number, "bytes": e.size, "keyframe": e.keyframe, "t": e.timestamp}
                           for e in entries]}


def _run_info(args: argparse.Namespace) -> int:
    return show_info(args.input, args.json)


def show_info(path: Path, as_json: bool) -> int:
    """Print what a stream file holds (``codec stream info`` and ``codec info`` on a stream)."""
    out = describe_stream(path)
    if as_json:
        common.print_json(out)
        return 0
    print(f"file:      {out['file']}\nkind:      stream (GMCV), checksums: ok\n"
          f"size:      {common.format_bytes(out['size'])}\nfps:       {out['fps']:g}   gop: {out['gop']}"
          f"   sh degree: {out['sh_degree']}\n"
          f"frames:    {out['frames']} ({out['keyframes']} keyframes), {out['duration_s']:.2f} s\n"
          f"index:     {'present' if out['indexed'] else 'none (live or interrupted stream; frames found by scanning)'}\n"
          f"keyframe:  {out['keyframe_bytes_mean']:,.0f} B mean\ndelta:     {out['delta_bytes_mean']:,.0f} B mean")
    return 0


def _run_serve(args: argparse.Namespace) -> int:
    from codec.stream.server import serve

    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = args.host == "localhost"
    if not loopback:
        warnings.warn(f"serving on {args.host}: reachable from other machines", RuntimeWarning, stacklevel=1)
    if not 0 < args.port < 65536:
        raise InvalidInputError("--port must be in 1..65535")
    def ready():
        print(f"serving {args.path} on http://{args.host}:{args.port}/streams (Ctrl-C stops)", flush=True)

    serve(args.path, host=args.host, port=args.port, on_ready=ready)
    return 0


def _run_play(args: argparse.Namespace) -> int:
    import asyncio

    from codec.stream.client import play

    def show(number, nbytes, keyframe, ms, scene):
        print(f"frame {number:5d} {'key' if keyframe else 'delta':5s} {nbytes:10,d} B decode {ms:7.1f} ms",
              flush=True)

    if args.frames is not None and args.frames < 1:
        raise InvalidInputError("--frames must be >= 1")
    stats = asyncio.run(play(args.url, frames=args.frames, start=args.start, on_frame=show))
    s = stats.summary()
    early = not s["ended"] and (args.frames is None or s["frames"] < args.frames)
    print(f"{s['frames']} frames, {s['bytes']:,} B, mean decode {s['mean_decode_ms']:.1f} ms, "
          f"{s['fps']:.1f} fps, dropped {s['dropped']}{' (stopped early)' if early else ''}")
    return 0
