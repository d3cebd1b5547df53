"""Can a hostile notebook reach the grader's host, undo its sandbox, forge answers, or touch a
neighbour's grade? Each attack is planted in a real notebook and graded by `course grade` in real
kernels, in one batch beside a correct submission: as root, and as an ordinary user (uid 65534).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from course.config import load

COURSE = str(Path(sys.executable).parent / "course")
ORDINARY_UID = 65534
SECRET = "canary-secret-7f3a9c"
ENV_CANARY = "canary-env-41d2e8"
MARKER = "course-test-daemon-5b1e"
FULL_01 = load(Path(__file__).resolve().parents[1]).assignment("01_losses").max_score  # perfect marks

# Everything the host attack tries; each entry is True when the attempt got through.
HOST_ATTACK = r'''
import ctypes, json, os, socket
libc = ctypes.CDLL(None, use_errno=True)
report = {}
def attempt(name, action):
    try:
        report[name] = bool(action())
    except Exception:
        report[name] = False
attempt("read_secret", lambda: open(SECRET_FILE).read())
attempt("append_bashrc", lambda: open(BASHRC, "a").write("echo pwned\n"))
attempt("delete_secret", lambda: os.remove(SECRET_FILE) or True)
attempt("list_home", lambda: os.listdir(GRADER_HOME))
attempt("umount_proc", lambda: libc.umount2(b"/proc", 2) == 0)
attempt("umount_data", lambda: libc.umount2(DATA.encode(), 2) == 0)
attempt("remount_data_rw", lambda: libc.mount(None, DATA.encode(), None, 0x20 | 0x1000, None) == 0)
attempt("unshare", lambda: libc.unshare(0x10000000 | 0x20000) == 0)
attempt("grader_environ", lambda: open(f"/proc/{GRADER_PID}/environ").read())
attempt("write_usr", lambda: open("/usr/planted", "w").write("x"))
attempt("write_data", lambda: open(os.path.join(DATA, "planted"), "w").write("x"))
attempt("write_root", lambda: open("/planted", "w").write("x"))
attempt("write_course", lambda: open(os.path.join(COURSE_ROOT, "planted"), "w").write("x"))
attempt("network", lambda: socket.create_connection(("127.0.0.1", 22), timeout=2))
found = []
for folder, dirs, files in os.walk("/"):
    if folder in ("/proc", "/sys", "/dev"):
        dirs[:] = []
        continue
    found += [os.path.join(folder, f) for f in files
              if f in ("thresholds.toml", "test_losses.py", "course.toml", "budget.py")
              or "/autograder/" in folder or "/solutions/" in folder]
report["graders_found"] = found[:20]
report["processes"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
print("ATTACK " + json.dumps(report))
print("ENV " + json.dumps(dict(os.environ)))
'''

# Against the neighbours: signal everything, leave a daemon behind, fill the output, poison what is shared.
NEIGHBOUR_ATTACK = r'''
import glob, os, signal, subprocess, sys, time
try:
    os.kill(-1, signal.SIGKILL)  # every process this uid may signal, but itself
except OSError:
    pass
own = {int(t) for t in os.listdir("/proc/self/task")}  # its own threads: stopping them stops itself
for pid in range(2, 4096):
    if pid not in own:
        try:
            os.kill(pid, signal.SIGSTOP)
        except OSError:
            pass
if os.fork() == 0:  # a double-forked daemon, meant to rewrite results once grading is done
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time\nwhile True: time.sleep(1)  # MARKER"])
    os._exit(0)
time.sleep(0.5)
print("CONNECTION FILES", glob.glob("/tmp/course-grade-*/*/ipc/*.json"))
for target in (os.path.join(GRADER_HOME, ".cache/course-day5/poison"), "/tmp/poison", "/dev/shm/../poison"):
    try:
        open(target, "w").write("x")
        print("WROTE", target)
    except OSError:
        pass
startup = os.path.expanduser("~/.ipython/profile_default/startup")
os.makedirs(startup, exist_ok=True)
open(os.path.join(startup, "00-poison.py"), "w").write("import torch\ntorch.tensor = None\n")
from IPython.display import display
display({"text/html": "<p>" + "x" * 120_000_000 + "</p>"}, raw=True)
'''.replace("MARKER", MARKER)

# A hook that answers every grader call itself with torch's built-in losses, nonce and all.
FORGER = r'''
import base64, io, re, torch
import torch.nn.functional as F
from IPython.display import publish_display_data
BUILTIN = {"mse_manual": F.mse_loss, "mae_manual": F.l1_loss, "bce_manual": F.binary_cross_entropy,
           "bce_with_logits_manual": F.binary_cross_entropy_with_logits, "cross_entropy_manual": F.cross_entropy}
def forge(info):
    match = re.match(r"__course_run\('([^']*)', '([^']*)'\)", info.raw_cell or "")
    run = get_ipython().user_ns.get("__course_run")
    if not match or run is None:
        return
    key, nonce = match.groups()
    call = run.__self__.calls[key]
    buffer = io.BytesIO()
    value = BUILTIN[call["fn"]](*call["args"]) if call["fn"] in BUILTIN else None
    torch.save({"value": value}, buffer)
    get_ipython().user_ns["__course_run"] = lambda *a: None  # so that only the forged answer is seen
    publish_display_data({"application/vnd.course.outcome+json":
                          {"key": key, "nonce": nonce, "blob": base64.b64encode(buffer.getvalue()).decode()}})
get_ipython().events.register("pre_run_cell", forge)
'''


def plant(source: Path, target: Path, code: str, **names) -> None:
    notebook = nbformat.read(str(source), as_version=4)
    header = "".join(f"{name} = {value!r}\n" for name, value in names.items())
    notebook.cells.append(nbformat.v4.new_code_cell(header + code))
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(target))


def ordinary_user(argv: list[str]) -> list[str]:
    """`argv` as uid 65534 with no capabilities. Where this Python lies under a folder that user
    cannot enter (root's home, 0700), a private mount namespace first lays a world-readable tmpfs
    over that folder with the Python bound back in, as an instructor's own account would have it."""
    prefix = os.path.realpath(sys.base_prefix)
    blocked = next((str(p) for p in reversed(Path(prefix).parents) if not os.stat(p).st_mode & 0o001), None)
    setpriv = ["setpriv", f"--reuid={ORDINARY_UID}", f"--regid={ORDINARY_UID}", "--clear-groups",
               "--inh-caps=-all", "--bounding-set=-all", "--"]
    if blocked is None:
        return setpriv + argv
    script = (f'keep=$(mktemp -d) && mount --bind "{prefix}" "$keep" && mount -t tmpfs -o mode=755 tmpfs "{blocked}" '
              f'&& mkdir -p "{prefix}" && mount --move "$keep" "{prefix}" && exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"] + setpriv + argv


@pytest.fixture(scope="module", params=["root", pytest.param("ordinary user", marks=pytest.mark.slow)])  # one batch each: the second in the slow set
def attacked(request, course):
    """One batch: host attacker, neighbour attacker and forger (each on the untouched release and on a
    correct notebook), beside two correct submissions; then a second run with one more correct one."""
    as_root = request.param == "root"
    base = Path(tempfile.mkdtemp(prefix="course-attack-"))
    os.chmod(base, 0o755)
    home, subs, out, again = base / "home", base / "subs", base / "out", base / "again"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(SECRET)
    (home / ".bashrc").write_text("# the grader's own\n")
    release = course.path("release", "01_losses", "losses.ipynb")
    perfect = course.path("examples", "submitted", "perfect", "01_losses", "losses.ipynb")
    names = dict(SECRET_FILE=str(home / ".ssh" / "id_rsa"), BASHRC=str(home / ".bashrc"), GRADER_HOME=str(home),
                 DATA=str(course.data_dir), GRADER_PID=os.getpid(), COURSE_ROOT=str(course.root))
    for who, source in (("host_blank", release), ("host_correct", perfect)):
        plant(source, subs / who / "01_losses" / "losses.ipynb", HOST_ATTACK, **names)
    for who, source in (("neighbour_blank", release), ("neighbour_correct", perfect)):
        plant(source, subs / who / "01_losses" / "losses.ipynb", NEIGHBOUR_ATTACK, **names)
    for who, source in (("forger_blank", release), ("forger_correct", perfect)):
        plant(source, subs / who / "01_losses" / "losses.ipynb", FORGER)
    for who in ("honest_a", "honest_b"):
        (subs / who / "01_losses").mkdir(parents=True)
        shutil.copy(perfect, subs / who / "01_losses" / "losses.ipynb")
    (again / "honest_c" / "01_losses").mkdir(parents=True)
    shutil.copy(perfect, again / "honest_c" / "01_losses" / "losses.ipynb")
    if not as_root:
        for path in [base, *base.rglob("*")]:
            os.chown(path, ORDINARY_UID, ORDINARY_UID, follow_symlinks=False)
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "COURSE_DATA_DIR": str(course.data_dir),
           "SECRET_TOKEN": ENV_CANARY, "AWS_SECRET_ACCESS_KEY": ENV_CANARY, "LANG": "C.UTF-8"}
    if not as_root:
        env["XDG_CACHE_HOME"] = str(home / ".cache")

    def grade(paths, out_dir):
        argv = [COURSE, "--course-dir", str(course.root), "grade", *map(str, paths), "--out", str(out_dir), "--jobs", "2"]
        return subprocess.run(argv if as_root else ordinary_user(argv), env=env, capture_output=True, text=True,
                              timeout=600)

    first = grade([subs], out)
    second = grade([again], out)
    yield {"base": base, "home": home, "out": out, "first": first, "second": second, "as_root": as_root}
    shutil.rmtree(base, ignore_errors=True)


def results(attacked, who):
    return json.loads((attacked["out"] / who / "01_losses" / "results.json").read_text())


def attack_report(attacked, who):
    graded = nbformat.read(str(attacked["out"] / who / "01_losses" / "losses.ipynb"), as_version=4)
    for cell in graded.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith("ATTACK "):
                    return json.loads(line.removeprefix("ATTACK "))
    raise AssertionError(f"{who}: the attack cell printed no report")


def test_batch_was_graded(attacked):
    """Did both runs finish, with every submission graded and isolation held?"""
    assert attacked["first"].returncode == 0, attacked["first"].stderr[-2000:]
    assert attacked["second"].returncode == 0, attacked["second"].stderr[-2000:]
    for who in ("host_blank", "host_correct", "neighbour_blank", "neighbour_correct", "forger_blank",
                "forger_correct", "honest_a", "honest_b", "honest_c"):
        assert results(attacked, who)["extra_data"]["isolation"].startswith("isolated"), who


@pytest.mark.parametrize("who", ["host_blank", "host_correct"])
def test_host_attacks_all_fail(attacked, who):
    """From inside a kernel, does every read, write, unmount, remount, unshare and snoop fail?"""
    report = attack_report(attacked, who)
    got_through = sorted(k for k, v in report.items() if v is True)
    assert got_through == [], got_through
    assert report["graders_found"] == []
    assert len(report["processes"]) <= 3, report["processes"]  # its own init, kernel and at most one child


def test_host_is_untouched(attacked):
    """Is the grader's secret still there, its ~/.bashrc byte-identical, and nothing planted?"""
    home = attacked["home"]
    assert (home / ".ssh" / "id_rsa").read_text() == SECRET
    assert (home / ".bashrc").read_text() == "# the grader's own\n"
    assert not Path("/planted").exists() and not Path("/usr/planted").exists()


def test_no_secret_reaches_any_output(attacked):
    """Does any file grading wrote hold the grader's secret file or a secret environment variable?"""
    for path in attacked["out"].rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert SECRET not in text and ENV_CANARY not in text, path


def test_kernel_environment_is_an_allowlist(attacked):
    graded = nbformat.read(str(attacked["out"] / "host_blank" / "01_losses" / "losses.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for o in graded.cells[-1].outputs)
    env = json.loads(next(line for line in text.splitlines() if line.startswith("ENV ")).removeprefix("ENV "))
    # ipykernel adds its own display settings (CLICOLOR, PAGER, ...); none of the grader's may come along.
    assert not {"SECRET_TOKEN", "AWS_SECRET_ACCESS_KEY", "COURSE_DATA_DIR", "XDG_CACHE_HOME"} & set(env), sorted(env)
    assert ENV_CANARY not in json.dumps(env)
    assert env["HOME"] != str(attacked["home"])


@pytest.mark.parametrize("who,earned", [("host_blank", 0), ("neighbour_blank", 0), ("forger_blank", 0),
                                        ("host_correct", FULL_01), ("neighbour_correct", FULL_01),
                                        ("forger_correct", FULL_01)])
def test_attackers_earn_nothing_they_did_not_earn(attacked, who, earned):
    """The untouched release earns 0 and a correct notebook full marks: does an attack change either?"""
    assert results(attacked, who)["score"] == earned


@pytest.mark.parametrize("who", ["honest_a", "honest_b", "honest_c"])
def test_neighbours_keep_full_marks_and_clean_feedback(attacked, who):
    """Do the correct submissions graded beside (and after) the attackers keep full marks, with nothing said?"""
    graded = results(attacked, who)
    assert graded["score"] == graded["max_score"] == FULL_01
    assert graded["output"] == "Your notebook ran without problems."
    assert graded["extra_data"].get("integrity", []) == []


def test_nothing_the_attacker_started_survives(attacked):
    """Is any process the neighbour attacker started still running after grading?"""
    time.sleep(1)
    alive = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if MARKER.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                alive.append(pid)
        except OSError:
            pass
    assert alive == []


def test_display_output_is_capped(attacked, course):
    """Does 120 MB of display_data leave a graded notebook under the output cap, and is the cut said once?"""
    limits = course.assignment("01_losses").limits
    path = attacked["out"] / "neighbour_correct" / "01_losses" / "losses.ipynb"
    assert path.stat().st_size < 6 * limits.output_kb * 1024
    feedback = (attacked["out"] / "neighbour_correct" / "01_losses" / "feedback.md").read_text()
    assert feedback.count("the rest was cut") == 1


def test_neighbour_sees_no_connection_files(attacked):
    """Can a kernel find another kernel's connection file, or write where a later kernel would read?"""
    graded = nbformat.read(str(attacked["out"] / "neighbour_blank" / "01_losses" / "losses.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for o in graded.cells[-1].outputs)
    seen = eval(next(line for line in text.splitlines() if line.startswith("CONNECTION FILES ")).removeprefix("CONNECTION FILES "))
    assert len(seen) <= 1, seen  # its own, at most
    assert "WROTE" not in text, text


def test_patching_torch_and_builtins_cannot_change_a_verdict(course, tmp_path):
    """Does a notebook with wrong answers that patches torch.testing, torch.allclose, builtins
    and the answer path still lose exactly the points of its wrong answers?"""
    from course.intake.collect import Submission
    from course.grade import grade_submission

    notebook = nbformat.read(course.path("examples", "submitted", "perfect", "01_losses", "losses.ipynb"), as_version=4)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "cross_entropy")
    cell.source = '''
import builtins, torch, torch.testing
torch.testing.assert_close = lambda *a, **k: None
torch.allclose = lambda *a, **k: True
torch.Tensor.__eq__ = lambda self, other: True
builtins.isinstance = lambda obj, cls: True
def cross_entropy_manual(logits, targets):
    return torch.tensor(0.0)
'''
    path = tmp_path / "mallory" / "01_losses" / "losses.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(notebook, str(path))
    graded, _ = grade_submission(course, Submission("mallory", "01_losses", path))
    failed = {t["name"] for t in graded["tests"] if t["score"] < t["max_score"]}
    assert {"test_cross_entropy_matches_reference", "test_cross_entropy_stable_for_large_logits"} <= failed


def test_grading_refuses_without_isolation(course, tmp_path, monkeypatch):
    """Where the sandbox cannot be built, does `course grade` refuse before any kernel starts, in one sentence?"""
    from course import grade as grading
    from course.engine import sandbox
    from course.config import ConfigError

    monkeypatch.setattr(sandbox, "check", lambda *a: "unshare: Operation not permitted")  # doctor's sandbox check
    with pytest.raises(ConfigError, match="grading was refused.*--unsafe-no-isolation"):
        grading.main(course=course, paths=[course.path("examples", "submitted", "perfect", "01_losses")],
                     out_dir=tmp_path / "out", jobs=1)
    assert not (tmp_path / "out").exists()


def test_unsafe_mode_says_so_in_every_result(course):
    """With --unsafe-no-isolation, is the submission still graded, and does its results.json say it was not isolated?"""
    from course.intake.collect import Submission
    from course.grade import grade_submission

    path = course.path("examples", "submitted", "perfect", "01_losses", "losses.ipynb")
    graded, _ = grade_submission(course, Submission("perfect", "01_losses", path), isolate=False)
    assert graded["score"] == FULL_01
    assert graded["extra_data"]["isolation"].startswith("NOT ISOLATED")


def test_rotated_seeds_differ_per_run_and_keep_kept_grades(course):
    """With rotate_seed, does each run draw new seeds while an unchanged submission keeps its fingerprint?"""
    from dataclasses import replace

    from course.intake.collect import Submission
    from course.grade import fingerprint, rotate_seeds

    rotating = replace(course, grading=replace(course.grading, rotate_seed=True))
    first, second = rotate_seeds(rotating), rotate_seeds(rotating)
    assert first.assignment("01_losses").seed != second.assignment("01_losses").seed
    submission = Submission("perfect", "01_losses", course.path("examples", "submitted", "perfect", "01_losses", "losses.ipynb"))
    assert fingerprint(first, submission) == fingerprint(second, submission)
    assert rotate_seeds(course) is course


@pytest.mark.parametrize("who", ["host_blank", "host_correct", "neighbour_blank", "neighbour_correct",
                                 "forger_blank", "forger_correct"])
def test_every_attacker_is_flagged_for_the_instructor_only(attacked, who):
    """Is each attack in extra_data.integrity and grades.csv, and nowhere in what the student reads?"""
    graded = results(attacked, who)
    assert graded["extra_data"]["integrity"], who
    row = next(line for line in (attacked["out"] / "grades.csv").read_text().splitlines() if line.startswith(who + ","))
    assert "flagged" in row
    feedback = (attacked["out"] / who / "01_losses" / "feedback.md").read_text()
    assert not any(flag in feedback for flag in graded["extra_data"]["integrity"])


def test_a_dead_template_is_replaced(course):
    """When a worker's kernel template dies, is the next submission still graded?"""
    from course.intake.collect import Submission
    from course.grade import grade_submission
    from course.engine.kernels import Template

    Template.get(course.limits.threads).process.kill()
    path = course.path("examples", "submitted", "perfect", "01_losses", "losses.ipynb")
    graded, _ = grade_submission(course, Submission("perfect", "01_losses", path))
    assert graded["score"] == FULL_01, graded["output"]
