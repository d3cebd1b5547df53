"""Benchmark (not a test): how long the 03_mnist_optimizers reference takes on this machine, and what
accuracy it reaches under short grading budgets. Run: python bench/mnist_budget.py [--seeds 10]."""

import time

T_START = time.perf_counter()  # before importing torch, so the import cost is measured

import argparse
import os
import statistics
import sys

import torch
import torch.nn.functional as F
import torch.optim as optim

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from solutions.mnist_optimizers import evaluate, load_mnist, make_model, run_experiment, train  # noqa: E402

T_IMPORT = time.perf_counter() - T_START

# the configs a grader would run; adam_lr0.1 must come out clearly worse than adam_lr1e-3
CONFIGS = {
    "adam_lr1e-3": lambda p: optim.Adam(p, lr=1e-3),
    "sgd_mom0.9": lambda p: optim.SGD(p, lr=0.01, momentum=0.9),
    "sgd_plain": lambda p: optim.SGD(p, lr=0.01),
    "adam_lr1e-2": lambda p: optim.Adam(p, lr=1e-2),
    "adam_lr0.1": lambda p: optim.Adam(p, lr=0.1),
}
# (train_size, epochs, batch_size): candidate grading budgets
BUDGETS = [(10_000, 1, 64), (10_000, 1, 128), (12_000, 1, 64), (12_000, 1, 128),
           (10_000, 2, 128), (60_000, 1, 128)]


def subset(data, n):
    """First n training samples, same as load_mnist(root, train_size=n), without re-reading the files."""
    return {**data, "x_train": data["x_train"][:n], "y_train": data["y_train"][:n]}


def bare_epoch(model, optimizer, x, y, batch_size, g):
    """The minimal loop: no loss history, no clipping, no scheduler hooks."""
    model.train()
    for idx in torch.randperm(x.shape[0], generator=g).split(batch_size):
        optimizer.zero_grad()
        F.cross_entropy(model(x[idx]), y[idx]).backward()
        optimizer.step()


def timed(fn, repeats):
    """Min and median wall seconds over repeats calls of fn()."""
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return min(ts), statistics.median(ts)


def fmt_acc(accs):
    return f"min {min(accs):.4f} mean {statistics.mean(accs):.4f} max {max(accs):.4f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default="/work/shared/data")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--epoch-repeats", type=int, default=2)
    args = ap.parse_args()

    t = time.perf_counter()
    data = load_mnist(args.root)
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    load_mnist(args.root, train_size=10_000)
    t_load10k = time.perf_counter() - t
    print(f"torch {torch.__version__}, cpu cores {os.cpu_count()}")
    print(f"import torch+torchvision+solution: {T_IMPORT:.2f}s   load_mnist full: {t_load:.2f}s   "
          f"load_mnist(train_size=10000): {t_load10k:.2f}s   import+load: {T_IMPORT + t_load:.2f}s")

    for threads in args.threads:
        torch.set_num_threads(threads)
        print(f"\n=== torch.set_num_threads({threads}) ===")

        # 1. one epoch on the full 60k, reference train() vs the bare loop, batch 128
        def ref():
            torch.manual_seed(0)
            m = make_model()
            train(m, optim.Adam(m.parameters(), lr=1e-3), data, epochs=1, batch_size=128, seed=0)

        def bare():
            torch.manual_seed(0)
            m = make_model()
            bare_epoch(m, optim.Adam(m.parameters(), lr=1e-3), data["x_train"], data["y_train"], 128,
                       torch.Generator().manual_seed(0))

        r_min, r_med = timed(ref, args.epoch_repeats)
        b_min, b_med = timed(bare, args.epoch_repeats)
        print(f"60k epoch, batch 128, Adam: reference train() min {r_min:.2f}s med {r_med:.2f}s | "
              f"bare loop min {b_min:.2f}s med {b_med:.2f}s | ratio ref/bare {r_min / b_min:.2f}")

        # 2. evaluate on the full 10k test set
        m = make_model()
        e_min, e_med = timed(lambda: evaluate(m, data), 5)
        print(f"evaluate(10k test): min {e_min * 1000:.0f}ms med {e_med * 1000:.0f}ms")

        # 3. candidate budgets: per-config wall time and accuracy over seeds
        # (accuracy is thread-independent up to float noise, so extra threads get a single seed)
        seeds = range(args.seeds) if threads == 1 else range(1)
        for n, epochs, bs in BUDGETS:
            d = subset(data, n)
            secs = {k: [] for k in CONFIGS}
            accs = {k: [] for k in CONFIGS}
            for seed in seeds:
                for name, make_opt in CONFIGS.items():
                    t = time.perf_counter()
                    res = run_experiment({name: make_opt}, d, epochs=epochs, batch_size=bs, seed=seed)
                    secs[name].append(time.perf_counter() - t)
                    accs[name].append(res[name]["accuracy"])
            total = sum(statistics.mean(v) for v in secs.values())
            print(f"-- train_size {n} epochs {epochs} batch {bs}: {len(seeds)} seed(s), "
                  f"all {len(CONFIGS)} configs {total:.2f}s per seed")
            for name in CONFIGS:
                print(f"   {name:12s} {statistics.mean(secs[name]):.2f}s/run  acc {fmt_acc(accs[name])}"
                      + (f"  per-seed {[round(a, 4) for a in accs[name]]}" if len(seeds) > 1 else ""))
            sys.stdout.flush()

    print(f"\ntotal bench time {time.perf_counter() - T_START:.0f}s")


if __name__ == "__main__":
    main()
