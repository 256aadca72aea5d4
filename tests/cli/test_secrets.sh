# Secrets on the command line: absurd API keys, Kafka property values that
# are never echoed, -F files that never end, a key given where a video
# belongs, the key hidden from /proc/PID/cmdline, a token endpoint that
# quotes the JWT, an access token too short to be one, and a long per-video
# error that must not restart a finished video.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/youtube/lib.sh"
. "$SF_ROOT/tests/broker.sh"
unset YOUTUBE_API_KEY GOOGLE_APPLICATION_CREDENTIALS

# ---------------------------------------------------------- absurd API keys
run timeout 20 "$SF" yt-produce -b 127.0.0.1:1 --api-key a sameTitle01
check "--api-key a: a usage error (exit 2)" [ "$rc" -eq 2 ]
check_grep "--api-key a: says the key is too short" "too short" "$err"
run timeout 20 "$SF" yt-produce -b 127.0.0.1:1 --api-key Qz7x sameTitle01
check "--api-key of 4 characters: exit 2" [ "$rc" -eq 2 ]
check_nogrep "--api-key of 4 characters: not echoed" "Qz7x" "$out$err"
run timeout 20 "$SF" yt-produce -b 127.0.0.1:1 --api-key '***' sameTitle01
check "--api-key '***': exit 2" [ "$rc" -eq 2 ]
YOUTUBE_API_KEY=Qz7xShort run timeout 20 "$SF" yt-produce -b 127.0.0.1:1 sameTitle01
check "YOUTUBE_API_KEY too short: exit 2" [ "$rc" -eq 2 ]
check_nogrep "YOUTUBE_API_KEY too short: not echoed" "Qz7xShort" "$out$err"

# ---------------------------------------------------------- a key where a video belongs
OTHER_KEY="AIzaSyOther-$RANDOM$RANDOM-0123456789abcdef"
run "$SF" yt-produce --api-key "$API_KEY" sameTitle01 "$OTHER_KEY"
check "a key given as a video: exit 2" [ "$rc" -eq 2 ]
check_nogrep "a key given as a video: not echoed" "${OTHER_KEY:0:12}" "$out$err"
check_grep "a key given as a video: named by position" "argument 2" "$err"

# ---------------------------------------------------------- Kafka property values
for cmd in replay score yt-consume yt-produce; do
  run timeout 20 "$SF" $cmd -X sasl.password:PwSecret42
  check "$cmd -X sasl.password:PW: exit 2" [ "$rc" -eq 2 ]
  check_nogrep "$cmd -X sasl.password:PW: the value is not echoed" "PwSecret42" "$out$err"
  check_grep "$cmd -X sasl.password:PW: names the property" "sasl.password" "$err"
done
run timeout 20 "$SF" replay -X PwSecret42
check "-X with just a password: exit 2, not echoed" _sf_nogrep "PwSecret42" "$rc $err"
printf 'client.id=reporter\nsasl.password PwSecret42\n' >"$SF_TMP/client.properties"
run timeout 20 "$SF" replay -F "$SF_TMP/client.properties"
check "-F line without '=': exit 2" [ "$rc" -eq 2 ]
check_grep "-F line without '=': named by file:line" "client.properties:2:" "$err"
check_nogrep "-F line without '=': the line is not echoed" "PwSecret42" "$out$err"
run_within 5000 timeout 20 "$SF" replay -F /dev/zero
check "-F /dev/zero: exit 2" [ "$rc" -eq 2 ]
check_grep "-F /dev/zero: line longer than 65536 bytes" "/dev/zero:1: line longer than 65536 bytes" "$err"
check "-F /dev/zero: quickly ($ms ms)" [ "$ms" -lt 5000 ]

# ---------------------------------------------------------- against the stand-in
yt_keys || { echo "not ok - openssl genrsa failed"; done_testing; }
standin_start --pubkey "$SA_PUB" --lifetime 900 || done_testing
broker_start || done_testing
P=(-b "$BROKERS" --api-base "$API_BASE" --retry-wait 20)

# The key and a -X secret leave /proc/PID/cmdline once read. The stand-in
# holds each comments request of stallVideo1 for 20 s.
"$SF" yt-produce "${P[@]}" --timeout 30 --tries 1 --api-key "$API_KEY" \
  -X ssl.key.password=PwSecret42 "-Xsasl.password=PwSecret43" stallVideo1 \
  </dev/null >"$SF_TMP/stall.out" 2>"$SF_TMP/stall.err" &
pid=$!
for _ in $(seq 1 60); do
  kill -0 "$pid" 2>/dev/null || break
  [ "$(json_get "$(standin_stats)" counts commentThreads:stallVideo1)" != 0 ] && break
  sleep 0.2
done
cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
check "the process is alive while the stand-in stalls" grep -q -- "--api-key" <<<"$cmdline"
check_nogrep "/proc/PID/cmdline: no API key" "$API_KEY" "$cmdline"
check_nogrep "/proc/PID/cmdline: no -X secret" "PwSecret4" "$cmdline"
check_grep "/proc/PID/cmdline: other properties stay" "ssl.key.password=" "$cmdline"
kill -TERM "$pid" 2>/dev/null
wait "$pid"
prc=$?
out=$(cat "$SF_TMP/stall.out") err=$(cat "$SF_TMP/stall.err"); keep; sanitizer_check "yt-produce (stalled)" "$prc" "$err"

# A per-video error of about 255 bytes, holding the key: the video ends
# once, with one request and one summary, and the key is not in it.
run timeout 30 "$SF" yt-produce "${P[@]}" --timeout 5 --api-key "$API_KEY" longError01
keep
check "long per-video error: exits 0 (no endless loop)" [ "$rc" -eq 0 ]
check "long per-video error: one summary line" [ "$(grep -c '^longError01  failed ' <<<"$out")" -eq 1 ]
check "long per-video error: one request" \
  [ "$(json_get "$(standin_stats)" counts commentThreads:longError01)" -eq 1 ]
check_grep "long per-video error: one record sent" '^messages: 1 sent to topic_yt, 1 delivered' "$out"
check_grep "long per-video error: the reason is shown" 'longError01  reason: forbidden \(HTTP 403' "$out"

# The token endpoint quotes the assertion 300 bytes into its message.
sa_json "$SF_TMP/echo-sa.json" "$SA_PEM" "echo@standin.iam.gserviceaccount.com"
run timeout 60 "$SF" yt-produce "${P[@]}" --credentials "$SF_TMP/echo-sa.json" sameTitle01
keep
check "token endpoint quoting the JWT: exits 1" [ "$rc" -eq 1 ]
check_grep "token endpoint quoting the JWT: its message is shown" 'invalid_grant: Invalid JWT x+' "$err"
check_nogrep "token endpoint quoting the JWT: no part of the JWT" 'eyJ' "$out$err"

# An access token of one character is not one.
sa_json "$SF_TMP/short-sa.json" "$SA_PEM" "short-token@standin.iam.gserviceaccount.com"
run timeout 60 "$SF" yt-produce "${P[@]}" --credentials "$SF_TMP/short-sa.json" sameTitle01
keep
check "a one-character access token: exits 1" [ "$rc" -eq 1 ]
check_grep "a one-character access token: named" 'access_token.*too short' "$err"
check "a one-character access token: no API call made" \
  [ "$(json_get "$(standin_stats)" counts commentThreads:sameTitle01)" -eq 0 ]

# --api-key a against a server that takes it: before the check, a long
# error made the scrub write past the reason and restart the video forever.
standin_stop
API_KEY=a standin_start --lifetime 900 || done_testing
run timeout 20 "$SF" yt-produce -b "$BROKERS" --api-base "$API_BASE" --api-key a longError01
check "--api-key a with a long error: exit 2, no endless loop" [ "$rc" -eq 2 ]
check "--api-key a with a long error: no request made" \
  [ "$(json_get "$(standin_stats)" counts api)" -eq 0 ]

check_nogrep "the API key never appears in any output" "$API_KEY" "$(cat "$YT_ALL")"
check_nogrep "no secret property value in any output" "PwSecret4" "$(cat "$YT_ALL")"
done_testing
