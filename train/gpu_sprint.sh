#!/usr/bin/env bash
# One timed training run on a lent GPU machine (the workplace's `device` tool), resumed later on CPU.
#
#   bash train/gpu_sprint.sh MINUTES INIT DATA OUTDIR [BATCH [LR [EMA [FREEZE]]]]
#
# Prepare here: `python -m train.device_pack` (DATA = .gpu/data, sized to the 64 MiB transfer),
# wheels of compressai, pytorch-msssim and constriction for Python 3.12 in .whl/ (the device
# README says how), and INIT under .gpu/ when it is not a tracked file; carry .gpu and .whl.
#
# On the machine it installs the carried wheels, trains the image model from INIT (a checkpoint
# folder, or exported weights with a fresh optimizer; weights that the manifest.json beside them
# lists, such as weights/gmq2-c.safetensors, also give the architecture) on DATA for MINUTES of wall time on the
# fast path: bf16 autocast (the loop's default on a bf16 GPU), the images decoded once onto the
# GPU and cropped there, BATCH crops of 256^2 per GPU (default 64), learning rate LR at the
# reference batch 8 scaled by sqrt(global batch / 8) (default 1e-4: 2.8e-4 at batch 64 on one
# GPU), a weight EMA of decay EMA (default 0.999; `train.export --ema` ships it) and a cosine
# decay over the last third; FREEZE (comma-separated submodules, e.g. analysis,coarse_analysis for
# gmq2: see README) stay fixed. With several GPUs it runs one replica per GPU through torchrun (DDP,
# nccl). It then writes the final checkpoint to OUTDIR as pieces of at most 15 MiB
# (`python -m train.shards join` rebuilds it), plus the run's log.jsonl. Everything but the pieces
# stays under /tmp on that machine. Tracked files travel too: README.md ("GPU sprints") says how
# to keep the older weight files off the transfer so that all training images fit.
set -euo pipefail
minutes=$1 init=$2 data=$3 outdir=$4 batch=${5:-64} lr=${6:-1e-4} ema=${7:-0.999} freeze=${8:-}
if [ -d .whl ] && ! python3 -c "import compressai" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site
fi
export PYTHONUNBUFFERED=1
run=/tmp/sprint
if [ -d "$init" ]; then
    mkdir -p $run && cp -r "$init" $run/latest
    start=()
else
    start=(--init "$init")
fi
gpus=$(python3 -c "import torch; print(torch.cuda.device_count())")
if [ "$gpus" -gt 1 ]; then
    launch=(python3 -m torch.distributed.run --standalone --nproc_per_node "$gpus" -m train.loop)
else
    launch=(python3 -m train.loop)
fi
"${launch[@]}" --out $run "${start[@]}" --data "$data" --batch "$batch" --crop 256 --lr "$lr" --lr-scaling sqrt \
    --ema "$ema" --device-crops --minutes "$minutes" --decay-minutes "$(python3 -c "print($minutes / 3)")" \
    --checkpoint-minutes 2 --freeze "$freeze"
python3 -m train.shards split $run/latest "$outdir/latest"
cp $run/log.jsonl "$outdir/"
