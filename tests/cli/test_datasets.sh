# The four tabular data sets end to end, each with a small network and two
# epochs: schema infer against the shipped schema.json, train (schema found
# beside the data), evaluate, and predict on CSV and on JSON lines, which
# must agree. The label is first in two sets and last in the other two;
# credit_data and penguins have missing values: a missing number gets its
# "was missing" input, a missing category encodes as all zeros, and a JSON
# record with null is scored as the CSV row with an empty field.
. "$SF_ROOT/tests/lib.sh"

# name:label:where the label is:a numeric column with missing values:a categorical one
sets="lending_club:Class:last::
mlc_churn:churn:last::
credit_data:Status:first:Income:Home
penguins:species:first:bill_length_mm:sex"

# to_json CSV: the CSV's rows as JSON objects, one per line: a number stays
# a number, an empty field is null, anything else a string.
to_json() {
  python3 - "$1" <<'PY'
import csv, json, re, sys
num = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
with open(sys.argv[1], newline="") as f:
    rows = csv.reader(f)
    names = next(rows)
    for r in rows:
        print(json.dumps({n: None if v == "" else float(v) if num.match(v) else v for n, v in zip(names, r)}))
PY
}

while IFS=: read -r name label where num_missing cat_missing; do
  dir="$SF_ROOT/data/$name"
  data="$dir/$name.csv.gz"
  model="$SF_TMP/$name.safetensors"

  # schema infer: the shipped schema's columns, types and classes
  run "$SF" schema infer "$data" --label "$label"
  check "$name: schema infer exits 0" [ "$rc" -eq 0 ]
  printf '%s\n' "$out" >"$SF_TMP/$name.inferred.json"
  cmp=$(python3 - "$SF_TMP/$name.inferred.json" "$dir/schema.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
def cols(s):
    return [(c["name"], c["type"], c.get("classes")) for c in s["columns"]]
print("same" if cols(a) == cols(b) else "differ: %s" % [x for x in zip(cols(a), cols(b)) if x[0] != x[1]])
lab = [i for i, c in enumerate(a["columns"]) if c["type"] == "label"]
print("label", "first" if lab == [0] else "last" if lab == [len(a["columns"]) - 1] else lab)
PY
  )
  check_grep "$name: inferred types and classes are the shipped schema's" "^same$" "$cmp"
  check_grep "$name: the label is the $where column" "^label $where$" "$cmp"

  # train with the defaults' split (schema.json found beside the data), evaluate its test rows
  run "$SF" train --train "$data" --layers 16,8 --epochs 2 --seed 7 --model "$model" --logdir "$SF_TMP/logs"
  check "$name: train exits 0" [ "$rc" -eq 0 ]
  [ "$rc" -eq 0 ] || continue
  rows=$(zcat "$data" | python3 -c 'import csv, sys; print(sum(1 for _ in csv.reader(sys.stdin)) - 1)')
  split=$(sed -n 's/^Training on \([0-9]*\), validation on \([0-9]*\) and test on \([0-9]*\) rows.*/\1 \2 \3/p' <<<"$out")
  check "$name: train reports its train, validation and test rows" [ -n "$split" ]
  check "$name: train, validation and test rows add up to the file's $rows" \
    [ "$(($(tr ' ' + <<<"$split")))" -eq "$rows" ]
  acc=$(sed -n 's/^Test loss: [0-9.]* - test accuracy: \([0-9.]*\) .*/\1/p' <<<"$out")
  run "$SF" evaluate --model "$model" --test "$data"
  check "$name: evaluate exits 0" [ "$rc" -eq 0 ]
  check_grep "$name: evaluate scores train's test rows (accuracy $acc)" "^accuracy: $acc\$" "$out"
  for c in $(python3 -c 'import json, sys; print(" ".join(next(c["classes"] for c in json.load(open(sys.argv[1]))["columns"] if c["type"] == "label")))' "$dir/schema.json"); do
    check_grep "$name: the report has class $c" "^ +$c( +[0-9.]+){3} +[0-9]+\$" "$out"
  done
  if [ "$name" = penguins ]; then
    check_nogrep "$name: no ROC AUC for 3 classes" "ROC AUC" "$out"
    # a run in a second whose run directory exists already gets its own (-2):
    # the next minute's run directories are made first, whatever the load
    stamps=""
    for k in $(seq 0 60); do
      s=$(date -d "+$k seconds" +%Y%m%d-%H%M%S)
      mkdir -p "$SF_TMP/samesec/$s" && stamps="$stamps $s"
    done
    run "$SF" train --train "$data" --epochs 1 --model "$SF_TMP/samesec.safetensors" --logdir "$SF_TMP/samesec"
    made=$(ls "$SF_TMP/samesec" | grep -E -- '-2$')
    check "$name: a run started in a second that has its run directory logs to <stamp>-2 ($made)" \
      [ -n "$made" -a -d "$SF_TMP/samesec/$made/train" ]
    check "... and the runs already there are left alone" \
      [ "$(for s in $stamps; do find "$SF_TMP/samesec/$s" -mindepth 1; done | wc -l)" -eq 0 ]
    # without --test evaluate would read NSL-KDD's rows: it says to pass the model's own
    run "$SF" evaluate --model "$model"
    check_grep "$name: evaluate without --test names the model's data and says to pass --test FILE" \
      "trained on 'penguins' rows, not NSL-KDD's: pass its rows with --test FILE" "$err"
    check "... and exits 1 without reading NSL-KDD" [ "$rc" -eq 1 ]
  else
    check_grep "$name: ROC AUC for 2 classes" "^ROC AUC: +0\.[0-9]{4}\$" "$out"
    check_grep "$name: average precision for 2 classes" "^average precision: 0\.[0-9]{4}\$" "$out"
  fi

  # Trained on every row (and tested on them): a "was missing" input for
  # exactly the numeric columns with empty fields, no category for an empty
  # one, and the rows with an empty categorical field, only those, are the
  # test rows the encoder had nothing for.
  run "$SF" train --train "$data" --test "$data" --validation-split 0 --layers 16,8 --epochs 2 --seed 7 \
    --model "$SF_TMP/$name.all.safetensors" --logdir "$SF_TMP/logs"
  check "$name: train on every row exits 0" [ "$rc" -eq 0 ]
  [ "$rc" -eq 0 ] || continue
  facts=$(python3 - "$data" "$dir/schema.json" "$SF_TMP/$name.all.safetensors" <<'PY'
import csv, gzip, json, struct, sys
data, schema, model = sys.argv[1:]
cols = json.load(open(schema))["columns"]
with gzip.open(data, "rt", newline="") as f:
    rows = list(csv.reader(f))[1:]
num = [i for i, c in enumerate(cols) if c["type"] == "numeric"]
cat = [i for i, c in enumerate(cols) if c["type"] == "categorical"]
print("missing numbers:", " ".join(sorted(cols[i]["name"] for i in num if any(r[i] == "" for r in rows))) or "none")
print("missing categories:", " ".join(sorted(cols[i]["name"] for i in cat if any(r[i] == "" for r in rows))) or "none")
print("rows with a missing category:", sum(any(r[i] == "" for i in cat) for r in rows))
with open(model, "rb") as f:
    meta = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))["__metadata__"]
enc = json.loads(meta["encoder"])
print("flags:", " ".join(sorted(n["column"] for n in enc["numeric"] if n["missing_flag"])) or "none")
print("empty category:", sum("" in c["vocabulary"] for c in enc["categorical"]))
PY
  )
  echo "$facts" | sed "s/^/# $name: /"
  want=$(sed -n 's/^missing numbers: //p' <<<"$facts")
  check_grep "$name: a \"was missing\" input for the numeric columns with missing values ($want)" "^flags: $want\$" "$facts"
  check_grep "$name: an empty field is no category" "^empty category: 0\$" "$facts"
  n=$(sed -n 's/^rows with a missing category: //p' <<<"$facts")
  check_grep "$name: the $n rows with a missing category are the test rows without one" \
    "^Unseen or missing values the encoder had nothing for: validation 0 rows, test $n rows\$" "$out"
  if [ -n "$num_missing" ]; then
    check_grep "$name: $num_missing has missing values" "^missing numbers: (.* )?$num_missing( |\$)" "$facts"
    check_grep "$name: so does $cat_missing" "^missing categories: (.* )?$cat_missing( |\$)" "$facts"
  else
    check_grep "$name: no missing numbers" "^missing numbers: none\$" "$facts"
    check_grep "$name: no missing categories" "^missing categories: none\$" "$facts"
  fi

  # The same rows as JSON records, null for each empty field: the same model
  zcat "$data" >"$SF_TMP/$name.csv"
  to_json "$SF_TMP/$name.csv" >"$SF_TMP/$name.jsonl"
  run "$SF" train --train "$SF_TMP/$name.jsonl" --test "$SF_TMP/$name.jsonl" --schema "$dir/schema.json" \
    --validation-split 0 --layers 16,8 --epochs 2 --seed 7 --model "$SF_TMP/$name.json.safetensors" \
    --logdir "$SF_TMP/logs"
  check "$name: train on the JSON records exits 0" [ "$rc" -eq 0 ]
  check_grep "$name: JSON nulls are the same missing values" \
    "^Unseen or missing values the encoder had nothing for: validation 0 rows, test $n rows\$" "$out"
  same=$(python3 - "$SF_TMP/$name.all.safetensors" "$SF_TMP/$name.json.safetensors" <<'PY'
import json, struct, sys
def load(p):
    with open(p, "rb") as f:
        h = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
        return h["__metadata__"]["encoder"], f.read()
a, b = (load(p) for p in sys.argv[1:])
print("encoder", a[0] == b[0], "weights", a[1] == b[1])
PY
  )
  check_grep "$name: JSON records give the CSV's encoder and weights, bit for bit" "^encoder True weights True\$" "$same"
done <<<"$sets"

# A test file of its own and --validation-split 0: evaluate's test rows are
# the whole test file, as train's were (not the halves NSL-KDD uses).
zcat "$SF_ROOT/data/credit_data/credit_data.csv.gz" >"$SF_TMP/cd.csv"
head -n 3001 "$SF_TMP/cd.csv" >"$SF_TMP/cd_train.csv"
{ head -n 1 "$SF_TMP/cd.csv"; tail -n +3002 "$SF_TMP/cd.csv"; } >"$SF_TMP/cd_test.csv"
n_test=$(($(wc -l <"$SF_TMP/cd_test.csv") - 1))
run "$SF" train --train "$SF_TMP/cd_train.csv" --test "$SF_TMP/cd_test.csv" \
  --schema "$SF_ROOT/data/credit_data/schema.json" --validation-split 0 --layers 8 --epochs 1 \
  --model "$SF_TMP/cd.safetensors" --logdir "$SF_TMP/logs"
check_grep "--test and --validation-split 0: train tests on the whole test file" "test on $n_test rows" "$out"
run "$SF" evaluate --model "$SF_TMP/cd.safetensors" --test "$SF_TMP/cd_test.csv"
check_grep "... and evaluate's test rows are that whole file ($n_test)" "test split \(seed 42\): $n_test rows" "$out"

done_testing
