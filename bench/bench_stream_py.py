#!/usr/bin/env python3
"""The Python baseline for bench/bench_stream.sh: the scorer a user would
write with confluent-kafka and numpy (lighter than a deep-learning framework,
so this flatters Python). It consumes NSL-KDD rows, encodes them like
StreamFlow (scaled numeric columns, one-hot categoricals from the model's
vocabularies), runs the Dense 64-64-32-5 forward pass with numpy on each
micro-batch, and produces one JSON prediction per record.

Offsets are stored right after produce, without waiting for delivery
reports: weaker than StreamFlow's at-least-once, and faster.

    bench_stream_py.py [--records-per-message one|many]
                       [--predictions-per-message one|batch]
                       BROKERS TOPIC OUTPUT GROUP MODEL COUNT END_FILE

The two options mean what they mean to `streamflow score`: with `many` each
message holds newline-delimited rows (`streamflow replay
--records-per-message N`), each still parsed and scored alone; with `batch`
the predictions of a micro-batch go out as one message per source
partition (keyed by its number), one prediction a line. COUNT counts
records, not messages.

After the final flush it writes {"time_ms": wall clock} to END_FILE, like
`streamflow score --stats-json` does, so both end the clock at the same point.
"""
import argparse
import json
import struct
import time

import numpy as np
from confluent_kafka import Consumer, Producer

def load(path):
    """The network and the fitted encoder from a StreamFlow model file
    (safetensors, format_version 2: the schema and encoder in its metadata)."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    meta = hdr["__metadata__"]

    def tensor(name):
        t = hdr[name]
        b, e = t["data_offsets"]
        return np.frombuffer(data[b:e], dtype="<f4").reshape(t["shape"])

    layers = [(tensor("dense_%d.kernel" % i), tensor("dense_%d.bias" % i))
              for i in range(len(json.loads(meta["layer_sizes"])) - 1)]
    columns = [c["name"] for c in json.loads(meta["schema"])["columns"]]
    return columns, json.loads(meta["encoder"]), layers, json.loads(meta["class_names"])


def encoder(columns, enc):
    """Field indexes, means and deviations of the numeric inputs, and per
    categorical column its field, first input and vocabulary (the encoder's
    layout: the scaled numbers, then one one-hot block per column)."""
    if any(c["missing_flag"] for c in enc["numeric"]):
        raise SystemExit("bench_stream_py: models with missing-value inputs are not supported")
    numeric = [columns.index(c["column"]) for c in enc["numeric"]]
    mean = np.array([c["mean"] for c in enc["numeric"]], dtype=np.float32)
    std = np.array([c["std"] for c in enc["numeric"]], dtype=np.float32)
    std[std == 0] = 1
    vocab = []
    off = len(numeric)
    for c in enc["categorical"]:
        vocab.append((columns.index(c["column"]), off, {v: i for i, v in enumerate(c["vocabulary"])}))
        off += len(c["vocabulary"])
    return numeric, mean, std, vocab, enc["inputs"]


def records(msgs, many):
    """(message, line number in it, text) of every record in msgs."""
    out = []
    for m in msgs:
        text = m.value().decode("utf-8", "replace")
        if not many:
            out.append((m, 0, text))
            continue
        for i, line in enumerate(text.split("\n")):
            if line:
                out.append((m, i, line))
    return out


MAX_MESSAGE = 900000  # bytes of predictions in one message: under message.max.bytes (1 MB)


def produce(p, output, value, key):
    while True:
        try:
            p.produce(output, value=value, key=key)
            return
        except BufferError:
            p.poll(0.01)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records-per-message", choices=("one", "many"), default="one")
    ap.add_argument("--predictions-per-message", choices=("one", "batch"), default="one")
    for name in ("brokers", "topic", "output", "group", "model", "count", "end_file"):
        ap.add_argument(name)
    a = ap.parse_args()
    count = int(a.count)
    many, batch = a.records_per_message == "many", a.predictions_per_message == "batch"
    columns, enc, layers, classes = load(a.model)
    numeric, mean, std, vocab, n_in = encoder(columns, enc)
    n_num = len(numeric)

    c = Consumer({"bootstrap.servers": a.brokers, "group.id": a.group, "auto.offset.reset": "earliest",
                  "enable.auto.offset.store": False, "session.timeout.ms": 6000})
    p = Producer({"bootstrap.servers": a.brokers, "linger.ms": 5, "enable.idempotence": True,
                  "compression.type": "lz4"})
    c.subscribe([a.topic])
    done = 0
    t0 = None
    while done < count:
        msgs = c.consume(num_messages=1024, timeout=0.1)
        msgs = [m for m in msgs if not m.error()]
        if not msgs:
            p.poll(0)
            continue
        if t0 is None:
            t0 = time.time()
        recs = records(msgs, many)
        x = np.zeros((len(recs), n_in), dtype=np.float32)
        ok = []
        for r, (_, _, text) in enumerate(recs):
            f = text.split(",")
            try:
                x[r, :n_num] = [float(f[i]) for i in numeric]
            except (ValueError, IndexError):
                continue
            for field, base, idx in vocab:
                j = idx.get(f[field])
                if j is not None:
                    x[r, base + j] = 1
            ok.append(r)
        x[:, :n_num] = (x[:, :n_num] - mean) / std
        h = x
        for i, (w, b) in enumerate(layers):
            h = h @ w + b
            if i < len(layers) - 1:
                h = np.maximum(h, 0)
        h = np.exp(h - h.max(axis=1, keepdims=True))
        probs = h / h.sum(axis=1, keepdims=True)
        lines = {}  # source partition -> predictions, in batch mode
        for r in ok:
            m, line, _ = recs[r]
            cls = int(probs[r].argmax())
            pred = {"class": classes[cls], "class_index": cls, "confidence": float(probs[r, cls]),
                    "probabilities": dict(zip(classes, map(float, probs[r]))),
                    "topic": m.topic(), "partition": m.partition(), "offset": m.offset()}
            if many:
                pred["record"] = line
            value = json.dumps(pred)
            if batch:
                lines.setdefault(m.partition(), []).append(value)
            else:
                produce(p, a.output, value, m.key())
        for part, values in lines.items():  # keyed by the partition's number, as StreamFlow's
            # newline-terminated lines, in messages under Kafka's 1 MB limit
            chunk, size = [], 0
            for v in values + [None]:
                if chunk and (v is None or size + len(v) + 1 > MAX_MESSAGE):
                    produce(p, a.output, "".join(chunk), str(part))
                    chunk, size = [], 0
                if v is not None:
                    chunk.append(v + "\n")
                    size += len(v) + 1
        p.poll(0)
        for m in msgs:
            c.store_offsets(m)
        done += len(recs)
    p.flush(30)
    with open(a.end_file, "w") as f:
        f.write('{"time_ms":%d}\n' % int(time.time() * 1000))
    dt = time.time() - t0
    c.close()
    print("python: %d records in %.2f s, %.0f records/s" % (done, dt, done / dt))


if __name__ == "__main__":
    main()
