#!/usr/bin/env bash
# The training recipes side by side on NSL-KDD: the default (30 epochs),
# --class-weight balanced, and --early-stopping 3 --restore-best, each for
# seeds 1..5 (15 runs), every model scored by `streamflow evaluate --json`
# on its seed's test half of KDDTest+. Prints one markdown table: per
# recipe the mean (and min – max) of test accuracy, macro F1 and the recall
# of R2L and U2R, and the epochs trained.
#
#   bench/bench_recipes.sh [BUILD]     SF_BENCH_SEEDS="1 2 3 4 5" SF_BENCH_RECIPES="0 1 2"
#
# SF_BENCH_RECIPES picks recipes by number (0 the default, 1 class weights,
# 2 early stopping): "0" checks a change to training in a third of the time.
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
SF=$PWD/$build/streamflow
SEEDS=${SF_BENCH_SEEDS:-1 2 3 4 5}
RECIPES=${SF_BENCH_RECIPES:-0 1 2}
tmp=$(mktemp -d /tmp/streamflow-recipes.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
[ -x "$SF" ] || { echo "bench_recipes: $SF is not built (run make)" >&2; exit 2; }

recipes=("default" "class-weight balanced" "early-stopping 3 restore-best")
options=("" "--class-weight balanced" "--early-stopping 3 --restore-best")
for r in $RECIPES; do
  case $r in 0 | 1 | 2) ;; *) echo "bench_recipes: no recipe '$r' in SF_BENCH_RECIPES (0, 1 or 2)" >&2; exit 2 ;; esac
  for seed in $SEEDS; do
    model="$tmp/r$r-s$seed.safetensors"
    # shellcheck disable=SC2086 # options[r] is a list of words
    if ! "$SF" train --seed "$seed" ${options[r]} --logdir "$tmp/logs" --model "$model" >"$tmp/train.out" 2>&1; then
      echo "bench_recipes: training failed (${recipes[r]}, seed $seed):" >&2
      cat "$tmp/train.out" >&2
      exit 1
    fi
    epochs=$(grep -c '^Epoch [0-9]*/30 ' "$tmp/train.out")
    "$SF" evaluate --model "$model" --json >"$tmp/r$r-s$seed.json" || exit 1
    echo "$r $seed $epochs" >>"$tmp/runs"
    echo "bench_recipes: ${recipes[r]}, seed $seed: $epochs epochs" >&2
  done
done

python3 - "$tmp" "${recipes[@]}" <<'PY'
import json, sys
tmp, names = sys.argv[1], sys.argv[2:]
runs = [line.split() for line in open(f"{tmp}/runs")]
cols = ["test accuracy", "macro F1", "R2L recall", "U2R recall", "epochs"]
print("| recipe (seeds %s) | %s |" % (", ".join(sorted({s for _, s, _ in runs}, key=int)), " | ".join(cols)))
print("|---|" + "---|" * len(cols))
for r, name in enumerate(names):
    vals = {c: [] for c in cols}
    for rr, seed, epochs in runs:
        if int(rr) != r:
            continue
        d = json.load(open(f"{tmp}/r{rr}-s{seed}.json"))
        rep = d["report"]
        vals["test accuracy"].append(d["accuracy"])
        vals["macro F1"].append(rep["macro avg"]["f1-score"])
        vals["R2L recall"].append(rep["R2L"]["recall"])
        vals["U2R recall"].append(rep["U2R"]["recall"])
        vals["epochs"].append(int(epochs))
    if not vals["epochs"]:
        continue
    cells = []
    for c in cols:
        v = vals[c]
        if c == "epochs":
            cells.append("%.1f (%d – %d)" % (sum(v) / len(v), min(v), max(v)))
        else:
            cells.append("%.3f (%.3f – %.3f)" % (sum(v) / len(v), min(v), max(v)))
    print("| %s | %s |" % (name, " | ".join(cells)))
PY
