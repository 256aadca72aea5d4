#!/usr/bin/env bash
# The training recipes side by side: the default (30 epochs),
# --class-weight balanced, and --early-stopping 3 --restore-best, each for
# seeds 1..5 (15 runs per data set), every model scored by `streamflow
# evaluate --json` on its seed's test rows. Two data sets:
#   nsl-kdd       the NSL-KDD recipe (KDDTrain+; validation and test are the
#                 seeded halves of KDDTest+); the minority classes R2L, U2R
#   lending_club  the loan-risk set, one file split by train (seeded,
#                 stratified: 70% train, 10% validation, 20% test); the
#                 minority class bad (5%), and the ROC AUC of 2 classes
# Prints one markdown table per data set: per recipe the mean (and min –
# max) of test accuracy, macro F1, the recall of the minority classes (and
# the ROC AUC), and the epochs trained.
#
#   bench/bench_recipes.sh [BUILD]     SF_BENCH_SEEDS="1 2 3 4 5"
#                                      SF_BENCH_RECIPE_SETS="nsl-kdd lending_club"
#                                      SF_BENCH_RECIPES="0 1 2"
#
# SF_BENCH_RECIPES picks recipes by number (0 the default, 1 class weights,
# 2 early stopping): "0" checks a change to training in a third of the time.
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
SF=$PWD/$build/streamflow
SEEDS=${SF_BENCH_SEEDS:-1 2 3 4 5}
SETS=${SF_BENCH_RECIPE_SETS:-nsl-kdd lending_club}
RECIPES=${SF_BENCH_RECIPES:-0 1 2}
tmp=$(mktemp -d /tmp/streamflow-recipes.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
[ -x "$SF" ] || { echo "bench_recipes: $SF is not built (run make)" >&2; exit 2; }

recipes=("default" "class-weight balanced" "early-stopping 3 restore-best")
options=("" "--class-weight balanced" "--early-stopping 3 --restore-best")
for set in $SETS; do
  case $set in
    nsl-kdd) data=() minority="R2L U2R" ;;
    lending_club) data=(--train data/lending_club/lending_club.csv.gz) minority="bad" ;;
    *) echo "bench_recipes: unknown data set '$set' (nsl-kdd or lending_club)" >&2; exit 2 ;;
  esac
  # evaluate finds the rows in the file train split (the NSL-KDD default without)
  test=()
  [ ${#data[@]} -gt 0 ] && test=(--test "${data[1]}")
  : >"$tmp/runs"
  for r in $RECIPES; do
    case $r in 0 | 1 | 2) ;; *) echo "bench_recipes: no recipe '$r' in SF_BENCH_RECIPES (0, 1 or 2)" >&2; exit 2 ;; esac
    for seed in $SEEDS; do
      model="$tmp/r$r-s$seed.safetensors"
      # shellcheck disable=SC2086 # options[r] is a list of words
      if ! "$SF" train "${data[@]}" --seed "$seed" ${options[r]} --logdir "$tmp/logs" --model "$model" \
        >"$tmp/train.out" 2>&1; then
        echo "bench_recipes: training failed ($set, ${recipes[r]}, seed $seed):" >&2
        cat "$tmp/train.out" >&2
        exit 1
      fi
      epochs=$(grep -c '^Epoch [0-9]*/30 ' "$tmp/train.out")
      "$SF" evaluate --model "$model" "${test[@]}" --json >"$tmp/r$r-s$seed.json" || exit 1
      echo "$r $seed $epochs" >>"$tmp/runs"
      echo "bench_recipes: $set, ${recipes[r]}, seed $seed: $epochs epochs" >&2
    done
  done

  echo "$set:"
  echo
  python3 - "$tmp" "$minority" "${recipes[@]}" <<'PY'
import json, sys
tmp, minority, names = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
runs = [line.split() for line in open(f"{tmp}/runs")]
first = json.load(open(f"{tmp}/r{runs[0][0]}-s{runs[0][1]}.json"))
cols = ["test accuracy", "macro F1"] + [f"{c} recall" for c in minority]
if "roc_auc" in first:
    cols.append("ROC AUC")
cols.append("epochs")
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
        for c in minority:
            vals[f"{c} recall"].append(rep[c]["recall"])
        if "ROC AUC" in vals:
            vals["ROC AUC"].append(d["roc_auc"])
        vals["epochs"].append(int(epochs))
    cells = []
    for c in cols:
        v = vals[c]
        if c == "epochs":
            cells.append("%.1f (%d – %d)" % (sum(v) / len(v), min(v), max(v)))
        else:
            cells.append("%.3f (%.3f – %.3f)" % (sum(v) / len(v), min(v), max(v)))
    print("| %s | %s |" % (name, " | ".join(cells)))
PY
  echo
done
