"""Benchmark (not a test): run the 03_mnist_optimizers notebook top to bottom as a student runs it
(its default parameters, self-checks included, the kernel's default thread count) and compare with a
bare training loop measured in the same run, on the same machine. Target: at most 90 s on 2 cores.

The notebook is the released one with the reference's answers (examples/submitted/perfect/...), which is
what a student who solved it runs. A source notebook works too: its hidden test sections are dropped.
Run: python bench/notebook_runtime.py [--notebook PATH]
MNIST comes from COURSE_DATA_DIR (else ../shared/data): the notebook's DATA_DIR = "data" is a link to it.
"""
import argparse
import json
import os
import re
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat
import torch
import torch.nn.functional as F
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from solutions.mnist_optimizers import load_mnist, make_model  # noqa: E402

# Appended after the last cell: how much training the notebook did, to size the bare loop.
PROBE = 'import json; print(json.dumps({"configs": len(CONFIGS), "epochs": EPOCHS, "images": len(DATA["x_train"]), "batch": BATCH_SIZE}))'


def bare_epoch(data, batch_size) -> float:
    """Seconds for one epoch of the minimal loop (Adam, cross-entropy, nothing recorded)."""
    torch.manual_seed(0)
    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.Generator().manual_seed(0)
    started = time.perf_counter()
    model.train()
    for idx in torch.randperm(len(data["x_train"]), generator=order).split(batch_size):
        optimizer.zero_grad()
        F.cross_entropy(model(data["x_train"][idx]), data["y_train"][idx]).backward()
        optimizer.step()
    return time.perf_counter() - started


def cell_seconds(cell) -> float:
    timing = cell.get("metadata", {}).get("execution", {})
    if "iopub.status.busy" not in timing or "iopub.status.idle" not in timing:
        return 0.0
    busy, idle = (datetime.fromisoformat(timing[k].replace("Z", "+00:00")) for k in ("iopub.status.busy", "iopub.status.idle"))
    return (idle - busy).total_seconds()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", type=Path,
                        default=ROOT / "examples" / "submitted" / "perfect" / "03_mnist_optimizers" / "mnist_optimizers.ipynb")
    parser.add_argument("--target", type=float, default=90.0, help="seconds the notebook may take")
    args = parser.parse_args()
    data_dir = Path(os.environ.get("COURSE_DATA_DIR") or ROOT.parent / "shared" / "data").resolve()
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, "
          f"load average {os.getloadavg()[0]:.2f}")

    notebook = nbformat.read(args.notebook, as_version=4)
    for cell in notebook.cells:  # a student's copy has no hidden tests (they need the course folder)
        cell.source = re.sub(r"\n?### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", cell.source, flags=re.S)
    notebook.cells.append(nbformat.v4.new_code_cell(PROBE))
    with tempfile.TemporaryDirectory(prefix="notebook-runtime-") as scratch:
        (Path(scratch) / "data").symlink_to(data_dir)
        client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": scratch}})
        started = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - started
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        print(f"the notebook raised {errors[0]['ename']}: {errors[0]['evalue']}")
        return 1
    scale = json.loads(notebook.cells[-1].outputs[0]["text"])
    slowest = sorted(((cell_seconds(c), c.metadata.get("nbgrader", {}).get("grade_id", "?")) for c in notebook.cells), reverse=True)[:4]

    # The same training done by the minimal loop, in this process, with the same number of threads.
    data = load_mnist(str(data_dir), scale["images"])
    bare_epoch({k: v[:2048] for k, v in data.items()}, scale["batch"])  # warm-up
    epoch = min(bare_epoch(data, scale["batch"]) for _ in range(2))
    bare = epoch * scale["configs"] * scale["epochs"]

    print(f"notebook, top to bottom: {seconds:.1f} s (target {args.target:.0f} s)")
    print("slowest cells: " + ", ".join(f"{name} {s:.1f} s" for s, name in slowest))
    print(f"bare loop: {epoch:.2f} s per epoch of {scale['images']} images x {scale['configs']} configs x "
          f"{scale['epochs']} epochs = {bare:.1f} s")
    print(f"ratio notebook / bare loop: {seconds / bare:.2f}")
    return 0 if seconds <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
