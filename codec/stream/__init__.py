"""Free-viewpoint video: streams of Gaussian-scene frames, coded, stored, served and played.

* :mod:`~codec.stream.residual` delta frames (gated, quantized residuals, closed loop);
* :mod:`~codec.stream.encoder` keyframe/delta decisions (GOP, scene cuts, lost correspondence);
* :mod:`~codec.stream.format` the appendable file layout (``docs/streaming.md``);
* :mod:`~codec.stream.writer` / :mod:`~codec.stream.reader` files, live append and follow;
* :mod:`~codec.stream.server` / :mod:`~codec.stream.client` HTTP + WebSocket serving and play.

Library use::

    from codec.stream import StreamWriter, StreamReader
    with StreamWriter("out.gss", fps=30, gop=30) as w:
        for scene in frames:
            w.write(scene)
    with StreamReader("out.gss") as r:
        r.seek(12)
        frame = next(r)          # a GaussianScene

The server and client need ``aiohttp``; they are imported only when used.
"""

from .encoder import EncodedFrame, StreamEncoder
from .format import FrameEntry, StreamInfo
from .reader import StreamReader
from .residual import DeltaState, ResidualConfig, decode_delta, encode_delta
from .writer import StreamWriter, encode_frames

__all__ = ["StreamReader", "StreamWriter", "StreamEncoder", "EncodedFrame", "encode_frames",
           "FrameEntry", "StreamInfo", "ResidualConfig", "DeltaState", "encode_delta", "decode_delta"]
