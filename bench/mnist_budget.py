"""Benchmark (not a test): how long the 03_mnist_optimizers reference takes on this machine, and what
accuracy it reaches under short grading budgets. Run: python bench/mnist_budget.py [--seeds 10]."""

import time

T_START = time.perf_counter()  # before importing torch, so the import cost is measured

import argparse
import json
import os
import statistics
import subprocess
import sys

import torch
import torch.nn.functional as F
import torch.optim as optim

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import solutions.mnist_optimizers as mnist  # noqa: E402
from course.grading import sibling  # noqa: E402
from solutions.mnist_optimizers import evaluate, load_mnist, make_model, train  # noqa: E402

grading = sibling(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "autograder",
                               "03_mnist_optimizers", "budget.py"), "budget")

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
           (10_000, 2, 128), (30_000, 2, 128), (60_000, 1, 128)]
# the grading budget (autograder/03_mnist_optimizers/budget.py), timed again as a grader would run it:
# 1 thread, 2 workers side by side
RECOMMENDED = (grading.BUDGET["train_size"], grading.BUDGET["epochs"], grading.BUDGET["batch_size"])
RECOMMENDED_CONFIGS = {
    **CONFIGS,
    "adam_exponential": {"optimizer": lambda p: optim.Adam(p, lr=1e-3),
                         "scheduler": lambda o: optim.lr_scheduler.ExponentialLR(o, gamma=0.5)},
    "adam_cosine": {"optimizer": lambda p: optim.Adam(p, lr=1e-3),
                    "scheduler": lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=RECOMMENDED[1])},
    "adam_mse": {"optimizer": lambda p: optim.Adam(p, lr=1e-3), "loss": "mse"},
}


def run_experiment(configs, data, epochs, batch_size, seed):
    """The reference's run_experiment, which trains on its module's DATA in batches of BATCH_SIZE."""
    mnist.DATA, mnist.BATCH_SIZE = data, batch_size
    return mnist.run_experiment(configs, epochs, seed)


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
    """Min, median and max wall seconds over repeats calls of fn()."""
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return min(ts), statistics.median(ts), max(ts)


def worker(root, seed):
    """One simulated grading job: load, run RECOMMENDED_CONFIGS once, print a JSON line."""
    torch.set_num_threads(1)
    t = time.perf_counter()
    n, epochs, bs = RECOMMENDED
    data = load_mnist(root, train_size=n)
    out = {"import_s": T_IMPORT, "load_s": time.perf_counter() - t, "configs": {}}
    for name, spec in RECOMMENDED_CONFIGS.items():
        t, c = time.perf_counter(), time.process_time()
        res = run_experiment({name: spec}, data, epochs=epochs, batch_size=bs, seed=seed)
        # CPU seconds as well as wall seconds: with 1 thread they agree unless other jobs steal the core
        out["configs"][name] = {"s": time.perf_counter() - t, "cpu_s": time.process_time() - c,
                                "acc": res[name]["accuracy"]}
    print(json.dumps(out))


def report_workers(label, outs):
    for i, o in enumerate(outs):
        train_s = sum(c["s"] for c in o["configs"].values())
        cpu_s = sum(c["cpu_s"] for c in o["configs"].values())
        print(f"{label} worker {i}: import {o['import_s']:.2f}s load {o['load_s']:.2f}s "
              f"training+eval of all {len(o['configs'])} configs {train_s:.2f}s wall, {cpu_s:.2f}s cpu")
        print("    " + "  ".join(f"{k} {c['s']:.2f}s/{c['acc']:.4f}" for k, c in o["configs"].items()))


def fmt_acc(accs):
    return f"min {min(accs):.4f} mean {statistics.mean(accs):.4f} max {max(accs):.4f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default="/work/shared/data")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--epoch-repeats", type=int, default=3)
    ap.add_argument("--recommended-only", action="store_true", help="skip sections 1-3")
    ap.add_argument("--worker", type=int, metavar="SEED", help="internal: run one simulated grading job")
    args = ap.parse_args()
    if args.worker is not None:
        return worker(args.root, args.worker)

    t = time.perf_counter()
    data = load_mnist(args.root)
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    load_mnist(args.root, train_size=10_000)
    t_load10k = time.perf_counter() - t
    # other jobs on the machine skew every timing below: check the load average before trusting them
    print(f"torch {torch.__version__}, cpu cores {os.cpu_count()}, load average {os.getloadavg()}")
    print(f"import torch+torchvision+solution: {T_IMPORT:.2f}s   load_mnist full: {t_load:.2f}s   "
          f"load_mnist(train_size=10000): {t_load10k:.2f}s   import+load: {T_IMPORT + t_load:.2f}s")

    for threads in [] if args.recommended_only else args.threads:
        torch.set_num_threads(threads)
        print(f"\n=== torch.set_num_threads({threads}) ===")
        # warm-up: the first steps after changing the thread count pay one-off start-up costs
        m = make_model()
        train(m, optim.Adam(m.parameters()), subset(data, 2000), epochs=1, batch_size=128)

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

        r_min, r_med, r_max = timed(ref, args.epoch_repeats)
        b_min, b_med, b_max = timed(bare, args.epoch_repeats)
        print(f"60k epoch, batch 128, Adam: reference train() min {r_min:.2f}s med {r_med:.2f}s max {r_max:.2f}s"
              f" | bare loop min {b_min:.2f}s med {b_med:.2f}s max {b_max:.2f}s | ratio ref/bare (min) "
              f"{r_min / b_min:.2f}")

        # 2. evaluate on the full 10k test set
        m = make_model()
        e_min, e_med, _ = timed(lambda: evaluate(m, data), 5)
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

    # 4. the recommended budget as graders run it: a fresh process per submission, 1 thread each,
    # first alone, then two at once (2 workers on 2 cores compete for memory bandwidth and cache)
    n, epochs, bs = RECOMMENDED
    print(f"\n=== recommended budget: train_size {n} epochs {epochs} batch {bs}, 1 thread, fresh process ===")
    cmd = [sys.executable, os.path.abspath(__file__), "--root", args.root, "--worker"]
    solo = subprocess.run(cmd + ["0"], capture_output=True, text=True, check=True)
    report_workers("solo", [json.loads(solo.stdout.splitlines()[-1])])
    procs = [subprocess.Popen(cmd + [str(seed)], stdout=subprocess.PIPE, text=True) for seed in (0, 1)]
    report_workers("parallel", [json.loads(p.communicate()[0].splitlines()[-1]) for p in procs])

    print(f"\ntotal bench time {time.perf_counter() - T_START:.0f}s, load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
