"""Rate-distortion results in CompressAI's ``eval_model`` JSON form: reading, BD-rate, plots.

A results file is ``{"name", "description", "results": {"psnr-rgb": [...], "ms-ssim-rgb": [...],
"bpp": [...], ...}}`` with one entry per quality. Published anchors may carry
``ms-ssim-db-rgb`` (``-10 log10(1 - MS-SSIM)``) instead of the linear ``ms-ssim-rgb``, or only
one of the metrics. ``codec eval`` also writes ``images`` (how many images the means cover);
for files without it the count is known from ``meta.dataset`` or the folder (CompressAI's
``results/<dataset>/<codec>.json`` layout) when that names a dataset of :data:`DATASET_SIZES`.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np

from .errors import InvalidInputError

__all__ = ["load_results", "rd_curve", "has_metric", "image_count", "bd_rate", "plot_rd", "png_bytes", "METRICS",
           "DATASET_SIZES"]

METRICS = ("psnr-rgb", "ms-ssim-db", "ms-ssim-db-rgb")  # the last two are the same metric
DATASET_SIZES = {"kodak": 24}  # images in the test sets whose anchors ship without a count


def load_results(path: str | Path) -> dict:
    """Read a results JSON file; a CodecError when it is not one."""
    try:
        data = json.loads(Path(path).read_text())
        results = data["results"]
        if not isinstance(results.get("bpp"), list):
            raise KeyError("bpp")
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: no such file") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidInputError(f"{path}: not a results JSON file ({exc})") from None
    data.setdefault("name", Path(path).stem)
    data.setdefault("path", str(path))
    return data


def image_count(data: dict) -> int | None:
    """How many images the means of ``data`` cover, or None when the file does not say."""
    if isinstance(data.get("images"), int):
        return data["images"]
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    for name in (meta.get("dataset"), Path(data.get("path", "")).parent.name):
        if isinstance(name, str) and name.lower() in DATASET_SIZES:
            return DATASET_SIZES[name.lower()]
    return None


def has_metric(data: dict, metric: str) -> bool:
    """Whether ``data`` holds ``metric`` (MS-SSIM in dB also from the linear values)."""
    r = data["results"]
    if metric in ("ms-ssim-db", "ms-ssim-db-rgb"):
        return "ms-ssim-db-rgb" in r or "ms-ssim-rgb" in r
    return metric in r


def rd_curve(data: dict, metric: str = "psnr-rgb") -> tuple[np.ndarray, np.ndarray]:
    """``(quality, log_bpp)`` sorted by quality, duplicates of quality dropped."""
    r = data["results"]
    if metric not in METRICS:
        raise InvalidInputError(f"unknown metric {metric!r} (known: {', '.join(METRICS)})")
    if not has_metric(data, metric):
        raise InvalidInputError(f"results {data.get('name')!r} have no {metric!r}")
    bpp = np.asarray(r["bpp"], dtype=np.float64)
    if metric != "psnr-rgb" and "ms-ssim-db-rgb" in r:
        quality = np.asarray(r["ms-ssim-db-rgb"], dtype=np.float64)
    elif metric != "psnr-rgb":
        with np.errstate(divide="ignore"):  # MS-SSIM 1 is infinite dB, dropped below
            quality = -10 * np.log10(1 - np.asarray(r["ms-ssim-rgb"], dtype=np.float64))
    else:
        quality = np.asarray(r[metric], dtype=np.float64)
    if quality.shape != bpp.shape:
        raise InvalidInputError(f"results {data.get('name')!r}: {len(quality)} {metric} values for {len(bpp)} bpp values")
    ok = np.isfinite(quality) & (bpp > 0)
    quality, bpp = quality[ok], bpp[ok]
    order = np.argsort(quality)
    quality, bpp = quality[order], bpp[order]
    keep = np.concatenate([[True], np.diff(quality) > 1e-9]) if len(quality) else np.zeros(0, bool)
    return quality[keep], np.log(bpp[keep])


def bd_rate(test: dict, anchor: dict, metric: str = "psnr-rgb") -> float:
    """Bjontegaard delta rate in percent of ``test`` against ``anchor`` (negative = fewer bits).

    Log-rate is interpolated against quality with monotone piecewise-cubic (pchip) curves and
    averaged over the quality range both curves cover; NaN when they do not overlap.
    """
    from scipy.interpolate import PchipInterpolator

    qt, rt = rd_curve(test, metric)
    qa, ra = rd_curve(anchor, metric)
    lo, hi = max(qt.min(initial=math.inf), qa.min(initial=math.inf)), min(qt.max(initial=-math.inf), qa.max(initial=-math.inf))
    if len(qt) < 2 or len(qa) < 2 or not hi > lo:
        return math.nan
    grid = np.linspace(lo, hi, 256)
    mean_t = np.mean(PchipInterpolator(qt, rt)(grid))
    mean_a = np.mean(PchipInterpolator(qa, ra)(grid))
    return float((math.exp(mean_t - mean_a) - 1) * 100)


def plot_rd(curves: list[dict], metric: str = "psnr-rgb", title: str = "Kodak") -> bytes:
    """Draw quality against bpp for every results dict (the first one bold); PNG bytes.

    A curve without ``metric`` is left out with a warning; an error when none has it.
    """
    drawn = [d for d in curves if has_metric(d, metric)]
    for data in curves:
        if not has_metric(data, metric):
            warnings.warn(f"{data.get('path', data.get('name'))}: no {metric} values, curve left out of the plot",
                          stacklevel=2)
    if not drawn:
        raise InvalidInputError(f"no results file has {metric} values")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5), dpi=120)
    for i, data in enumerate(drawn):
        q, logr = rd_curve(data, metric)
        order = np.argsort(logr)
        style = "-o" if i == 0 else "--."
        ax.plot(np.exp(logr[order]), q[order], style, label=data.get("name", f"curve {i}"),
                linewidth=2.2 if i == 0 else 1.2)
    ax.set_xlabel("bits per pixel")
    ax.set_ylabel("PSNR-RGB (dB)" if metric == "psnr-rgb" else "MS-SSIM (dB)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return png_bytes(fig)


def png_bytes(fig) -> bytes:
    """A matplotlib figure as PNG bytes (laid out tight), closed afterwards."""
    import io

    import matplotlib.pyplot as plt

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
