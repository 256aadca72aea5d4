# train, evaluate and predict on a small slice of NSL-KDD: outputs, the
# TensorBoard files, determinism, the split shared by train and evaluate,
# bad input, and the README's numpy loader.
. "$SF_ROOT/tests/lib.sh"

data="$SF_TMP/data"
mkdir -p "$data"
# 3000 training rows (plain), 1000 test rows (gzip): both readers are used.
zcat "$SF_ROOT/data/nsl-kdd/KDDTrain+.txt.gz" | head -n 3000 >"$data/KDDTrain+.txt"
# Row 1 gets a service that training never saw: encoded as zeros and counted.
zcat "$SF_ROOT/data/nsl-kdd/KDDTest+.txt.gz" | head -n 1000 | sed '1s/^0,tcp,private,/0,tcp,nosuchservice,/' |
  gzip >"$data/KDDTest+.txt.gz"
model="$SF_TMP/m.safetensors"
differ() { ! cmp -s "$1" "$2"; }
has_file() { compgen -G "$1" >/dev/null; }
logs="$SF_TMP/logs"

# ---- train ----
run "$SF" train --help
check "train --help exits 0" [ "$rc" -eq 0 ]
check_grep "train --help lists --epochs" '--epochs N' "$out"

run "$SF" train --epochs 0
check "--epochs 0 is a usage error" [ "$rc" -eq 2 ]
check_grep "--epochs 0 says the range" "--epochs expects an integer from 1" "$err"
run "$SF" train --lr abc
check "--lr abc is a usage error" [ "$rc" -eq 2 ]
run "$SF" train --data "$SF_TMP/nowhere" --epochs 1
check "missing data dir exits 1" [ "$rc" -eq 1 ]
check_grep "missing data names the file" "nowhere/KDDTrain\+\.txt" "$err"

run "$SF" train --data "$data" --epochs 2 --seed 7 --logdir "$logs" --model "$model"
check "train exits 0" [ "$rc" -eq 0 ]
check_grep "one plain line per epoch when not on a terminal" \
  '^Epoch 1/2 - 47/47 - [0-9.]+s [0-9]+(us|ms|s)/step - loss: [0-9.]+ - accuracy: [0-9.]+ - val_loss: [0-9.]+ - val_accuracy: [0-9.]+$' "$out"
check_grep "second epoch line" '^Epoch 2/2 - 47/47 ' "$out"
check "exactly two epoch lines" [ "$(grep -c '^Epoch ' <<<"$out")" -eq 2 ]
check_nogrep "no progress bar off a terminal" $'\r' "$out"
check_grep "test loss and accuracy" '^Test loss: [0-9.]+ - test accuracy: 0\.[0-9]{4} \(500 rows\)$' "$out"
check_grep "unseen categorical values counted" '^Unseen or missing values the encoder had nothing for: validation (1 rows, test 0|0 rows, test 1) rows$' "$out"
check_grep "says where the model went" "^Model written to $model \(id [0-9a-f]{16}\)" "$out"
check "model file exists" [ -s "$model" ]

run_dir=$(ls -d "$logs"/*/ 2>/dev/null | head -n 1)
check "one run directory named by time" [ "$(ls "$logs" | grep -cE '^[0-9]{8}-[0-9]{6}$')" -eq 1 ]
check "train event file" has_file "${run_dir}train/events.out.tfevents.*"
check "validation event file" has_file "${run_dir}validation/events.out.tfevents.*"

# Our own TFRecord + Event reader: every CRC checked, every field decoded.
cat >"$SF_TMP/tfread.py" <<'PY'
import struct, sys
T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    T.append(c)
def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c = T[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF
def mask(c):
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF
def varint(b, i):
    v = s = 0
    while True:
        x = b[i]; i += 1; v |= (x & 0x7F) << s; s += 7
        if not x & 0x80:
            return v, i
def fields(b):
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        f, w = key >> 3, key & 7
        if w == 0: v, i = varint(b, i)
        elif w == 1: v = b[i:i + 8]; i += 8
        elif w == 5: v = b[i:i + 4]; i += 4
        elif w == 2:
            n, i = varint(b, i); v = b[i:i + n]; i += n
        else: raise ValueError("wire type %d" % w)
        yield f, w, v
data = open(sys.argv[1], "rb").read()
i = 0
first = True
while i < len(data):
    n = struct.unpack("<Q", data[i:i + 8])[0]
    assert struct.unpack("<I", data[i + 8:i + 12])[0] == mask(crc32c(data[i:i + 8])), "length crc"
    rec = data[i + 12:i + 12 + n]
    assert struct.unpack("<I", data[i + 12 + n:i + 16 + n])[0] == mask(crc32c(rec)), "data crc"
    i += 16 + n
    ev = {}
    for f, w, v in fields(rec):
        if f == 1: assert w == 1; ev["wall_time"] = struct.unpack("<d", v)[0]
        elif f == 2: assert w == 0; ev["step"] = v
        elif f == 3: assert w == 2; ev["file_version"] = v.decode()
        elif f == 5:
            for f2, w2, val in fields(v):
                assert f2 == 1 and w2 == 2
                tag = sv = None
                for f3, w3, x in fields(val):
                    if f3 == 1: tag = x.decode()
                    elif f3 == 2: assert w3 == 5; sv = struct.unpack("<f", x)[0]
                print("%s %d %.4f" % (tag, ev.get("step", 0), sv))  # proto3: step 0 may be omitted
    assert ev["wall_time"] > 1.5e9
    if first:
        assert ev.get("file_version") == "brain.Event:2", ev
        first = False
PY
# Per epoch: train has loss, accuracy and learning_rate; validation has loss,
# accuracy and the recall of each of the 5 classes.
for part in train validation; do
  f=$(ls "${run_dir}$part"/events.out.tfevents.* | head -n 1)
  scalars=$(python3 "$SF_TMP/tfread.py" "$f" 2>&1)
  per_epoch=$([ "$part" = train ] && echo 3 || echo 7)
  check "$part events: every CRC and field valid" [ "$(grep -c '^epoch_' <<<"$scalars")" -eq $((2 * per_epoch)) ]
  for step in 0 1; do
    check_grep "$part has epoch_loss at step $step" "^epoch_loss $step " "$scalars"
    check_grep "$part has epoch_accuracy at step $step" "^epoch_accuracy $step " "$scalars"
    if [ "$part" = train ]; then
      check_grep "train has epoch_learning_rate at step $step (the --lr)" "^epoch_learning_rate $step 0\.0010$" "$scalars"
    else
      for cls in normal DoS Probe R2L U2R; do
        check_grep "validation has epoch_recall/$cls at step $step" "^epoch_recall/$cls $step [01]\.[0-9]{4}$" "$scalars"
      done
    fi
  done
done
# The logged values are the printed ones (epoch 2 is step 1).
line2=$(grep '^Epoch 2/2' <<<"$out")
val_acc=$(sed -E 's/.*val_accuracy: ([0-9.]+).*/\1/' <<<"$line2")
train_loss=$(sed -E 's/.* - loss: ([0-9.]+) .*/\1/' <<<"$line2")
vscalars=$(python3 "$SF_TMP/tfread.py" "$(ls "${run_dir}validation"/events.out.tfevents.* | head -n 1)")
tscalars=$(python3 "$SF_TMP/tfread.py" "$(ls "${run_dir}train"/events.out.tfevents.* | head -n 1)")
check_grep "validation accuracy logged as printed" "^epoch_accuracy 1 $val_acc\$" "$vscalars"
check_grep "training loss logged as printed" "^epoch_loss 1 $train_loss\$" "$tscalars"
test_acc=$(sed -nE 's/^Test loss: .* - test accuracy: ([0-9.]+) .*/\1/p' <<<"$out")

# Same seed and threads: the same bytes. Another seed: other bytes.
run "$SF" train --data "$data" --epochs 2 --seed 7 --logdir "$logs" --model "$SF_TMP/again.safetensors"
check "same seed trains again" [ "$rc" -eq 0 ]
check "same seed gives a byte-identical model" cmp -s "$model" "$SF_TMP/again.safetensors"
for i in 1 2; do
  run "$SF" train --data "$data" --epochs 2 --seed 7 --threads 2 --logdir "$logs" --model "$SF_TMP/t2-$i.safetensors"
done
check "same seed with 2 threads: byte-identical too" cmp -s "$SF_TMP/t2-1.safetensors" "$SF_TMP/t2-2.safetensors"
run "$SF" train --data "$data" --epochs 2 --seed 8 --logdir "$logs" --model "$SF_TMP/other.safetensors"
check "another seed gives another model" differ "$model" "$SF_TMP/other.safetensors"

# On a terminal: a live progress bar per epoch, closed by the full bar.
if command -v script >/dev/null 2>&1; then
  script -qec "'$SF' train --data '$data' --epochs 1 --seed 7 --logdir '$logs' --model '$SF_TMP/tty.safetensors'" \
    /dev/null >"$SF_TMP/tty.out" 2>&1 </dev/null
  rc=$?
  tty_out=$(tr -d '\r' <"$SF_TMP/tty.out" | sed 's/\x1b\[K//g')
  check "train on a terminal exits 0" [ "$rc" -eq 0 ]
  check_grep "terminal: Epoch header line" '^Epoch 1/1$' "$tty_out"
  check_grep "terminal: full bar with metrics" \
    '47/47 \[==============================\] - [0-9.]+s [0-9]+(us|ms|s)/step - loss: [0-9.]+ - accuracy: [0-9.]+ - val_loss: [0-9.]+ - val_accuracy: [0-9.]+$' "$tty_out"
  sanitizer_check "train on a terminal" "$rc" "$tty_out"
else
  skip "progress bar on a terminal" "util-linux 'script' is not installed"
fi

run "$SF" train --data "$data" --epochs 1 --logdir "$logs" --model "$SF_TMP/no/such/dir/m.safetensors"
check "unwritable model path exits 1" [ "$rc" -eq 1 ]
check_grep "... before training, naming the path" "cannot write the model: .*no/such/dir/m\.safetensors" "$err"
check_nogrep "... without training first" "^Epoch" "$out"

# An unknown label in the training file is an error naming file and line.
mkdir -p "$SF_TMP/badlabel"
head -n 5 "$data/KDDTrain+.txt" >"$SF_TMP/badlabel/KDDTrain+.txt"
echo "0,tcp,http,SF,1,1,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,1,1,0,0,0,0,1,0,0,1,1,1,0,0,0,0,0,0,0,frobnicate,21" >>"$SF_TMP/badlabel/KDDTrain+.txt"
cp "$data/KDDTest+.txt.gz" "$SF_TMP/badlabel/"
run "$SF" train --data "$SF_TMP/badlabel" --epochs 1 --logdir "$logs" --model "$SF_TMP/x.safetensors"
check "unknown label exits 1" [ "$rc" -eq 1 ]
check_grep "unknown label names file and line" "badlabel/KDDTrain\+\.txt:6:.*frobnicate" "$err"
check "no model written on failure" [ ! -e "$SF_TMP/x.safetensors" ]

# Training rows without the label column cannot train.
mkdir -p "$SF_TMP/nolabel"
head -n 5 "$data/KDDTrain+.txt" | cut -d, -f1-41 >"$SF_TMP/nolabel/KDDTrain+.txt"
cp "$data/KDDTest+.txt.gz" "$SF_TMP/nolabel/"
run "$SF" train --data "$SF_TMP/nolabel" --epochs 1 --logdir "$logs" --model "$SF_TMP/x.safetensors"
check "unlabelled training rows exit 1" [ "$rc" -eq 1 ]
check_grep "... naming the file and line" "nolabel/KDDTrain\+\.txt:1:42 \(label\): no label" "$err"

# ---- evaluate ----
run "$SF" evaluate --model "$model" --data "$data"
check "evaluate exits 0" [ "$rc" -eq 0 ]
check_grep "evaluate uses the model's seed" "test split \(seed 7\): 500 rows" "$out"
check_grep "evaluate's accuracy is train's test accuracy (same split)" "^accuracy: $test_acc\$" "$out"
check_grep "report header as sklearn" '^              precision    recall  f1-score   support$' "$out"
for cls in normal DoS Probe R2L U2R; do
  check_grep "report row $cls" "^ +$cls +[01]\.[0-9]{4} +[01]\.[0-9]{4} +[01]\.[0-9]{4} +[0-9]+$" "$out"
done
check_grep "report accuracy row" "^    accuracy +[01]\.[0-9]{4} +500$" "$out"
check_grep "report macro avg" "^   macro avg +[01]\.[0-9]{4} +[01]\.[0-9]{4} +[01]\.[0-9]{4} +500$" "$out"
check_grep "report weighted avg" "^weighted avg +[01]\.[0-9]{4} +[01]\.[0-9]{4} +[01]\.[0-9]{4} +500$" "$out"
check_grep "confusion matrix has labelled columns" "normal +DoS +Probe +R2L +U2R" "$out"

run "$SF" evaluate --model "$model" --data "$data" --split validation
check_grep "validation split: train's last val_accuracy" "^accuracy: $val_acc\$" "$out"
# The recall logged per class for the last epoch is evaluate's on the validation split.
for cls in normal DoS Probe R2L U2R; do
  want=$(awk -v c="$cls" '$1 == c && NF == 5 { print $3 }' <<<"$out")
  got=$(awk -v t="epoch_recall/$cls" '$1 == t && $2 == 1 { print $3 }' <<<"$vscalars")
  check "epoch_recall/$cls of the last epoch is evaluate's validation recall ($got vs $want)" \
    awk -v a="$got" -v b="$want" 'BEGIN { d = a - b; exit !(a != "" && b != "" && d < 0.00015 && d > -0.00015) }'
done
run "$SF" evaluate --model "$model" --data "$data" --split all
check_grep "all: every KDDTest+ row" "all split \(seed 7\): 1000 rows, 1 with unseen or missing values the encoder had nothing for" "$out"
run "$SF" evaluate --model "$model" --data "$data" --seed 9
check_grep "--seed overrides the model's" "test split \(seed 9\)" "$out"

run "$SF" evaluate --model "$model" --data "$data" --json
check "evaluate --json exits 0" [ "$rc" -eq 0 ]
check "--json is one line" [ "$(wc -l <<<"$out")" -eq 1 ]
json_check=$(python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
r = d["report"]
assert d["rows"] == 500 and d["split"] == "test" and d["seed"] == 7
assert set(r) >= {"normal", "DoS", "Probe", "R2L", "U2R", "accuracy", "macro avg", "weighted avg", "confusion_matrix"}
m = r["confusion_matrix"]["matrix"]
assert sum(map(sum, m)) == 500
assert abs(sum(m[i][i] for i in range(5)) / 500 - d["accuracy"]) < 1e-9
assert abs(d["accuracy"] - r["accuracy"]) < 1e-9
for c in ("normal", "DoS", "Probe", "R2L", "U2R"):
    assert r[c]["support"] == sum(m[["normal", "DoS", "Probe", "R2L", "U2R"].index(c)])
print("%.4f" % d["accuracy"])
' <<<"$out" 2>&1)
check "--json parses and agrees with itself" [ "$json_check" = "$test_acc" ]

# Evaluation data with a number that overflows once scaled is an error
# naming the file, line and column, not a row silently counted.
mkdir -p "$SF_TMP/overflow"
cp "$SF_ROOT/tests/data/bad-inputs/overflow_to_inf.csv" "$SF_TMP/overflow/KDDTest+.txt"
run "$SF" evaluate --model "$model" --data "$SF_TMP/overflow" --split all
check "evaluate on overflowing data exits 1" [ "$rc" -eq 1 ]
check_grep "... naming file, line and column" \
  "overflow/KDDTest\+\.txt:1: column [0-9]+ \([a-z_]+\): 3\.4e\+38 is out of range" "$err"
check "... and prints no report" [ -z "$out" ]
run "$SF" evaluate --model "$model" --data "$data" --split bogus
check "--split bogus is a usage error" [ "$rc" -eq 2 ]
run "$SF" evaluate --model "$SF_TMP/none.safetensors" --data "$data"
check "missing model exits 1" [ "$rc" -eq 1 ]
check_grep "missing model names the file" "cannot open model file .*none\.safetensors: No such file" "$err"
head -c 300 "$model" >"$SF_TMP/trunc.safetensors"
run "$SF" evaluate --model "$SF_TMP/trunc.safetensors" --data "$data"
check "truncated model exits 1" [ "$rc" -eq 1 ]
check_grep "truncated model is named" "trunc\.safetensors: .*(truncated|header length)" "$err"

# ---- predict ----
zcat "$data/KDDTest+.txt.gz" | head -n 20 >"$SF_TMP/rows.csv"
run "$SF" predict --model "$model" "$SF_TMP/rows.csv"
check "predict exits 0 on good rows" [ "$rc" -eq 0 ]
check "one JSON line per row" [ "$(grep -c '^{' <<<"$out")" -eq 20 ]
check_grep "an unseen service is flagged" '"line":1,.*"unseen":\["service"\]\}$' "$out"
check "only that row is flagged" [ "$(grep -c unseen <<<"$out")" -eq 1 ]
check_grep "predict shows class, index, probabilities, label" \
  '^\{"class":"[A-Za-z0-9]+","class_index":[0-4],"confidence":[0-9.]+,"probabilities":\{"normal":[0-9.]+,"DoS":[0-9.]+,"Probe":[0-9.]+,"R2L":[0-9.]+,"U2R":[0-9.]+\},"line":2,"label":"[A-Za-z0-9]+","label_index":[0-4],"label_value":"[a-z_0-9]+"\}$' "$out"
with_label=$out

# Without the label and difficulty columns: same classes, no label.
cut -d, -f1-41 "$SF_TMP/rows.csv" >"$SF_TMP/nolabel.csv"
run "$SF" predict --model "$model" "$SF_TMP/nolabel.csv"
check "predict without labels exits 0" [ "$rc" -eq 0 ]
check_nogrep "no label field without a label column" '"label"' "$out"
check "same classes with and without the label" [ "$(sed -E 's/,"line".*//' <<<"$out")" = "$(sed -E 's/,"line".*//' <<<"$with_label")" ]

# stdin, as '-' and as no operand.
"$SF" predict --model "$model" - <"$SF_TMP/rows.csv" >"$SF_TMP/stdin.out" 2>"$SF_TMP/stdin.err"
rc=$?
check "predict - reads stdin" [ "$rc" -eq 0 ]
check "stdin gives the same lines" [ "$(cat "$SF_TMP/stdin.out")" = "$with_label" ]
sanitizer_check "predict -" "$rc" "$(cat "$SF_TMP/stdin.err")"
"$SF" predict --model "$model" <"$SF_TMP/rows.csv" >"$SF_TMP/stdin2.out" 2>"$SF_TMP/stdin2.err"
rc=$?
check "predict with no FILE reads stdin" [ "$rc" -eq 0 ]
check "... same output" [ "$(cat "$SF_TMP/stdin2.out")" = "$with_label" ]
sanitizer_check "predict (stdin)" "$rc" "$(cat "$SF_TMP/stdin2.err")"

# Bad rows: each reported with its line number, the others still scored.
{
  sed -n 1p "$SF_TMP/rows.csv"                                  # 1 good
  echo "0,tcp,http,SF,1,2,3"                                    # 2 wrong field count
  sed -n 2p "$SF_TMP/rows.csv" | sed 's/^0,/zero,/'            # 3 non-numeric duration
  echo ""                                                       # 4 empty: skipped
  sed -n 3p "$SF_TMP/rows.csv" | sed 's/$/\r/'                  # 5 CRLF: fine
  head -c 1048576 /dev/zero | tr '\0' '7'; echo                 # 6 a 1 MB line
  sed -n 4p "$SF_TMP/rows.csv" | sed 's/,[a-z_]*,[0-9]*$/,notanattack,3/'  # 7 unknown label: scored
  printf 'ab\0cd\n'                                             # 8 binary
  sed -n 5p "$SF_TMP/rows.csv"                                  # 9 good
} >"$SF_TMP/bad.csv"
run "$SF" predict --model "$model" "$SF_TMP/bad.csv"
check "bad rows make the exit code 1" [ "$rc" -eq 1 ]
check "good rows are all scored" [ "$(grep -c '^{' <<<"$out")" -eq 4 ]
check_grep "good rows keep their line numbers" '"line":9,' "$out"
check_grep "CRLF row is scored" '"line":5,' "$out"
check_grep "wrong field count named" "bad\.csv:2:8 \(wrong_fragment\): 7 fields, expected 41 to 43" "$err"
check_grep "non-numeric field named" "bad\.csv:3:1 \(duration\): not a number: \"zero\"" "$err"
check_grep "1 MB line reported" "bad\.csv:6:" "$err"
check_grep "an unknown label is scored and flagged" '"line":7,.*"label_value":"notanattack","unknown_label":true' "$out"
check_grep "binary line reported" "bad\.csv:8: " "$err"
check "one error line per bad row" [ "$(wc -l <<<"$err")" -eq 4 ]

head -c 4096 /dev/urandom >"$SF_TMP/random.bin"
run "$SF" predict --model "$model" "$SF_TMP/random.bin"
check "a binary file exits 1" [ "$rc" -eq 1 ]
check_grep "binary file errors name it" "random\.bin:[0-9]+:" "$err"
run "$SF" predict --model "$model" "$SF_TMP/missing.csv" "$SF_TMP/rows.csv"
check "a missing file exits 1" [ "$rc" -eq 1 ]
check_grep "missing file named" "missing\.csv: No such file" "$err"
check "the other file is still scored" [ "$(grep -c '^{' <<<"$out")" -eq 20 ]
check_grep "several files: each line names its file" '"file":"[^"]*rows\.csv","line":20' "$out"
run "$SF" predict --model "$SF_TMP/none.safetensors" "$SF_TMP/rows.csv"
check "predict with a missing model exits 1" [ "$rc" -eq 1 ]

# A 60 KB file declaring 8 layers of 4096, the widest allowed (470 MB of weights), fails fast
# on what is wrong with it, naming the file and the tensor, in little memory.
python3 - "$model" "$SF_TMP/huge.safetensors" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n]); data = raw[8 + n:]
meta = hdr["__metadata__"]
sizes = [json.loads(meta["layer_sizes"])[0]] + [4096] * 7 + [5]
meta["layer_sizes"] = json.dumps(sizes)
meta["activations"] = json.dumps(["relu"] * 7 + ["softmax"])
hdr = {"__metadata__": meta}
at = 0
for l in range(8):
    w, b = sizes[l] * sizes[l + 1] * 4, sizes[l + 1] * 4
    hdr["dense_%d.kernel" % l] = {"dtype": "F32", "shape": [sizes[l], sizes[l + 1]], "data_offsets": [at, at + w]}
    hdr["dense_%d.bias" % l] = {"dtype": "F32", "shape": [sizes[l + 1]], "data_offsets": [at + w, at + w + b]}
    at += w + b
h = json.dumps(hdr).encode()
open(sys.argv[2], "wb").write(struct.pack("<Q", len(h)) + h + data)
PY
/usr/bin/time -f "maxrss %M" "$SF" predict --model "$SF_TMP/huge.safetensors" "$SF_TMP/rows.csv" >/dev/null 2>"$SF_TMP/huge.err"
rc=$?
err=$(cat "$SF_TMP/huge.err")
check "8 layers of 4096: exit 1" [ "$rc" -eq 1 ]
check_grep "... naming the file and the tensor" "huge\.safetensors: tensor 'dense_0\.kernel' has data_offsets outside the [0-9]+ bytes of data" "$err"
rss=$(sed -n 's/^maxrss //p' <<<"$err")
echo "# peak RSS loading the 8 x 65,536 file: ${rss} KB"
check "... its peak RSS is measured" [ -n "$rss" ]
check "... in under 200 MB of peak RSS (${rss} KB)" [ "${rss:-0}" -lt 204800 ]

# bad-inputs/: labels that are not UTF-8 and numbers that overflow once
# scaled are errors naming file, line (and column); the good rows are
# scored, and every line on stdout is valid UTF-8 JSON.
BAD="$SF_ROOT/tests/data/bad-inputs"
run "$SF" predict --model "$model" "$BAD/invalid_utf8_label.csv"
check "invalid UTF-8 labels: exit 1" [ "$rc" -eq 1 ]
check "invalid UTF-8 labels: only one line is scored" [ "$(grep -c '^{' <<<"$out")" -eq 1 ]
check_grep "invalid UTF-8 labels: ... line 1" '"line":1,' "$out"
for line in 2 3 4; do
  check_grep "invalid UTF-8 label on line $line is reported" \
    "invalid_utf8_label\.csv:$line:42 \(label\): binary data: byte 0x(f0|ed|f4) at position 95 \(not valid UTF-8\)" "$err"
done
run "$SF" predict --model "$model" "$BAD/overflow_to_inf.csv"
check "overflowing numbers: exit 1" [ "$rc" -eq 1 ]
check "overflowing numbers: only one line is scored" [ "$(grep -c '^{' <<<"$out")" -eq 1 ]
check_grep "overflowing numbers: ... line 3" '"line":3,' "$out"
check_grep "overflow on line 1 names the column" "overflow_to_inf\.csv:1:[0-9]+ \([a-z_]+\): 3\.4e\+38 is out of range" "$err"
check_grep "overflow on line 2 names serror_rate" "overflow_to_inf\.csv:2:25 \(serror_rate\): 3e\+38 is out of range" "$err"
"$SF" predict --model "$model" "$BAD/invalid_utf8_label.csv" "$BAD/overflow_to_inf.csv" >"$SF_TMP/badin.out" 2>/dev/null
check "every predict line on the bad inputs is valid UTF-8 JSON" python3 -c '
import json, sys
lines = open(sys.argv[1], "rb").read().splitlines()
assert len(lines) == 2
for l in lines: json.loads(l.decode("utf-8", errors="strict"))' "$SF_TMP/badin.out"
# A file name that is not UTF-8 is shown with U+FFFD: the line stays JSON.
cp "$BAD/overflow_to_inf.csv" "$SF_TMP/bad"$'\xff\xc3'".csv"
cp "$BAD/overflow_to_inf.csv" "$SF_TMP/caf"$'\xc3\xa9'".csv"
"$SF" predict --model "$model" "$SF_TMP/bad"$'\xff\xc3'".csv" "$SF_TMP/caf"$'\xc3\xa9'".csv" >"$SF_TMP/names.out" 2>/dev/null
check "file names that are not UTF-8 still give valid UTF-8 JSON" python3 -c '
import json, sys
names = [json.loads(l.decode("utf-8", errors="strict"))["file"].rsplit("/", 1)[-1]
         for l in open(sys.argv[1], "rb").read().splitlines()]
assert names == ["bad\ufffd\ufffd.csv", "caf\u00e9.csv"], names' "$SF_TMP/names.out"
# A model whose output is NaN (weights near FLT_MAX, each finite): no row
# becomes a prediction, each is an error naming its line.
python3 - "$model" "$SF_TMP/nan.safetensors" <<'PY'
import struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
open(sys.argv[2], "wb").write(raw[:8 + n] + struct.pack("<f", 3e38) * ((len(raw) - 8 - n) // 4))
PY
run "$SF" predict --model "$SF_TMP/nan.safetensors" "$SF_TMP/rows.csv"
check "a NaN model: exit 1" [ "$rc" -eq 1 ]
check "a NaN model: no prediction" [ -z "$out" ]
check "a NaN model: one error per row, naming its line" \
  [ "$(grep -c "rows\.csv:[0-9]*: the model's output is not finite" <<<"$err")" -eq 20 ]

# ---- train against an independent numpy (float64) implementation of the
# same recipe: Glorot init from the seed's stream, the per-epoch shuffle,
# batches of 64 with the partial last one, mean cross-entropy, Keras' Adam.
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  cat >"$SF_TMP/ref.py" <<'PY'
# Independent reference: Keras' recipe in numpy (float64), full batch, from the same seed.
import json, struct, sys
import numpy as np
M = (1 << 64) - 1
def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M
class Rng:  # splitmix64-seeded xoshiro256**, as src/util/rng.c
    def __init__(self, seed):
        self.s = []
        for _ in range(4):
            seed = (seed + 0x9E3779B97F4A7C15) & M
            z = seed
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
            self.s.append(z ^ (z >> 31))
    def next(self):
        s = self.s
        r = (rotl((s[1] * 5) & M, 7) * 9) & M
        t = (s[1] << 17) & M
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45)
        return r
    def below(self, n):
        limit = M - M % n
        while True:
            r = self.next()
            if r < limit:
                return r % n
    def uniform(self):
        return (self.next() >> 11) * (1.0 / 9007199254740992.0)
model, train_csv, seed, epochs, lr, batch = (sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
                                             float(sys.argv[5]), int(sys.argv[6]))
with open(model, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]; header = json.loads(f.read(n)); data = f.read()
meta = {k: json.loads(v) if v[:1] in "[{" else v for k, v in header.pop("__metadata__").items()}
got = {k: np.frombuffer(data, "<f4", int(np.prod(v["shape"])), v["data_offsets"][0]).reshape(v["shape"])
       for k, v in header.items()}
sizes = meta["layer_sizes"]
rows = [l.strip().split(",") for l in open(train_csv) if l.strip()]
cols = [c["name"] for c in meta["schema"]["columns"]]
def encode(f):
    enc = meta["encoder"]
    x = [(np.float32(f[cols.index(n["column"])]) - np.float32(n["mean"])) / np.float32(n["std"]) for n in enc["numeric"]]
    for c in enc["categorical"]:
        x += [np.float32(v == f[cols.index(c["column"])]) for v in c["vocabulary"]]
    return np.array(x, np.float32).astype(np.float64)
X = np.stack([encode(f) for f in rows])
cls = {"normal": 0}
for group, names in enumerate(["back land neptune pod smurf teardrop", "ipsweep nmap portsweep satan",
                               "ftp_write guess_passwd imap multihop phf spy warezclient warezmaster",
                               "buffer_overflow loadmodule perl rootkit"], 1):
    cls.update({a: group for a in names.split()})
y = np.array([cls[f[41]] for f in rows])
rng = Rng(seed)
W, b = [], []
for i in range(len(sizes) - 1):
    lim = np.sqrt(6.0 / (sizes[i] + sizes[i + 1]))
    w = np.array([(2 * rng.uniform() - 1) * lim for _ in range(sizes[i] * sizes[i + 1])], np.float32)
    W.append(w.astype(np.float64).reshape(sizes[i], sizes[i + 1]))
    b.append(np.zeros(sizes[i + 1]))
params = W + b
m = [np.zeros_like(p) for p in params]
v = [np.zeros_like(p) for p in params]
shuffle = Rng(seed ^ 0x73687566666C65)  # the trainer's own stream
t = 0
for epoch in range(epochs):
    order = list(range(len(y)))
    for i in range(len(order), 1, -1):  # Fisher-Yates, as sf_rng_shuffle
        j = shuffle.below(i)
        order[i - 1], order[j] = order[j], order[i - 1]
    for start in range(0, len(y), batch):  # the last batch may be partial: it counts
        idx = order[start:start + batch]
        acts = [X[idx]]
        for i in range(len(W)):
            z = acts[-1] @ W[i] + b[i]
            acts.append(np.maximum(z, 0) if i < len(W) - 1 else z)
        z = acts[-1]
        p = np.exp(z - z.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
        d = p.copy(); d[np.arange(len(idx)), y[idx]] -= 1; d /= len(idx)  # mean over the batch
        gW, gb = [None] * len(W), [None] * len(W)
        for i in reversed(range(len(W))):
            gW[i] = acts[i].T @ d; gb[i] = d.sum(0)
            if i: d = (d @ W[i].T) * (acts[i] > 0)
        grads = gW + gb
        t += 1
        alpha = lr * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        for k in range(len(params)):
            m[k] = 0.9 * m[k] + 0.1 * grads[k]
            v[k] = 0.999 * v[k] + 0.001 * grads[k] ** 2
            params[k] -= alpha * m[k] / (np.sqrt(v[k]) + 1e-7)
diffs = np.concatenate([np.abs(got["dense_%d.kernel" % i] - W[i]).ravel() for i in range(len(W))] +
                       [np.abs(got["dense_%d.bias" % i] - b[i]).ravel() for i in range(len(W))])
print("%.3g %.3g %d" % (diffs.max(), np.median(diffs), (diffs > 1e-4).sum()))
PY
  ref_out=$(/usr/bin/python3 "$SF_TMP/ref.py" "$model" "$data/KDDTrain+.txt" 7 2 0.001 64 2>&1)
  check "weights after 2 epochs match the numpy reference (max diff, median, count > 1e-4: $ref_out)" \
    python3 -c "import sys; sys.exit(0 if float('${ref_out%% *}') < 1e-5 else 1)"
  # The reference can tell: another seed's model does not match.
  ref_other=$(/usr/bin/python3 "$SF_TMP/ref.py" "$SF_TMP/other.safetensors" "$data/KDDTrain+.txt" 7 2 0.001 64 2>&1)
  check "the reference rejects another seed's weights ($ref_other)" \
    python3 -c "import sys; sys.exit(0 if float('${ref_other%% *}') > 1e-2 else 1)"
else
  skip "numpy reference" "python3-numpy is not installed (scripts/install-deps installs it)"
fi

# ---- the README's numpy loader gives predict's probabilities ----
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  awk '/<!-- section: learn -->/{s=1} s&&/^```python$/{p=1;next} p&&/^```$/{exit} p' "$SF_ROOT/README.md" |
    grep -v '^meta, layers = load\|^print(predict' >"$SF_TMP/loader.py"
  check "README has the numpy loader" grep -q '^def load' "$SF_TMP/loader.py"
  cat >>"$SF_TMP/loader.py" <<'PY'
import sys
meta, layers = load(sys.argv[1])
assert meta["class_names"] == ["normal", "DoS", "Probe", "R2L", "U2R"]
for line in open(sys.argv[2]):
    p = predict(layers, encode(meta, line))
    print(" ".join("%.6f" % v for v in p))
PY
  np_out=$(/usr/bin/python3 "$SF_TMP/loader.py" "$model" "$SF_TMP/rows.csv" 2>&1)
  sf_probs=$(python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    print(" ".join("%.6f" % d["probabilities"][c] for c in ("normal", "DoS", "Probe", "R2L", "U2R")))
' <<<"$with_label")
  cmp_out=$(python3 -c '
import sys
a = [list(map(float, l.split())) for l in open(sys.argv[1]).read().splitlines()]
b = [list(map(float, l.split())) for l in open(sys.argv[2]).read().splitlines()]
assert len(a) == len(b) == 20, (len(a), len(b))
print(max(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb)))
' <(echo "$np_out") <(echo "$sf_probs") 2>&1)
  check "numpy probabilities match predict's (max diff $cmp_out)" python3 -c "import sys; sys.exit(0 if float('$cmp_out') <= 2e-6 else 1)"
  # The README's own example row runs as written.
  readme_py=$(awk '/<!-- section: learn -->/{s=1} s&&/^```python$/{p=1;next} p&&/^```$/{exit} p' "$SF_ROOT/README.md")
  (cd "$SF_TMP" && cp "$model" model.safetensors && /usr/bin/python3 -c "$readme_py" >"$SF_TMP/readme.out" 2>&1)
  check "README example runs" grep -qE '^\[ *[0-9.e+-]+( +[0-9.e+-]+){4} *\]$' "$SF_TMP/readme.out"
else
  skip "numpy loader" "python3-numpy is not installed (scripts/install-deps installs it)"
fi

done_testing
