# streamflow score swaps its model without a restart: SIGHUP with two new
# model files and a corrupt one while records stream in (at-least-once and
# --exactly-once), and --model-watch with a file renamed over the model.
# Every input offset gets exactly one prediction, tagged with the model
# that scored it (its probabilities are that model's), the tags of a
# partition only move forward, the corrupt file is refused, and /metrics
# counts the reloads and shows the model in service.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/broker.sh"

N=1500 RATE=1000 LIMIT=7000
[ "$SF_SANITIZED" = 1 ] && N=600 RATE=200 LIMIT=1800 # sanitizer builds: ~9 s of replay
# With --threads (more threads than cores here) twice as long: the replay
# must outlast the three reloads on a loaded machine too.
[ "${SCORE_THREADS:-1}" -gt 1 ] && LIMIT=$((LIMIT * 2))
command -v curl >/dev/null || { skip "model reload" "curl missing (scripts/install-deps installs it)"; exit 0; }
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

zcat "$SF_ROOT/data/nsl-kdd/KDDTest+.txt.gz" | head -n "$N" >"$SF_TMP/rows.csv"
# Three models that differ (seeds 1, 2, 3), each trained on other rows of
# the training file, so each encoder scales differently: a row encoded by
# one model and run through another gets other probabilities. And what
# each model predicts offline.
for m in 1 2 3; do
  data="$SF_TMP/data$m"
  mkdir -p "$data"
  zcat "$SF_ROOT/data/nsl-kdd/KDDTrain+.txt.gz" | sed -n "$((m * 10000 - 9999)),$((m * 10000))p" >"$data/KDDTrain+.txt"
  ln -s "$SF_ROOT/data/nsl-kdd/KDDTest+.txt.gz" "$data/KDDTest+.txt.gz"
  cp "$SF_ROOT/data/nsl-kdd/schema.json" "$data/schema.json"
  run "$SF" train --data "$data" --epochs 1 --seed "$m" --model "$SF_TMP/m$m.safetensors" --logdir "$SF_TMP/logs$m"
  check "model $m trains" [ "$rc" -eq 0 ]
  run "$SF" predict --model "$SF_TMP/m$m.safetensors" "$SF_TMP/rows.csv"
  printf '%s\n' "$out" >"$SF_TMP/m$m.jsonl"
done
out="" err=""
head -c 4000 /dev/urandom >"$SF_TMP/corrupt.safetensors"
# Two more schemas: column 3 renamed (another input: refused), and only the
# schema's name changed (the same input: accepted).
mkdir -p "$SF_TMP/svc" "$SF_TMP/v2"
for d in svc v2; do
  ln -s "$SF_TMP/data1/KDDTrain+.txt" "$SF_TMP/$d/KDDTrain+.txt"
  ln -s "$SF_ROOT/data/nsl-kdd/KDDTest+.txt.gz" "$SF_TMP/$d/KDDTest+.txt.gz"
done
sed 's/"name": "service"/"name": "svc"/' "$SF_ROOT/data/nsl-kdd/schema.json" >"$SF_TMP/svc/schema.json"
sed 's/"name": "nsl-kdd"/"name": "nsl-kdd-v2"/' "$SF_ROOT/data/nsl-kdd/schema.json" >"$SF_TMP/v2/schema.json"
check_grep "the renamed column is in its copy" '"svc"' "$(cat "$SF_TMP/svc/schema.json")"
check_grep "the renamed schema is in its copy" '"nsl-kdd-v2"' "$(cat "$SF_TMP/v2/schema.json")"
for d in svc v2; do
  run "$SF" train --data "$SF_TMP/$d" --epochs 1 --seed 4 --model "$SF_TMP/$d.safetensors" --logdir "$SF_TMP/logs_$d"
  check "a model of schema $d trains" [ "$rc" -eq 0 ]
done
out="" err=""
# id FILE: the model id (the first 16 hex digits of the file's SHA-256).
id() { sha256sum "$1" | cut -c1-16; }
ID1=$(id "$SF_TMP/m1.safetensors") ID2=$(id "$SF_TMP/m2.safetensors") ID3=$(id "$SF_TMP/m3.safetensors")
check "three different models" [ "$ID1" != "$ID2" -a "$ID2" != "$ID3" -a "$ID1" != "$ID3" ]

broker_start --partitions 3 --topic rl:3 --topic eos:3 --topic watch:2 || done_testing

pids=""
stop_all() {
  local p
  for p in $pids; do kill -TERM "$p" 2>/dev/null; done
  for p in $pids; do wait "$p" 2>/dev/null; done
  pids=""
}
trap 'stop_all; broker_stop' EXIT

# deploy SRC DST: the way deploy tools replace a file: a copy beside it,
# then a rename over it.
deploy() { cp "$1" "$2.tmp" && mv -f "$2.tmp" "$2"; }

# wait_line FILE PATTERN COUNT: until FILE has COUNT lines matching (20 s at most).
wait_line() {
  local end=$((SECONDS + 20))
  while [ $SECONDS -lt $end ]; do
    [ "$(grep -Ec -- "$2" "$1")" -ge "$3" ] && return 0
    sleep 0.05
  done
  echo "#   $1: fewer than $3 lines match '$2'"
  sed 's/^/#   /' "$1" | tail -n 10
  return 1
}

# metrics_url FILE: the /metrics address the scorer printed to FILE.
metrics_url() {
  local u="" i
  for i in $(seq 1 200); do
    u=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$1" | head -n 1)
    [ -n "$u" ] && break
    sleep 0.05
  done
  echo "$u"
}

# page_has URL LINE: until /metrics has LINE (20 s at most).
page_has() {
  local end=$((SECONDS + 20))
  while [ $SECONDS -lt $end ]; do
    curl -s -m 5 "$1/metrics" | grep -qxF "$2" && return 0
    sleep 0.1
  done
  echo "#   not on the page: $2"
  curl -s -m 5 "$1/metrics" | grep model | sed 's/^/#   /'
  return 1
}

# verdict IN PRED [ISOLATION]: checks every prediction of PRED against the
# input topic IN: "inputs I missing M dups D untagged U wrong W backwards B
# ids ID1:n1 ..." where wrong counts predictions whose probabilities are not
# those of the model named by their model_id header, backwards counts
# partitions where a later offset carries an earlier model, and stale the
# partitions whose last prediction is not by the last model (with
# --threads, every thread has switched when it is 0).
verdict() {
  kcat -C -b "$BROKERS" -t "$1" -e -q -f '%p %o %k\n' >"$SF_TMP/v_in.txt"
  kcat -C -b "$BROKERS" -t "$2" -e -q ${3:+-X isolation.level=$3} -f '%h\t%s\n' >"$SF_TMP/v_pred.txt"
  $PY - "$SF_TMP" "$ID1" "$ID2" "$ID3" <<'PY'
import collections, json, sys
tmp, ids = sys.argv[1], sys.argv[2:]
expect = {}  # model id -> line number -> probabilities
for k, mid in enumerate(ids):
    expect[mid] = {}
    for line in open(f"{tmp}/m{k + 1}.jsonl"):
        j = json.loads(line)
        expect[mid][j["line"]] = j["probabilities"]
line_of = {}
for l in open(f"{tmp}/v_in.txt"):
    p, o, key = l.rstrip("\n").split(" ", 2)
    line_of[(int(p), int(o))] = int(key.rsplit(":", 1)[1])
seen = collections.Counter()
per_part = collections.defaultdict(list)
tags = collections.Counter()
untagged = wrong = 0
for l in open(f"{tmp}/v_pred.txt"):
    hdr, val = l.rstrip("\n").split("\t", 1)
    h = dict(kv.split("=", 1) for kv in hdr.split(",") if "=" in kv)
    j = json.loads(val)
    src = (j["partition"], j["offset"])
    seen[src] += 1
    mid = h.get("model_id")
    if mid not in expect:
        untagged += 1
        continue
    tags[mid] += 1
    per_part[src[0]].append((src[1], ids.index(mid)))
    want = expect[mid].get(line_of.get(src, -1))
    if want is None or any(abs(want[c] - j["probabilities"][c]) > 2e-6 for c in want):
        wrong += 1
backwards = stale = 0
for p, l in per_part.items():
    order = [k for _, k in sorted(l)]
    if any(b < a for a, b in zip(order, order[1:])):
        backwards += 1
    stale += order[-1] != len(ids) - 1
print("inputs", len(line_of), "missing", len(set(line_of) - set(seen)),
      "dups", sum(1 for c in seen.values() if c > 1), "untagged", untagged, "wrong", wrong,
      "backwards", backwards, "stale", stale, "ids", " ".join(f"{m}:{tags[m]}" for m in ids))
PY
}

# wait_scored IN PRED TOTAL [ISOLATION]: until PRED holds TOTAL predictions (60 s at most).
wait_scored() {
  local end=$((SECONDS + 60))
  while [ $SECONDS -lt $end ]; do
    [ "$(kcat -C -b "$BROKERS" -t "$2" -e -q ${4:+-X isolation.level=$4} -f '.\n' 2>/dev/null | wc -l)" -ge "$3" ] &&
      return 0
    sleep 0.3
  done
  return 1
}

# reload_under_load NAME TOPIC [score options]: a scorer on TOPIC serving a
# copy of model 1 while LIMIT records stream in at RATE; SIGHUP with model
# 2, with the corrupt file, and with model 3; then the verdict.
reload_under_load() {
  local name=$1 topic=$2 iso=""
  shift 2
  case "$*" in *--exactly-once*) iso=read_committed ;; esac
  local live="$SF_TMP/$name.safetensors" log="$SF_TMP/$name.err"
  cp "$SF_TMP/m1.safetensors" "$live"
  "$SF" score $score_threads --model "$live" -t "$topic" --output "${topic}_pred" -G "$name" --batch 64 \
    --metrics 127.0.0.1:0 "$@" </dev/null >/dev/null 2>"$log" &
  local pid=$!
  pids="$pids $pid"
  local url
  url=$(metrics_url "$log")
  check "$name: the scorer serves /metrics" [ -n "$url" ]
  check "$name: the scorer joins its group" wait_line "$log" "^score: assigned $topic" 1
  "$SF" replay -q -t "$topic" --loop --rate "$RATE" --limit "$LIMIT" "$SF_TMP/rows.csv" </dev/null \
    >/dev/null 2>"$SF_TMP/$name.replay.err" &
  local replay=$!
  # Let model 1 score a while, then each step once the last one is answered.
  check "$name: predictions flow" wait_scored "$topic" "${topic}_pred" $((RATE / 2)) $iso
  deploy "$SF_TMP/m2.safetensors" "$live"
  kill -HUP "$pid"
  check "$name: SIGHUP with model 2: reloaded" wait_line "$log" "^score: model reloaded \(SIGHUP\): model $ID2 replaces $ID1" 1
  sleep 1
  deploy "$SF_TMP/corrupt.safetensors" "$live"
  kill -HUP "$pid"
  check "$name: SIGHUP with a corrupt file: refused, model 2 kept" \
    wait_line "$log" "^score: model reload \(SIGHUP\) refused: .*$name\.safetensors.*; still scoring with model $ID2$" 1
  sleep 0.5
  deploy "$SF_TMP/m3.safetensors" "$live"
  kill -HUP "$pid"
  check "$name: SIGHUP with model 3: reloaded" wait_line "$log" "^score: model reloaded \(SIGHUP\): model $ID3 replaces $ID2" 1
  check "$name: model_info follows the reload" \
    page_has "$url" "streamflow_model_info{model_id=\"$ID3\",format=\"safetensors\",schema=\"nsl-kdd\"} 1"
  check "$name: 3 reloads counted" page_has "$url" "streamflow_model_reloads_total 3"
  check "$name: 1 reload failure counted" page_has "$url" "streamflow_model_reload_failures_total 1"
  wait "$replay"
  check "$name: replay exits 0" [ $? -eq 0 ]
  check "$name: all $LIMIT records scored" wait_scored "$topic" "${topic}_pred" "$LIMIT" $iso
  local v
  v=$(verdict "$topic" "${topic}_pred" $iso)
  echo "# $name: $v"
  check_grep "$name: every offset exactly once, each tagged with the model that scored it" \
    "^inputs $LIMIT missing 0 dups 0 untagged 0 wrong 0 backwards 0 " "$v"
  check_grep "$name: every partition (every scorer thread) ends with model 3" " stale 0 " "$v"
  check_grep "$name: each of the three models scored records" "ids $ID1:[1-9][0-9]* $ID2:[1-9][0-9]* $ID3:[1-9][0-9]*$" "$v"
  echo "# $name: $(grep -o 'loaded and checked in [0-9.]* ms' "$log" | tr '\n' ' ')"
  kill -TERM "$pid"
  wait "$pid"
  local r=$?
  pids=${pids/ $pid/}
  check "$name: SIGTERM after the reloads: exit 0" [ "$r" -eq 0 ]
  sanitizer_check "score $name" "$r" "$(cat "$log")"
  check_grep "$name: the totals name the model in service" "^score: .* model $ID3$" "$(cat "$log")"
}

reload_under_load rl rl
reload_under_load eos eos --exactly-once

# ---- --model-watch: a file renamed over the model is picked up, no signal
live="$SF_TMP/watch.safetensors" log="$SF_TMP/watch.err"
cp "$SF_TMP/m1.safetensors" "$live"
"$SF" score $score_threads --model "$live" --model-watch -t watch --output watch_pred -G watch --metrics 127.0.0.1:0 \
  </dev/null >/dev/null 2>"$log" &
wpid=$!
pids="$pids $wpid"
wurl=$(metrics_url "$log")
check "watch: the scorer joins its group" wait_line "$log" "^score: assigned watch" 1
deploy "$SF_TMP/m2.safetensors" "$live"
check "--model-watch: a rename over the file reloads it" \
  wait_line "$log" "^score: model reloaded \(model file replaced\): model $ID2 replaces $ID1" 1
run "$SF" replay -q -t watch --limit 100 "$SF_TMP/rows.csv"
check "watch: all 100 records scored" wait_scored watch watch_pred 100
v=$(verdict watch watch_pred)
echo "# watch: $v"
check_grep "--model-watch: every record scored once by the new model" \
  "^inputs 100 missing 0 dups 0 untagged 0 wrong 0 backwards 0 stale [0-9]+ ids $ID1:0 $ID2:100 $ID3:0$" "$v"
deploy "$SF_TMP/corrupt.safetensors" "$live"
check "--model-watch: a corrupt file renamed over the model is refused" \
  wait_line "$log" "^score: model reload \(model file replaced\) refused: .*; still scoring with model $ID2$" 1
sleep 1
check "--model-watch: a refused file is tried once, not at every batch" \
  [ "$(grep -c 'refused' "$log")" -eq 1 ]
check "--model-watch: the failure is counted" page_has "$wurl" "streamflow_model_reload_failures_total 1"
deploy "$SF_TMP/m3.safetensors" "$live"
check "--model-watch: the next good file is taken" \
  wait_line "$log" "^score: model reloaded \(model file replaced\): model $ID3 replaces $ID2" 1
check "--model-watch: 3 reloads counted" page_has "$wurl" "streamflow_model_reloads_total 3"
# ---- a model that reads another input is refused, naming the difference;
# one whose schema differs by its name only is taken
deploy "$SF_TMP/svc.safetensors" "$live"
check "a model with a renamed column is refused, naming the column" \
  wait_line "$log" "^score: model reload \(model file replaced\) refused: .*watch\.safetensors reads another input than the model in service: column 3 is 'service' \(categorical\) for the model in service but 'svc' \(categorical\) for the new one; still scoring with model $ID3$" 1
deploy "$SF_TMP/v2.safetensors" "$live"
IDV2=$(id "$SF_TMP/v2.safetensors")
check "a model whose schema has another name only is taken" \
  wait_line "$log" "^score: model reloaded \(model file replaced\): model $IDV2 replaces $ID3" 1
check "model_info names the new schema" \
  page_has "$wurl" "streamflow_model_info{model_id=\"$IDV2\",format=\"safetensors\",schema=\"nsl-kdd-v2\"} 1"
check "--model-watch: 5 reloads, 2 refused" page_has "$wurl" "streamflow_model_reload_failures_total 2"
check "--model-watch: 5 reloads counted" page_has "$wurl" "streamflow_model_reloads_total 5"
stop_all
check_grep "--model-watch: the scorer ends with the last model" "^score: .* model $IDV2$" "$(cat "$log")"
sanitizer_check "score --model-watch" 0 "$(cat "$log")"
done_testing
