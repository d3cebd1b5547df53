"""`course bundle ASSIGNMENT --out autograder.zip`: Gradescope's autograder zip for one assignment, and
`course bundle ... --check DIR --notebook NB` to replay it in a fake /autograder tree and compare its
results with `course grade`'s on the same notebooks.

The zip follows Gradescope's published layout (setup.sh and run_autograder at its root; unpacked to
/autograder/source; the submission in /autograder/submission; the result in
/autograder/results/results.json) and holds only what grading the assignment reads:

    setup.sh, run_autograder    written below; run_autograder runs `python -m course.scale.gradescope`
    bundle.json                 the assignment, where hidden tests are shown, the engine's digest
    requirements.txt            this package's pinned dependencies, less torch (installed CPU-only first)
    engine/                     this package (pyproject.toml, README.md, course/), installed by setup.sh
    course.toml, source/, release/, autograder/, solutions/     the course, for this assignment only
    data/                       the datasets the assignment reads (MNIST's official files for 03)
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..config import ConfigError, Course

# Where Gradescope shows a test the course does not mark visible (@graded(visible=False)); its own names.
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
ENGINE_PACKAGE = Path(__file__).resolve().parents[1]  # the course package (this file is course/scale/bundle.py)
ENGINE_ROOT = ENGINE_PACKAGE.parent  # where pyproject.toml is
# Dependencies one Gradescope container never uses: `course grade --cluster`, `course similarity`, the tests' browser.
NOT_FOR_GRADING = ("distributed", "copydetect", "websocket-client")
TORCH = ("torch", "torchvision")  # installed first, CPU-only, from PyTorch's own index
SKIPPED = ("__pycache__", ".ipynb_checkpoints")

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image: Ubuntu 22.04 by default,
# whose python3 is 3.10, and this grader needs 3.11. Written by `course bundle`; plain pip only.
set -euo pipefail
SOURCE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"   # /autograder/source
ROOT="$(dirname "$SOURCE")"                              # /autograder
# CPU-only wheels (no CUDA libraries: a few hundred MB instead of several GB).
TORCH_INDEX_URL="${{TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}}"

if ! command -v python3.11 >/dev/null 2>&1; then
    # Ubuntu 22.04's own Python 3.11, from its universe component (deadsnakes' PPA has it too).
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3.11 python3.11-venv
fi
python3.11 -m venv "$ROOT/venv"
PIP=("$ROOT/venv/bin/python" -m pip --disable-pip-version-check --no-cache-dir --quiet install)
"${{PIP[@]}}" --index-url "$TORCH_INDEX_URL" {torch}
"${{PIP[@]}}" -r "$SOURCE/requirements.txt"
"${{PIP[@]}}" --no-deps "$SOURCE/engine"
# The graders, the reference and course.toml are root's alone; kernels see only the data, read-only.
chmod -R go-rwx "$SOURCE"
if [ -d "$SOURCE/data" ]; then chmod -R a+rX "$SOURCE/data"; fi
# Check the setup (graders, data, kernel sandbox) and build the gradebook restoring uses, once, here.
"$ROOT/venv/bin/python" -m course.scale.gradescope --prepare --root "$ROOT"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this as root in /autograder for every submission. Written by `course bundle`.
# It grades the one notebook in /autograder/submission with the engine of `course grade` (the kernel
# sandboxed, as an unprivileged uid of its own) and writes /autograder/results/results.json once.
ROOT="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"   # /autograder: Gradescope copies this file there
PYTHON="${{COURSE_PYTHON:-$ROOT/venv/bin/python}}"
"$PYTHON" -m course.scale.gradescope --root "$ROOT"
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then  # the grader itself could not start: still one results.json
    mkdir -p "$ROOT/results"
    cat > "$ROOT/results/.results.json.tmp" <<EOF
{{"score": null, "tests": [], "stdout_visibility": "hidden",
 "output": "{not_graded}",
 "extra_data": {{"status": "grader-error", "grader_errors": ["run_autograder: the grader exited with status $status before writing results (see the autograder output)"]}}}}
EOF
    mv "$ROOT/results/.results.json.tmp" "$ROOT/results/results.json"
fi
"""


# --- what grading reads from the course -------------------------------------------------------------

def grading_files(course: Course, assignment_ids: list[str]) -> dict[str, bytes]:
    """Relative path -> bytes of everything grading these assignments reads from the course folder:
    course.toml (keeping only their tables), their source and released notebooks, their graders (with
    the files beside the graders' folders), and the reference modules."""
    files = {"course.toml": only_assignments((course.root / "course.toml").read_text(), assignment_ids).encode()}
    folders = [course.path(kind, a) for a in assignment_ids for kind in ("source", "release", "autograder")]
    for folder in folders + [course.path("solutions")]:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not any(part in SKIPPED for part in path.parts) and path.suffix != ".pyc":
                files[path.relative_to(course.root).as_posix()] = path.read_bytes()
    for path in sorted(course.path("autograder").glob("*")):
        if path.is_file():
            files[path.relative_to(course.root).as_posix()] = path.read_bytes()
    return files


def only_assignments(toml: str, assignment_ids: list[str]) -> str:
    """course.toml's text without the [assignments.X...] tables of other assignments."""
    kept, keep = [], True
    for line in toml.splitlines(keepends=True):
        header = line.strip()
        if header.startswith("[") and not header.startswith("[["):
            name = header.split("]")[0].strip("[ ").split(".")
            keep = not (name[0] == "assignments" and len(name) > 1 and name[1] not in assignment_ids)
        if keep:
            kept.append(line)
    return "".join(kept)


def data_files(course: Course, assignment_ids: list[str]) -> dict[str, bytes]:
    """Path below the data folder -> bytes of the datasets these assignments read."""
    from ..doctor import DATASETS

    names = sorted({name for a in assignment_ids for name in course.assignment(a).datasets})
    return {f"{name}/raw/{file}": (course.data_dir / name / "raw" / file).read_bytes()
            for name in names for file in DATASETS[name]}


# --- the zip ------------------------------------------------------------------------------------

def engine_digest() -> str:
    """The digest of this grading engine's source (the `course` package): a bundle and a cluster's
    workers say which engine they hold, and workers must hold this one."""
    digest = hashlib.sha256()
    for path in sorted(ENGINE_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(ENGINE_PACKAGE).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()[:20]


def pinned_requirements() -> tuple[list[str], list[str]]:
    """(torch and torchvision pins, every other pinned dependency a Gradescope container needs), from pyproject.toml."""
    declared = tomllib.loads((ENGINE_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    name = lambda pin: re.split(r"[=<>!~\[ ;]", pin, maxsplit=1)[0].lower()  # noqa: E731
    torch = [pin for pin in declared if name(pin) in TORCH]
    rest = [pin for pin in declared if name(pin) not in TORCH + NOT_FOR_GRADING]
    return torch, rest


def engine_files() -> dict[str, bytes]:
    """This package as pip installs it: pyproject.toml, the README it names, and course/**/*.py."""
    files = {f"engine/{name}": (ENGINE_ROOT / name).read_bytes() for name in ("pyproject.toml", "README.md")}
    for path in sorted(ENGINE_PACKAGE.rglob("*.py")):
        files[f"engine/course/{path.relative_to(ENGINE_PACKAGE).as_posix()}"] = path.read_bytes()
    return files


def bundle_files(course: Course, assignment_id: str, hidden: str) -> dict[str, bytes]:
    """Every file of the zip, by its path in the zip."""
    assignment = course.assignment(assignment_id)
    torch, rest = pinned_requirements()
    files = grading_files(course, [assignment_id])
    # The bundle reads its data from its own data/ folder, whatever this machine's course.toml says.
    files["course.toml"] = re.sub(rb'(?m)^data_dir\s*=.*$', b'data_dir = "data"  # the bundle\'s own data/',
                                  files["course.toml"], count=1)
    files.update({f"data/{name}": blob for name, blob in data_files(course, [assignment_id]).items()})
    files.update(engine_files())
    files["requirements.txt"] = ("\n".join(rest) + "\n").encode()
    files["bundle.json"] = json.dumps({"assignment": assignment.id, "max_score": assignment.max_score,
                                       "hidden_tests": hidden, "course": course.id, "engine": engine_digest()},
                                      indent=2).encode()
    not_graded = ("Not graded yet: the grader had a problem of its own, not one in your work. Any score shown "
                  "for this submission is not your grade; your instructor has been told and will run it again.")
    files["setup.sh"] = SETUP_SH.format(torch=" ".join(torch)).encode()
    files["run_autograder"] = RUN_AUTOGRADER.format(not_graded=not_graded).encode()
    return files


def build(course: Course, assignment_id: str, out: Path, hidden: str = "after_published") -> Path:
    """Write the assignment's Gradescope autograder zip to `out`; returns its path."""
    if hidden not in VISIBILITIES:
        raise ConfigError(f"--hidden-tests {hidden}: give one of {', '.join(VISIBILITIES)}.")
    from ..doctor import diagnose

    problems = [f.problem for f in diagnose(course, [assignment_id], isolate=False, download=False)]
    if problems:  # a bundle that cannot grade must not be uploaded
        raise ConfigError(problems[0])
    files = bundle_files(course, assignment_id, hidden)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # the same course gives the same bytes
            info.external_attr = (0o755 if name in ("setup.sh", "run_autograder") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    partial.replace(out)
    return out


# --- --check: the layout replayed here ----------------------------------------------------------

@dataclass
class Replay:
    notebook: Path
    results: dict
    seconds: float
    peak_mb: float


def tree_pss_mb(pid: int) -> float:
    """Proportional set size of a process and all its descendants (shared pages counted once), in MB."""
    total, todo = 0.0, [pid]
    while todo:
        process = todo.pop()
        try:
            with open(f"/proc/{process}/smaps_rollup") as rollup:
                total += sum(int(line.split()[1]) for line in rollup if line.startswith("Pss:")) / 1024
            for task in os.listdir(f"/proc/{process}/task"):
                with open(f"/proc/{process}/task/{task}/children") as children:
                    todo += [int(child) for child in children.read().split()]
        except OSError:
            continue
    return total


def run_measured(command: list[str], env: dict, cwd: Path) -> tuple[int, float, float, str]:
    """(exit status, wall seconds, peak PSS of its process tree in MB sampled every 0.2 s, output)."""
    started, peak = time.monotonic(), [0.0]
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def sample():
        while process.poll() is None:
            peak[0] = max(peak[0], tree_pss_mb(process.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    sampler.join()
    return process.returncode, time.monotonic() - started, peak[0], output


def lay_out(zip_path: Path, root: Path) -> None:
    """A fresh /autograder tree at `root` from the zip, as Gradescope's image build lays it."""
    source = root / "source"
    if source.exists():
        shutil.rmtree(source)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(source)
    for name in ("setup.sh", "run_autograder"):
        os.chmod(source / name, 0o755)
    shutil.copy(source / "run_autograder", root / "run_autograder")


def replay(root: Path, notebook: Path, env: dict) -> Replay:
    """Run run_autograder on one notebook, as Gradescope would, and read its results.json."""
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder, ignore_errors=True)
        (root / folder).mkdir(parents=True)
    shutil.copy(notebook, root / "submission" / notebook.name)
    metadata = {"id": 1, "users": [{"email": "student@example.com", "id": 1, "name": "Student"}],
                "assignment": {"title": "replay"}, "previous_submissions": []}
    (root / "submission_metadata.json").write_text(json.dumps(metadata))
    status, seconds, peak, output = run_measured([str(root / "run_autograder")], env, root)
    try:
        results = json.loads((root / "results" / "results.json").read_text())
    except (OSError, json.JSONDecodeError):
        results = {"score": None, "tests": [], "extra_data": {"status": f"no results.json (exit {status})"}}
    if status != 0:
        print(output, file=sys.stderr)
    return Replay(notebook, results, seconds, peak)


def differences(bundled: dict, graded: dict) -> list[str]:
    """Where the bundle's results and `course grade`'s differ: the score, or any test's score."""
    found = [] if bundled.get("score") == graded.get("score") else [f"score {bundled.get('score')} != {graded.get('score')}"]
    ours = {t["name"]: t["score"] for t in graded.get("tests", [])}
    theirs = {t["name"]: t["score"] for t in bundled.get("tests", [])}
    found += [f"{name}: {theirs.get(name)} != {ours.get(name)}" for name in sorted(set(ours) | set(theirs))
              if theirs.get(name) != ours.get(name)]
    return found


def check(course: Course, zip_path: Path, check_dir: Path, notebooks: list[Path], setup: bool) -> int:
    """Replay the zip in a fake /autograder tree under `check_dir` on each notebook, and compare each
    result with `course grade` on the same notebook. 0 when every score agrees."""
    from ..grade import main as grade

    bundle = json.loads(zipfile.ZipFile(zip_path).read("bundle.json"))
    root = Path(check_dir).resolve() / "autograder"
    root.mkdir(parents=True, exist_ok=True)
    lay_out(zip_path, root)
    env = {k: v for k, v in os.environ.items() if k != "COURSE_DATA_DIR"}  # the bundle reads its own data
    if setup:
        status, seconds, _, output = run_measured(["bash", str(root / "source" / "setup.sh")], env, root / "source")
        print(f"setup.sh: exit {status} in {seconds:.0f} s", file=sys.stderr)
        if status != 0:
            print(output, file=sys.stderr)
            return 1
    else:
        env["COURSE_PYTHON"] = sys.executable  # this environment stands for the one setup.sh installs
    replays = [replay(root, Path(notebook).resolve(), env) for notebook in notebooks]
    out = Path(check_dir).resolve() / "course-grade"
    submitted = Path(check_dir).resolve() / "submitted"
    shutil.rmtree(submitted, ignore_errors=True)
    for number, notebook in enumerate(notebooks):  # one student per notebook, whatever the files are named
        (submitted / f"n{number}").mkdir(parents=True)
        shutil.copy(notebook, submitted / f"n{number}" / Path(notebook).name)
    grade(course=course, paths=[submitted], out_dir=out, jobs=1, assignment=bundle["assignment"], force=True)
    mismatched = 0
    print(f"{'notebook':<48}{'bundle':>8}{'grade':>8}{'seconds':>9}{'peak MB':>9}")
    for number, done in enumerate(replays):
        try:
            graded = json.loads((out / f"n{number}" / bundle["assignment"] / "results.json").read_text())
        except OSError:
            graded = {"score": None, "tests": []}
        found = differences(done.results, graded)
        mismatched += bool(found)
        print(f"{str(done.notebook)[-47:]:<48}{_shown(done.results.get('score')):>8}{_shown(graded.get('score')):>8}"
              f"{done.seconds:>9.1f}{done.peak_mb:>9.0f}")
        for difference in found:
            print(f"    differs: {difference}")
    print("Every score agrees with course grade." if not mismatched else f"{mismatched} notebook(s) disagree.")
    return 1 if mismatched else 0


def _shown(score) -> str:
    return "-" if score is None else f"{score:g}"


def main(*, course: Course, assignment_id: str | None, out: Path | None, hidden: str,
         check_dir: Path | None = None, notebooks: list[Path] | None = None, setup: bool = True) -> int:
    """`course bundle`: write the zip; with `check_dir`, replay it on `notebooks` and compare."""
    if check_dir is None:
        if assignment_id is None:
            raise ConfigError("name the assignment to bundle: course bundle ASSIGNMENT --out autograder.zip.")
        zip_path = build(course, assignment_id, out or Path(f"autograder-{assignment_id}.zip"), hidden)
        print(f"{zip_path}: {zip_path.stat().st_size / 1e6:.1f} MB; upload it as the assignment's autograder "
              "(Gradescope: Configure Autograder, Zip file upload).")
        return 0
    if not notebooks:
        raise ConfigError("--check needs --notebook: the submitted notebook(s) to replay.")
    for notebook in notebooks:
        if not Path(notebook).is_file():
            raise ConfigError(f"--notebook {notebook} does not exist.")
    if out is not None and out.is_file() and assignment_id is None:
        zip_path = out  # an existing zip, as it will be uploaded
    elif assignment_id is not None:
        zip_path = build(course, assignment_id, out or Path(check_dir) / "autograder.zip", hidden)
    else:
        raise ConfigError("--check needs the assignment to bundle, or --out naming an existing autograder zip.")
    return check(course, zip_path, check_dir, [Path(n) for n in notebooks], setup)
