# ONNX in and out: `streamflow export` checked by ONNX Runtime itself on
# every row of KDDTest+, export -> import round trip through --model, and
# malformed ONNX files refused with the file and the node named.
. "$SF_ROOT/tests/lib.sh"

ort_dir="$SF_ROOT/build/npm/node_modules"
data="$SF_TMP/data"
mkdir -p "$data"
zcat "$SF_ROOT/data/nsl-kdd/KDDTrain+.txt.gz" | head -n 20000 >"$data/KDDTrain+.txt"
cp "$SF_ROOT/data/nsl-kdd/KDDTest+.txt.gz" "$data/"
model="$SF_TMP/m.safetensors"
run "$SF" train --data "$data" --epochs 2 --seed 3 --logdir "$SF_TMP/logs" --model "$model"
check "train a small model" [ "$rc" -eq 0 ]

# ---- export ----
run "$SF" export --model "$model"
check "export exits 0" [ "$rc" -eq 0 ]
check "default output name: the model's with .onnx" [ -s "$SF_TMP/m.onnx" ]
check_grep "says what it wrote" "^Exported model [0-9a-f]{16} .* to $SF_TMP/m.onnx$" "$out"
run "$SF" export --model "$SF_TMP/none.safetensors" -o "$SF_TMP/x.onnx"
check "a missing model is exit 1" [ "$rc" -eq 1 ]
check_grep "names the missing model" "none.safetensors" "$err"

# ---- ONNX Runtime agrees with StreamFlow on every row of KDDTest+ ----
zcat "$data/KDDTest+.txt.gz" | cut -d, -f1-41 >"$SF_TMP/rows.csv"
run "$SF" predict --model "$model" "$SF_TMP/rows.csv"
check "predict with the safetensors model" [ "$rc" -eq 0 ]
printf '%s\n' "$out" >"$SF_TMP/sf.jsonl"
if [ -d "$ort_dir/onnxruntime-node" ] && command -v node >/dev/null; then
  run node "$SF_ROOT/tests/onnx/ort_predict.js" "$ort_dir" "$SF_TMP/m.onnx" "$SF_TMP/rows.csv" 1,2,3
  check "ONNX Runtime runs the exported graph" [ "$rc" -eq 0 ]
  printf '%s\n' "$out" >"$SF_TMP/ort.jsonl"
  cat >"$SF_TMP/compare.py" <<'PY'
import json, sys
sf = [json.loads(l) for l in open(sys.argv[1])]
ort = [json.loads(l) for l in open(sys.argv[2])]
assert len(sf) == len(ort) == 22544, (len(sf), len(ort))
names = list(sf[0]["probabilities"])
worst, wrong = 0.0, 0
for a, b in zip(sf, ort):
    p = [a["probabilities"][n] for n in names]
    worst = max(worst, max(abs(x - y) for x, y in zip(p, b["probabilities"])))
    wrong += a["class"] != b["label"]
print(f"rows {len(sf)} max_abs_diff {worst:.2e} label_mismatches {wrong}")
# predict prints 6 decimals: up to 5e-7 of the difference is rounding.
sys.exit(0 if worst <= 1e-5 and wrong == 0 else 1)
PY
  run python3 "$SF_TMP/compare.py" "$SF_TMP/sf.jsonl" "$SF_TMP/ort.jsonl"
  check "ONNX Runtime's probabilities within 1e-5 and the same label on all 22544 rows" [ "$rc" -eq 0 ]
  echo "# ONNX Runtime against StreamFlow: $out"
  # An unseen category is all zeros in both.
  sed '1s/^\([^,]*\),tcp,[^,]*,/\1,tcp,nosuchservice,/' "$SF_TMP/rows.csv" | head -n 5 >"$SF_TMP/unseen.csv"
  run node "$SF_ROOT/tests/onnx/ort_predict.js" "$ort_dir" "$SF_TMP/m.onnx" "$SF_TMP/unseen.csv" 1,2,3
  ort_unseen=$(head -n 1 <<<"$out")
  run "$SF" predict --model "$model" "$SF_TMP/unseen.csv"
  check_grep "StreamFlow flags the unseen service" '"unseen":\["service"\]' "$(head -n 1 <<<"$out")"
  run python3 -c '
import json, sys
a = json.loads(sys.argv[1]); b = json.loads(sys.argv[2])
p = list(a["probabilities"].values())
sys.exit(0 if max(abs(x - y) for x, y in zip(p, b["probabilities"])) <= 1e-5 else 1)' "$(head -n 1 <<<"$out")" "$ort_unseen"
  check "an unseen category gives the same probabilities in ONNX Runtime" [ "$rc" -eq 0 ]
else
  check "onnxruntime-node is installed in $ort_dir (scripts/install-deps does it)" false
fi

# ---- ONNX Runtime agrees on every row of each shipped tabular data set ----
# (numeric columns as float with NaN for a missing value, categorical ones
# as strings; two of the sets have missing values, two have the label first)
cat >"$SF_TMP/features.py" <<'PY'
import csv, gzip, json, sys
schema = json.load(open(sys.argv[1]))
cols = [(i, c) for i, c in enumerate(schema["columns"]) if c["type"] in ("numeric", "categorical")]
with gzip.open(sys.argv[2], "rt", newline="") as f, open(sys.argv[3], "w") as out:
    rows = csv.reader(f)
    next(rows)
    for r in rows:
        vals = [r[i] for i, _ in cols]
        assert not any("," in v or "\n" in v for v in vals), vals
        out.write(",".join(vals) + "\n")
print(",".join(str(k) for k, (_, c) in enumerate(cols) if c["type"] == "categorical"))
PY
for ds in lending_club mlc_churn credit_data penguins; do
  [ -d "$ort_dir/onnxruntime-node" ] && command -v node >/dev/null || break
  tm="$SF_TMP/$ds.safetensors"
  run "$SF" train --train "$SF_ROOT/data/$ds/$ds.csv.gz" --layers 16,8 --epochs 2 --logdir "$SF_TMP/logs" --model "$tm"
  run "$SF" export --model "$tm" -o "$SF_TMP/$ds.onnx"
  check "$ds: train and export" [ "$rc" -eq 0 ]
  run python3 "$SF_TMP/features.py" "$SF_ROOT/data/$ds/schema.json" "$SF_ROOT/data/$ds/$ds.csv.gz" "$SF_TMP/$ds.rows"
  strings=$out
  run "$SF" predict --model "$tm" "$SF_ROOT/data/$ds/$ds.csv.gz"
  printf '%s\n' "$out" >"$SF_TMP/$ds.sf.jsonl"
  run node "$SF_ROOT/tests/onnx/ort_predict.js" "$ort_dir" "$SF_TMP/$ds.onnx" "$SF_TMP/$ds.rows" "$strings"
  printf '%s\n' "$out" >"$SF_TMP/$ds.ort.jsonl"
  n=$(wc -l <"$SF_TMP/$ds.rows")
  sed "s/== 22544/== $n/" "$SF_TMP/compare.py" >"$SF_TMP/compare_$ds.py"
  run python3 "$SF_TMP/compare_$ds.py" "$SF_TMP/$ds.sf.jsonl" "$SF_TMP/$ds.ort.jsonl"
  check "$ds: ONNX Runtime's probabilities within 1e-5 and the same label on all $n rows ($out)" [ "$rc" -eq 0 ]
done

# ---- round trip: the exported file works wherever --model does ----
run "$SF" predict --model "$SF_TMP/m.onnx" "$SF_TMP/rows.csv"
check "predict --model FILE.onnx exits 0" [ "$rc" -eq 0 ]
printf '%s\n' "$out" >"$SF_TMP/rt.jsonl"
check "export -> import gives identical predictions on every row" cmp -s "$SF_TMP/sf.jsonl" "$SF_TMP/rt.jsonl"
run "$SF" evaluate --model "$model" --data "$data" --json
a=$out
run "$SF" evaluate --model "$SF_TMP/m.onnx" --data "$data" --json
check "evaluate --model FILE.onnx exits 0" [ "$rc" -eq 0 ]
check "evaluate gives the same report from either file" [ "$(python3 -c '
import json, sys
a = json.loads(sys.argv[1]); b = json.loads(sys.argv[2])
for d in (a, b): d.pop("model", None); d.pop("model_id", None)
print(a == b)' "$a" "$out")" = True ]

# ---- bad ONNX files: a clear error, never a crash ----
head -c 200 "$SF_TMP/m.onnx" >"$SF_TMP/trunc.onnx"
run "$SF" predict --model "$SF_TMP/trunc.onnx" "$SF_TMP/unseen.csv"
check "a truncated ONNX file is exit 1" [ "$rc" -eq 1 ]
check_grep "says the file does not decode" "trunc.onnx: not a valid ONNX file" "$err"
# Debian's python3-onnx builds the bad files.
/usr/bin/python3 - "$SF_TMP" <<'PY'
import sys, onnx, numpy as np
from onnx import helper, TensorProto, numpy_helper
d = sys.argv[1]
def net(nodes, inits, opset=13):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
w = numpy_helper.from_array(np.ones((4, 3), np.float32), "w")
b = numpy_helper.from_array(np.zeros(3, np.float32), "b")
onnx.save(net([helper.make_node("Gemm", ["x", "w", "b"], ["h"], name="fc1"),
               helper.make_node("Elu", ["h"], ["y"], name="act1")], [w, b]), f"{d}/elu.onnx")
nan = numpy_helper.from_array(np.full((4, 3), np.nan, np.float32), "w")
onnx.save(net([helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc1")], [nan, b]), f"{d}/nan.onnx")
onnx.save(net([helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc1")], [b]), f"{d}/noinit.onnx")
w5 = numpy_helper.from_array(np.ones((5, 3), np.float32), "w")
w2 = numpy_helper.from_array(np.ones((2, 3), np.float32), "w2")
onnx.save(net([helper.make_node("MatMul", ["x", "w"], ["h"], name="mm1"),
               helper.make_node("MatMul", ["h", "w2"], ["y"], name="mm2")], [w, w2, b]), f"{d}/shape.onnx")
onnx.save(net([helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc1")], [w, b], opset=18), f"{d}/opset.onnx")
onnx.save(net([helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc1")], [w, b]), f"{d}/plain.onnx")
PY
run "$SF" predict --model "$SF_TMP/elu.onnx" "$SF_TMP/unseen.csv"
check "an unsupported operator is exit 1" [ "$rc" -eq 1 ]
check_grep "names the node, its op type and what is supported" \
  "elu.onnx: node 'act1' \(Elu\): operator 'Elu' is not supported; supported: Gemm, MatMul" "$err"
run "$SF" predict --model "$SF_TMP/nan.onnx" "$SF_TMP/unseen.csv"
check_grep "NaN weights name the node and the initializer" "nan.onnx: node 'fc1' \(Gemm\): initializer 'w' holds a non-finite value" "$err"
run "$SF" predict --model "$SF_TMP/noinit.onnx" "$SF_TMP/unseen.csv"
check_grep "a missing initializer is named" "noinit.onnx: node 'fc1' \(Gemm\): input 'w' is not an initializer" "$err"
run "$SF" predict --model "$SF_TMP/shape.onnx" "$SF_TMP/unseen.csv"
check_grep "a shape mismatch names the node" "shape.onnx: node 'mm2' \(MatMul\): takes 2 inputs but the layer before gives 3" "$err"
run "$SF" predict --model "$SF_TMP/opset.onnx" "$SF_TMP/unseen.csv"
check_grep "an opset out of range is refused" "opset.onnx: opset 18; StreamFlow reads opsets 9 to 17" "$err"
# a network trained elsewhere, without --schema: says how to give one
run "$SF" predict --model "$SF_TMP/plain.onnx" "$SF_TMP/unseen.csv"
check_grep "a network without StreamFlow's metadata: says to pass --schema FITTED.json" \
  "plain.onnx: a network without StreamFlow's metadata .*--schema FITTED.json.*schema fit" "$err"
# a damaged metadata key (a byte no longer UTF-8): said so, not "out of memory"
python3 -c '
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.index(b"format_version")
b[i] ^= 0x80
open(sys.argv[2], "wb").write(b)' "$SF_TMP/m.onnx" "$SF_TMP/badmeta.onnx"
run "$SF" predict --model "$SF_TMP/badmeta.onnx" "$SF_TMP/unseen.csv"
check "damaged metadata text: exit 1" [ "$rc" -eq 1 ]
check_grep "... said to be damaged, not out of memory" "badmeta.onnx: metadata_props entry [0-9]+ is not valid UTF-8 text" "$err"

done_testing
