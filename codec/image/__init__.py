"""The learned image codec: :mod:`~codec.image.codec` (``ImageCodec``, ``reduce_quality``), the
model and its parts, pixels in and out, alpha, tiling and evaluation. Submodules load on first
attribute access (``codec.image.codec`` after a bare ``import codec``)."""


def __getattr__(name: str):
    from codec import _submodule

    return _submodule(__name__, name)
