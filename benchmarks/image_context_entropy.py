"""Would richer index contexts shrink the image bitstream? Held-out cross-entropies per context.

    OMP_NUM_THREADS=1 python benchmarks/image_context_entropy.py [--model gmq-v5]

The shipped prior codes each fine index given the class (one of 16) of the index at the same
place in the previous level. This script encodes 120 training images (never Kodak; top-left
crops of at most 512 x 512), fits count tables on 80 of them and measures the code length of the
other 40 under each context choice (add-alpha smoothing, best alpha of 0.02 / 0.1 / 0.5):

- ``base``: the shipped context;
- ``+group``: plus the class (4 or 16) of the previous group's index at the same place and stage;
- ``+left``, ``+left+up``: plus the 4-class of the same group's index to the left (and above).

Each added context multiplies the table count, so these figures already include the cost of
fitting more cells on the same data; stored tables would cost bytes on top.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from codec.image.prior import codeword_classes  # noqa: E402
from codec.weights import load_image_model  # noqa: E402
from train.data import list_images, split_train_val  # noqa: E402
from train.loop import DEFAULT_DATA  # noqa: E402

VARIANTS = ("base", "+group4", "+group16", "+left4", "+left4+up4")


def load(path: Path) -> torch.Tensor:
    """[1, 3, h, w] float in [0, 1]: the top-left crop with sides multiples of 32, at most 512."""
    im = np.asarray(Image.open(path).convert("RGB"))
    h, w = min(im.shape[0] // 32 * 32, 512), min(im.shape[1] // 32 * 32, 512)
    return torch.from_numpy(im[:h, :w].copy()).permute(2, 0, 1)[None].float() / 255


def shift(t: torch.Tensor, dim: int) -> torch.Tensor:
    """``t`` moved one step along ``dim`` (zeros enter): the neighbour before each element."""
    zeros = torch.zeros_like(t.narrow(dim, 0, 1))
    return torch.cat([zeros, t.narrow(dim, 0, t.shape[dim] - 1)], dim)


def contexts(model, paths: list[Path]) -> dict:
    """(stage, variant) -> (contexts [M, N], indices [M, N]) over the images' fine stages."""
    classes = {k: [codeword_classes(vq.codebook, k) for vq in model.fine_vq] for k in (4, 16)}
    rows: dict = {}
    for path in paths:
        indices = model.encode_indices(load(path))
        base_ctx = model.contexts_for(indices)
        for s in range(model.config.num_qualities):
            idx, base = indices[s + 1][0], base_ctx[s + 1][0]  # [M, h, w]
            m = idx.shape[0]
            own = {k: torch.stack([classes[k][s][g][idx[g]] for g in range(m)]) for k in (4, 16)}
            left = shift(own[4], 2)
            variants = {"base": base, "+group4": base * 4 + shift(own[4], 0), "+group16": base * 16 + shift(own[16], 0),
                        "+left4": base * 4 + left, "+left4+up4": (base * 4 + left) * 4 + shift(own[4], 1)}
            for name, ctx in variants.items():
                rows.setdefault((s, name), []).append((ctx.reshape(m, -1), idx.reshape(m, -1)))
    return {key: (torch.cat([c for c, _ in v], 1), torch.cat([i for _, i in v], 1)) for key, v in rows.items()}


def held_out_bits(fit: tuple, test: tuple, k: int) -> float:
    """Total code length in bits of ``test`` under add-alpha count tables fit on ``fit``."""
    (cf, xf), (ct, xt) = fit, test
    t = int(max(cf.max(), ct.max())) + 1
    best = float("inf")
    for alpha in (0.02, 0.1, 0.5):
        total = 0.0
        for g in range(xf.shape[0]):
            counts = np.bincount((cf[g] * k + xf[g]).numpy(), minlength=t * k).reshape(t, k) + alpha
            p = counts / counts.sum(1, keepdims=True)
            total -= np.log2(p[ct[g].numpy(), xt[g].numpy()]).sum()
        best = min(best, total)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="shipped model id (default: the default model)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    model = load_image_model(args.model).model
    train, _ = split_train_val(list_images(args.data))
    pick = np.random.default_rng(0).permutation(len(train))[:120]
    fit = contexts(model, [train[i] for i in pick[:80]])
    test = contexts(model, [train[i] for i in pick[80:]])
    k = model.config.codebook_size
    print(f"held-out bits per latent position (all groups of a stage), {test[(0, 'base')][1].shape[1]} positions")
    print("| stage | " + " | ".join(VARIANTS) + " |\n|---|" + "---:|" * len(VARIANTS))
    for s in range(model.config.num_qualities):
        bits = [held_out_bits(fit[(s, v)], test[(s, v)], k) / test[(s, v)][1].shape[1] for v in VARIANTS]
        print(f"| {s} | " + " | ".join(f"{b:.1f} ({(b / bits[0] - 1) * 100:+.1f}%)" for b in bits) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
