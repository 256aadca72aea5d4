"""Trains a small PyTorch MLP on rows encoded exactly as StreamFlow's
encoder does (the "encoder" of a fitted schema, read here), exports it with
torch.onnx.export, and writes PyTorch's own class probabilities for rows.

  torch_mlp.py FITTED.json TRAIN.csv[.gz] OUT.onnx --opset N [--arch A]
               [--rows ROWS.csv[.gz] --probs OUT.txt] [--summary OUT.json]
               [--extra-inputs K]

--arch: "relu-tanh" (Linear, ReLU, Linear, Tanh, Linear: logits out) or
"flatten-leaky-sigmoid-softmax" (Flatten, Linear, LeakyReLU(0.2), Linear,
Sigmoid, Linear, Softmax), or "sub" (x - 0.5 first: an operator StreamFlow
does not read). --extra-inputs makes the network read K more inputs than
the encoder gives. --probs: one line per row of ROWS, the probabilities
separated by spaces (9 significant digits). --summary: over every row of
ROWS, the mean cross-entropy and the accuracy, as StreamFlow's evaluate
computes them.
"""
import argparse
import csv
import gzip
import io
import json
import math
import sys

import numpy as np
import torch


def read_rows(path, schema):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="") as f:
        rows = list(csv.reader(f))
    if schema.get("header", True):
        rows = rows[1:]
    return [r for r in rows if r]


def label_index(schema):
    cols = schema["columns"]
    at = next(i for i, c in enumerate(cols) if c["type"] == "label")
    classes = cols[at]["classes"]
    mapping = cols[at].get("map", {})
    return at, classes, mapping


def encode(rows, schema):
    """The encoder's layout: scaled numbers, "was missing" flags, one-hot
    blocks; an empty field is missing (StreamFlow's CSV reading)."""
    enc = schema["encoder"]
    names = [c["name"] for c in schema["columns"]]
    num, cat = enc["numeric"], enc["categorical"]
    n_flags = sum(1 for e in num if e["missing_flag"])
    x = np.zeros((len(rows), enc["inputs"]), dtype=np.float32)
    flag_at, f = [], len(num)
    for e in num:
        flag_at.append(f if e["missing_flag"] else -1)
        f += e["missing_flag"]
    for i, r in enumerate(rows):
        for j, e in enumerate(num):
            c = names.index(e["column"])
            s = r[c] if c < len(r) else ""
            if s == "":
                if flag_at[j] >= 0:
                    x[i, flag_at[j]] = 1.0
                continue
            # float32 arithmetic, as StreamFlow: (x - mean) / std
            v = np.float32(float(s))
            x[i, j] = (v - np.float32(e["mean"])) / np.float32(e["std"])
        base = len(num) + n_flags
        for e in cat:
            c = names.index(e["column"])
            s = r[c] if c < len(r) else ""
            if s in e["vocabulary"]:
                x[i, base + e["vocabulary"].index(s)] = 1.0
            base += len(e["vocabulary"])
    return x


def labels(rows, schema):
    at, classes, mapping = label_index(schema)
    y = []
    for r in rows:
        raw = r[at]
        y.append(classes.index(mapping.get(raw, raw)))
    return np.array(y, dtype=np.int64)


class Sub(torch.nn.Module):
    def forward(self, x):
        return x - 0.5


def network(arch, n_in, n_out):
    L = torch.nn.Linear
    if arch == "relu-tanh":
        return torch.nn.Sequential(L(n_in, 16), torch.nn.ReLU(), L(16, 8), torch.nn.Tanh(), L(8, n_out))
    if arch == "flatten-leaky-sigmoid-softmax":
        return torch.nn.Sequential(torch.nn.Flatten(), L(n_in, 12), torch.nn.LeakyReLU(0.2), L(12, 8),
                                   torch.nn.Sigmoid(), L(8, n_out), torch.nn.Softmax(dim=1))
    if arch == "sub":
        return torch.nn.Sequential(Sub(), L(n_in, 8), torch.nn.ReLU(), L(8, n_out))
    raise SystemExit(f"unknown --arch {arch}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fitted")
    ap.add_argument("train")
    ap.add_argument("onnx")
    ap.add_argument("--opset", type=int, required=True)
    ap.add_argument("--arch", default="relu-tanh")
    ap.add_argument("--rows")
    ap.add_argument("--probs")
    ap.add_argument("--summary")
    ap.add_argument("--extra-inputs", type=int, default=0)
    ap.add_argument("--steps", type=int, default=150)
    a = ap.parse_args()
    torch.manual_seed(7)
    torch.set_num_threads(1)
    schema = json.load(open(a.fitted))
    train = read_rows(a.train, schema)
    x = encode(train, schema)
    y = labels(train, schema)
    if a.extra_inputs:
        x = np.concatenate([x, np.zeros((len(x), a.extra_inputs), np.float32)], axis=1)
    classes = label_index(schema)[1]
    net = network(a.arch, x.shape[1], len(classes))
    softmax_out = a.arch.endswith("softmax")
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(a.steps):
        opt.zero_grad()
        out = net(xt)
        loss = torch.nn.functional.nll_loss(torch.log(out + 1e-12), yt) if softmax_out else \
            torch.nn.functional.cross_entropy(out, yt)
        loss.backward()
        opt.step()
    net.eval()
    torch.onnx.export(net, xt[:2], a.onnx, opset_version=a.opset, input_names=["x"], output_names=["scores"],
                      dynamic_axes={"x": {0: "n"}, "scores": {0: "n"}})
    if not a.rows:
        return
    rows = read_rows(a.rows, schema)
    with torch.no_grad():
        out = net(torch.from_numpy(encode(rows, schema)))
        probs = out if softmax_out else torch.softmax(out, dim=1)
    p = probs.numpy()
    if a.probs:
        with open(a.probs, "w") as f:
            for r in p:
                f.write(" ".join(f"{v:.9g}" for v in r) + "\n")
    if a.summary:
        yr = labels(rows, schema)
        loss = -np.mean([math.log(max(float(p[i, yr[i]]), 1e-45)) for i in range(len(yr))])
        acc = float(np.mean(np.argmax(p, axis=1) == yr))
        json.dump({"rows": len(yr), "loss": loss, "accuracy": acc}, open(a.summary, "w"))


if __name__ == "__main__":
    main()
