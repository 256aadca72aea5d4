"""PyTorch's side of bench_train: the same network (122 -> 64 -> 64 -> 32 -> 5,
ReLU, softmax cross-entropy), Adam with Keras' settings (lr 0.001, eps 1e-7),
batches of 64 over a fresh permutation every epoch, on one thread, over the
rows StreamFlow encoded (dense, 122 floats a row).

    /usr/bin/python3 bench_train_torch.py X_FILE Y_FILE N_ROWS N_INPUTS N_CLASSES

X_FILE holds N_ROWS x N_INPUTS float32, Y_FILE N_ROWS int32. Prints
"ready TORCH_VERSION", then for every line "epoch" on stdin trains one epoch
and prints its seconds (from the permutation to the last Adam step), wall and
CPU (of this process: on a shared machine the CPU seconds do not count the
time other programs held the core), so that the caller can alternate it with
its own epochs. The loop keeps no running
loss or accuracy (StreamFlow's does): this is PyTorch's best case.
"""

import sys
import time

import numpy as np
import torch


def main():
    x_file, y_file = sys.argv[1], sys.argv[2]
    n, n_in, n_classes = (int(v) for v in sys.argv[3:6])
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.manual_seed(42)
    x = torch.from_numpy(np.fromfile(x_file, dtype=np.float32).reshape(n, n_in))
    y = torch.from_numpy(np.fromfile(y_file, dtype=np.int32).astype(np.int64))
    model = torch.nn.Sequential(
        torch.nn.Linear(n_in, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 32), torch.nn.ReLU(),
        torch.nn.Linear(32, n_classes))
    opt = torch.optim.Adam(model.parameters(), lr=0.001, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    batch = 64
    print("ready", torch.__version__, flush=True)
    for line in sys.stdin:
        if line.strip() != "epoch":
            continue
        t0, c0 = time.perf_counter(), time.process_time()
        perm = torch.randperm(n)
        for start in range(0, n, batch):
            idx = perm[start:start + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        print("%.6f %.6f" % (time.perf_counter() - t0, time.process_time() - c0), flush=True)


if __name__ == "__main__":
    main()
