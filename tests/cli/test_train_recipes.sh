# train's recipe options: the default recipe's exact bytes, --class-weight,
# --early-stopping/--restore-best, --checkpoint and --resume (bit for bit).
. "$SF_ROOT/tests/lib.sh"

data="$SF_TMP/data"
mkdir -p "$data"
zcat "$SF_ROOT/data/nsl-kdd/KDDTrain+.txt.gz" | head -n 3000 >"$data/KDDTrain+.txt"
zcat "$SF_ROOT/data/nsl-kdd/KDDTest+.txt.gz" | head -n 1000 >"$data/KDDTest+.txt"
logs="$SF_TMP/logs"
sha() { sha256sum <"$1" | cut -d' ' -f1; }
# weights FILE: the tensor data of a safetensors file (after its header), as hex.
weights() { python3 -c 'import struct,sys; b=open(sys.argv[1],"rb").read(); n=struct.unpack("<Q",b[:8])[0]; print(b[8+n:].hex())' "$1"; }
# training FILE KEY: a field of the model's "training" metadata.
training() {
  python3 -c 'import json,struct,sys; b=open(sys.argv[1],"rb").read(); n=struct.unpack("<Q",b[:8])[0]
t=json.loads(json.loads(b[8:8+n])["__metadata__"]["training"]); print(json.dumps(t.get(sys.argv[2])))' "$1" "$2"
}

# ---- the default recipe, bit for bit ----
# The seed's recipe (every new option off) on the shipped NSL-KDD, 2 epochs
# of the default seed (the digest is of the tensor data; the metadata around
# it has changed since). The training kernels (AVX-512, AVX2, portable) give
# the same bits, so the digest holds on any CPU; it changes when the
# arithmetic of training does (recorded again with the kernels of nn/kernels.c,
# then with their softmax, sf_softmax_rows).
weights_sha() { weights "$1" | python3 -c 'import sys,hashlib; print(hashlib.sha256(bytes.fromhex(sys.stdin.read().strip())).hexdigest())'; }
run "$SF" train --epochs 2 --logdir "$logs" --model "$SF_TMP/default.safetensors"
check "default recipe trains" [ "$rc" -eq 0 ]
check "default recipe, 2 epochs, seed 42: the recorded SHA-256 of the weights ($(weights_sha "$SF_TMP/default.safetensors"))" \
  [ "$(weights_sha "$SF_TMP/default.safetensors")" = 374956ba7d870bdd38f073af0472ed2d85b2bb3ed9577a41691ec823de16b5f4 ]
run "$SF" train --epochs 2 --logdir "$logs" --model "$SF_TMP/again.safetensors"
check "the same seed gives the same file, byte for byte" cmp -s "$SF_TMP/default.safetensors" "$SF_TMP/again.safetensors"
check_nogrep "no class weights line by default" '^Class weights' "$out"
check "the model has no recipe metadata by default" [ "$(training "$SF_TMP/default.safetensors" class_weight)" = null ]

# ---- usage errors ----
run "$SF" train --class-weight R2l=3
check "--class-weight with an unknown class is a usage error" [ "$rc" -eq 2 ]
check_grep "... with a did-you-mean" "unknown class 'R2l' \(did you mean 'R2L'\?\)" "$err"
run "$SF" train --class-weight attack=3
check_grep "... or the list of classes" "the classes are normal, DoS, Probe, R2L, U2R" "$err"
run "$SF" train --class-weight R2L=-2
check "a negative weight is a usage error" [ "$rc" -eq 2 ]
run "$SF" train --monitor val_acc --early-stopping 2
check "--monitor val_acc is a usage error" [ "$rc" -eq 2 ]
check_grep "... with a did-you-mean" "did you mean 'val_accuracy'" "$err"
run "$SF" train --restore-best
check "--restore-best needs --early-stopping" [ "$rc" -eq 2 ]
run "$SF" train --min-delta 0.1
check "--min-delta needs --early-stopping" [ "$rc" -eq 2 ]
run "$SF" train --early-stopping -1
check "--early-stopping -1 is a usage error" [ "$rc" -eq 2 ]

# ---- class weights ----
run "$SF" train --data "$data" --epochs 1 --logdir "$logs" --model "$SF_TMP/plain.safetensors"
plain_loss=$(sed -nE 's/^Epoch 1\/1 .* - loss: ([0-9.]+) .*/\1/p' <<<"$out")
run "$SF" train --data "$data" --epochs 1 --class-weight R2L=10,U2R=50 --logdir "$logs" --model "$SF_TMP/cw.safetensors"
check "--class-weight R2L=10,U2R=50 trains" [ "$rc" -eq 0 ]
check_grep "prints the weights" '^Class weights: normal 1, DoS 1, Probe 1, R2L 10, U2R 50$' "$out"
cw_loss=$(sed -nE 's/^Epoch 1\/1 .* - loss: ([0-9.]+) .*/\1/p' <<<"$out")
check "the reported loss is the weighted one ($cw_loss vs $plain_loss unweighted)" [ "$cw_loss" != "$plain_loss" ]
check "the model records the weights" \
  [ "$(training "$SF_TMP/cw.safetensors" class_weight)" = '{"DoS": 1.0, "Probe": 1.0, "R2L": 10.0, "U2R": 50.0, "normal": 1.0}' ]
run "$SF" train --data "$data" --epochs 1 --class-weight balanced --logdir "$logs" --model "$SF_TMP/bal.safetensors"
check_grep "balanced: weights printed" '^Class weights: normal [0-9.]+, DoS [0-9.]+, Probe [0-9.]+, R2L [0-9.]+, U2R [0-9.]+$' "$out"

# ---- early stopping and the checkpoint directory ----
ck="$SF_TMP/ck"
run "$SF" train --data "$data" --epochs 30 --early-stopping 1 --restore-best --checkpoint "$ck" \
  --logdir "$logs" --model "$SF_TMP/es.safetensors"
check "--early-stopping 1 --restore-best trains" [ "$rc" -eq 0 ]
epochs_run=$(grep -c '^Epoch [0-9]*/30 ' <<<"$out")
check "stopped before 30 epochs (ran $epochs_run)" [ "$epochs_run" -lt 30 ]
check_grep "says which epoch stopped" "^Epoch $epochs_run: early stopping\$" "$out"
# The best epoch is the one with the lowest val_loss printed; with patience
# 1 the run stops one epoch after it.
best=$(sed -nE 's/^Epoch ([0-9]+)\/30 .* val_loss: ([0-9.]+) .*/\2 \1/p' <<<"$out" | sort -n -k1,1 -k2,2 | head -n 1 | cut -d' ' -f2)
check_grep "restores the best epoch ($best)" "^Restoring model weights from the end of the best epoch: $best\.\$" "$out"
check "patience 1: stopped the epoch after the best" [ "$epochs_run" -eq $((best + 1)) ]
check "the checkpoint directory holds last and best only (no temporary files)" \
  [ "$(ls "$ck" | tr '\n' ' ')" = "best.safetensors last.safetensors " ]
check "the saved model has the best epoch's weights (those of best.safetensors)" \
  [ "$(weights "$SF_TMP/es.safetensors")" = "$(weights "$ck/best.safetensors")" ]
check "best.safetensors is from the best epoch" [ "$(training "$ck/best.safetensors" epochs)" = "$best" ]
check "the model records the early stopping" \
  [ "$(training "$SF_TMP/es.safetensors" early_stopping)" = "{\"best_epoch\": $best, \"min_delta\": 0.0, \"monitor\": \"val_loss\", \"patience\": 1, \"restore_best\": true, \"stopped_epoch\": $epochs_run}" ]
run "$SF" evaluate --model "$ck/best.safetensors" --data "$data"
check "best.safetensors is a model evaluate reads" [ "$rc" -eq 0 ]
run "$SF" train --data "$data" --resume "$ck/last.safetensors" --epochs 30 --logdir "$logs" --model "$SF_TMP/x.safetensors"
check "a run that stopped early is not resumed" [ "$rc" -eq 2 ]
check_grep "... and says so" "stopped early after epoch $epochs_run" "$err"

# val_accuracy is maximised: --min-delta 1 can never be beaten after epoch 1.
run "$SF" train --data "$data" --epochs 5 --early-stopping 2 --monitor val_accuracy --min-delta 1 \
  --logdir "$logs" --model "$SF_TMP/acc.safetensors"
check_grep "val_accuracy with --min-delta 1: stops at epoch 3" '^Epoch 3: early stopping$' "$out"
check "... after 3 epochs" [ "$(grep -c '^Epoch [0-9]/5 ' <<<"$out")" -eq 3 ]

# ---- resume: the same bytes as an uninterrupted run ----
run "$SF" train --data "$data" --epochs 3 --logdir "$logs" --model "$SF_TMP/straight.safetensors"
run "$SF" train --data "$data" --epochs 1 --checkpoint "$SF_TMP/ck1" --logdir "$logs" --model "$SF_TMP/one.safetensors"
check "one epoch with --checkpoint" [ "$rc" -eq 0 ]
run "$SF" train --data "$data" --resume "$SF_TMP/ck1/last.safetensors" --epochs 3 --logdir "$logs" \
  --model "$SF_TMP/resumed.safetensors"
check "resume to 3 epochs" [ "$rc" -eq 0 ]
check_grep "says where it resumes" "^Resuming from .*ck1/last\.safetensors after epoch 1\$" "$out"
check "resume runs epochs 2 and 3" [ "$(grep -c '^Epoch [23]/3 ' <<<"$out")" -eq 2 ]
check "resume does not run epoch 1 again" [ "$(grep -c '^Epoch 1/3 ' <<<"$out")" -eq 0 ]
check "1 epoch + resume to 3 = 3 epochs straight, byte for byte" cmp -s "$SF_TMP/straight.safetensors" "$SF_TMP/resumed.safetensors"

# The same with every state a checkpoint carries: class weights, early
# stopping's counters and best weights, best.safetensors' tracker.
opts=(--data "$data" --class-weight balanced --early-stopping 8 --restore-best --seed 3 --logdir "$logs")
run "$SF" train "${opts[@]}" --epochs 4 --model "$SF_TMP/straight4.safetensors"
run "$SF" train "${opts[@]}" --epochs 2 --checkpoint "$SF_TMP/ck2" --model "$SF_TMP/two.safetensors"
run "$SF" train --data "$data" --resume "$SF_TMP/ck2/last.safetensors" --epochs 4 --logdir "$logs" \
  --model "$SF_TMP/resumed4.safetensors" --checkpoint "$SF_TMP/ck2"
check "resume with the checkpoint's options" [ "$rc" -eq 0 ]
check "class weights + restore-best: 2 epochs + resume to 4 = 4 straight, byte for byte" \
  cmp -s "$SF_TMP/straight4.safetensors" "$SF_TMP/resumed4.safetensors"

# ---- resume: what changes the recipe is refused ----
last="$SF_TMP/ck1/last.safetensors"
run "$SF" train --data "$data" --resume "$last" --epochs 3 --batch 32 --logdir "$logs" --model "$SF_TMP/x.safetensors"
check "another --batch is refused" [ "$rc" -eq 2 ]
check_grep "... naming both" "trained with --batch 64, this run asks for --batch 32" "$err"

# A checkpoint declaring 8 layers of 4096 (470 MB of weights, twice that of
# optimizer state) with a few KB of data fails naming the file and the
# tensor, in little memory: the header is checked before anything is sized.
python3 - "$last" "$SF_TMP/huge_ck.safetensors" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n]); data = raw[8 + n:]
meta = hdr["__metadata__"]
sizes = json.loads(meta["layer_sizes"])
sizes = [sizes[0]] + [4096] * 7 + [sizes[-1]]
meta["layer_sizes"] = json.dumps(sizes)
meta["activations"] = json.dumps(["relu"] * 7 + ["softmax"])
out = {"__metadata__": meta}
at = 0
def tensor(name, shape):
    global at
    size = 4
    for d in shape: size *= d
    out[name] = {"dtype": "F32", "shape": shape, "data_offsets": [at, at + size]}
    at += size
for l in range(8):
    tensor("dense_%d.kernel" % l, [sizes[l], sizes[l + 1]])
    tensor("dense_%d.bias" % l, [sizes[l + 1]])
params = sum((sizes[l] + 1) * sizes[l + 1] for l in range(8))
tensor("optimizer.m", [params])
tensor("optimizer.v", [params])
h = json.dumps(out).encode()
open(sys.argv[2], "wb").write(struct.pack("<Q", len(h)) + h + data)
PY
/usr/bin/time -f "maxrss %M" "$SF" train --data "$data" --resume "$SF_TMP/huge_ck.safetensors" --epochs 3 \
  --logdir "$logs" --model "$SF_TMP/x.safetensors" </dev/null >/dev/null 2>"$SF_TMP/huge_ck.err"
rc=$? err=$(cat "$SF_TMP/huge_ck.err")
sanitizer_check "train --resume huge_ck.safetensors" "$rc" "$err"
rss=$(sed -n 's/^maxrss //p' <<<"$err")
check "a checkpoint declaring 8 layers of 4096 on a few KB: exit 1" [ "$rc" -eq 1 ]
check_grep "... naming the file and the tensor" \
  "huge_ck\.safetensors: tensor 'dense_0\.kernel' has data_offsets outside the [0-9]+ bytes of data" "$err"
check "... its peak RSS is measured" [ -n "$rss" ]
check "... in under 200 MB of peak RSS (${rss} KB)" [ "${rss:-0}" -lt 204800 ]
run "$SF" train --data "$data" --resume "$last" --epochs 3 --lr 0.01 --logdir "$logs" --model "$SF_TMP/x.safetensors"
check "another --lr is refused" [ "$rc" -eq 2 ]
run "$SF" train --data "$data" --resume "$last" --epochs 3 --class-weight balanced --logdir "$logs" --model "$SF_TMP/x.safetensors"
check "other class weights are refused" [ "$rc" -eq 2 ]
check_grep "... naming the option" "with --class-weight none" "$err"
run "$SF" train --data "$data" --resume "$SF_TMP/ck2/last.safetensors" --epochs 5 --class-weight none --logdir "$logs" --model "$SF_TMP/x.safetensors"
check "dropping the class weights is refused" [ "$rc" -eq 2 ]
run "$SF" train --data "$data" --resume "$last" --epochs 1 --logdir "$logs" --model "$SF_TMP/x.safetensors"
check "--epochs not above the checkpoint's is refused" [ "$rc" -eq 2 ]
check_grep "... saying how many are done" "has 1 epochs done; pass --epochs above 1" "$err"
mkdir -p "$SF_TMP/other"
head -n 2500 "$data/KDDTrain+.txt" >"$SF_TMP/other/KDDTrain+.txt"
cp "$data/KDDTest+.txt" "$SF_TMP/other/"
run "$SF" train --data "$SF_TMP/other" --resume "$last" --epochs 3 --logdir "$logs" --model "$SF_TMP/x.safetensors"
check "other training data is refused" [ "$rc" -eq 2 ]
check_grep "... saying so" "the training data differs from the checkpoint's \(2500 rows of .*, the checkpoint 3000 rows\)" "$err"
run "$SF" train --data "$data" --resume "$SF_TMP/straight.safetensors" --epochs 3 --logdir "$logs" --model "$SF_TMP/x.safetensors"
check "a model file is not a checkpoint" [ "$rc" -eq 1 ]
check_grep "... says the error" "not a checkpoint" "$err"
check "nothing written by refused runs" [ ! -e "$SF_TMP/x.safetensors" ]

done_testing
