"""sklearn's side of bench/bench_tabular.sh, and the split both sides train on.

  bench_tabular.py split SCHEMA DATA SEED OUTDIR
      one stratified split, train_test_split(stratify=y, test_size=0.2,
      random_state=SEED): OUTDIR/train.csv and OUTDIR/test.csv, the rows as
      read (same columns, header as the schema says, empty field = missing)
  bench_tabular.py sklearn SCHEMA TRAIN TEST LAYERS EPOCHS SEED
      trains MLPClassifier with StreamFlow's recipe and encoding; prints one
      JSON object: accuracy, roc_auc (2 classes), seconds (read + encode +
      fit), fit_seconds (encode + fit), inputs, epochs
  bench_tabular.py table RESULTS
      the markdown table of medians over the seeds

Only Debian's python3-sklearn (with numpy and scipy): no pandas.
"""
import csv
import gzip
import json
import math
import statistics
import sys
import time
import warnings


def open_text(path):
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    if gz:
        return gzip.open(path, "rt", newline="", encoding="utf-8")
    return open(path, "r", newline="", encoding="utf-8")


class Schema:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        self.name = d.get("name", path)
        self.header = d.get("header", True)
        self.columns = d["columns"]
        self.names = [c["name"] for c in self.columns]
        self.label = next(i for i, c in enumerate(self.columns) if c["type"] == "label")
        lab = self.columns[self.label]
        self.classes = lab["classes"]
        self.map = lab.get("map", {})
        self.numeric = [i for i, c in enumerate(self.columns) if c["type"] == "numeric"]
        self.categorical = [i for i, c in enumerate(self.columns) if c["type"] == "categorical"]

    def class_index(self, raw):
        return self.classes.index(self.map.get(raw, raw))


def read_rows(schema, path):
    """The records of a CSV file as lists of strings (the header row checked and dropped)."""
    with open_text(path) as f:
        rows = [r for r in csv.reader(f) if r]
    if schema.header:
        if rows[0] != schema.names:
            sys.exit(f"bench_tabular.py: {path}: the header does not name the schema's columns")
        rows = rows[1:]
    for n, r in enumerate(rows):
        if len(r) != len(schema.columns):
            sys.exit(f"bench_tabular.py: {path}: record {n + 1} has {len(r)} fields, expected {len(schema.columns)}")
    return rows


def labels(schema, rows):
    import numpy as np

    return np.array([schema.class_index(r[schema.label]) for r in rows])


def cmd_split(schema_path, data, seed, outdir):
    from sklearn.model_selection import train_test_split

    schema = Schema(schema_path)
    rows = read_rows(schema, data)
    train, test = train_test_split(rows, stratify=labels(schema, rows), test_size=0.2, random_state=int(seed))
    for name, part in (("train", train), ("test", test)):
        with open(f"{outdir}/{name}.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            if schema.header:
                w.writerow(schema.names)
            w.writerows(part)


MISSING = "\0missing"  # a category no file holds: encodes as all zeros


def features(schema, rows):
    """Numeric columns as float64 (NaN = missing), categorical as strings."""
    import numpy as np

    cols = list(zip(*rows)) if rows else [()] * len(schema.columns)
    num = np.empty((len(rows), len(schema.numeric)), dtype=np.float64)
    for j, i in enumerate(schema.numeric):
        num[:, j] = np.array([v if v != "" else "nan" for v in cols[i]]).astype(np.float64)
    cat = np.empty((len(rows), len(schema.categorical)), dtype=object)
    for j, i in enumerate(schema.categorical):
        cat[:, j] = [v if v != "" else MISSING for v in cols[i]]
    return num, cat


class Encoder:
    """StreamFlow's encoding with sklearn's parts: numbers scaled by the mean and
    population deviation of the values present (StandardScaler disregards NaN
    when fitting), then a missing number becomes the mean, 0, with a 0/1
    "was missing" input for each column that had missing values in training
    (SimpleImputer(mean, add_indicator=True) after the scaler); categorical
    columns one-hot over the training values, a missing or unseen value all
    zeros (OneHotEncoder(handle_unknown='ignore') over the values present).
    Inputs in StreamFlow's order: numbers, "was missing" flags, one-hots."""

    def fit_transform(self, num, cat):
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        self.num = Pipeline([("scale", StandardScaler()), ("impute", SimpleImputer(strategy="mean", add_indicator=True))])
        cats = [sorted(set(cat[:, j]) - {MISSING}) for j in range(cat.shape[1])]
        self.cat = OneHotEncoder(categories=cats, handle_unknown="ignore", sparse_output=False)
        self.num.fit(num)
        if cat.shape[1]:
            self.cat.fit(cat)
        return self.transform(num, cat)

    def transform(self, num, cat):
        import numpy as np

        parts = [self.num.transform(num)]
        if cat.shape[1]:
            parts.append(self.cat.transform(cat))
        return np.hstack(parts).astype(np.float32)


def metrics(schema, y, proba):
    from sklearn.metrics import accuracy_score, roc_auc_score

    out = {"accuracy": float(accuracy_score(y, proba.argmax(axis=1)))}
    if len(schema.classes) == 2:
        out["roc_auc"] = float(roc_auc_score(y, proba[:, 1]))
    return out


def cmd_sklearn(schema_path, train_path, test_path, layers, epochs, seed):
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    schema = Schema(schema_path)
    # seconds: read the training file, fit the encoder and the network, as
    # `streamflow train` does; fit_seconds: the last two only
    t0 = time.perf_counter()
    rows = read_rows(schema, train_path)
    y = labels(schema, rows)
    num, cat = features(schema, rows)
    t1 = time.perf_counter()
    enc = Encoder()
    x = enc.fit_transform(num, cat)
    epochs = int(epochs)
    # StreamFlow's recipe: Adam (lr 1e-3, Keras' epsilon 1e-7), batches of 64
    # reshuffled every epoch, no L2, exactly EPOCHS epochs (sklearn's stop on
    # a flat training loss is turned off by n_iter_no_change > EPOCHS).
    model = MLPClassifier(
        hidden_layer_sizes=tuple(int(n) for n in layers.split(",")),
        activation="relu",
        solver="adam",
        learning_rate_init=1e-3,
        epsilon=1e-7,
        batch_size=64,
        max_iter=epochs,
        alpha=0.0,
        early_stopping=False,
        n_iter_no_change=epochs + 1,
        tol=0.0,
        shuffle=True,
        random_state=int(seed),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, y)
    t2 = time.perf_counter()

    rows = read_rows(schema, test_path)
    num, cat = features(schema, rows)
    proba = np.zeros((len(rows), len(schema.classes)))
    # predict_proba's columns are the classes seen in training
    proba[:, model.classes_] = model.predict_proba(enc.transform(num, cat))
    out = metrics(schema, labels(schema, rows), proba)
    out.update(
        seconds=t2 - t0, fit_seconds=t2 - t1, inputs=int(x.shape[1]), epochs=int(model.n_iter_), rows_train=len(y), rows_test=len(rows)
    )
    print(json.dumps(out))


def cmd_table(results):
    """RESULTS: one JSON object per line: set, seed, side (streamflow or
    sklearn), accuracy, roc_auc (2 classes), seconds; sklearn's also
    fit_seconds, rows_train, rows_test, inputs, epochs."""
    runs = [json.loads(line) for line in open(results, encoding="utf-8")]
    sets = list(dict.fromkeys(r["set"] for r in runs))

    def med(s, side, key):
        v = [r[key] for r in runs if r["set"] == s and r["side"] == side and key in r]
        return statistics.median(v) if v else None

    def cell(v, fmt):
        return "–" if v is None else fmt % v

    print("| data set | train / test rows | inputs | test accuracy: StreamFlow | sklearn | ROC AUC: StreamFlow | sklearn | training time: StreamFlow | sklearn |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s in sets:
        sk = next(r for r in runs if r["set"] == s and r["side"] == "sklearn")
        print(
            "| %s | %d / %d | %d | %s | %s | %s | %s | %s | %s (%s) |"
            % (
                s,
                sk["rows_train"],
                sk["rows_test"],
                sk["inputs"],
                cell(med(s, "streamflow", "accuracy"), "%.3f"),
                cell(med(s, "sklearn", "accuracy"), "%.3f"),
                cell(med(s, "streamflow", "roc_auc"), "%.3f"),
                cell(med(s, "sklearn", "roc_auc"), "%.3f"),
                cell(med(s, "streamflow", "seconds"), "%.2f s"),
                cell(med(s, "sklearn", "seconds"), "%.2f s"),
                cell(med(s, "sklearn", "fit_seconds"), "%.2f s"),
            )
        )


def main():
    cmds = {"split": (cmd_split, 4), "sklearn": (cmd_sklearn, 6), "table": (cmd_table, 1)}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds or len(sys.argv) - 2 != cmds[sys.argv[1]][1]:
        sys.exit(__doc__)
    fn, _ = cmds[sys.argv[1]]
    fn(*sys.argv[2:])


if __name__ == "__main__":
    main()
