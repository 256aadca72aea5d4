# yt-produce --follow against the local API stand-in: one videos.list call
# for all videos each round, only what changed is published, the interval
# from the quota, quota exhaustion pauses and resumes, SIGINT/SIGTERM end
# cleanly, a restart does not double the totals, and the consumer's totals
# equal the stand-in's final state. No secret in any output.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/youtube/lib.sh"
. "$SF_ROOT/tests/broker.sh"
unset YOUTUBE_API_KEY GOOGLE_APPLICATION_CREDENTIALS STREAMFLOW_TEST_QUOTA_RESET_S

# ---------------------------------------------------------- usage errors
for bad in "--interval 5s" "--quota-per-day 100" "--follow --interval 0" "--follow --interval 5x" \
  "--follow --interval 0.5" "--follow --interval 1m --quota-per-day 100" "--follow --quota-per-day 0" \
  "--order time" "--follow --order relevance"; do
  run "$SF" yt-produce --api-key "$API_KEY" $bad sameTitle01
  keep
  check "yt-produce $bad: usage error (exit 2)" [ "$rc" -eq 2 ]
done
check_grep "a bad duration says what a duration is" "30s, 5m, 1h" "$(cat "$YT_ALL")"

standin_start --live-rounds 3 || done_testing
broker_start --topic yt_rate:1 --topic yt_live:1 --topic yt_order:1 --topic yt_quota:1 || done_testing
P=(-b "$BROKERS" --api-base "$API_BASE" --api-key "$API_KEY" --retry-wait 20 --timeout 5)

# bg_produce NAME ARGS...: yt-produce in the background, output in NAME.out/.err.
bg_produce() {
  local name=$1; shift
  "$SF" yt-produce "${P[@]}" "$@" </dev/null >"$SF_TMP/$name.out" 2>"$SF_TMP/$name.err" &
  bg=$!
}
# wait_for FILE REGEX [TENTHS]
wait_for() {
  local i
  for i in $(seq 1 "${3:-300}"); do grep -Eq -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
# stop_bg SIGNAL NAME: signal the background producer, collect its output.
stop_bg() {
  kill -"$1" "$bg"; wait "$bg"; rc=$?
  out=$(cat "$SF_TMP/$2.out") err=$(cat "$SF_TMP/$2.err"); keep
  sanitizer_check "yt-produce ($2)" "$rc" "$err"
}
# total JSONLINES ID FIELD: FIELD of the "total" line of video ID.
total() {
  python3 -c 'import json,sys
for l in sys.argv[1].splitlines():
    try: o = json.loads(l)
    except ValueError: continue
    if o.get("type") == "total" and o.get("video_id") == sys.argv[2]: print(o[sys.argv[3]])' "$@"
}
# summary JSONLINES FIELD
summary() {
  python3 -c 'import json,sys
for l in sys.argv[1].splitlines():
    try: o = json.loads(l)
    except ValueError: continue
    if o.get("type") == "summary": print(o[sys.argv[2]])' "$@"
}

# ---------------------------------------------------------- the interval from the quota
# Three videos of one comment page each: 1 + 3 = 4 units a round, so
# 10000 units a day allow one round every 86400 * 4 / 10000 = 34.56 s.
bg_produce rate --follow --quota-per-day 10000 -t yt_rate sameTitle01 sameTitle02 emojiTitle1
wait_for "$SF_TMP/rate.err" "a round costs"
stop_bg INT rate
check "--follow, SIGINT: exits 0" [ "$rc" -eq 0 ]
check_grep "--quota-per-day 10000: one round every 34.6 s" \
  '^yt-produce: following 3 videos, a round costs 4 units: one round every 34\.6 s keeps within 10000 units a day$' "$err"
check_grep "--follow: one round only before SIGINT" '^round 1: 7 comment records and 3 video summaries published, 4 units$' "$out"
check_nogrep "--follow: no second round within the interval" '^round 2' "$out"
check_grep "SIGINT: the records are flushed" '^messages: 10 sent to yt_rate, 10 delivered, 0 not delivered' "$out"
stats=$(standin_stats)
check "one videos.list call for the three videos" \
  [ "$(json_get "$stats" counts "videos:sameTitle01,sameTitle02,emojiTitle1")" = 1 ]

# ---------------------------------------------------------- live changes
# liveVideo01: 5 comments on pages of 2, liveVideo02: 2 comments; each round
# grows like counts and adds a comment, up to round 3.
# A consumer follows along from the empty topic: its changes since the
# start and over the last minute are then the whole totals.
"$SF" yt-consume -b "$BROKERS" -t yt_live -G live-watch </dev/null >"$SF_TMP/watch.out" 2>"$SF_TMP/watch.err" &
watch=$!
wait_for "$SF_TMP/watch.err" 'read back to rebuild the totals'
bg_produce live --follow --interval 1s -t yt_live liveVideo01 liveVideo02
wait_for "$SF_TMP/live.out" '^round 5:' 200
stop_bg TERM live
wait_for "$SF_TMP/watch.out" '^update  liveVideo01  Live one \(edited\)  likes 28 .* status ok' 50
kill -TERM "$watch"; wait "$watch"; wrc=$?
wout=$(cat "$SF_TMP/watch.out")
check "the watching consumer: exits 0" [ "$wrc" -eq 0 ]
check_grep "the watching consumer: likes and comments per minute and since start" \
  '^update  liveVideo01  Live one \(edited\)  likes 28  comments 7  status ok  likes \+28/min \+28 since start  comments \+7/min \+7 since start$' "$wout"
check_grep "the watching consumer: the summary is as before" '^Live one \(edited\) +liveVideo01 +28 +7 +ok$' "$wout"
check "--follow, SIGTERM: exits 0" [ "$rc" -eq 0 ]
check_grep "round 1: every comment and both summaries" '^round 1: 7 comment records and 2 video summaries published' "$out"
check_grep "round 2: only the changed and new comments" '^round 2: 6 comment records and 2 video summaries published' "$out"
check_grep "round 3: only the changed and new comments" '^round 3: 6 comment records and 2 video summaries' "$out"
check_grep "round 4: the video like counts catch up, no comment changed" '^round 4: 0 comment records and 2 video summaries' "$out"
check_grep "round 5: nothing changed, nothing published" '^round 5: 0 comment records and 0 video summaries published' "$out"
check_grep "--interval 1s: the cost of a round (1 + 3 + 1 pages)" 'a round costs 5 units: one round every 1\.0 s spends 432000 units a day' "$err"
check_grep "--interval: recomputed when the page count grows" 'a round costs 6 units: one round every 1\.0 s spends 518400 units a day' "$err"
check_grep "--interval over the quota: a warning" 'warning: that is over the quota of 10000 units a day; one round every 43\.2 s would keep within it' "$err"

stats=$(standin_stats)
run "$SF" yt-consume -b "$BROKERS" -t yt_live -G live-check -e --json
keep
check "yt-consume after the live rounds: exits 0" [ "$rc" -eq 0 ]
check "every published record is on the topic (19 comments + 8 summaries)" [ "$(summary "$out" messages)" = 27 ]
check_grep "--json: the changes since the start (the rebuild) are new keys" \
  '^\{"type":"update","video_id":"liveVideo01",.*"status":"ok","likes_per_min":0,"comments_per_min":0,"likes_since_start":0,"comments_since_start":0\}$' "$out"
check_nogrep "--json: the summary's totals are unchanged" '"type":"total".*_since_start' "$out"
for v in liveVideo01 liveVideo02; do
  for f in likes comments video_likes title; do
    want=$(json_get "$stats" live "$v" "$f")
    check "$v: $f follows the stand-in exactly ($want)" [ "$(total "$out" "$v" "$f")" = "$want" ]
  done
done

# ---------------------------------------------------------- restart
# A new producer knows nothing of what was published: it publishes it all
# again, and the consumer's totals do not move.
bg_produce live2 --follow --interval 1s -t yt_live liveVideo01 liveVideo02
wait_for "$SF_TMP/live2.out" '^round 2:' 100
stop_bg INT live2
check "restart: exits 0" [ "$rc" -eq 0 ]
check_grep "restart: round 1 publishes everything again" '^round 1: 11 comment records and 2 video summaries' "$out"
run "$SF" yt-consume -b "$BROKERS" -t yt_live -G live-check2 -e --json
keep
check "restart: the records are on the topic (27 + 13)" [ "$(summary "$out" messages)" = 40 ]
for v in liveVideo01 liveVideo02; do
  for f in likes comments; do
    want=$(json_get "$stats" live "$v" "$f")
    check "restart: $v $f not doubled ($want)" [ "$(total "$out" "$v" "$f")" = "$want" ]
  done
done

# ---------------------------------------------------------- --order time
# After a first full round, each video's pages are read newest first only
# down to the first page holding a comment already seen: new comments are
# all counted, like changes further down are not.
standin_stop
standin_start --live-rounds 3 || done_testing
P=(-b "$BROKERS" --api-base "$API_BASE" --api-key "$API_KEY" --retry-wait 20 --timeout 5)
bg_produce order --follow --order time --interval 1s -t yt_order liveVideo01 liveVideo02
wait_for "$SF_TMP/order.out" '^round 4:' 100
stop_bg INT order
check "--order time: exits 0" [ "$rc" -eq 0 ]
check_grep "--order time: the first round reads every page (1 + 3 + 1 units)" 'a round costs 5 units' "$err"
check_grep "--order time: then one page per video (1 + 1 + 1 units)" 'a round costs 3 units' "$err"
run "$SF" yt-consume -b "$BROKERS" -t yt_order -G order-check -e --json
keep
for v in liveVideo01 liveVideo02; do
  want=$(json_get "$stats" live "$v" comments)
  check "--order time: $v every new comment counted ($want)" [ "$(total "$out" "$v" comments)" = "$want" ]
done
# 17 in round 1, then +1 (c004) +1 (n001), then +2 (n002); 28 when read whole.
check "--order time: like changes on older pages are not seen (21 of 28)" \
  [ "$(total "$out" liveVideo01 likes)" = 21 ]
check "--order time: the producer's summary counts every comment seen" \
  [ "$(grep '^liveVideo01 ' "$SF_TMP/order.out" | tail -n 1 | awk '{print $3}')" = 7 ]

# ---------------------------------------------------------- quota exhausted
# The first 2 API calls answer quotaExceeded: the producer pauses twice
# (1 s here instead of until midnight Pacific time), then goes on.
standin_stop
standin_start --quota-fail 2 || done_testing
P=(-b "$BROKERS" --api-base "$API_BASE" --api-key "$API_KEY" --retry-wait 20 --timeout 5)
export STREAMFLOW_TEST_QUOTA_RESET_S=1
bg_produce quota --follow --interval 1s -t yt_quota sameTitle01
wait_for "$SF_TMP/quota.out" '^round 1:' 150
stop_bg INT quota
unset STREAMFLOW_TEST_QUOTA_RESET_S
check "quota: exits 0 after SIGINT" [ "$rc" -eq 0 ]
check "quota: paused twice" [ "$(grep -Ec 'quota exhausted .*; pausing until [0-9-]+ [0-9:]+ UTC, then going on' <<<"$err")" -eq 2 ]
check_grep "quota: resumed" '^yt-produce: resuming after the quota reset' "$err"
check_grep "quota: then the round went through" '^round 1: 3 comment records and 1 video summary published' "$out"
run "$SF" yt-consume -b "$BROKERS" -t yt_quota -G quota-check -e --json
keep
check "quota: the totals after the pause are exact" [ "$(total "$out" sameTitle01 likes)" = 60 ]
# Without --follow, quotaExceeded still stops the run.
standin_stop
standin_start --quota-fail 1 || done_testing
run "$SF" yt-produce -b "$BROKERS" --api-base "$API_BASE" --api-key "$API_KEY" -t yt_quota sameTitle01
keep
check "quota without --follow: exits 1" [ "$rc" -eq 1 ]
check_grep "quota without --follow: stopped" 'stopped: quota exhausted' "$err"

check_nogrep "the API key never appears in any output" "$API_KEY" "$(cat "$YT_ALL" "$SF_TMP"/*.out "$SF_TMP"/*.err)"
done_testing
