# The whole YouTube pipeline: yt-produce -> streamflow broker -> yt-consume.
# Exact totals, statuses, titles kept apart by ID, UTF-8 alignment, the
# summary and its ties, redelivery and a second producer run, SIGTERM, and a
# restart after SIGKILL that still ends with exact totals.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/youtube/lib.sh"
. "$SF_ROOT/tests/broker.sh"
unset YOUTUBE_API_KEY GOOGLE_APPLICATION_CREDENTIALS

standin_start || done_testing
broker_start --topic yt_tie:2 --topic yt_empty:1 || done_testing
P=(-b "$BROKERS" --api-base "$API_BASE" --api-key "$API_KEY" --retry-wait 20 --timeout 2)
# Offsets committed often, so a SIGKILL lands after some commits.
C=(-b "$BROKERS" -X auto.commit.interval.ms=200)

# total JSONLINES ID FIELD: the value of FIELD in the "total" line of ID.
total() {
  python3 -c 'import json,sys
for l in sys.argv[1].splitlines():
    try: o = json.loads(l)
    except ValueError: continue
    if o.get("type") == "total" and o.get("video_id") == sys.argv[2]: print(o[sys.argv[3]])' "$@"
}

run "$SF" yt-produce "${P[@]}" -t yt_tie sameTitle01 sameTitle02 privateVid1 emojiTitle1 noComments1
keep
check "producer run for the tie: exits 0" [ "$rc" -eq 0 ]

run "$SF" yt-produce "${P[@]}" pagedVideo1 sameTitle01 sameTitle02 emojiTitle1 noComments1
keep
check "first producer run: exits 0" [ "$rc" -eq 0 ]

run "$SF" yt-consume "${C[@]}" -e --json
keep
check "yt-consume -e exits 0 at the end of the topic" [ "$rc" -eq 0 ]
check "paged video: 745 likes" [ "$(total "$out" pagedVideo1 likes)" = 745 ]
check "paged video: 250 comments" [ "$(total "$out" pagedVideo1 comments)" = 250 ]
check "same title, first video: 60 likes" [ "$(total "$out" sameTitle01 likes)" = 60 ]
check "same title, second video: kept apart" [ "$(total "$out" sameTitle02 comments)" = 2 ]
check "the video's own like count is carried" [ "$(total "$out" pagedVideo1 video_likes)" = 1234 ]
check "status comments_disabled" [ "$(total "$out" noComments1 status)" = comments_disabled ]
check "UTF-8 title intact" [ "$(total "$out" pagedVideo1 title)" = "Café ☕ déjà vu 🎉" ]
check_grep "JSON summary names the most liked" '^\{"type":"summary".*"most_liked":\["pagedVideo1"\]' "$out"
check_grep "updates are JSON lines" '^\{"type":"update","video_id":"pagedVideo1"' "$out"

# The group `analytics` has committed offsets now; a consumer killed with
# SIGKILL mid-way and restarted must still end exact.
# (The restart then waits for the group to drop the dead member: ~20 s on
# the development broker.)
"$SF" yt-consume "${C[@]}" --json >"$SF_TMP/bg.out" 2>"$SF_TMP/bg.err" &
bg=$!
for i in $(seq 1 100); do grep -q '"video_id":"pagedVideo1"' "$SF_TMP/bg.out" 2>/dev/null && break; sleep 0.1; done
# A new video while it runs: once it shows, the consumer has joined the
# group and consumed live; a moment later its offsets are committed.
run "$SF" yt-produce "${P[@]}" forbidden01
keep
for i in $(seq 1 200); do grep -q '"video_id":"forbidden01"' "$SF_TMP/bg.out" 2>/dev/null && break; sleep 0.1; done
check "the consumer saw a live message before the kill" grep -q '"video_id":"forbidden01"' "$SF_TMP/bg.out"
sleep 0.6
kill -KILL "$bg"; wait "$bg" 2>/dev/null
check "the killed consumer had seen the totals" grep -q '"video_id":"pagedVideo1".*"likes":745' "$SF_TMP/bg.out"

# A second producer run on the same videos, plus a new one. The stand-in's
# second generation adds 5 likes to the first comment of each video.
standin_stop
standin_start --generation 2 || done_testing
P=(-b "$BROKERS" --api-base "$API_BASE" --api-key "$API_KEY" --retry-wait 20 --timeout 2)
run "$SF" yt-produce "${P[@]}" pagedVideo1 sameTitle01 flaky503001
keep
check "second producer run: exits 0" [ "$rc" -eq 0 ]

run "$SF" yt-consume "${C[@]}" -e --json
keep
check "restart after SIGKILL: exits 0" [ "$rc" -eq 0 ]
check "restart: paged video 745 + 5 = 750, not doubled" [ "$(total "$out" pagedVideo1 likes)" = 750 ]
check "restart: paged video still 250 comments" [ "$(total "$out" pagedVideo1 comments)" = 250 ]
check "restart: the latest like count wins (60 - 10 + 15 = 65)" [ "$(total "$out" sameTitle01 likes)" = 65 ]
check "restart: the new video is counted" [ "$(total "$out" flaky503001 likes)" = 8 ]
check "restart: the other videos are still there" [ "$(total "$out" emojiTitle1 likes)" = 4 ]
check "restart: the video seen live before the kill is there" [ "$(total "$out" forbidden01 status)" = failed ]

# Ties (all of them), a malformed message, SIGTERM and the text output, on
# their own topic. The malformed message is reported with topic, partition
# and offset, and everything else keeps flowing.
printf 'not json at all\n' >"$SF_TMP/bad.csv"
run "$SF" replay -b "$BROKERS" -t yt_tie "$SF_TMP/bad.csv"
check "a malformed message is on yt_tie" [ "$rc" -eq 0 ]
"$SF" yt-consume "${C[@]}" -t yt_tie -G tie-run >"$SF_TMP/term.out" 2>"$SF_TMP/term.err" &
bg=$!
for i in $(seq 1 100); do grep -q '^update  noComments1' "$SF_TMP/term.out" 2>/dev/null && break; sleep 0.1; done
kill -TERM "$bg"; wait "$bg"; trc=$?
out=$(cat "$SF_TMP/term.out") err=$(cat "$SF_TMP/term.err"); keep; sanitizer_check "yt-consume (SIGTERM)" "$trc" "$err"
check "SIGTERM: exits 0" [ "$trc" -eq 0 ]
check_grep "not a terminal: one line per change" '^update  emojiTitle1  日本語のタイトル 🎌  likes 4  comments 2  status ok' "$out"
check_grep "SIGTERM: the summary" '^summary: 5 videos from [0-9]+ messages on yt_tie \(group tie-run\)' "$out"
check_grep "a tie lists every most-liked video" '^most liked: a tie of 2 videos with 60 likes each: "Same title" \((sameTitle01|sameTitle02)\), "Same title" \((sameTitle01|sameTitle02)\)' "$out"
check_grep "malformed message: topic, partition, offset named" 'yt_tie \[[01]\] offset [0-9]+: skipped: value is not JSON' "$err"
check "malformed message: reported once" [ "$(grep -c 'skipped: value is not JSON' <<<"$err")" -eq 1 ]
check_grep "malformed message: the rest still counted" '^Same title +sameTitle01 +60 +3 +ok' "$out"
check_grep "malformed message: counted in the summary" '^1 malformed message\(s\) skipped' "$out"
# Columns: VIDEO ID starts at the same display column on every row,
# whatever the emoji and CJK before it.
cols=$(python3 -c 'import sys, unicodedata
def w(s): return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
keys = ("VIDEO ID","sameTitle01","sameTitle02","emojiTitle1","noComments1","privateVid1")
rows = [l for l in sys.argv[1].split("\n") if not l.startswith(("update","most","summary"))]
print(" ".join(str(w(l[:l.index(k)])) for l in rows for k in keys if k + " " in l))' "$out")
check "the table has 6 rows ($cols)" [ "$(wc -w <<<"$cols")" -eq 6 ]
check "UTF-8 titles keep the columns aligned ($cols)" [ "$(tr ' ' '\n' <<<"$cols" | sort -u | wc -l)" -eq 1 ]

# An empty topic says so; --idle ends the run by itself.
run_within 20000 "$SF" yt-consume "${C[@]}" -t yt_empty -G empty-run --idle 1
keep
check "--idle on an empty topic: exits 0" [ "$rc" -eq 0 ]
check "--idle: ends within 20 s ($ms ms)" [ "$ms" -lt 20000 ]
check_grep "empty topic: says so" 'yt_empty has no YouTube records: the topic is empty' "$out"

check_nogrep "the API key never appears in any output" "$API_KEY" "$(cat "$YT_ALL" "$SF_TMP"/*.out "$SF_TMP"/*.err)"
done_testing
