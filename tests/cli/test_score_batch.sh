# streamflow score --predictions-per-message batch against a broker of its
# own: one prediction per input record, each line the very prediction of
# one-per-message mode, in offset order per source partition, keyed by the
# source partition, one model_id header per message; DLQ copies still one
# per bad record; messages split under message.max.bytes; a refused
# message fails its records (nothing after them committed); kill -9
# mid-stream and a restart lose nothing (the kill lands once a third of a
# rate-limited replay is scored: mid-stream however loaded the machine).
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/broker.sh"

N=3000 RATE=500 # 6 s of replay for the kill -9: time to kill mid-stream, even under load
[ "$SF_SANITIZED" = 1 ] && N=900 RATE=150
model="$SF_TMP/model.safetensors"
ROW='0,tcp,http,SF,215,45076,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,1,1,0.00,0.00,0.00,0.00,1.00,0.00,0.00,0,0,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00'

run "$SF" score --predictions-per-message many --model "$model"
check "--predictions-per-message many is a usage error" [ "$rc" -eq 2 ]
check_grep "... naming the option" "predictions-per-message: 'many' is not one or batch" "$err"
run "$SF" score --predictions-per-message batch --output same --dlq same --model "$model"
check "batch with --dlq the same topic as --output is a usage error" [ "$rc" -eq 2 ]
check_grep "... naming the topic" "give --dlq another topic \('same' is both\)" "$err"
run "$SF" score --help
check_grep "--help names --predictions-per-message" "predictions-per-message one\|batch" "$out$err"

run "$SF" train --epochs 1 --model "$model" --logdir "$SF_TMP/logs"
check "a one-epoch model trains" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || done_testing
zcat "$SF_ROOT/data/nsl-kdd/KDDTest+.txt.gz" | head -n "$N" >"$SF_TMP/rows.csv"
broker_start --partitions 3 --topic k9:3 --topic k9_pred:3 || done_testing

# ---- the same input scored one per message and in batches: N good rows
# with bad records among them
run "$SF" replay -q "$SF_TMP/rows.csv"
check "replay of $N rows exits 0" [ "$rc" -eq 0 ]
{
  echo "field_count:1,2,3"
  echo "not_a_number:${ROW/215/abc}"
  echo "empty:"
} >"$SF_TMP/bad.txt"
kcat -P -b "$BROKERS" -t connections -K : <"$SF_TMP/bad.txt"
run "$SF" replay -q --limit 200 "$SF_TMP/rows.csv"
check "a second replay after the bad records exits 0" [ "$rc" -eq 0 ]
total=$((N + 3 + 200))

run "$SF" score -e -q --model "$model" -G one --output pred_one --dlq dlq_one --batch 128
check "one per message: exit 0" [ "$rc" -eq 0 ]
run "$SF" score -e --model "$model" -G batch --output pred_batch --dlq dlq_batch --batch 128 \
  --predictions-per-message batch
check "batch: exit 0" [ "$rc" -eq 0 ]
check_grep "batch: the totals count records, not messages" \
  "^score: $total records, $((total - 3)) predictions, 3 to dlq_batch, $total delivered" "$err"
# -X message.max.bytes=1000: about two predictions fit in a message.
run "$SF" score -e -q --model "$model" -G small --output pred_small --dlq dlq_small --batch 128 \
  --predictions-per-message batch -X message.max.bytes=1000
check "batch under message.max.bytes=1000: exit 0" [ "$rc" -eq 0 ]

# %S: the value's size, then the value: a value of many lines reads back whole.
dump() { kcat -C -b "$BROKERS" -t "$1" -e -q -f "$2"; }
dump connections '%p %o\n' >"$SF_TMP/in.txt"
dump pred_one '%s\n' >"$SF_TMP/one.txt"
for t in pred_batch pred_small; do dump "$t" '%p\t%k\t%h\t%S\n%s' >"$SF_TMP/$t.txt"; done
for t in dlq_one dlq_batch; do dump "$t" '%h\n' >"$SF_TMP/$t.txt"; done
model_id=$(kcat -C -b "$BROKERS" -t pred_one -e -q -c 1 -f '%h' | sed -E 's/.*model_id=([0-9a-f]+).*/\1/')

# compare TOPIC: what its batch messages hold against pred_one and the input.
compare() {
  python3 - "$SF_TMP" "$1" "$model_id" <<'PY'
import collections, json, re, sys
d, topic, model_id = sys.argv[1:4]
inputs = set(tuple(map(int, l.split())) for l in open(d + "/in.txt"))
one = {}
for l in open(d + "/one.txt"):
    j = json.loads(l)
    one[(j["partition"], j["offset"])] = l.rstrip("\n")
raw = open(d + "/" + topic + ".txt", "rb").read().decode()
msgs, pos = [], 0
while pos < len(raw):
    nl = raw.index("\n", pos)
    part, key, hdrs, size = raw[pos:nl].split("\t")
    value = raw[nl + 1:nl + 1 + int(size)]
    msgs.append((int(part), key, hdrs, value))
    pos = nl + 1 + int(size)
seen = collections.Counter()
same = ordered = keyed = ends = True
last = {}
biggest, most = 0, 0
for part, key, hdrs, value in msgs:
    biggest = max(biggest, len(value))
    ends &= value.endswith("\n")
    lines = value.split("\n")[:-1]
    most = max(most, len(lines))
    for l in lines:
        j = json.loads(l)
        src = (j["partition"], j["offset"])
        seen[src] += 1
        same &= one.get(src) == l
        keyed &= key == str(j["partition"])
        # in one output partition, each source partition's offsets only grow
        ordered &= last.get((part, src[0]), -1) < src[1]
        last[(part, src[0])] = src[1]
print("messages", len(msgs), "lines", sum(seen.values()), "most_per_message", most, "biggest", biggest)
print("missing", len(inputs - set(seen) - set(k for k in inputs if k not in one)))
print("dups", sum(1 for c in seen.values() if c > 1), "strays", len(set(seen) - inputs))
print("same_as_one", same and set(seen) == set(one))
print("ordered", ordered, "keyed", keyed, "newline_terminated", ends)
print("headers", all(h == "model_id=" + model_id for _, _, h, _ in msgs))
PY
}
cmp_batch=$(compare pred_batch)
echo "$cmp_batch" | sed 's/^/# batch: /'
check_grep "batch: one prediction per scorable input record" "^messages [0-9]+ lines $((total - 3)) " "$cmp_batch"
check_grep "batch: no input record left out" "^missing 0$" "$cmp_batch"
check_grep "batch: no record twice, none invented" "^dups 0 strays 0$" "$cmp_batch"
check_grep "batch: every line is the prediction of one-per-message mode" "^same_as_one True$" "$cmp_batch"
check_grep "batch: in offset order per source partition, keyed by it, a newline after each line" \
  "^ordered True keyed True newline_terminated True$" "$cmp_batch"
check_grep "batch: the model_id header once per message" "^headers True$" "$cmp_batch"
msgs=$(sed -nE 's/^messages ([0-9]+) .*/\1/p' <<<"$cmp_batch")
check "batch: far fewer messages than predictions ($msgs)" [ "${msgs:-0}" -gt 0 -a "${msgs:-0}" -le $((total / 20)) ]

cmp_small=$(compare pred_small)
echo "$cmp_small" | sed 's/^/# small: /'
check_grep "message.max.bytes=1000: every prediction once, the same as one-per-message mode" \
  "^messages [0-9]+ lines $((total - 3)) " "$cmp_small"
check_grep "message.max.bytes=1000: none missing" "^missing 0$" "$cmp_small"
check_grep "message.max.bytes=1000: none twice" "^dups 0 strays 0$" "$cmp_small"
check_grep "message.max.bytes=1000: same lines" "^same_as_one True$" "$cmp_small"
check_grep "message.max.bytes=1000: still in order" "^ordered True keyed True newline_terminated True$" "$cmp_small"
biggest=$(sed -nE 's/.* biggest ([0-9]+)$/\1/p' <<<"$cmp_small")
most=$(sed -nE 's/.* most_per_message ([0-9]+) .*/\1/p' <<<"$cmp_small")
check "message.max.bytes=1000: split into messages of at most 1000 bytes ($biggest), several lines still together ($most)" \
  [ "${biggest:-9999}" -le 1000 -a "${most:-0}" -ge 2 ]

dlq_cmp() { sed -nE 's/.*source_partition=([0-9]+),source_offset=([0-9]+).*/\1 \2/p' "$SF_TMP/$1.txt" | sort; }
check "batch: one DLQ copy per bad record, the same records as one-per-message mode" \
  [ "$(dlq_cmp dlq_batch | wc -l)" -eq 3 -a "$(dlq_cmp dlq_batch)" = "$(dlq_cmp dlq_one)" ]

run "$SF" score --report --output pred_batch
check "--report reads every line of a batch message: exit 0" [ "$rc" -eq 0 ]
check_grep "--report reads every line of a batch message" \
  "report: $((total - 3)) records read from pred_batch, $((total - 3)) scored with a label, 0 duplicates ignored, 0 without a label, 0 not predictions" "$err"

run "$SF" score -e -q --model "$model" -G batch --output pred_batch --predictions-per-message batch
check "batch: a rerun of the group exits 0" [ "$rc" -eq 0 ]
check "batch: a rerun of the group scores nothing again (offsets were committed)" \
  [ "$(dump pred_batch '%s' | wc -l)" -eq $((total - 3)) ]

# ---- with --records-per-message many: messages of 7 rows in, batches of
# predictions out; each line the very prediction of one-per-message output
run "$SF" replay -q -t m7 --records-per-message 7 "$SF_TMP/rows.csv"
check "replay --records-per-message 7 into m7 exits 0" [ "$rc" -eq 0 ]
run "$SF" score -e -q --model "$model" -t m7 -G m_one --output m_one --dlq m_dlq --batch 128 \
  --records-per-message many
check "many in, one per message out: exit 0" [ "$rc" -eq 0 ]
run "$SF" score -e -q --model "$model" -t m7 -G m_batch --output m_batch --dlq m_dlq --batch 128 \
  --records-per-message many --predictions-per-message batch
check "many in, batch out: exit 0" [ "$rc" -eq 0 ]
dump m_one '%s\n' >"$SF_TMP/m_one.txt"
dump m_batch '%s' >"$SF_TMP/m_batch.txt"
cmp_many=$(python3 - "$SF_TMP/m_one.txt" "$SF_TMP/m_batch.txt" <<'PY'
import collections, json, sys
one = {}
for l in open(sys.argv[1]):
    j = json.loads(l)
    one[(j["partition"], j["offset"], j["index"])] = l.rstrip("\n")
seen, same, ordered, last = collections.Counter(), True, True, {}
for l in open(sys.argv[2]):
    l = l.rstrip("\n")
    j = json.loads(l)
    k = (j["partition"], j["offset"], j["index"])
    seen[k] += 1
    same &= one.get(k) == l
    ordered &= last.get(k[0], (-1, -1)) < k[1:]
    last[k[0]] = k[1:]
print("one", len(one), "batch", sum(seen.values()), "dups", sum(1 for c in seen.values() if c > 1),
      "same", same and set(seen) == set(one), "ordered", ordered)
PY
)
echo "# many in, batch out: $cmp_many"
check_grep "many in, batch out: every row once, the very line of one-per-message output, in order" \
  "^one $N batch $N dups 0 same True ordered True$" "$cmp_many"
run "$SF" score -e -q --model "$model" -t m7 -G m_batch --output m_batch --dlq m_dlq \
  --records-per-message many --predictions-per-message batch
check "many in, batch out: a rerun of the group scores nothing again" \
  [ "$rc" -eq 0 -a "$(dump m_batch '%s' | wc -l)" -eq "$N" ]

# ---- --exactly-once: one transaction per batch, its messages of predictions in it
run "$SF" score -e -q --exactly-once --model "$model" -G eos --output eos_pred --dlq eos_dlq --batch 128 \
  --predictions-per-message batch
check "batch, --exactly-once: exit 0" [ "$rc" -eq 0 ]
n_eos=$(kcat -C -b "$BROKERS" -t eos_pred -e -q -X isolation.level=read_committed -f '%s' | wc -l)
d_eos=$(kcat -C -b "$BROKERS" -t eos_dlq -e -q -X isolation.level=read_committed -f '.\n' | wc -l)
check "batch, --exactly-once: every prediction and DLQ copy committed ($n_eos + $d_eos)" \
  [ "$n_eos" -eq $((total - 3)) -a "$d_eos" -eq 3 ]

# ---- a message the cluster refuses fails its records: the run exits 1
# and their offsets stay uncommitted, so a rerun scores every record
broker_ctl 'topic-error pred_fail TOPIC_AUTHORIZATION_FAILED' >/dev/null
run "$SF" score -e --model "$model" -G fail --output pred_fail --dlq dlq_fail --batch 128 \
  --predictions-per-message batch -X message.timeout.ms=3000
broker_ctl 'topic-error pred_fail NO_ERROR' >/dev/null
check "a refused batch message: exit 1" [ "$rc" -eq 1 ]
check_grep "a refused batch message: the error names its records" \
  "the [0-9]+ predictions of connections \[[0-9]+\] from offset [0-9]+ were not delivered to pred_fail" "$err"
run "$SF" score -e -q --model "$model" -G fail --output pred_fail --dlq dlq_fail --batch 128 \
  --predictions-per-message batch
check "after the refusal, a rerun exits 0" [ "$rc" -eq 0 ]
dump pred_fail '%p\t%k\t%h\t%S\n%s' >"$SF_TMP/pred_fail.txt"
cmp_fail=$(compare pred_fail)
echo "$cmp_fail" | sed 's/^/# refused then rerun: /'
check_grep "after the refusal, the rerun scores every record" "^missing 0$" "$cmp_fail"

# ---- kill -9 mid-stream in batch mode, then a restart: nothing lost
X="-X session.timeout.ms=3000 -X heartbeat.interval.ms=300"
"$SF" score --model "$model" -q -t k9 --output k9_pred -G k9 --batch 32 --predictions-per-message batch \
  -X auto.commit.interval.ms=200 $X </dev/null >"$SF_TMP/k9.out" 2>"$SF_TMP/k9.err" &
k9pid=$!
"$SF" replay -q -t k9 --limit 1 "$SF_TMP/rows.csv" </dev/null >/dev/null 2>&1
for _ in $(seq 1 200); do
  [ "$(dump k9_pred '%s' 2>/dev/null | wc -l)" -ge 1 ] && break
  sleep 0.1
done
"$SF" replay -q -t k9 --rate "$RATE" "$SF_TMP/rows.csv" </dev/null >/dev/null 2>"$SF_TMP/replay_k9.err" &
replay_k9=$!
for _ in $(seq 1 300); do
  [ "$(dump k9_pred '%s' 2>/dev/null | wc -l)" -ge $((N / 3)) ] && break
  sleep 0.1
done
kill -9 "$k9pid"
wait "$k9pid" 2>/dev/null
before=$(dump k9_pred '%s' | wc -l)
wait "$replay_k9"
check "replay into k9 exits 0" [ $? -eq 0 ]
check "the killed scorer was mid-stream ($before of $((N + 1)))" [ "$before" -gt 1 -a "$before" -lt "$N" ]
run "$SF" score --model "$model" -q -t k9 --output k9_pred -G k9 -e --predictions-per-message batch $X
check "restart after kill -9 exits 0" [ "$rc" -eq 0 ]
cov=$(coverage k9 k9_pred)
echo "# kill -9 in batch mode: $cov (before the kill: $before predictions)"
check_grep "batch, kill -9 + restart: every offset has a prediction" "^inputs $((N + 1)) missing 0 " "$cov"
check_grep "batch, kill -9 + restart: duplicates only in the uncommitted window" "window True$" "$cov"

done_testing
