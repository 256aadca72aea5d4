# streamflow replay: rows into a topic, key FILE:LINE, value the row as in
# the file, --limit, --rate, --loop, gzip input, usage and runtime errors;
# with a schema: the header row never sent, quoted fields kept, CSV rows as
# JSON objects (--format json), JSON lines as they are.
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

broker_start --partitions 3 --topic a:3 --topic b:1 --topic c:1 --topic d:1 --topic e:1 --topic f:1 --topic g:1 \
  --topic h:1 --topic i:1 --topic j:1 --topic k:1 || done_testing

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

# ---- schemas: a header row is never sent; quoted commas, quotes and line
# breaks survive; --format json names the columns; JSON lines go as they are.
cat >"$SF_TMP/schema.json" <<'JSON'
{"name": "t", "header": true, "columns": [{"name": "a", "type": "numeric"},
 {"name": "b", "type": "categorical"}, {"name": "y", "type": "label", "classes": ["no", "yes"]}]}
JSON
printf 'a,b,y\r\n1.5,"x, y",yes\r\n,"multi\nline",no\r\n\r\n2,"say ""hi""",\r\n' >"$SF_TMP/q.csv"
gzip -c "$SF_TMP/q.csv" >"$SF_TMP/q.csv.gz"
run "$SF" replay -t f --format json "$SF_TMP/q.csv"
check "--format json without --schema or --model: usage error" [ "$rc" -eq 2 ]
run "$SF" replay -t f --schema "$SF_TMP/schema.json" --model "$SF_TMP/m" "$SF_TMP/q.csv"
check "--schema and --model together: usage error" [ "$rc" -eq 2 ]
run "$SF" replay -t f --format xml "$SF_TMP/q.csv"
check "--format xml: usage error" [ "$rc" -eq 2 ]
run "$SF" replay -q -t f --schema "$SF_TMP/nope.json" "$SF_TMP/q.csv"
check "a missing schema: exit 1" [ "$rc" -eq 1 ]
check_grep "a missing schema: named" "nope\.json" "$err"

run "$SF" replay -q -t f --schema "$SF_TMP/schema.json" "$SF_TMP/q.csv.gz"
check "CSV with a header: exit 0" [ "$rc" -eq 0 ]
kcat -C -b "$BROKERS" -t f -e -q -f '%k\t%s\n--\n' >"$SF_TMP/f.txt"
printf '%s\n' "$SF_TMP/q.csv.gz:2	1.5,\"x, y\",yes" -- "$SF_TMP/q.csv.gz:3	,\"multi" 'line",no' -- \
  "$SF_TMP/q.csv.gz:6	2,\"say \"\"hi\"\"\"," -- >"$SF_TMP/f.want"
check "the header is not sent; a quoted record spanning lines is one record, as in the file" \
  cmp -s "$SF_TMP/f.want" "$SF_TMP/f.txt"

run "$SF" replay -q -t g --schema "$SF_TMP/schema.json" --format json "$SF_TMP/q.csv"
check "--format json: exit 0" [ "$rc" -eq 0 ]
kcat -C -b "$BROKERS" -t g -e -q -f '%s\n' >"$SF_TMP/g.txt"
check "--format json: objects named by the schema's columns, numbers as numbers, empty as null" python3 -c '
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
want = [{"a": 1.5, "b": "x, y", "y": "yes"}, {"a": None, "b": "multi\nline", "y": "no"},
        {"a": 2, "b": "say \"hi\"", "y": None}]
sys.exit(0 if got == want else 1)' "$SF_TMP/g.txt"

# NSL-KDD's rows as JSON: every column named, the label and difficulty too.
run "$SF" replay -q -t h --schema "$SF_ROOT/data/nsl-kdd/schema.json" --format json --limit 3 "$SF_TMP/rows.csv"
check "NSL-KDD rows as JSON: exit 0" [ "$rc" -eq 0 ]
kcat -C -b "$BROKERS" -t h -e -q -f '%s\n' >"$SF_TMP/h.txt"
check "NSL-KDD rows as JSON: 43 fields, numbers and strings" python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
first = open(sys.argv[2]).readline().rstrip("\n").split(",")
ok = len(rows) == 3 and all(len(r) == 43 for r in rows)
ok = ok and rows[0]["protocol_type"] == first[1] and rows[0]["src_bytes"] == float(first[4])
ok = ok and rows[0]["label"] == first[41] and rows[0]["difficulty"] == int(first[42])
sys.exit(0 if ok else 1)' "$SF_TMP/h.txt" "$SF_TMP/rows.csv"

# A row with another field count than the schema's is reported, not sent.
printf 'a,b,y\n1,x,yes\n1,x\n3,z,no\n' >"$SF_TMP/short.csv"
run "$SF" replay -t i --schema "$SF_TMP/schema.json" --format json "$SF_TMP/short.csv"
check "a short row with --format json: exit 1" [ "$rc" -eq 1 ]
check_grep "... named by file and line" "short.csv:3: 2 fields, the schema has 3" "$err"
check_grep "... and the others are sent" "2 records sent" "$err"

# --format json sends a field as a number only when CSV would read it as
# one (0x10 goes as the string "0x10", which the scorer refuses as it
# refuses the CSV field; +1.5 goes as 1.5), and a field that is not UTF-8
# is reported with its place, not sent with a replacement character.
printf 'a,b,y\n0x10,x,yes\n+1.5,x,no\n2,T\377or,no\n3,z,no\n' >"$SF_TMP/odd.csv"
run "$SF" replay -t l --schema "$SF_TMP/schema.json" --format json "$SF_TMP/odd.csv"
check "odd fields with --format json: exit 1 (a record not sent)" [ "$rc" -eq 1 ]
check_grep "... the field that is not UTF-8 named by file, line and column" \
  "odd.csv:4:2 \(b\): not valid UTF-8 \(record not sent\)" "$err"
kcat -C -b "$BROKERS" -t l -e -q -f '%s\n' >"$SF_TMP/l.txt"
check "... the others sent as CSV reads them: 0x10 a string, +1.5 the number 1.5" python3 -c '
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if sorted(repr(g["a"]) for g in got) == sorted(["\x270x10\x27", "1.5", "3"]) else 1)' "$SF_TMP/l.txt"

# The header row: a UTF-8 byte order mark before it is not data; a header
# that cannot be read or that names other columns stops the file (its rows
# cannot be trusted to be the schema's), and not a row is lost silently.
printf '\357\273\277a,b,y\n1,x,yes\n2,y,no\n' >"$SF_TMP/bom.csv"
run "$SF" replay -q -t m --schema "$SF_TMP/schema.json" "$SF_TMP/bom.csv"
check "a byte order mark before the header: exit 0" [ "$rc" -eq 0 ]
check "... both rows sent, the header not" \
  [ "$(kcat -C -b "$BROKERS" -t m -e -q -f '%s\n' | sort | tr '\n' ' ')" = "1,x,yes 2,y,no " ]
printf 'a,b",y\n1,x,yes\n' >"$SF_TMP/badhead.csv"
run "$SF" replay -t n --schema "$SF_TMP/schema.json" "$SF_TMP/badhead.csv"
check "a header that cannot be read: exit 1" [ "$rc" -eq 1 ]
check_grep "... says so and that the file is not sent" "badhead.csv:1:.*(the header row; the rest of the file is not sent)" "$err"
check_grep "... nothing sent" "^replay: 0 records sent" "$err"
printf 'a,c,y\n1,x,yes\n' >"$SF_TMP/otherhead.csv"
run "$SF" replay -t n --schema "$SF_TMP/schema.json" "$SF_TMP/otherhead.csv"
check "a header naming other columns: exit 1" [ "$rc" -eq 1 ]
check_grep "... names the column" 'otherhead.csv:1:2 \(b\): header names column 2 "c", the schema "b"' "$err"

# JSON lines go as they are (also with a schema); --format csv refuses them.
printf '{"a": 1, "b": "x", "y": "no"}\n\n  {"a": 2, "b": "y, z"}\n' >"$SF_TMP/j.jsonl"
run "$SF" replay -q -t j --schema "$SF_TMP/schema.json" "$SF_TMP/j.jsonl"
check "JSON lines: exit 0" [ "$rc" -eq 0 ]
printf '%s\n' "$SF_TMP/j.jsonl:1	{\"a\": 1, \"b\": \"x\", \"y\": \"no\"}" \
  "$SF_TMP/j.jsonl:3	  {\"a\": 2, \"b\": \"y, z\"}" >"$SF_TMP/j.want"
kcat -C -b "$BROKERS" -t j -e -q -f '%k\t%s\n' >"$SF_TMP/j.txt"
check "JSON lines: one record per line, unchanged" cmp -s "$SF_TMP/j.want" "$SF_TMP/j.txt"
run "$SF" replay -q -t j --format csv "$SF_TMP/j.jsonl"
check "--format csv on JSON lines: exit 1" [ "$rc" -eq 1 ]
check_grep "--format csv on JSON lines: says why" "JSON" "$err"

# A shipped data set with a header row: every row, never the header.
run "$SF" replay -q -t k --schema "$SF_ROOT/data/credit_data/schema.json" "$SF_ROOT/data/credit_data/credit_data.csv.gz"
check "credit_data: exit 0" [ "$rc" -eq 0 ]
kcat -C -b "$BROKERS" -t k -e -q -f '%s\n' >"$SF_TMP/k.txt"
check "credit_data: its 4454 rows" [ "$(wc -l <"$SF_TMP/k.txt")" -eq 4454 ]
check_nogrep "credit_data: no header" Status "$(cat "$SF_TMP/k.txt")"

done_testing
