"""Rate-distortion results in CompressAI's ``eval_model`` JSON form: reading, BD-rate, plots.

A results file is ``{"name", "description", "results": {"psnr-rgb": [...], "ms-ssim-rgb": [...],
"bpp": [...], ...}}`` with one entry per quality.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .errors import InvalidInputError

__all__ = ["load_results", "rd_curve", "bd_rate", "plot_rd", "METRICS"]

METRICS = ("psnr-rgb", "ms-ssim-db")


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
    return data


def rd_curve(data: dict, metric: str = "psnr-rgb") -> tuple[np.ndarray, np.ndarray]:
    """``(quality, log_bpp)`` sorted by quality, duplicates of quality dropped."""
    r = data["results"]
    bpp = np.asarray(r["bpp"], dtype=np.float64)
    if metric == "ms-ssim-db":
        quality = -10 * np.log10(1 - np.asarray(r["ms-ssim-rgb"], dtype=np.float64))
    elif metric in r:
        quality = np.asarray(r[metric], dtype=np.float64)
    else:
        raise InvalidInputError(f"results {data.get('name')!r} have no {metric!r}")
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
    """Draw quality against bpp for every results dict (the first one bold); PNG bytes."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5), dpi=120)
    for i, data in enumerate(curves):
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
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
