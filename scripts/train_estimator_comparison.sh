#!/usr/bin/env bash
# The equal-step estimator comparison behind book/comparing_estimators.ipynb (and the
# tables of straight_through, gumbel_softmax and smoothing): the 12 estimators of a
# 200-Bernoulli VAE, each trained for the same number of optimizer steps, with the same
# network (Jang et al.'s 784-512-256-200 MLP), optimizer (Adam 1e-3, cosine decay),
# KL warm-up (30 % of the steps) and data (all 60,000 MNIST training images, dynamic
# binarization, batch 100), once per seed. Only the estimator differs.
#
# Usage: bash scripts/train_estimator_comparison.sh [NAME ...]   (no NAME: all 12)
#   SEEDS="0 1"   seeds per estimator (default 0 1)
#   EPOCHS=10     epochs per run (600 steps each; default 10, i.e. 6,000 steps)
#   JOBS=2        runs at once (one CPU thread each; default 2)
#   OUT_DIR=runs/estimators   where the checkpoints go (NAME_seedS.pt)
# Resumable: a run whose checkpoint still holds training state continues from its last
# epoch (python -m vaebook.train ... --resume); a finished run is skipped. So after a
# kill, rerun the same command. On 2 idle CPU cores a run takes about 2 minutes.
# Then `python -m vaebook.runs vaebook/pretrained/estimators.json runs/estimators/*_seed*.pt`
# writes the shipped records (no weights) that the chapters read.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=${OUT_DIR:-runs/estimators}
SEEDS=${SEEDS:-0 1}
ALL="bin_straight_through bin_score_function bin_gumbel_tau1 bin_gumbel_tau05 bin_gumbel_anneal
     bin_st_gumbel bin_f1 bin_f2 bin_f3 bin_f1_anneal bin_f2_anneal bin_f3_anneal"
TRAIN="--lr 1e-3 --lr-schedule cosine --batch-size 100 --beta-warmup 0.3 --epochs ${EPOCHS:-10}
       --iw-samples 100 --check-limit 1000 --check-iw-samples 100 --dtype int8"
BIN="binary-vae --hidden 512 256 --latent-dim 200 $TRAIN"
ANNEAL="--sharpness-start 1 --sharpness 10 --sharpness-anneal geometric
        --sharpness-anneal-fraction 0.7"
TAU="--temperature 1 --temperature-min 0.5 --anneal-rate 1e-4"

args_for() {
  case $1 in
    bin_straight_through) echo "$BIN --estimator straight-through" ;;
    bin_score_function)   echo "$BIN --estimator score-function --baseline-decay 0.99" ;;
    bin_gumbel_tau1)      echo "$BIN --estimator gumbel-softmax --temperature 1 --anneal-rate 0" ;;
    bin_gumbel_tau05)     echo "$BIN --estimator gumbel-softmax --temperature 0.5 --anneal-rate 0" ;;
    bin_gumbel_anneal)    echo "$BIN --estimator gumbel-softmax $TAU" ;;
    bin_st_gumbel)        echo "$BIN --estimator straight-through-gumbel $TAU" ;;
    bin_f1|bin_f2|bin_f3) echo "$BIN --estimator smoothing-${1#bin_} --sharpness 5" ;;
    bin_f1_anneal|bin_f2_anneal|bin_f3_anneal)
      f=${1#bin_}; echo "$BIN --estimator smoothing-${f%_anneal} $ANNEAL" ;;
    *) echo "unknown estimator run: $1 (known: $(echo $ALL))" >&2; return 2 ;;
  esac
}

# the state of a run's checkpoint: absent, partial (resumable) or done
state_of() {
  [ -f "$1" ] || { echo absent; return; }
  $PY -c "import sys, torch; d = torch.load(sys.argv[1], weights_only=True)
print('partial' if 'resume' in d else 'done')" "$1"
}

run_one() {  # NAME SEED
  local name=$1 seed=$2 out="$OUT/${1}_seed$2.pt" args resume=""
  args=$(args_for "$name")
  case $(state_of "$out") in
    done) echo "== $name seed $seed: done, skipped"; return ;;
    partial) resume="--resume $out"; echo "== $name seed $seed: resuming" ;;
    *) echo "== $name seed $seed" ;;
  esac
  OMP_NUM_THREADS=1 $PY -m vaebook.train $args --seed "$seed" --out "$out" $resume \
    > "$OUT/${name}_seed$seed.log" 2>&1 || { echo "!! $name seed $seed failed: $OUT/${name}_seed$seed.log"; return 1; }
  echo "== $name seed $seed: finished"
}

names=${*:-$ALL}
for name in $names; do args_for "$name" > /dev/null; done  # unknown names fail before any work
mkdir -p "$OUT"
export -f run_one args_for state_of
export PY OUT BIN ANNEAL TAU TRAIN ALL
for seed in $SEEDS; do for name in $names; do echo "$name $seed"; done; done \
  | xargs -P "${JOBS:-2}" -L 1 bash -c 'run_one "$0" "$1"'
