# streamflow broker as a separate process: its address line, topics,
# port in use, control socket, --check with -b/-X/-F, --daemon, signals;
# kcat as an independent client.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/broker.sh"

run "$SF" broker --help
check "broker --help exits 0" [ "$rc" -eq 0 ]
check_grep "help names the default port" "default 9092" "$out"

run "$SF" broker --partitions 0
check "--partitions 0 is a usage error" [ "$rc" -eq 2 ]
run "$SF" broker --topic 'bad/name'
check "an invalid --topic is a usage error" [ "$rc" -eq 2 ]
check_grep "it names the topic" "bad/name" "$err"
run "$SF" broker -X acks=1
check "-X without --check is a usage error" [ "$rc" -eq 2 ]

broker_start --partitions 2 --topic extra:5 --brokers 2
port=${BROKERS#127.0.0.1:}
check "first line is the bootstrap address" grep -Eq '^127\.0\.0\.1:[0-9]+$' <<<"$BROKERS"
check_grep "second line says what it is" "in-memory Kafka for development" "$(sed -n 2p "$(dirname "$BROKER_CONTROL")/stdout")"

# --check connects like the pipeline commands: -b, then $STREAMFLOW_BROKERS.
run "$SF" broker --check -b "$BROKERS"
check "--check against the broker exits 0" [ "$rc" -eq 0 ]
check_grep "it lists 2 brokers" "answers \(2 brokers" "$out"
for t in topic_yt connections predictions connections.dlq; do
  check_grep "$t exists with --partitions" "^topic $t 2 partitions" "$out"
done
check_grep "--topic NAME:N gets N partitions" "^topic extra 5 partitions" "$out"
run "$SF" broker --check
check "STREAMFLOW_BROKERS is the default" [ "$rc" -eq 0 ]
run "$SF" broker --check -b "localhost:$port"
check "localhost:PORT works too" [ "$rc" -eq 0 ]

# kcat, an independent client, through the fixed address.
seq 1 200 | sed -E 's/(.*)/key\1:value\1/' | timeout 20 kcat -b "$BROKERS" -t connections -K: -P -q 2>"$SF_TMP/kcat.err"
check "kcat produced through the broker" [ $? -eq 0 ]
n=$(timeout 20 kcat -b "$BROKERS" -t connections -C -e -q -f '%k\n' 2>/dev/null | sort -u | wc -l)
check "kcat reads back all 200 distinct keys" [ "$n" -eq 200 ]
echo hello | timeout 20 kcat -b "$BROKERS" -t made.on.use -P -q
run "$SF" broker --check -b "$BROKERS"
check_grep "other topics are created on first use" "^topic made\.on\.use [0-9]+ partition" "$out"

# A port in use is a clear error.
run timeout 20 "$SF" broker --port "$port"
check "a port in use exits 1" [ "$rc" -eq 1 ]
check_grep "it says the port is in use" "127\.0\.0\.1:$port is already in use" "$err"

# The control socket.
run broker_ctl ping
check "control: ping" [ "$rc" -eq 0 ]
check_grep "control: ping answers" "^ok pong" "$out"
run broker_ctl 'down 9'
check "control: unknown broker is refused" [ "$rc" -eq 1 ]
check_grep "control: the refusal says why" "BROKER must be" "$out"
run "$SF" broker --send "$SF_TMP/nothing.sock" ping
check "--send to no broker exits 1" [ "$rc" -eq 1 ]
check_grep "--send names the socket" "nothing\.sock" "$err"

# Fault injection reaches clients: with every broker down, --check fails
# quickly; once they are up it succeeds again.
run broker_ctl 'down all'
run_within 8000 "$SF" broker --check -b "$BROKERS"
check "with the brokers down, --check exits 1" [ "$rc" -eq 1 ]
check "... within a few seconds ($ms ms)" [ "$ms" -lt 8000 ]
check_grep "... naming the address and what to try" "cannot reach Kafka at $BROKERS.*streamflow broker.*-b" "$err"
run broker_ctl 'up all'
run "$SF" broker --check -b "$BROKERS"
check "brokers up again: --check exits 0" [ "$rc" -eq 0 ]

broker_stop

# Bad configuration: clear errors, right exit codes, no secret echoed.
p=$(free_port)
run_within 8000 "$SF" broker --check -b "127.0.0.1:$p" -X sasl.password=s3cr3t-value
check "unreachable broker exits 1" [ "$rc" -eq 1 ]
check "... within a few seconds ($ms ms)" [ "$ms" -lt 8000 ]
check_grep "... naming the address" "cannot reach Kafka at 127\.0\.0\.1:$p" "$err"
check_grep "... and what to try" "streamflow broker.*-b" "$err"
check_nogrep "... without the secret" "s3cr3t" "$err$out"
run "$SF" broker --check -X no.such.property=1
check "unknown -X property exits 2" [ "$rc" -eq 2 ]
check_grep "... naming it" "unknown Kafka property 'no\.such\.property'" "$err"
run "$SF" broker --check -X ssl.key.password
check "-X without '=' exits 2" [ "$rc" -eq 2 ]
run "$SF" broker --check -F "$SF_TMP/absent.properties"
check "unreadable -F file exits 2" [ "$rc" -eq 2 ]
check_grep "... naming the file" "absent\.properties.*No such file" "$err"
printf '# comment\n\nclient.id=x\nsocket.timeout.ms=often\n' >"$SF_TMP/client.properties"
run "$SF" broker --check -F "$SF_TMP/client.properties"
check "a bad value in -F exits 2" [ "$rc" -eq 2 ]
check_grep "... naming file:line and property" "client\.properties:4: .*socket\.timeout\.ms" "$err"
# A bad number after other options: a usage error that frees what those
# options made (ASan's leak check sees anything left behind).
for bad in "--port 70000" "--brokers 0" "--partitions many"; do
  # shellcheck disable=SC2086 # $bad is two words
  run "$SF" broker --check -b 127.0.0.1:1 --topic extra:2 $bad
  check "broker --topic ... $bad exits 2" [ "$rc" -eq 2 ]
  check_nogrep "... with nothing left behind" "LeakSanitizer" "$err"
done
run "$SF" broker --check -X list
check "-X list exits 0" [ "$rc" -eq 0 ]
check_grep "-X list prints librdkafka's properties" "bootstrap\.servers" "$out"

# SIGINT ends it cleanly (exit 0), like SIGTERM above.
"$SF" broker --port 0 >"$SF_TMP/int.out" 2>"$SF_TMP/int.err" &
pid=$!
for _ in $(seq 1 100); do [ -s "$SF_TMP/int.out" ] && break; sleep 0.05; done
kill -INT "$pid"
wait "$pid"
irc=$?
sanitizer_check "broker (SIGINT)" "$irc" "$(cat "$SF_TMP/int.err")"
check "SIGINT: exit 0" [ "$irc" -eq 0 ]

_gone() { ! kill -0 "$1" 2>/dev/null; }

# --daemon: prints the address and pid, returns, keeps serving.
run "$SF" broker --daemon --port 0
check "--daemon returns 0" [ "$rc" -eq 0 ]
daddr=$(head -n 1 <<<"$out")
dpid=$(grep -Eo 'pid [0-9]+' <<<"$out" | cut -d' ' -f2)
check "--daemon prints the address first" grep -Eq '^127\.0\.0\.1:[0-9]+$' <<<"$daddr"
check "--daemon prints its pid" [ -n "$dpid" ]
run "$SF" broker --check -b "$daddr"
check "the daemon serves" [ "$rc" -eq 0 ]
if [ -n "$dpid" ]; then
  kill -TERM "$dpid"
  for _ in $(seq 1 100); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.05; done
  check "the daemon stops on SIGTERM" _gone "$dpid"
fi

run "$SF" broker --daemon --port "$(free_port)" --topic 'x:0'
check "--daemon with a bad option still exits 2" [ "$rc" -eq 2 ]

done_testing
