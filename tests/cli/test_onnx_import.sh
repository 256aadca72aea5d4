# Networks trained elsewhere: `schema fit` and `schema show` write fitted
# schemas, `--model NET.onnx --schema FITTED` serves a graph that reads the
# encoded vector (export -> import round trip; a PyTorch MLP exported by
# torch.onnx.export at opsets 17 and 11 against PyTorch's own probabilities,
# through predict, evaluate and score on a broker), and what cannot be read
# is refused naming the node, its operator and what is supported.
. "$SF_ROOT/tests/lib.sh"

PY=/usr/bin/python3 # Debian's, with python3-torch and python3-onnx
DATA="$SF_ROOT/data"
cd "$SF_TMP" || exit 1
zcat "$DATA/nsl-kdd/KDDTrain+_20Percent.txt.gz" | head -n 5000 >ktrain.csv
N=3000
[ "$SF_SANITIZED" = 1 ] && N=1000
zcat "$DATA/nsl-kdd/KDDTest+.txt.gz" | head -n "$N" >ktest.csv

# ---- schema fit and schema show ----
run "$SF" schema fit --schema "$DATA/penguins/schema.json" --data "$DATA/penguins/penguins.csv.gz" -o pfit.json
check "schema fit exits 0" [ "$rc" -eq 0 ]
check_grep "the fitted schema holds the encoder and its layout" '"inputs": 13,' "$(cat pfit.json)"
check_grep "means, deviations and missing flags" '"column": "bill_length_mm", "mean": 43\.92.*"missing_flag": true' "$(cat pfit.json)"
check_grep "vocabularies" '"column": "island", "vocabulary": \["Biscoe", "Dream", "Torgersen"\]' "$(cat pfit.json)"
run "$SF" schema check --schema pfit.json "$DATA/penguins/penguins.csv.gz"
check "a fitted schema is also a schema" [ "$rc" -eq 0 ]
run "$SF" schema fit --schema "$DATA/penguins/schema.json"
check "schema fit without --data: usage error" [ "$rc" -eq 2 ]
run "$SF" schema fit --schema "$DATA/penguins/schema.json" --data "$DATA/credit_data/credit_data.csv.gz"
check "schema fit on rows of another schema: exit 1" [ "$rc" -eq 1 ]
check_grep "  ... naming the file" "credit_data\.csv\.gz" "$err"

# With a --test file, every row of the --train file is a training row.
run "$SF" train --train ktrain.csv --test ktest.csv --schema "$DATA/nsl-kdd/schema.json" --epochs 1 --layers 16 --seed 5 --model m.safetensors --logdir logs
check "train a small NSL-KDD model" [ "$rc" -eq 0 ]
run "$SF" schema show --model m.safetensors
check "schema show exits 0" [ "$rc" -eq 0 ]
printf '%s\n' "$out" >shown.json
run "$SF" schema fit --schema "$DATA/nsl-kdd/schema.json" --data ktrain.csv
check "schema show of a model is schema fit on its training rows" [ "$out" = "$(cat shown.json)" ]

# ---- export -> import round trip through a fitted schema ----
run "$SF" export --model m.safetensors --network-only -o net.onnx
check "export --network-only" [ "$rc" -eq 0 ]
run "$SF" predict --model m.safetensors ktest.csv
printf '%s\n' "$out" >native.jsonl
run "$SF" predict --model net.onnx --schema shown.json ktest.csv
check "predict --model NET.onnx --schema FITTED exits 0" [ "$rc" -eq 0 ]
printf '%s\n' "$out" >imported.jsonl
check "the imported network's predictions are identical on $N rows" cmp -s native.jsonl imported.jsonl
check "  ... and there are $N of them" [ "$(wc -l <imported.jsonl)" -eq "$N" ]
run "$SF" schema show --model net.onnx --schema shown.json
check "schema show of an imported network exits 0" [ "$rc" -eq 0 ]
check "  ... and prints its fitted schema" [ "$out" = "$(cat shown.json)" ]

# ---- what does not fit is refused ----
run "$SF" predict --model net.onnx --schema "$DATA/nsl-kdd/schema.json" ktest.csv
check "a plain schema for a foreign network: exit 1" [ "$rc" -eq 1 ]
check_grep "  ... says it is not fitted and how to fit it" 'schema\.json: no "encoder".*schema fit --schema' "$err"
run "$SF" predict --model net.onnx --schema pfit.json ktest.csv
check "another data set's fitted schema: exit 1" [ "$rc" -eq 1 ]
check_grep "  ... the widths named" "net\.onnx: the network reads [0-9]+ inputs, but pfit\.json encodes a row into 13 " "$err"
run "$SF" predict --model m.safetensors --schema shown.json ktest.csv
check "a fitted schema with a StreamFlow model file: exit 1" [ "$rc" -eq 1 ]
check_grep "  ... says the model carries its own" "carries its own schema" "$err"
sed 's/"std": [0-9.e+-]*/"std": 0/' shown.json >zero_std.json
run "$SF" predict --model net.onnx --schema zero_std.json ktest.csv
check "a fitted schema with a zero deviation: exit 1" [ "$rc" -eq 1 ]
check_grep "  ... naming the file and the key" "zero_std\.json: encoder: numeric\[0\]\.std" "$err"
run "$SF" evaluate --model net.onnx --schema shown.json --test ktest.csv --split test
check "evaluate --schema --split test: usage error (the held-out rows are unknown)" [ "$rc" -eq 2 ]

# A graph with a node off the chain of layers, and one with two outputs
# (python3-onnx builds them): refused, naming the node.
cat >graphs.py <<'PY'
import sys
import numpy as np
from onnx import TensorProto, helper, numpy_helper, save
n = int(sys.argv[1])
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", n])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])
w = numpy_helper.from_array(np.zeros((n, 5), np.float32), "w")
b = numpy_helper.from_array(np.zeros((5,), np.float32), "b")
def model(nodes, outputs):
    g = helper.make_graph(nodes, "g", [x], outputs, [w, b])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
gemm = helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc")
side = helper.make_node("Abs", ["b"], ["b_abs"], name="side")
save(model([gemm, side], [y]), "offchain.onnx")
z = helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 5])
relu = helper.make_node("Relu", ["b"], ["z"], name="extra")
save(model([gemm, relu], [y, z]), "two_outputs.onnx")
PY
k=$(sed -n 's/^ *"inputs": \([0-9]*\),$/\1/p' shown.json)
run "$PY" graphs.py "$k"
check "python3-onnx builds the graphs" [ "$rc" -eq 0 ]
run "$SF" predict --model offchain.onnx --schema shown.json ktest.csv
check "a node off the chain of layers: exit 1" [ "$rc" -eq 1 ]
check_grep "  ... names the node, its operator and what is supported" \
  "offchain\.onnx: node 'side' \(Abs\): is not on the chain of layers from the input to the output; StreamFlow reads feed-forward networks of: Gemm, MatMul" "$err"
run "$SF" predict --model two_outputs.onnx --schema shown.json ktest.csv
check "a graph with two outputs: exit 1" [ "$rc" -eq 1 ]
check_grep "  ... says why" "two_outputs\.onnx: (node 'extra' \(Relu\): is not on the chain|the graph has 2 outputs)" "$err"

# ---- PyTorch ----
if ! "$PY" -c 'import torch, onnx' 2>/dev/null; then
  skip "PyTorch -> ONNX -> StreamFlow" "$PY cannot import torch and onnx (Debian's python3-torch and python3-onnx; scripts/install-deps installs them)"
  done_testing
fi
TORCH="$SF_ROOT/tests/onnx/torch_mlp.py"
cat >compare.py <<'PY'
import json, sys
sf = [json.loads(l) for l in open(sys.argv[1])]
pt = [[float(v) for v in l.split()] for l in open(sys.argv[2])]
assert len(sf) == len(pt), (len(sf), len(pt))
worst, wrong = 0.0, 0
for a, b in zip(sf, pt):
    p = list(a["probabilities"].values())
    worst = max(worst, max(abs(x - y) for x, y in zip(p, b)))
    wrong += a["class_index"] != max(range(len(b)), key=b.__getitem__)
print(f"rows {len(sf)} max_abs_diff {worst:.2e} argmax_mismatches {wrong}")
# predict prints 6 decimals: up to 5e-7 of the difference is rounding.
sys.exit(0 if worst <= 1e-5 and wrong == 0 else 1)
PY
"$SF" schema fit --schema "$DATA/nsl-kdd/schema.json" --data ktrain.csv -o kfit.json
for v in "17 relu-tanh" "11 flatten-leaky-sigmoid-softmax"; do
  set -- $v
  run "$PY" "$TORCH" kfit.json ktrain.csv "k$1.onnx" --opset "$1" --arch "$2" --rows ktest.csv --probs "k$1.txt"
  check "PyTorch trains and exports an MLP ($2) at opset $1" [ "$rc" -eq 0 ]
  run "$SF" predict --model "k$1.onnx" --schema kfit.json ktest.csv
  check "predict serves the opset $1 graph" [ "$rc" -eq 0 ]
  printf '%s\n' "$out" >"k$1.jsonl"
  run "$PY" compare.py "k$1.jsonl" "k$1.txt"
  check "opset $1: PyTorch's probabilities within 1e-5 and the same argmax on all $N rows" [ "$rc" -eq 0 ]
  echo "# opset $1 ($2): $out"
done

# Tabular data with missing values and categories: predict gives PyTorch's
# probabilities on every row, evaluate its mean cross-entropy and accuracy.
cat >compare_eval.py <<'PY'
import json, sys
sf = json.loads(open(sys.argv[1]).read()); pt = json.load(open(sys.argv[2]))
print(f"rows {sf['rows']}/{pt['rows']} loss {sf['loss']:.7f}/{pt['loss']:.7f} accuracy {sf['accuracy']:.5f}/{pt['accuracy']:.5f}")
# the same accuracy: the same number of rows right (JSON gives 10 digits)
same = round(sf["accuracy"] * sf["rows"]) == round(pt["accuracy"] * pt["rows"])
sys.exit(0 if sf["rows"] == pt["rows"] and abs(sf["loss"] - pt["loss"]) <= 1e-5 and same else 1)
PY
for v in "penguins penguins.csv.gz 17 relu-tanh" "credit_data credit_data.csv.gz 11 flatten-leaky-sigmoid-softmax"; do
  set -- $v
  "$SF" schema fit --schema "$DATA/$1/schema.json" --data "$DATA/$1/$2" -o "$1.fit.json"
  run "$PY" "$TORCH" "$1.fit.json" "$DATA/$1/$2" "$1.onnx" --opset "$3" --arch "$4" --steps 25 \
    --rows "$DATA/$1/$2" --summary "$1.pt.json" --probs "$1.pt.txt"
  check "$1: PyTorch trains and exports at opset $3" [ "$rc" -eq 0 ]
  run "$SF" predict --model "$1.onnx" --schema "$1.fit.json" "$DATA/$1/$2"
  check "$1: predict --schema exits 0" [ "$rc" -eq 0 ]
  printf '%s\n' "$out" >"$1.sf.jsonl"
  run "$PY" compare.py "$1.sf.jsonl" "$1.pt.txt"
  check "$1: PyTorch's probabilities within 1e-5 and the same argmax on every row" [ "$rc" -eq 0 ]
  echo "# $1 predict (opset $3, $4): $out"
  run "$SF" evaluate --model "$1.onnx" --schema "$1.fit.json" --test "$DATA/$1/$2" --json
  check "$1: evaluate --schema exits 0" [ "$rc" -eq 0 ]
  printf '%s\n' "$out" >"$1.sf.json"
  run "$PY" compare_eval.py "$1.sf.json" "$1.pt.json"
  check "$1: PyTorch's loss within 1e-5 and its accuracy, every row" [ "$rc" -eq 0 ]
  echo "# $1 (opset $3, $4): $out"
done

# Refused at start, naming the node, its operator and what is supported.
run "$PY" "$TORCH" kfit.json ktrain.csv sub.onnx --opset 13 --arch sub --steps 1
check "PyTorch exports a graph with Sub" [ "$rc" -eq 0 ]
run "$SF" predict --model sub.onnx --schema kfit.json ktest.csv
check "a graph with Sub: exit 1" [ "$rc" -eq 1 ]
check_grep "  ... names the node, Sub and the supported operators" \
  "sub\.onnx: node '[^']+' \(Sub\): operator 'Sub' is not supported; supported: Gemm, MatMul" "$err"
check_nogrep "  ... and scores nothing" "class" "$out"
run "$PY" "$TORCH" kfit.json ktrain.csv wide.onnx --opset 17 --extra-inputs 3 --steps 1
run "$SF" predict --model wide.onnx --schema kfit.json ktest.csv
check "a network 3 inputs wider than the encoder: exit 1" [ "$rc" -eq 1 ]
k=$(sed -n 's/^ *"inputs": \([0-9]*\),$/\1/p' kfit.json)
check_grep "  ... the widths named" "wide\.onnx: the network reads $((k + 3)) inputs, but kfit\.json encodes a row into $k " "$err"

# ---- score serves it through the broker ----
. "$SF_ROOT/tests/broker.sh"
broker_start --partitions 1 || done_testing
run "$SF" replay -q ktest.csv
check "replay $N rows" [ "$rc" -eq 0 ]
run "$SF" score -e -q --model k17.onnx --schema kfit.json
check "score --model NET.onnx --schema FITTED exits 0" [ "$rc" -eq 0 ]
kcat -C -b "$BROKERS" -t predictions -e -q -f '%k\t%h\t%s\n' >pred.txt
id=$(cat k17.onnx kfit.json | sha256sum | cut -c1-16)
check "every prediction carries the id of the network and its fitted schema" \
  [ "$(grep -c "model_id=$id" pred.txt)" -eq "$N" ]
# Predictions back in input order (the key is FILE:LINE), then as predict's lines.
sort -t: -k2,2n pred.txt | cut -f3 >scored.jsonl
run "$PY" compare.py scored.jsonl k17.txt
check "score: PyTorch's probabilities within 1e-5 and the same argmax on all $N records" [ "$rc" -eq 0 ]
echo "# score (opset 17): $out"

done_testing
