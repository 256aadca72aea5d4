# streamflow replay: rows into a topic, key FILE:LINE, value the row as in
# the file, --limit, --rate, --loop, gzip input, usage and runtime errors.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/broker.sh"

zcat "$SF_ROOT/data/nsl-kdd/KDDTest+.txt.gz" | head -n 200 >"$SF_TMP/rows.csv"
gzip -c "$SF_TMP/rows.csv" >"$SF_TMP/rows.csv.gz"

run "$SF" replay
check "no file: usage error" [ "$rc" -eq 2 ]
run "$SF" replay --rate 0 "$SF_TMP/rows.csv"
check "--rate 0: usage error" [ "$rc" -eq 2 ]
run "$SF" replay --limit -1 "$SF_TMP/rows.csv"
check "--limit -1: usage error" [ "$rc" -eq 2 ]
run "$SF" replay -b 127.0.0.1:1 "$SF_TMP/nope.csv"
check "missing file: exit 1" [ "$rc" -eq 1 ]
check_grep "missing file: named" "nope.csv" "$err"
run "$SF" replay -b 127.0.0.1:1 -X socket.connection.setup.timeout.ms=1000 "$SF_TMP/rows.csv"
check "no broker: exit 1" [ "$rc" -eq 1 ]
check_grep "no broker: says it cannot reach Kafka" "cannot reach Kafka" "$err"

broker_start --partitions 3 --topic a:3 --topic b:1 --topic c:1 --topic d:1 --topic e:1 || done_testing

run "$SF" replay -t a "$SF_TMP/rows.csv" "$SF_TMP/rows.csv.gz"
check "two files, plain and gzip: exit 0" [ "$rc" -eq 0 ]
check_grep "totals at the end" "^replay: 400 records sent to a, 400 delivered, 0 not delivered" "$err"
kcat -C -b "$BROKERS" -t a -e -q -f '%k\t%s\n' | sort >"$SF_TMP/a.txt"
check "400 records in the topic" [ "$(wc -l <"$SF_TMP/a.txt")" -eq 400 ]
line7=$(sed -n 7p "$SF_TMP/rows.csv")
check "key FILE:LINE, value the row unchanged" grep -qxF "$SF_TMP/rows.csv:7	$line7" "$SF_TMP/a.txt"
check "gzip rows keyed by the .gz file" grep -qxF "$SF_TMP/rows.csv.gz:7	$line7" "$SF_TMP/a.txt"
check "the records spread over the 3 partitions" \
  [ "$(kcat -C -b "$BROKERS" -t a -e -q -f '%p\n' | sort -u | wc -l)" -eq 3 ]

run "$SF" replay -q -t b --limit 25 "$SF_TMP/rows.csv"
check "--limit 25: 25 records" [ "$(kcat -C -b "$BROKERS" -t b -e -q -f '.\n' | wc -l)" -eq 25 ]
check "-q: nothing on stderr" [ -z "$err" ]

# The wall time cannot be shorter than the rate allows; the sending time
# replay reports (what --rate paces) is about half a second. (The wall time
# also holds the process start and the broker connection, which a busy
# machine stretches to seconds.)
run_within 5000 "$SF" replay -t c --rate 100 --limit 50 "$SF_TMP/rows.csv"
check "--rate 100 --limit 50 takes at least 0.45 s ($ms ms)" [ "$ms" -ge 450 ]
sent_s=$(sed -n 's/^replay: 50 records sent to c, .*, \([0-9.]*\) s, [0-9]* records\/s$/\1/p' <<<"$err")
check "--rate 100 --limit 50: replay sends for about half a second (${sent_s:-?} s)" \
  awk -v s="${sent_s:-0}" 'BEGIN { exit !(s >= 0.45 && s < 5) }'

run "$SF" replay -t d --loop --limit 450 "$SF_TMP/rows.csv"
check "--loop --limit 450: exit 0" [ "$rc" -eq 0 ]
kcat -C -b "$BROKERS" -t d -e -q -f '%k\n' >"$SF_TMP/d.txt"
check "--loop: 450 records" [ "$(wc -l <"$SF_TMP/d.txt")" -eq 450 ]
check "--loop: the file starts again (line 1 three times)" [ "$(grep -cx "$SF_TMP/rows.csv:1" "$SF_TMP/d.txt")" -eq 3 ]

# Later passes of --loop come from memory: the same keys and values in the
# same order as the first, across files, with the line numbers of a file that
# has an empty line.
{ head -n 3 "$SF_TMP/rows.csv"; echo; sed -n 4,5p "$SF_TMP/rows.csv"; } >"$SF_TMP/gap.csv"
run "$SF" replay -q -t e --loop --limit 1000 "$SF_TMP/gap.csv" "$SF_TMP/rows.csv.gz"
check "--loop over two files: exit 0" [ "$rc" -eq 0 ]
for i in 1 2 3 4 5; do
  awk -v f="$SF_TMP/gap.csv" 'NF { printf "%s:%d\t%s\n", f, FNR, $0 }' "$SF_TMP/gap.csv"
  awk -v f="$SF_TMP/rows.csv.gz" '{ printf "%s:%d\t%s\n", f, FNR, $0 }' "$SF_TMP/rows.csv"
done | head -n 1000 >"$SF_TMP/e.want"
kcat -C -b "$BROKERS" -t e -e -q -f '%k\t%s\n' >"$SF_TMP/e.txt"
check "--loop over two files: every pass the same keys and rows, in order" cmp -s "$SF_TMP/e.want" "$SF_TMP/e.txt"

# A line the reader refuses (NUL byte) is reported and counts as not sent.
{ head -n 3 "$SF_TMP/rows.csv"; printf 'bad\0line\n'; sed -n 4,5p "$SF_TMP/rows.csv"; } >"$SF_TMP/dirty.csv"
run "$SF" replay -t d "$SF_TMP/dirty.csv"
check "an unreadable line: exit 1" [ "$rc" -eq 1 ]
check_grep "an unreadable line: named by file and line" "dirty.csv:4" "$err"
check_grep "an unreadable line: the others are sent" "5 records sent" "$err"
run "$SF" replay -t d --loop --limit 15 "$SF_TMP/dirty.csv"
check "--loop: an unreadable line is reported in every pass" [ "$(grep -c 'dirty.csv:4' <<<"$err")" -eq 3 ]
check_grep "--loop: and the others are sent" "15 records sent" "$err"

done_testing
