#!/usr/bin/env python3
"""NSL-KDD's encoder layout on KDDTrain+, computed apart from StreamFlow:
each numeric column's mean and population deviation (ddof=0) over the
file's text read as doubles (math.fsum), and each categorical column's
sorted vocabulary. test_table.c's test_encoder_nsl_kdd holds its output.

    python3 tests/data/nsl_kdd_layout.py [DATA_DIR]   (default data/nsl-kdd)
"""
import gzip
import json
import math
import sys

data = sys.argv[1] if len(sys.argv) > 1 else "data/nsl-kdd"
cols = json.load(open(f"{data}/schema.json"))["columns"]
num = [i for i, c in enumerate(cols) if c["type"] == "numeric"]
cat = [i for i, c in enumerate(cols) if c["type"] == "categorical"]
vals = {i: [] for i in num}
vocab = {i: set() for i in cat}
with gzip.open(f"{data}/KDDTrain+.txt.gz", "rt") as f:
    for line in f:
        line = line.rstrip("\r\n")
        if not line:
            continue
        fields = line.split(",")
        for i in num:
            vals[i].append(float(fields[i]))
        for i in cat:
            vocab[i].add(fields[i])
n = len(vals[num[0]])
print(f"/* {n} rows */")
for i in num:
    v = vals[i]
    mean = math.fsum(v) / n
    std = math.sqrt(math.fsum((x - mean) ** 2 for x in v) / n)
    print('        {"%s", %.17g, %.17g},' % (cols[i]["name"], mean, std))
for i in cat:
    print(cols[i]["name"], len(vocab[i]), json.dumps(sorted(vocab[i])))
