# score --records-per-message many, fed by replay --records-per-message:
# every row of a file (a quoted field across lines included) gets exactly
# one prediction, predict's for that row, traced by offset and index, as CSV
# and as JSON lines; a malformed row goes alone to the DLQ with its
# source_index while the rest of its message is scored; --exactly-once
# commits whole messages; an output refused keeps its message's offset
# uncommitted; kill -9 mid-stream and a restart, and a rebalance
# mid-stream, lose no record (the kill lands a third into a rate-limited
# replay, after the first prediction: mid-stream however loaded the
# machine).
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

# compare PRED_TOPIC IN_TOPIC [PREDICT_OUTPUT [KCAT_ARGS...]]: "rows R
# predicted P same S dups D bad_index B" - each prediction's row is found
# from its message's key (FILE:LINE of the message's first row) and its
# index; same counts those equal to predict's (predict.jsonl by default).
compare() {
  kcat -C -b "$BROKERS" -t "$1" -e -q "${@:4}" -f '%s\n' >"$SF_TMP/cmp_pred.jsonl"
  kcat -C -b "$BROKERS" -t "$2" -e -q -f '%p %o %k\n' >"$SF_TMP/cmp_in.txt"
  python3 - "${3:-$SF_TMP/predict.jsonl}" "$SF_TMP/cmp_in.txt" "$SF_TMP/cmp_pred.jsonl" <<'PY'
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
# --report tells records apart by (topic, partition, offset, index) whole:
# here offsets and indices are small numbers alike (a key that mixed them
# symmetrically took (0, 3, 1) and (0, 2, 2) for one record).
run "$SF" score --report --output csv7_pred
check_grep "--report counts every record of a message of many once" \
  "report: $N records read from csv7_pred, $N scored with a label, 0 duplicates ignored" "$err"

# ---- a malformed row in the middle of a message: that row alone to the
# DLQ, with its index; the rows around it scored
{
  sed -n 1p "$SF_TMP/plain.csv"
  sed -n 2p "$SF_TMP/plain.csv" | sed -E 's/^(([^,]*,){4})[^,]*,/\1abc,/'
  sed -n 3p "$SF_TMP/plain.csv"
} >"$SF_TMP/bad.csv"
bad_row=$(sed -n 2p "$SF_TMP/bad.csv")
run "$SF" replay -q -t mid --records-per-message 3 "$SF_TMP/bad.csv"
check "replay of 3 rows as one message" [ "$rc" -eq 0 ]
run "$SF" score -e -q --model "$model" -t mid --output mid_pred --dlq mid_dlq -G mid --records-per-message many
check "score of a message with a malformed row exits 0" [ "$rc" -eq 0 ]
got=$(kcat -C -b "$BROKERS" -t mid_pred -e -q -f '%s\n' | python3 -c '
import json, sys
print(" ".join(str(json.loads(l)["index"]) for l in sys.stdin))')
check "the rows before and after it are scored (indexes 0 and 2)" [ "$got" = "0 2" ]
dlq=$(kcat -C -b "$BROKERS" -t mid_dlq -e -q -f '%h\t%s\n')
echo "$dlq" | sed 's/^/# dlq: /'
check "one DLQ record" [ "$(grep -c . <<<"$dlq")" -eq 1 ]
check "... holding the malformed row alone" [ "$(cut -f 2- <<<"$dlq")" = "$bad_row" ]
check_grep "... its headers: reason, source and the record's index" \
  "error=not_a_number,.*source_topic=mid,source_partition=[0-9]+,source_offset=0,source_index=1,column=src_bytes" "$dlq"
check_grep "... error_message names topic, partition, offset, record and column" \
  "error_message=mid \[[0-9]+\] offset 0 record 1: column 5 \(src_bytes\): not a number" "$dlq"

# ---- JSON lines: replay --format json, 7 objects per message
run "$SF" replay -q -t json7 --schema "$SCHEMA" --format json --records-per-message 7 "$SF_TMP/rows.csv"
check "replay --format json --records-per-message 7 exits 0" [ "$rc" -eq 0 ]
check_grep "a JSON message is one object per line" '^\{"duration":.*\}$' \
  "$(kcat -C -b "$BROKERS" -t json7 -e -q -c 1 -f '%s\n' | head -n 2 | tail -n 1)"
run "$SF" score -e -q --model "$model" -t json7 --output json7_pred --dlq json7_dlq -G json7 \
  --records-per-message many --format json
check "score of JSON lines exits 0" [ "$rc" -eq 0 ]
cmp_out=$(compare json7_pred json7)
echo "# json: $cmp_out"
check_grep "JSON lines: every row has exactly one prediction, predict's for that row" \
  "^rows $N predicted $N same $N dups 0 bad_index 0$" "$cmp_out"

# --format auto decides once a message: a CSV line in a JSON message is a
# bad JSON record (DLQ not_json, with its index), not scored as CSV
{
  kcat -C -b "$BROKERS" -t json7 -e -q -c 1 -f '%s\n' | head -n 1
  head -n 1 "$SF_TMP/plain.csv"
} >"$SF_TMP/mixed.msg"
kcat -P -b "$BROKERS" -t mixed -p 0 "$SF_TMP/mixed.msg"
run "$SF" score -e -q --model "$model" -t mixed --output mixed_pred --dlq mixed_dlq -G mixed \
  --records-per-message many
check "a JSON message with a CSV line: exit 0" [ "$rc" -eq 0 ]
check "... the JSON record scored" [ "$(kcat -C -b "$BROKERS" -t mixed_pred -e -q -f '.\n' | wc -l)" -eq 1 ]
check_grep "... the CSV line to the DLQ as a bad JSON record, with its index" \
  "error=not_json,.*source_index=1" "$(kcat -C -b "$BROKERS" -t mixed_dlq -e -q -f '%h\n')"

# ---- a message of only blank lines, and one of more records than the
# limit: each goes whole to the DLQ with the reason
printf '\n \r\n\n' >"$SF_TMP/blank.msg"
python3 -c 'import sys; sys.stdout.write("1,2\n" * 10001)' >"$SF_TMP/big.msg"
kcat -P -b "$BROKERS" -t whole -p 0 "$SF_TMP/blank.msg" "$SF_TMP/big.msg"
run "$SF" score -e -q --model "$model" -t whole --output whole_pred --dlq whole_dlq -G whole \
  --records-per-message many
check "score of an empty and a too big message exits 0" [ "$rc" -eq 0 ]
dlq=$(kcat -C -b "$BROKERS" -t whole_dlq -e -q -f '%h %S\n')
echo "$dlq" | sed 's/^/# dlq: /'
check_grep "a message without a record: DLQ empty" "^model_id=[^,]*,error=empty,error_message=whole \[0\] offset 0: no record in the message \(only blank lines\),.*source_offset=0 5$" "$dlq"
check_grep "a message of 10001 records: DLQ too_many_records, whole" \
  "^model_id=[^,]*,error=too_many_records,error_message=whole \[0\] offset 1: more than 10000 records in one message.*source_offset=1 40004$" \
  "$dlq"
check_nogrep "... without a source_index" "source_index" "$dlq"

# ---- --exactly-once: a batch (here 10 records, messages of 7) ends at a
# message boundary; every row committed once
run "$SF" score -e -q --exactly-once --model "$model" -t csv7 --output eos_pred --dlq eos_dlq -G eos \
  --records-per-message many --batch 10
check "--exactly-once with many records per message exits 0" [ "$rc" -eq 0 ]
cmp_out=$(compare eos_pred csv7 "" -X isolation.level=read_committed)
echo "# exactly-once: $cmp_out"
check_grep "--exactly-once: every row committed once, predict's" \
  "^rows $N predicted $N same $N dups 0 bad_index 0$" "$cmp_out"

# ---- at-least-once: an offset is committed only once the outputs of all
# its records are acknowledged. The DLQ refuses the malformed row's copy
# while the predictions of the rows around it are delivered: the scorer
# fails, the message's offset stays uncommitted, and a restart scores the
# whole message again.
run "$SF" replay -q -t part --records-per-message 3 "$SF_TMP/bad.csv"
broker_ctl 'create part_dlq 1' >/dev/null
broker_ctl 'topic-error part_dlq TOPIC_AUTHORIZATION_FAILED' >/dev/null
run "$SF" score -e -q --model "$model" -t part --output part_pred --dlq part_dlq -G part \
  --records-per-message many -X message.timeout.ms=2000
broker_ctl 'topic-error part_dlq NO_ERROR' >/dev/null
check "a DLQ copy refused: the scorer exits 1" [ "$rc" -eq 1 ]
check_grep "... saying which offset stays uncommitted" "part \[[0-9]+\] offset 0 was not delivered to part_dlq" "$err"
check "... after the rows around it were predicted" \
  [ "$(kcat -C -b "$BROKERS" -t part_pred -e -q -f '.\n' | wc -l)" -eq 2 ]
run "$SF" score -e -q --model "$model" -t part --output part_pred --dlq part_dlq -G part \
  --records-per-message many
check "restart exits 0" [ "$rc" -eq 0 ]
check "the restart scored the whole message again (2 + 2 predictions)" \
  [ "$(kcat -C -b "$BROKERS" -t part_pred -e -q -f '.\n' | wc -l)" -eq 4 ]
check "... and its malformed row reached the DLQ" \
  [ "$(kcat -C -b "$BROKERS" -t part_dlq -e -q -f '%h\n' | grep -c 'source_index=1')" -eq 1 ]

# ---- kill -9 mid-stream, then a restart: no row lost, duplicates only
# from the uncommitted window (S rows at R rows/s, 7 per message: 6 s, 10 s
# on the sanitized builds). The kill comes a third of the stream's time
# after the first prediction: the replay's pace bounds what the scorer can
# have scored by then, however long reading the topic takes under load.
S=2100 RATE=350
[ "$SF_SANITIZED" = 1 ] && S=700 RATE=70
zcat "$DATA/KDDTest+.txt.gz" | head -n "$S" >"$SF_TMP/stream.csv"
"$SF" predict --model "$model" "$SF_TMP/stream.csv" >"$SF_TMP/stream.jsonl" 2>/dev/null
X="-X session.timeout.ms=3000 -X heartbeat.interval.ms=300"
broker_ctl 'create k9 3' >/dev/null
"$SF" score --model "$model" -t k9 --output k9_pred -G k9 --batch 32 --records-per-message many \
  -X auto.commit.interval.ms=200 $X </dev/null >/dev/null 2>"$SF_TMP/k9.err" &
k9pid=$!
for _ in $(seq 1 300); do grep -q "assigned" "$SF_TMP/k9.err" 2>/dev/null && break; sleep 0.1; done
"$SF" replay -q -t k9 --records-per-message 7 --rate "$RATE" "$SF_TMP/stream.csv" </dev/null >/dev/null 2>&1 &
replay_pid=$!
for _ in $(seq 1 300); do
  [ "$(kcat -C -b "$BROKERS" -t k9_pred -e -q -c 1 -f '.\n' 2>/dev/null | wc -l)" -ge 1 ] && break
  sleep 0.1
done
sleep "$(python3 -c "print($S / $RATE / 3)")"
kill -9 "$k9pid"
wait "$k9pid" 2>/dev/null
before=$(kcat -C -b "$BROKERS" -t k9_pred -e -q -f '.\n' | wc -l)
wait "$replay_pid"
check "replay into k9 exits 0" [ $? -eq 0 ]
check "the killed scorer was mid-stream ($before of $S rows)" [ "$before" -gt 1 -a "$before" -lt "$S" ]
run "$SF" score --model "$model" -q -t k9 --output k9_pred -G k9 -e --batch 32 --records-per-message many $X
check "restart after kill -9 exits 0" [ "$rc" -eq 0 ]
cmp_out=$(compare k9_pred k9 "$SF_TMP/stream.jsonl")
echo "# kill -9: $cmp_out (before the kill: $before predictions)"
check_grep "kill -9 + restart: every row has a prediction, predict's" "^rows $S predicted $S same [0-9]+ " "$cmp_out"
dups=$(sed -E 's/.* dups ([0-9]+) .*/\1/' <<<"$cmp_out")
check "kill -9 + restart: fewer duplicates ($dups) than rows scored before the kill" [ "$dups" -lt "$before" ]

# ---- a rebalance mid-stream: a second scorer joins the group while rows
# flow; batches of 10 records and messages of 7 keep a message pending
# across batches, dropped on revocation for the partition's next owner
broker_ctl 'create grp 4' >/dev/null
"$SF" score --model "$model" -t grp --output grp_pred -G grp --batch 10 --records-per-message many $X \
  </dev/null >/dev/null 2>"$SF_TMP/grp1.err" &
g1=$!
for _ in $(seq 1 300); do grep -q "assigned" "$SF_TMP/grp1.err" 2>/dev/null && break; sleep 0.1; done
"$SF" replay -q -t grp --records-per-message 7 --rate "$RATE" "$SF_TMP/stream.csv" </dev/null >/dev/null 2>&1 &
replay_pid=$!
sleep 2
"$SF" score --model "$model" -t grp --output grp_pred -G grp --batch 10 --records-per-message many $X \
  </dev/null >/dev/null 2>"$SF_TMP/grp2.err" &
g2=$!
wait "$replay_pid"
check "replay into grp exits 0" [ $? -eq 0 ]
for _ in $(seq 1 80); do
  compare grp_pred grp "$SF_TMP/stream.jsonl" | grep -q "predicted $S " && break
  sleep 0.5
done
for pid in $g1 $g2; do kill -TERM "$pid"; done
for pid in $g1 $g2; do
  wait "$pid"
  check "a scorer of the group exits 0 on SIGTERM" [ $? -eq 0 ]
done
sanitizer_check "score (group)" 0 "$(cat "$SF_TMP/grp1.err" "$SF_TMP/grp2.err")"
check_grep "the second scorer got partitions" "assigned grp \[[0-9]" "$(cat "$SF_TMP/grp2.err")"
cmp_out=$(compare grp_pred grp "$SF_TMP/stream.jsonl")
echo "# rebalance: $cmp_out"
check_grep "rebalance mid-stream: every row has a prediction, predict's" "^rows $S predicted $S same [0-9]+ " "$cmp_out"

done_testing
