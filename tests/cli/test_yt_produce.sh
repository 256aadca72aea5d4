# streamflow yt-produce against the local YouTube API stand-in and a
# `streamflow broker`: IDs and URLs, both auth modes, every per-video error,
# retries, quota, fatal errors, malformed JSON, and no secret in any output.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/youtube/lib.sh"
. "$SF_ROOT/tests/broker.sh"
unset YOUTUBE_API_KEY GOOGLE_APPLICATION_CREDENTIALS

# ---------------------------------------------------------- usage errors
run "$SF" yt-produce --api-key "$API_KEY" dQw4w9WgXc
keep
check "an ID of 10 characters is a usage error" [ "$rc" -eq 2 ]
check_grep "it says what an ID is" "exactly 11 characters" "$err"
run "$SF" yt-produce --api-key "$API_KEY" a1234567890 b1234567890 c1234567890 d1234567890 e1234567890 f1234567890
keep
check "6 videos is a usage error" [ "$rc" -eq 2 ]
check_grep "it names the limit" "at most 5 videos" "$err"
run "$SF" yt-produce --api-key "$API_KEY" sameTitle01 "https://www.youtube.com/watch?v=sameTitle01&t=3"
keep
check "the same video twice is a usage error" [ "$rc" -eq 2 ]
check_grep "it names the duplicate" "sameTitle01 is given twice" "$err"
run "$SF" yt-produce --api-key "$API_KEY" "https://vimeo.com/123"
check "a non-YouTube URL is a usage error" [ "$rc" -eq 2 ]
run "$SF" yt-produce --api-key "$API_KEY"
keep
check "no video and no terminal is a usage error" [ "$rc" -eq 2 ]
check_grep "it says how to give videos" "no video given" "$err"
run "$SF" yt-produce sameTitle01
check "no credentials is a usage error" [ "$rc" -eq 2 ]
check_grep "it names both ways to authorise" "YOUTUBE_API_KEY.*GOOGLE_APPLICATION_CREDENTIALS" "$err"
run "$SF" yt-produce --api-key "$API_KEY" --credentials /nonexistent.json sameTitle01
keep
check "--api-key with --credentials is a usage error" [ "$rc" -eq 2 ]
run "$SF" yt-produce --credentials /nonexistent/sa.json sameTitle01
check "an unreadable key file fails" [ "$rc" -eq 1 ]
check_grep "it names the key file" "/nonexistent/sa.json" "$err"

# The Kafka options are read among the command's own, in any order.
for cmd in yt-produce yt-consume; do
  run "$SF" $cmd -q -X list -t topic_x
  check "$cmd -X list: exit 0 before anything else is checked" [ "$rc" -eq 0 ]
  check_grep "$cmd -X list: librdkafka's properties" "bootstrap\.servers" "$out"
  run "$SF" $cmd -q -X no.such.property=1 -t topic_x
  check "$cmd -X no.such.property: exit 2" [ "$rc" -eq 2 ]
  check_grep "$cmd -X no.such.property: names it" "no\.such\.property" "$err"
  run "$SF" $cmd -X client.id=x --help
  check "$cmd --help after -X: exit 0" [ "$rc" -eq 0 ]
  check_grep "$cmd --help after -X: the usage" "^usage: streamflow $cmd" "$out"
done

# ---------------------------------------------------------- the stand-in and a broker
yt_keys || { echo "not ok - openssl genrsa failed"; done_testing; }
standin_start --pubkey "$SA_PUB" || done_testing
broker_start || done_testing
P=(-b "$BROKERS" --api-base "$API_BASE" --retry-wait 20 --timeout 1)

run "$SF" yt-produce "${P[@]}" --api-key "$API_KEY" pagedVideo1 "https://youtu.be/sameTitle01" \
  "https://www.youtube.com/shorts/noComments1" privateVid1 "https://www.youtube.com/watch?v=missingVid1"
keep
check "5 videos: exits 0" [ "$rc" -eq 0 ]
check_grep "paged video: all 250 comments over 3 pages, 745 likes" \
  '^pagedVideo1  ok +250 comments +745 likes  video likes 1234  pages 3 ' "$out"
check_grep "the title prints as it is (UTF-8)" 'pagedVideo1 .*"Café ☕ déjà vu 🎉"' "$out"
check_grep "URL forms reach the same IDs" '^sameTitle01  ok +3 comments +60 likes' "$out"
check_grep "comments disabled" '^noComments1  comments_disabled ' "$out"
check_grep "comments disabled: says why" 'noComments1  reason: comments are disabled' "$out"
check_grep "private or deleted" '^privateVid1  private_or_deleted ' "$out"
check_grep "not found (404)" '^missingVid1  not_found ' "$out"
stats=$(standin_stats)
api_calls=$(json_get "$stats" counts api)
check_grep "quota units printed" '^quota units used: 11 \(videos.list 5, commentThreads.list 6\)' "$out"
check "quota units = the requests the server answered ($api_calls)" [ "$api_calls" -eq 11 ]
check_grep "every message delivered (250+3 comments, 5 summaries)" '^messages: 258 sent to topic_yt, 258 delivered, 0 not delivered' "$out"

# Pipe: IDs one per line on stdin.
printf 'https://youtu.be/sameTitle02\n\n' | "$SF" yt-produce "${P[@]}" --api-key "$API_KEY" >"$SF_TMP/pipe.out" 2>"$SF_TMP/pipe.err"
prc=$?
out=$(cat "$SF_TMP/pipe.out") err=$(cat "$SF_TMP/pipe.err"); keep; sanitizer_check "yt-produce (pipe)" "$prc" "$err"
check "IDs from a pipe: exits 0" [ "$prc" -eq 0 ]
check_grep "IDs from a pipe are fetched" '^sameTitle02  ok +2 comments +60 likes' "$out"

# Per-video errors and retries, all concurrent.
YOUTUBE_API_KEY="$API_KEY" run "$SF" yt-produce "${P[@]}" --tries 4 forbidden01 flaky503001 alwaysDown1 slowVideo01
keep
check "errors of some videos: still exits 0" [ "$rc" -eq 0 ]
check_grep "YOUTUBE_API_KEY is used" 'with an API key' "$out"
check_grep "forbidden: the video fails with the reason" 'forbidden01  reason: forbidden \(HTTP 403 forbidden' "$out"
check_grep "503, 429, rateLimitExceeded retried, then ok" '^flaky503001  ok +2 comments +3 likes .* retries 3 ' "$out"
check_grep "each retry is reported with its backoff" 'flaky503001: retry 3/3 of commentThreads.list in [0-9]+ ms: rate limited' "$err"
check_grep "always 500: gives up after the tries" 'alwaysDown1  reason: gave up after 4 tries of commentThreads.list: HTTP 500' "$out"
check_grep "timeout retried, then ok" '^slowVideo01  ok +1 comments +8 likes .* retries 1 ' "$out"
check_grep "the timeout is named" 'slowVideo01: retry 1/3 .*timed out' "$err"
stats=$(standin_stats)
check "alwaysDown1 was asked exactly 4 times" [ "$(json_get "$stats" counts commentThreads:alwaysDown1)" -eq 4 ]
check "flaky503001 was asked exactly 4 times" [ "$(json_get "$stats" counts commentThreads:flaky503001)" -eq 4 ]

run "$SF" yt-produce "${P[@]}" --api-key "$API_KEY" --tries 2 --timeout 0.5 slowForever
keep
check "a server that never answers in time: the video fails" [ "$rc" -eq 0 ]
check_grep "slow server: failed after 2 tries, timeout named" 'slowForever  reason: gave up after 2 tries .*timed out' "$out"

# Malformed JSON.
run "$SF" yt-produce "${P[@]}" --api-key "$API_KEY" truncated01 badTypes001 wrongTypes1
keep
check "malformed responses: exits 0" [ "$rc" -eq 0 ]
check_grep "truncated JSON, then a short body: retried, then exact" '^truncated01  ok +2 comments +10 likes .* retries 2 ' "$out"
check_grep "truncated JSON is named" 'truncated01: retry 1/4 .*malformed JSON' "$err"
check_grep "bad items rejected one by one, the rest counted" '^badTypes001  ok +3 comments +18 likes .* rejected 6 ' "$out"
check_grep "a non-numeric like count is named" 'bt-bad1: .*likeCount: count "lots" is not a non-negative integer' "$err"
check_grep "a negative like count is named" 'bt-bad2: .*count -3 ' "$err"
check_grep "a huge like count is named" 'bt-bad4: .*implausibly large' "$err"
check_grep "an item without id is named" 'item 7 rejected: "id" is missing' "$err"
check_grep "a like count sent as a string is accepted" '^badTypes001  ok +3 comments +18' "$out"
check_grep "a bad video like count is a warning" 'badTypes001: videos.list: .*"many"' "$err"
check_grep "wrong types: the video fails with the reason" 'wrongTypes1  reason: gave up .*"items" is not an array' "$out"

# Stops everything.
run "$SF" yt-produce "${P[@]}" --api-key "$API_KEY" quotaBoom01 sameTitle01
keep
check "quota exhausted: exits 1" [ "$rc" -eq 1 ]
check_grep "quota exhausted: a clear message" 'stopped: quota exhausted \(HTTP 403 quotaExceeded\)' "$err"
check_grep "quota units still printed" '^quota units used: [0-9]+' "$out"
WRONG_KEY="AIzaSyWrong-$RANDOM$RANDOM-0123456789abcdef"
run "$SF" yt-produce "${P[@]}" --api-key "$WRONG_KEY" sameTitle01 sameTitle02
printf '%s\n%s\n' "$out" "$err" >>"$SF_TMP/wrong-key-output"
check "a bad API key: exits 1" [ "$rc" -eq 1 ]
check_grep "a bad API key: a clear message" 'stopped: the API key was refused \(HTTP 400' "$err"
check_nogrep "the bad key itself is not printed" "$WRONG_KEY" "$out$err"

# Service account: RS256 JWT, token exchange, bearer.
sa_json "$SF_TMP/sa.json" "$SA_PEM" "streamflow-test@standin.iam.gserviceaccount.com"
GOOGLE_APPLICATION_CREDENTIALS="$SF_TMP/sa.json" run "$SF" yt-produce "${P[@]}" sameTitle01 emojiTitle1
keep
check "service account: exits 0" [ "$rc" -eq 0 ]
check_grep "service account: videos fetched" '^sameTitle01  ok +3 comments +60 likes' "$out"
check_grep "service account: one token" '^access tokens obtained: 1$' "$out"
sa_json "$SF_TMP/bad-sa.json" "$OTHER_PEM" "streamflow-test@standin.iam.gserviceaccount.com"
run "$SF" yt-produce "${P[@]}" --credentials "$SF_TMP/bad-sa.json" sameTitle01
keep
check "a JWT signed by another key: exits 1" [ "$rc" -eq 1 ]
check_grep "the token endpoint's refusal is shown" 'invalid_grant: Invalid JWT Signature' "$err"
sa_json "$SF_TMP/revoked-sa.json" "$SA_PEM" "revoked@standin.iam.gserviceaccount.com"
run "$SF" yt-produce "${P[@]}" --credentials "$SF_TMP/revoked-sa.json" sameTitle01 sameTitle02
keep
check "a token the API refuses (401): exits 1" [ "$rc" -eq 1 ]
check_grep "401: a clear message" 'stopped: the credentials were refused \(HTTP 401' "$err"

# Tokens that live 2 s over 3.2 s of slow pages, checked when each answer
# is made: refreshed early enough, never used to the last moment.
standin_stop
standin_start --pubkey "$SA_PUB" --token-life 2 || done_testing
sa_json "$SF_TMP/sa.json" "$SA_PEM" "streamflow-test@standin.iam.gserviceaccount.com"
run "$SF" yt-produce -b "$BROKERS" --api-base "$API_BASE" --credentials "$SF_TMP/sa.json" manyPages01
keep
check "short-lived tokens: exits 0" [ "$rc" -eq 0 ]
check_grep "every page read" '^manyPages01  ok +16 comments +16 likes .* pages 8 ' "$out"
check_grep "the token was refreshed" '^access tokens obtained: ([2-9]|[1-9][0-9])$' "$out"
check_nogrep "no 401 along the way" '401' "$out$err"

# A record Kafka refuses: reported, and the exit code says so.
broker_ctl 'topic-error topic_yt TOPIC_AUTHORIZATION_FAILED' >/dev/null
run "$SF" yt-produce -b "$BROKERS" --api-base "$API_BASE" --api-key "$API_KEY" -X message.timeout.ms=3000 sameTitle02
keep
broker_ctl 'topic-error topic_yt 0' >/dev/null
check "undelivered messages: exits non-zero" [ "$rc" -ne 0 ]
check_grep "undelivered messages are counted" 'could not be delivered|not delivered' "$out$err"

# No secret anywhere: the key, tokens, JWTs, the private key.
check_nogrep "the API key never appears in any output" "$API_KEY" "$(cat "$YT_ALL")"
check_nogrep "no access token in any output" 'ya29\.' "$(cat "$YT_ALL" "$SF_TMP/wrong-key-output")"
check_nogrep "no JWT in any output" 'eyJ[A-Za-z0-9_-]{10,}' "$(cat "$YT_ALL" "$SF_TMP/wrong-key-output")"
check_nogrep "no private key line in any output" "$SA_PEM_LINE" "$(cat "$YT_ALL" "$SF_TMP/wrong-key-output")"
check_nogrep "no PEM header in any output" 'PRIVATE KEY' "$(cat "$YT_ALL" "$SF_TMP/wrong-key-output")"

done_testing
