# The four shipped data sets beyond NSL-KDD through the whole scoring path:
# credit_data (2 classes, label first, missing values), penguins (3
# classes, missing values), lending_club and mlc_churn (2 classes, label
# last and first). For each: a small model, predict on the CSV, replay as CSV and
# as JSON, score both topics, and check that every record's prediction is
# predict's for the same row (class, probabilities, missing and unseen
# columns), that nothing went to the DLQ, and that score --report counts
# what predict says (with ROC AUC and average precision for 2 classes).
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/broker.sh"

broker_start --partitions 2 || done_testing

for ds in credit_data penguins lending_club mlc_churn; do
  data="$SF_ROOT/data/$ds/$ds.csv.gz"
  schema="$SF_ROOT/data/$ds/schema.json"
  model="$SF_TMP/$ds.safetensors"
  rows=$(($(zcat "$data" | python3 -c 'import csv, sys; print(sum(1 for _ in csv.reader(sys.stdin)))') - 1))

  run "$SF" train --train "$data" --schema "$schema" --layers 16,8 --epochs 2 --model "$model" \
    --logdir "$SF_TMP/logs"
  check "$ds: a small model trains" [ "$rc" -eq 0 ]
  [ "$rc" -eq 0 ] || continue

  "$SF" predict --model "$model" "$data" >"$SF_TMP/$ds.predict" 2>"$SF_TMP/$ds.predict.err"
  rc=$?
  sanitizer_check "predict $ds" "$rc" "$(cat "$SF_TMP/$ds.predict.err")"
  check "$ds: predict exits 0" [ "$rc" -eq 0 ]
  check "$ds: predict scores every row ($rows)" [ "$(wc -l <"$SF_TMP/$ds.predict")" -eq "$rows" ]

  run "$SF" replay -q -t "${ds}_csv" --model "$model" "$data"
  check "$ds: replay as CSV" [ "$rc" -eq 0 ]
  run "$SF" replay -q -t "${ds}_json" --model "$model" --format json "$data"
  check "$ds: replay as JSON" [ "$rc" -eq 0 ]
  for f in csv json; do
    run "$SF" score -e -q --model "$model" -t "${ds}_$f" --output "${ds}_${f}_pred" --dlq "${ds}_${f}_dlq" \
      -G "$ds$f" --format auto
    check "$ds: score the $f records" [ "$rc" -eq 0 ]
    kcat -C -b "$BROKERS" -t "${ds}_${f}_pred" -e -q -f '%k\t%s\n' >"$SF_TMP/$ds.$f.pred"
    check "$ds: no $f record in the DLQ" \
      [ "$(kcat -C -b "$BROKERS" -t "${ds}_${f}_dlq" -e -q -f '.\n' 2>/dev/null | wc -l)" -eq 0 ]
  done
  # The JSON records as a file (in partition order: their keys say which row each is).
  kcat -C -b "$BROKERS" -t "${ds}_json" -e -q -f '%k\t%s\n' >"$SF_TMP/$ds.keyed"
  cut -f 2- "$SF_TMP/$ds.keyed" >"$SF_TMP/$ds.jsonl"
  "$SF" predict --model "$model" "$SF_TMP/$ds.jsonl" >"$SF_TMP/$ds.predict_json" 2>"$SF_TMP/$ds.pj.err"
  check "$ds: predict reads the JSON records" [ $? -eq 0 ]

  cmp_out=$(python3 - "$SF_TMP" "$ds" "$rows" <<'PY'
import json, sys
d, ds, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
keep = ("class", "class_index", "probabilities", "label", "label_index", "missing", "unseen")
def strip(j):
    return {k: j[k] for k in keep if k in j}
pred = {}
for l in open(f"{d}/{ds}.predict"):
    j = json.loads(l)
    pred[j["line"]] = strip(j)
out = []
for f in ("csv", "json"):
    got, same = 0, 0
    for l in open(f"{d}/{ds}.{f}.pred"):
        k, v = l.rstrip("\n").split("\t", 1)
        line = int(k.rsplit(":", 1)[1])
        got += 1
        same += strip(json.loads(v)) == pred.get(line)
    out.append(f"{f} {got} {same}")
rows_of = [int(l.split("\t", 1)[0].rsplit(":", 1)[1]) for l in open(f"{d}/{ds}.keyed")]
pj = [json.loads(l) for l in open(f"{d}/{ds}.predict_json")]
out.append("predict_json %d" % sum(strip(j) == pred.get(rows_of[j["line"] - 1]) for j in pj))
out.append("missing %d" % sum(1 for p in pred.values() if p.get("missing")))
labelled = [p for p in pred.values() if "label_index" in p]
acc = sum(p["class_index"] == p["label_index"] for p in labelled) / len(labelled)
out.append("accuracy %.4f" % acc)
out.append("classes " + " ".join(next(iter(pred.values()))["probabilities"]))
print("\n".join(out))
PY
  )
  echo "$cmp_out" | sed "s/^/# $ds: /"
  check_grep "$ds: a prediction per CSV record, each predict's for its row" "^csv $rows $rows$" "$cmp_out"
  check_grep "$ds: a prediction per JSON record, each predict's for its row" "^json $rows $rows$" "$cmp_out"
  check_grep "$ds: predict on the JSON records gives what it gives on the CSV" "^predict_json $rows$" "$cmp_out"

  run "$SF" score --report --output "${ds}_csv_pred"
  check "$ds: score --report exits 0" [ "$rc" -eq 0 ]
  acc=$(sed -n 's/^accuracy //p' <<<"$cmp_out")
  check_grep "$ds: --report's accuracy is predict's ($acc)" "^ +accuracy +$acc +$rows$" "$out"
  for c in $(sed -n 's/^classes //p' <<<"$cmp_out"); do
    check_grep "$ds: --report has a row for class $c" "^ +$c +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9]+$" "$out"
  done
  if [ "$ds" = credit_data ]; then
    check_grep "credit_data: rows with missing values list them" "^missing [1-9][0-9]*$" "$cmp_out"
  fi
  if [ "$ds" = penguins ]; then
    check_nogrep "penguins: no ROC AUC for 3 classes" "ROC AUC" "$out"
  else
    check_grep "$ds: --report gives the ROC AUC of 2 classes" "^ROC AUC: 0\.[0-9]{4}$" "$out"
    check_grep "$ds: and the average precision" "^average precision: 0\.[0-9]{4}$" "$out"
  fi
done

done_testing
