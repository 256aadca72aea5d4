#!/usr/bin/env bash
# StreamFlow against sklearn's MLPClassifier on every shipped data set, the
# same network and recipe on the same rows: NSL-KDD with its own KDDTrain+ /
# KDDTest+, and each tabular set split once per seed, stratified 80/20
# (sklearn's train_test_split(stratify=y, test_size=0.2, random_state=SEED)).
# StreamFlow trains with `--train train.csv --test test.csv
# --validation-split 0` and `evaluate --split all` scores the whole test
# file (its accuracy and ROC AUC are sklearn's accuracy_score and
# roc_auc_score of the second class's probability, in C). sklearn (Debian's
# python3-sklearn, one BLAS thread as StreamFlow's --threads 1) trains
# MLPClassifier(hidden_layer_sizes=LAYERS, solver adam, learning_rate_init
# 1e-3, batch_size 64, max_iter EPOCHS, alpha 0, no early stopping) on
# StreamFlow's encoding built from StandardScaler, SimpleImputer(mean,
# add_indicator=True) and OneHotEncoder(handle_unknown='ignore')
# (bench/bench_tabular.py). Runs alternate (who goes first switches every
# run) so both see the same machine. Prints a markdown table of medians
# over the seeds.
#
#   bench/bench_tabular.sh [BUILD]     SF_BENCH_SEEDS="1 2 3" SF_BENCH_EPOCHS=30 SF_BENCH_LAYERS=64,64,32
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
SF=$PWD/$build/streamflow
PY=/usr/bin/python3 # Debian's, where python3-sklearn is
SKLEARN_SIDE=$PWD/bench/bench_tabular.py
SEEDS=${SF_BENCH_SEEDS:-1 2 3}
EPOCHS=${SF_BENCH_EPOCHS:-30}
LAYERS=${SF_BENCH_LAYERS:-64,64,32}
tmp=$(mktemp -d /tmp/streamflow-tabular.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

[ -x "$SF" ] || { echo "bench_tabular: $SF is not built (run make)" >&2; exit 2; }
if ! "$PY" -c 'import sklearn' 2>/dev/null; then
  echo "bench_tabular: $PY has no sklearn (scripts/install-deps --bench installs python3-sklearn)" >&2
  exit 1
fi

# name  schema  data (split per seed) or "TRAIN TEST" (used as they are)
sets=(
  "nsl-kdd|data/nsl-kdd/schema.json|data/nsl-kdd/KDDTrain+.txt.gz data/nsl-kdd/KDDTest+.txt.gz"
  "lending_club|data/lending_club/schema.json|data/lending_club/lending_club.csv.gz"
  "mlc_churn|data/mlc_churn/schema.json|data/mlc_churn/mlc_churn.csv.gz"
  "credit_data|data/credit_data/schema.json|data/credit_data/credit_data.csv.gz"
  "penguins|data/penguins/schema.json|data/penguins/penguins.csv.gz"
)

# result SET SEED SIDE JSON: one line of $tmp/results
result() {
  "$PY" -c 'import json, sys; d = json.loads(sys.argv[4]); d.update(set=sys.argv[1], seed=int(sys.argv[2]), side=sys.argv[3]); print(json.dumps(d))' \
    "$@" >>"$tmp/results"
}

run_streamflow() { # name schema train test seed
  local model=$tmp/model.safetensors t0 t1 scores
  t0=$EPOCHREALTIME
  if ! "$SF" train --train "$3" --test "$4" --schema "$2" --validation-split 0 --layers "$LAYERS" \
    --epochs "$EPOCHS" --batch 64 --lr 0.001 --seed "$5" --model "$model" --logdir "$tmp/logs" \
    >"$tmp/train.out" 2>&1; then
    echo "bench_tabular: streamflow train failed ($1, seed $5):" >&2
    cat "$tmp/train.out" >&2
    return 1
  fi
  t1=$EPOCHREALTIME
  # --split all: every row of the test file, the test set of this training
  if ! "$SF" evaluate --model "$model" --test "$4" --split all --json >"$tmp/eval.json" 2>"$tmp/eval.err"; then
    echo "bench_tabular: streamflow evaluate failed ($1, seed $5):" >&2
    head -n 20 "$tmp/eval.err" >&2
    return 1
  fi
  scores=$("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
out = {k: d[k] for k in ("accuracy", "roc_auc") if k in d}
out["seconds"] = float(sys.argv[3]) - float(sys.argv[2])
print(json.dumps(out))' "$tmp/eval.json" "$t0" "$t1") || return 1
  result "$1" "$5" streamflow "$scores"
}

run_sklearn() { # name schema train test seed
  local scores
  scores=$(OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$PY" "$SKLEARN_SIDE" sklearn "$2" "$3" "$4" "$LAYERS" "$EPOCHS" "$5") || {
    echo "bench_tabular: sklearn failed ($1, seed $5)" >&2
    return 1
  }
  result "$1" "$5" sklearn "$scores"
}

turn=0
for entry in "${sets[@]}"; do
  IFS='|' read -r name schema data <<<"$entry"
  for seed in $SEEDS; do
    # shellcheck disable=SC2086 # data is one file or two
    set -- $data
    if [ $# -eq 2 ]; then
      train=$1 test=$2
    else
      "$PY" "$SKLEARN_SIDE" split "$schema" "$1" "$seed" "$tmp" || exit 1
      train=$tmp/train.csv test=$tmp/test.csv
    fi
    if [ $((turn % 2)) -eq 0 ]; then
      run_streamflow "$name" "$schema" "$train" "$test" "$seed" || exit 1
      run_sklearn "$name" "$schema" "$train" "$test" "$seed" || exit 1
    else
      run_sklearn "$name" "$schema" "$train" "$test" "$seed" || exit 1
      run_streamflow "$name" "$schema" "$train" "$test" "$seed" || exit 1
    fi
    turn=$((turn + 1))
    echo "bench_tabular: $name, seed $seed done" >&2
  done
done

echo "Hidden layers $LAYERS, Adam lr 1e-3, batch 64, $EPOCHS epochs; medians over seeds $SEEDS."
echo "Training time: StreamFlow, the whole \`train\` command (read, encode, train, save);"
echo "sklearn, read the CSV + fit the encoder and MLPClassifier (in parentheses: the fits alone)."
echo
"$PY" "$SKLEARN_SIDE" table "$tmp/results"
