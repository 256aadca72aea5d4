# streamflow schema infer / check on the shipped data sets, and their errors.
. "$SF_ROOT/tests/lib.sh"

# name:label:rows:inputs:classes
sets="lending_club:Class:9857:119:bad 517, good 9340
mlc_churn:churn:5000:73:no 4293, yes 707
credit_data:Status:4454:29:bad 1254, good 3200
penguins:species:344:13:Adelie 152, Chinstrap 68, Gentoo 124"

while IFS=: read -r name label rows inputs classes; do
  data="$SF_ROOT/data/$name/$name.csv.gz"
  run "$SF" schema infer "$data" --label "$label" --name "${name//_/-}"
  check "infer $name exits 0" [ "$rc" -eq 0 ]
  check "infer $name prints the shipped schema" [ "$out" = "$(cat "$SF_ROOT/data/$name/schema.json")" ]
  printf '%s\n' "$out" >"$SF_TMP/$name.json"
  check "infer $name prints JSON" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$SF_TMP/$name.json"
  run "$SF" schema check --schema "$SF_TMP/$name.json" "$data"
  check "check $name exits 0" [ "$rc" -eq 0 ]
  check_grep "check $name counts the rows" "^rows: $rows\$" "$out"
  check_grep "check $name counts the classes" "^classes: $classes\$" "$out"
  check_grep "check $name gives the input width" "^inputs: $inputs " "$out"
done <<<"$sets"

# the label defaults to the last column
run "$SF" schema infer "$SF_ROOT/data/mlc_churn/mlc_churn.csv.gz"
check_grep "the last column is the default label" '"name": "churn", "type": "label"' "$out"

# NSL-KDD: no header, its names come from the schema
run "$SF" schema check --schema "$SF_ROOT/data/nsl-kdd/schema.json" "$SF_ROOT/data/nsl-kdd/KDDTest+.txt.gz"
check "check NSL-KDD exits 0" [ "$rc" -eq 0 ]
check_grep "NSL-KDD test rows" '^rows: 22544$' "$out"
check_grep "NSL-KDD input width" '^inputs: 116 ' "$out"

# errors
run "$SF" schema infer "$SF_TMP/no-such.csv"
check "a missing file exits 1" [ "$rc" -eq 1 ]
check_grep "a missing file is named" "no-such.csv: No such file or directory" "$err"

run "$SF" schema infer
check "no FILE exits 2" [ "$rc" -eq 2 ]
check_grep "no FILE says so" "no FILE given" "$err"

run "$SF" schema infer "$SF_ROOT/data/penguins/penguins.csv.gz" --label specie
check "an unknown --label exits 2" [ "$rc" -eq 2 ]
check_grep "an unknown --label suggests the closest" "no column named 'specie' in the header; did you mean 'species'\?" "$err"

run "$SF" schema infer "$SF_ROOT/data/penguins/penguins.csv.gz" --label zzzzzzzz
check "an unrelated --label exits 2" [ "$rc" -eq 2 ]
check_nogrep "no guess for an unrelated --label" "did you mean" "$err"

run "$SF" schema infre x
check "an unknown subcommand exits 2" [ "$rc" -eq 2 ]
check_grep "an unknown subcommand suggests" "did you mean 'infer'" "$err"

printf 'a,b,c\n1,"x,2\n' >"$SF_TMP/bad.csv"
run "$SF" schema infer "$SF_TMP/bad.csv"
check "a malformed file exits 1" [ "$rc" -eq 1 ]
check_grep "a malformed file names file, line and column" "bad.csv:2:2 \(b\): unterminated quoted field" "$err"

sed 's/"numeric"/"numbr"/' "$SF_ROOT/data/penguins/schema.json" >"$SF_TMP/typo.json"
run "$SF" schema check --schema "$SF_TMP/typo.json" "$SF_ROOT/data/penguins/penguins.csv.gz"
check "a bad schema exits 1" [ "$rc" -eq 1 ]
check_grep "a bad schema names file and key" 'typo.json: columns\[2\].type: unknown type "numbr"' "$err"

run "$SF" schema check --schema "$SF_ROOT/data/penguins/schema.json" "$SF_ROOT/data/credit_data/credit_data.csv.gz"
check "data of another schema exits 1" [ "$rc" -eq 1 ]
check_grep "the header mismatch is named" 'credit_data.csv.gz:1:1 \(species\): header names column 1 "Status"' "$err"

run "$SF" schema check "$SF_ROOT/data/penguins/penguins.csv.gz"
check "check without --schema exits 2" [ "$rc" -eq 2 ]

# JSON lines: penguins' first rows as objects, then one with a string for a number
cat >"$SF_TMP/p.jsonl" <<'JSON'
{"species":"Adelie","island":"Torgersen","bill_length_mm":39.1,"bill_depth_mm":18.7,"flipper_length_mm":181,"body_mass_g":3750,"sex":"male"}
{"species":"Gentoo","island":"Biscoe","bill_length_mm":null,"bill_depth_mm":null,"flipper_length_mm":null,"body_mass_g":null,"sex":null,"note":{"x":1}}

{"species":"Chinstrap","island":"Dream","bill_length_mm":46.5,"bill_depth_mm":17.9,"flipper_length_mm":192,"body_mass_g":3500,"sex":"female"}
JSON
run "$SF" schema check --json --schema "$SF_ROOT/data/penguins/schema.json" "$SF_TMP/p.jsonl"
check "check --json exits 0" [ "$rc" -eq 0 ]
check_grep "check --json counts the classes" '^classes: Adelie 1, Chinstrap 1, Gentoo 1$' "$out"
check_grep "check --json counts missing values" '^missing values: bill_length_mm 1, bill_depth_mm 1, flipper_length_mm 1, body_mass_g 1, sex 1$' "$out"
echo '{"species":"Adelie","island":"Dream","bill_length_mm":"39.1"}' >>"$SF_TMP/p.jsonl"
run "$SF" schema check --json --schema "$SF_ROOT/data/penguins/schema.json" "$SF_TMP/p.jsonl"
check "a bad JSON record exits 1" [ "$rc" -eq 1 ]
check_grep "a bad JSON record names line and reason" 'p.jsonl:5: wrong_type: field "bill_length_mm": expected a number or null, found a string' "$err"

run "$SF" help
check_grep "help lists schema" '^  schema +' "$out"

done_testing
