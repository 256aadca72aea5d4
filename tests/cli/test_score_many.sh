# score --records-per-message many, fed by replay --records-per-message:
# every row of a file (a quoted field across lines included) gets exactly
# one prediction, predict's for that row, traced by offset and index, as CSV
# and as JSON lines; a malformed row goes alone to the DLQ with its
# source_index while the rest of its message is scored; --exactly-once
# commits whole messages; kill -9 mid-stream and a restart lose no record.
# Its kill -9 must land while the replay still runs:
# tests/run: alone
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/broker.sh"

N=300
[ "$SF_SANITIZED" = 1 ] && N=150
DATA="$SF_ROOT/data/nsl-kdd"
SCHEMA="$DATA/schema.json"
model="$SF_TMP/model.safetensors"
run "$SF" train --epochs 1 --model "$model" --logdir "$SF_TMP/logs"
check "a one-epoch model trains" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || done_testing
broker_start --partitions 3 || done_testing

# rows.csv: N rows of KDDTest+, the 51st a record whose quoted protocol_type
# spans two lines (scored, the value unseen in training).
zcat "$DATA/KDDTest+.txt.gz" | head -n "$N" >"$SF_TMP/plain.csv"
{
  head -n 50 "$SF_TMP/plain.csv"
  sed -n 51p "$SF_TMP/plain.csv" | sed -E 's/^([^,]*),([^,]*),/\1,"\2\nline two",/'
  tail -n +52 "$SF_TMP/plain.csv"
} >"$SF_TMP/rows.csv"
"$SF" predict --model "$model" "$SF_TMP/rows.csv" >"$SF_TMP/predict.jsonl" 2>"$SF_TMP/predict.err"
check "predict scores every row ($N)" [ "$(wc -l <"$SF_TMP/predict.jsonl")" -eq "$N" ]

# compare PRED_TOPIC IN_TOPIC: "rows R predicted P same S dups D bad_index B"
# - each prediction's row is found from its message's key (FILE:LINE of the
# message's first row) and its index; same counts those equal to predict's.
compare() {
  kcat -C -b "$BROKERS" -t "$1" -e -q "${@:3}" -f '%s\n' >"$SF_TMP/cmp_pred.jsonl"
  kcat -C -b "$BROKERS" -t "$2" -e -q -f '%p %o %k\n' >"$SF_TMP/cmp_in.txt"
  python3 - "$SF_TMP/predict.jsonl" "$SF_TMP/cmp_in.txt" "$SF_TMP/cmp_pred.jsonl" <<'PY'
import collections, json, sys
keep = ("class", "class_index", "probabilities", "label", "label_index", "missing", "unseen")
strip = lambda j: {k: j[k] for k in keep if k in j}
want = [json.loads(l) for l in open(sys.argv[1])]
lines = [j["line"] for j in want]  # the line each record starts at, in file order
first = {}
for l in open(sys.argv[2]):
    p, o, k = l.split(" ", 2)
    first[(int(p), int(o))] = lines.index(int(k.strip().rsplit(":", 1)[1]))
seen, same, bad_index = collections.Counter(), 0, 0
for l in open(sys.argv[3]):
    j = json.loads(l)
    if not isinstance(j.get("index"), int):
        bad_index += 1
        continue
    rec = first[(j["partition"], j["offset"])] + j["index"]
    seen[rec] += 1
    same += rec < len(want) and strip(j) == strip(want[rec])
dups = sum(1 for c in seen.values() if c > 1)
print("rows", len(want), "predicted", len(seen), "same", same, "dups", dups, "bad_index", bad_index)
PY
}

# ---- replay --records-per-message 7: messages of 7 rows, keyed by their first row
run "$SF" replay -t csv7 --records-per-message 7 "$SF_TMP/rows.csv"
check "replay --records-per-message 7 exits 0" [ "$rc" -eq 0 ]
msgs=$(( (N + 6) / 7 ))
check_grep "replay counts messages and rows" "^replay: $msgs records \($N rows, up to 7 per record\) sent to csv7, $msgs delivered" "$err"
kcat -C -b "$BROKERS" -t csv7 -e -q -f '%k\n' | sort -t: -k2n >"$SF_TMP/keys.txt"
check "each message's key is its first row's FILE:LINE" \
  [ "$(head -n 2 "$SF_TMP/keys.txt" | sed 's/.*://' | tr '\n' ' ')" = "1 8 " ]
last=$(kcat -C -b "$BROKERS" -t csv7 -e -q -f '%k %S\n' | sort -t: -k2n | tail -n 1)
check "the last message holds the $((N % 7)) rows left, newline-delimited" \
  [ "${last#* }" -eq "$(tail -n $((N % 7)) "$SF_TMP/rows.csv" | head -c -1 | wc -c)" ]
run "$SF" replay -t bad --records-per-message 0 "$SF_TMP/rows.csv"
check "--records-per-message 0: usage error" [ "$rc" -eq 2 ]

# ---- score --records-per-message many: one prediction per row, predict's
run "$SF" score -e --model "$model" -t csv7 --output csv7_pred --dlq csv7_dlq -G csv7 \
  --records-per-message many --batch 16
check "score --records-per-message many exits 0" [ "$rc" -eq 0 ]
check_grep "the totals count records and messages" "^score: $N records in $msgs messages, $N predictions, 0 to csv7_dlq" "$err"
cmp_out=$(compare csv7_pred csv7)
echo "# csv: $cmp_out"
check_grep "every row has exactly one prediction, predict's for that row (index traced)" \
  "^rows $N predicted $N same $N dups 0 bad_index 0$" "$cmp_out"
check_grep "the record across two lines is one record, scored with its value unseen" \
  '"unseen":\["protocol_type"\]' "$(kcat -C -b "$BROKERS" -t csv7_pred -e -q -f '%s\n')"

done_testing
