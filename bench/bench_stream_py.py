#!/usr/bin/env python3
"""The Python baseline for bench/bench_stream.sh: the scorer a user would
write with confluent-kafka and numpy (lighter than a deep-learning framework,
so this flatters Python). It consumes NSL-KDD rows, encodes them like
StreamFlow (scaled numeric columns, one-hot categoricals from the model's
vocabularies), runs the Dense 64-64-32-5 forward pass with numpy on each
micro-batch, and produces one JSON prediction per record.

Offsets are stored right after produce, without waiting for delivery
reports: weaker than StreamFlow's at-least-once, and faster.

    bench_stream_py.py BROKERS TOPIC OUTPUT GROUP MODEL COUNT END_FILE

After the final flush it writes {"time_ms": wall clock} to END_FILE, like
`streamflow score --stats-json` does, so both end the clock at the same point.
"""
import json
import struct
import sys
import time

import numpy as np
from confluent_kafka import Consumer, Producer

CLASSES = ["normal", "DoS", "Probe", "R2L", "U2R"]


def load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    meta = {k: json.loads(v) if v[:1] in "[{" else v for k, v in hdr["__metadata__"].items()}

    def tensor(name):
        t = hdr[name]
        b, e = t["data_offsets"]
        return np.frombuffer(data[b:e], dtype="<f4").reshape(t["shape"])

    layers = [(tensor("dense_%d.kernel" % i), tensor("dense_%d.bias" % i)) for i in range(4)]
    return meta, layers


def main():
    brokers, topic, output, group, model, count, end_file = sys.argv[1:8]
    count = int(count)
    meta, layers = load(model)
    mean = np.array(meta["mean"], dtype=np.float32)
    std = np.array(meta["std"], dtype=np.float32)
    std[std == 0] = 1
    vocab = []
    off = 38
    for key in ("protocol_type", "service", "flag"):
        vocab.append((off, {v: i for i, v in enumerate(meta[key])}))
        off += len(meta[key])
    n_in = off
    numeric = [i for i in range(41) if i not in (1, 2, 3)]

    c = Consumer({"bootstrap.servers": brokers, "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.offset.store": False, "session.timeout.ms": 6000})
    p = Producer({"bootstrap.servers": brokers, "linger.ms": 5, "enable.idempotence": True})
    c.subscribe([topic])
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
        x = np.zeros((len(msgs), n_in), dtype=np.float32)
        ok = []
        for r, m in enumerate(msgs):
            f = m.value().decode("utf-8", "replace").split(",")
            try:
                x[r, :38] = [float(f[i]) for i in numeric]
            except (ValueError, IndexError):
                continue
            for k, (base, idx) in enumerate(vocab):
                j = idx.get(f[1 + k])
                if j is not None:
                    x[r, base + j] = 1
            ok.append(r)
        x[:, :38] = (x[:, :38] - mean) / std
        h = x
        for i, (w, b) in enumerate(layers):
            h = h @ w + b
            if i < 3:
                h = np.maximum(h, 0)
        h = np.exp(h - h.max(axis=1, keepdims=True))
        probs = h / h.sum(axis=1, keepdims=True)
        for r in ok:
            m = msgs[r]
            cls = int(probs[r].argmax())
            value = json.dumps({"class": CLASSES[cls], "class_index": cls, "confidence": float(probs[r, cls]),
                                "probabilities": dict(zip(CLASSES, map(float, probs[r]))),
                                "topic": m.topic(), "partition": m.partition(), "offset": m.offset()})
            while True:
                try:
                    p.produce(output, value=value, key=m.key())
                    break
                except BufferError:
                    p.poll(0.01)
        p.poll(0)
        for m in msgs:
            c.store_offsets(m)
        done += len(msgs)
    p.flush(30)
    with open(end_file, "w") as f:
        f.write('{"time_ms":%d}\n' % int(time.time() * 1000))
    dt = time.time() - t0
    c.close()
    print("python: %d records in %.2f s, %.0f records/s" % (done, dt, done / dt))


if __name__ == "__main__":
    main()
