#!/usr/bin/env bash
# Retrain the checkpoints of the discrete-latent chapters (book/discrete_latents.ipynb,
# straight_through.ipynb, gumbel_softmax.ipynb, smoothing.ipynb, vq_vae.ipynb, comparing_estimators.ipynb).
#
# Usage: bash scripts/train_pretrained_discrete.sh [NAME ...]      (no NAME: all of them, one after another)
#   EPOCHS=N        epochs per model (default 100); the shipped models record the epochs they ran
#   TIME_LIMIT=S    train each model for S seconds instead; the schedules follow the elapsed time
#                   (how the shipped ones were trained, all at once on one GPU: see each checkpoint's
#                   metrics["test"]["command"] and its history)
# bin_f2_anneal_long (not shipped; the smoothing chapter shows it if present) is bin_f2_anneal trained for 250 epochs
# with no time limit: about 10 s per epoch on 2 idle CPU cores (40 minutes). A run here stopped at epoch 123.
# The binary VAEs are the same 784-512-256-200 MLP (Jang et al.'s architecture) with 200 Bernoulli
# latents and a factorial Bernoulli(1/2) prior, differing only in the estimator; the categorical VAE has
# 20 latents of 10 classes. All: Adam 1e-3 with a cosine schedule, batch 100, dynamic binarization,
# KL weight ramped over the first 30 % (as the DVAE papers do), test numbers on the test set binarized
# once (seed 0), weights stored as int8 (one scale per row; the recorded metrics are of those weights).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=${OUT_DIR:-vaebook/pretrained}
LENGTH="--epochs ${EPOCHS:-100}"
if [ -n "${TIME_LIMIT:-}" ]; then LENGTH="--epochs 100000 --time-limit $TIME_LIMIT"; fi
TRAIN="--lr 1e-3 --lr-schedule cosine --batch-size 100 --beta-warmup 0.3 $LENGTH
       --iw-samples 100 --check-limit 1000 --check-iw-samples 100 --dtype int8"
BIN="binary-vae --hidden 512 256 --latent-dim 200 $TRAIN"
ANNEAL="--smoothing-beta-start 1 --smoothing-beta 10 --smoothing-anneal geometric --smoothing-anneal-fraction 0.7"
VQ="vq-vae --channels 32 64 --codebook-size 64 --code-dim 16 --lr 1e-3 --lr-schedule cosine --batch-size 100
    $LENGTH --iw-samples 1 --check-limit 1000 --check-iw-samples 1 --dtype int8"
ALL="cat_gumbel_vae bin_straight_through bin_score_function bin_gumbel_tau1 bin_gumbel_tau05 bin_gumbel_anneal
     bin_st_gumbel bin_f1 bin_f2 bin_f3 bin_f1_anneal bin_f2_anneal bin_f3_anneal
     vq_ema vq_ema_restart vq_codebook_loss vq_beta_0 vq_beta_2 vq_gamma_0.9 vq_gamma_0.999"
names=${*:-$ALL}
for name in $names; do
  case $name in
    cat_gumbel_vae)        # 20 x 10 categorical, Gumbel-softmax, tau = max(0.5, exp(-1e-4 t)) every 500 steps
      ARGS="categorical-vae --hidden 512 256 --num-latents 20 --num-classes 10 --estimator gumbel-softmax
            --temperature 1 --temperature-min 0.5 --anneal-rate 1e-4 --anneal-every 500 $TRAIN" ;;
    bin_straight_through)  ARGS="$BIN --estimator straight-through" ;;
    bin_score_function)    ARGS="$BIN --estimator score-function --baseline-decay 0.99" ;;
    bin_gumbel_tau1)       ARGS="$BIN --estimator gumbel-softmax --temperature 1 --anneal-rate 0" ;;
    bin_gumbel_tau05)      ARGS="$BIN --estimator gumbel-softmax --temperature 0.5 --anneal-rate 0" ;;
    bin_gumbel_anneal)     ARGS="$BIN --estimator gumbel-softmax --temperature 1 --temperature-min 0.5 --anneal-rate 1e-4" ;;
    bin_st_gumbel)         ARGS="$BIN --estimator straight-through-gumbel --temperature 1 --temperature-min 0.5 --anneal-rate 1e-4" ;;
    bin_f1|bin_f2|bin_f3)  ARGS="$BIN --estimator smoothing-${name#bin_} --smoothing-beta 5" ;;
    bin_f1_anneal|bin_f2_anneal|bin_f3_anneal)
      f=${name#bin_}; ARGS="$BIN --estimator smoothing-${f%_anneal} $ANNEAL" ;;
    bin_f2_anneal_long)    # the same as bin_f2_anneal, 250 epochs
      ARGS="$(echo $BIN | sed "s/--epochs [0-9]*/--epochs ${EPOCHS:-250}/") --estimator smoothing-f2 $ANNEAL" ;;
    vq_ema)                ARGS="$VQ" ;;   # the paper's settings: beta 0.25, EMA gamma 0.99, no extra tricks
    vq_ema_restart)        ARGS="$VQ --data-init --restart-below 1" ;;
    vq_codebook_loss)      ARGS="$VQ --no-ema" ;;
    vq_beta_0)             ARGS="$VQ --commitment 0" ;;
    vq_beta_2)             ARGS="$VQ --commitment 2" ;;
    vq_gamma_0.9)          ARGS="$VQ --decay 0.9" ;;
    vq_gamma_0.999)        ARGS="$VQ --decay 0.999" ;;
    *) echo "unknown pretrained model: $name (known: $ALL)" >&2; exit 2 ;;
  esac
  echo "== $name"
  $PY -m vaebook.train $ARGS --out "$OUT/$name.pt"
done
