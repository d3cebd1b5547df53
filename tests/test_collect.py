"""Does `course grade` find every submission the way an LMS hands it over, and account for the rest?

Each test lays out notebooks built from release/ the way one layout or LMS download does, and asks
collect() (no grading) whose they are, for which assignment, and why anything was left out. The last
test grades a small Canvas zip end to end with the `course` command.
"""
import csv
import io
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from course.intake import lms as intake
from course.intake.collect import collect

COURSE = str(Path(sys.executable).parent / "course")


def release(course, assignment_id: str, marker: str = "") -> bytes:
    """The released notebook of `assignment_id` as a student would hand it in; `marker` tells copies apart."""
    path = course.path("release", assignment_id, course.assignment(assignment_id).notebook)
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata["handed_in"] = marker
    return nbformat.writes(notebook).encode()


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def by_student(submissions) -> dict:
    return {s.student_id: s for s in submissions}


def assert_accounted(names, submissions, problems):
    """Every file name ends as a submission or in a problem sentence."""
    text = " ".join(problems)
    graded = {Path(s.source).name for s in submissions}
    for name in names:
        assert name in graded or name in text, f"{name} is neither graded nor named in a problem: {problems}"


CANVAS = {
    "smithjane_12345_67890_losses.ipynb": "jane",
    "doejohn_LATE_23456_78901_losses.ipynb": "john late",
    "leeann_34567_80000_losses.ipynb": "ann first",
    "leeann_34567_80001_losses-1.ipynb": "ann resubmitted",
    "müllerjörg_45678_81000_my losses.ipynb": "jörg",
    "anon_x7Yz2_82000_losses.ipynb": "anonymous",
}


@pytest.mark.parametrize("packed", ["zip", "folder"])
def test_canvas_download_of_five(course, tmp_path, packed):
    """Five students in a Canvas download, one LATE and one with a resubmission (-1): are there five
    submissions under the right ids, the latest file of each, and LATE recorded and told?"""
    files = {name: release(course, "01_losses", marker) for name, marker in CANVAS.items()}
    if packed == "zip":
        given = make_zip(tmp_path / "submissions.zip", files)
    else:
        given = tmp_path / "submissions"
        for name, data in files.items():
            write(given, name, data)
    submissions, problems = collect(course, [given], workdir=tmp_path / "work")
    students = by_student(submissions)
    assert set(students) == {"smithjane_12345", "doejohn_23456", "leeann_34567", "müllerjörg_45678", "anon_x7Yz2"}
    assert all(s.assignment_id == "01_losses" and s.lms == "Canvas" for s in submissions)
    assert json.loads(students["leeann_34567"].notebook.read_text())["metadata"]["handed_in"] == "ann resubmitted"
    assert "the latest, losses.ipynb, was graded" in students["leeann_34567"].note
    assert [s.student_id for s in submissions if s.late] == ["doejohn_23456"]
    assert "Canvas marked this submission late." in students["doejohn_23456"].note
    assert "named my losses.ipynb, not losses.ipynb" in students["müllerjörg_45678"].note
    assert problems == [f"{given}/leeann_34567_80000_losses.ipynb: not graded, leeann_34567's 01_losses is "
                        f"{given}/leeann_34567_80001_losses-1.ipynb (the latest)."]
    if packed == "zip":
        assert all((tmp_path / "work") in s.notebook.parents for s in submissions)


def test_canvas_names_with_assignment_given(course, tmp_path):
    """With --assignment, are Canvas names still read into student ids (not `smithjane_12345_67890_losses`)?"""
    notebook = write(tmp_path, "smithjane_12345_67890_losses.ipynb", release(course, "01_losses"))
    submissions, problems = collect(course, [notebook], "01_losses")
    assert [(s.student_id, s.assignment_id) for s in submissions] == [("smithjane_12345", "01_losses")]
    assert problems == []


def test_moodle_download(course, tmp_path):
    """Moodle's folder per submission (3.1 and later, with and without the trailing _) and its older
    flat names: are the ids name_participant, and the online-text page accounted for?"""
    given = tmp_path / "moodle"
    write(given, "Jane Smith_12345_assignsubmission_file_/losses.ipynb", release(course, "01_losses"))
    write(given, "John Doe_23456_assignsubmission_file/gradient_descent.ipynb", release(course, "02_gradient_descent"))
    write(given, "Ann Lee_34567_assignsubmission_file_losses.ipynb", release(course, "01_losses"))
    write(given, "Ann Lee_34567_assignsubmission_onlinetext_/onlinetext.html", b"<p>see attached</p>")
    submissions, problems = collect(course, [given])
    assert {(s.student_id, s.assignment_id, s.lms) for s in submissions} == {
        ("janesmith_12345", "01_losses", "Moodle"),
        ("johndoe_23456", "02_gradient_descent", "Moodle"),
        ("annlee_34567", "01_losses", "Moodle"),
    }
    assert problems == [f"{given}: 1 file(s) that are not notebooks were not graded (onlinetext.html)."]


def test_blackboard_download(course, tmp_path):
    """Blackboard's attempts: is the latest attempt of each student kept, the older one named, and the
    receipts accounted for?"""
    given = tmp_path / "blackboard"
    older = "Loss Functions_jsmith_attempt_2024-03-01-10-22-33_losses.ipynb"
    newer = "Loss Functions_jsmith_attempt_2024-03-02-09-00-00_losses.ipynb"
    write(given, older, release(course, "01_losses", "older"))
    write(given, newer, release(course, "01_losses", "newer"))
    write(given, "Loss Functions_adoe_attempt_2024-03-01-11-00-00_losses.ipynb", release(course, "01_losses"))
    for receipt in ("Loss Functions_jsmith_attempt_2024-03-01-10-22-33.txt", "Loss Functions_jsmith_attempt_2024-03-02-09-00-00.txt",
                    "Loss Functions_adoe_attempt_2024-03-01-11-00-00.txt"):
        write(given, receipt, b"Name: ...")
    submissions, problems = collect(course, [given])
    students = by_student(submissions)
    assert set(students) == {"jsmith", "adoe"}
    assert json.loads(students["jsmith"].notebook.read_text())["metadata"]["handed_in"] == "newer"
    assert problems == [f"{given}: 3 file(s) that are not notebooks were not graded (3 Blackboard attempt receipt(s)).",
                        f"{given}/{older}: not graded, jsmith's 01_losses is {given}/{newer} (the latest)."]


def test_assignment_is_told_from_cells_not_names(course, tmp_path):
    """A 02 notebook a student named losses.ipynb, and a 01 notebook whose metadata an editor stripped:
    is each graded for the assignment its cells belong to?"""
    given = tmp_path / "flat"
    write(given, "smithjane_12345_67890_losses.ipynb", release(course, "02_gradient_descent"))
    stripped = nbformat.reads(release(course, "01_losses").decode(), as_version=4)
    for cell in stripped.cells:
        cell.metadata = {}
    write(given, "doejohn_23456_78901_homework.ipynb", nbformat.writes(stripped).encode())
    submissions, problems = collect(course, [given])
    assert {(s.student_id, s.assignment_id) for s in submissions} == {
        ("smithjane_12345", "02_gradient_descent"), ("doejohn_23456", "01_losses")}
    assert problems == []


def test_notebook_of_no_assignment_is_a_problem(course, tmp_path):
    """A notebook whose cells match no assignment, and a file that is no notebook at all: are both
    sentences, never a guess?"""
    given = tmp_path / "flat"
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('my own project')")])
    write(given, "smithjane_12345_67890_losses.ipynb", nbformat.writes(other).encode())
    write(given, "doejohn_23456_78901_losses.ipynb", b"{not json")
    submissions, problems = collect(course, [given])
    assert submissions == []
    assert problems[0] == (f"{given}/doejohn_23456_78901_losses.ipynb: doejohn_23456_78901_losses.ipynb is not a valid "
                           "notebook (Notebook does not appear to be JSON: '{not json'), so its assignment cannot be told "
                           "from its cells (grade it with --assignment); not graded.")
    assert problems[1] == (f"{given}/smithjane_12345_67890_losses.ipynb: its cells match no assignment in course.toml "
                           "(01_losses, 02_gradient_descent, 03_mnist_optimizers); not graded.")


def test_misspelled_assignment_folder_is_never_a_student(course, tmp_path):
    """subs/bob/01_loses/losses.ipynb: is it a problem that suggests 01_losses, not student 01_loses?"""
    subs = tmp_path / "subs"
    write(subs, "bob/01_loses/losses.ipynb", release(course, "01_losses"))
    write(subs, "alice/01_losses/losses.ipynb", release(course, "01_losses"))
    write(subs, "carol/homework/losses.ipynb", release(course, "01_losses"))
    submissions, problems = collect(course, [subs])
    assert [(s.student_id, s.assignment_id) for s in submissions] == [("alice", "01_losses")]
    assert problems == [f"{subs}/bob/01_loses: no such assignment; did you mean 01_losses?",
                        f"{subs}/carol/homework: no such assignment in course.toml (known: 01_losses, "
                        "02_gradient_descent, 03_mnist_optimizers); its notebooks were not graded."]
    # Given one student's folder, or the notebook itself, the misspelt folder is still no student.
    for given in (subs / "bob", subs / "bob" / "01_loses" / "losses.ipynb"):
        submissions, problems = collect(course, [given])
        assert submissions == [] and problems == [f"{subs}/bob/01_loses: no such assignment; did you mean 01_losses?"]


def test_folder_per_student(course, tmp_path):
    """<student>/<notebook> and <student>.ipynb: is the folder or the file the student, the
    assignment told from the cells?"""
    given = tmp_path / "class"
    write(given, "bob/losses.ipynb", release(course, "01_losses"))
    write(given, "alice.ipynb", release(course, "02_gradient_descent"))
    submissions, problems = collect(course, [given])
    assert {(s.student_id, s.assignment_id) for s in submissions} == {("bob", "01_losses"), ("alice", "02_gradient_descent")}
    assert problems == []


def test_nbgrader_layout_is_unchanged(course, tmp_path):
    """submitted/<student>/<assignment>/<notebook>, a file of another name, and a single notebook
    with --assignment: are they found as before?"""
    submitted = tmp_path / "submitted"
    write(submitted, "bob/01_losses/losses.ipynb", release(course, "01_losses"))
    write(submitted, "alice/02_gradient_descent/gradient_descent (1).ipynb", release(course, "02_gradient_descent"))
    write(submitted, "carol/01_losses/a.ipynb", release(course, "01_losses"))
    write(submitted, "carol/01_losses/b.ipynb", release(course, "01_losses"))
    write(submitted, "dave/01_losses/losses.ipynb", b"{not json")  # graded: it scores 0 as "not a notebook"
    submissions, problems = collect(course, [submitted])
    assert [(s.student_id, s.assignment_id, s.notebook.name) for s in submissions] == [
        ("alice", "02_gradient_descent", "gradient_descent (1).ipynb"), ("bob", "01_losses", "losses.ipynb"),
        ("dave", "01_losses", "losses.ipynb")]
    assert "not gradient_descent.ipynb; it was graded anyway" in submissions[0].note
    assert problems == [f"{submitted}/carol/01_losses: several notebooks (a.ipynb, b.ipynb) and none named losses.ipynb; "
                        "not graded."]
    single = write(tmp_path, "zed.ipynb", release(course, "01_losses"))
    assert [(s.student_id, s.assignment_id) for s in collect(course, [single], "01_losses")[0]] == [("zed", "01_losses")]
    assert collect(course, [tmp_path / "nope"])[1] == [f"{tmp_path / 'nope'} does not exist."]


def test_other_files_in_a_download_are_accounted_for(course, tmp_path):
    """A .py, a .pdf, a student's own zip, a symlink and Jupyter checkpoints beside the notebooks: is each
    said, and nothing silently dropped?"""
    given = tmp_path / "canvas"
    write(given, "smithjane_12345_67890_losses.ipynb", release(course, "01_losses"))
    write(given, "smithjane_12345_67891_losses.py", b"print(1)")
    write(given, "doejohn_23456_78901_report.pdf", b"%PDF")
    make_zip(given / "leeann_34567_80000_work.zip", {"losses.ipynb": release(course, "01_losses")})
    write(given, ".ipynb_checkpoints/smithjane_12345_67890_losses-checkpoint.ipynb", b"{}")
    (given / "link.ipynb").symlink_to("/etc/passwd")
    submissions, problems = collect(course, [given])
    assert [s.student_id for s in submissions] == ["smithjane_12345"]
    assert problems == [
        f"{given}/link.ipynb: a symbolic link, not followed; not graded.",
        f"{given}/leeann_34567_80000_work.zip: a zip inside the download, not opened; unzip it and grade its notebook "
        "with --assignment.",
        f"{given}: 2 file(s) that are not notebooks were not graded (doejohn_23456_78901_report.pdf, "
        "smithjane_12345_67891_losses.py).",
        f"{given}: 1 Jupyter checkpoint or macOS metadata file(s) (.ipynb_checkpoints, __MACOSX, ._*) were ignored.",
    ]


def test_zip_slip_absolute_paths_and_symlinks_are_refused(course, tmp_path):
    """A zip whose entries climb out with .., name an absolute path, or are symlinks: is each refused in
    a sentence, nothing written outside the work folder, and the honest entries still graded?"""
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("smithjane_12345_67890_losses.ipynb", release(course, "01_losses"))
        zipped.writestr("../../escaped_1_2_losses.ipynb", release(course, "01_losses"))
        zipped.writestr("/tmp/absolute_1_2_losses.ipynb", release(course, "01_losses"))
        link = zipfile.ZipInfo("doejohn_23456_78901_losses.ipynb")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zipped.writestr(link, "/etc/passwd")
    work = tmp_path / "work"
    submissions, problems = collect(course, [archive], workdir=work)
    assert [s.student_id for s in submissions] == ["smithjane_12345"]
    assert problems == [
        f"{archive}/../../escaped_1_2_losses.ipynb: refused, its path climbs out of the folder it is unpacked "
        "into (zip slip); not extracted.",
        f"{archive}//tmp/absolute_1_2_losses.ipynb: refused, its path is absolute; not extracted.",
        f"{archive}/doejohn_23456_78901_losses.ipynb: refused, it is a symbolic link; not extracted.",
    ]
    assert not list(tmp_path.rglob("escaped_1_2_losses.ipynb")) and not Path("/tmp/absolute_1_2_losses.ipynb").exists()
    assert not any(path.is_symlink() for path in work.rglob("*"))


def test_zip_bomb_is_refused_whole(course, tmp_path, monkeypatch):
    """A zip that expands past the cap (lowered here to 1 MB) or holds too many entries: is it refused
    in one sentence, with nothing left unpacked?"""
    monkeypatch.setattr(intake, "MAX_BYTES", 1024 * 1024)
    archive = make_zip(tmp_path / "bomb.zip", {"smithjane_12345_67890_losses.ipynb": b" " * (2 * 1024 * 1024)})
    work = tmp_path / "work"
    submissions, problems = collect(course, [archive], workdir=work)
    assert submissions == []
    assert problems == [f"{archive}: declares more than 1 MB of files; refused as a possible zip bomb, nothing in it "
                        "was graded."]
    # A zip whose headers understate the size is stopped as it is written, not as it declares.
    monkeypatch.setattr(intake, "_whole_refusal", lambda entries: "")
    submissions, problems = collect(course, [archive], workdir=work)
    assert submissions == [] and "expands to more than" in problems[0]
    assert not any(path.is_file() for path in work.rglob("*"))


def test_too_many_entries_is_refused(course, tmp_path, monkeypatch):
    monkeypatch.setattr(intake, "MAX_ENTRIES", 2)
    archive = make_zip(tmp_path / "many.zip", {f"s{i}_1{i}_2{i}_losses.ipynb": b"{}" for i in range(3)})
    submissions, problems = collect(course, [archive], workdir=tmp_path / "work")
    assert submissions == [] and problems == [
        f"{archive}: holds 3 entries, more than 2; refused as a possible zip bomb, nothing in it was graded."]


def test_course_pattern_for_another_lms(course, tmp_path):
    """An LMS none of the conventions knows, named by a pattern with nbgrader zip_collect's groups:
    are student id, timestamp order and late read from it?"""
    given = tmp_path / "other"
    write(given, "hw1-u1001-20240301T1022-losses.ipynb", release(course, "01_losses", "old"))
    write(given, "hw1-u1001-20240302T0900-late-losses.ipynb", release(course, "01_losses", "new"))
    pattern = r"hw1-(?P<student_id>u\d+)-(?P<timestamp>\d{8}T\d{4})-(?P<late>late-)?(?P<file_id>.+)"
    submissions, problems = collect(course, [given], pattern=pattern)
    assert [(s.student_id, s.late) for s in submissions] == [("u1001", True)]
    assert json.loads(submissions[0].notebook.read_text())["metadata"]["handed_in"] == "new"
    assert len(problems) == 1 and "hw1-u1001-20240301T1022-losses.ipynb: not graded" in problems[0]
    with pytest.raises(Exception, match="no \\(\\?P<student_id>...\\) group"):
        collect(course, [given], pattern=r"hw1-(?P<who>\w+)")


def test_course_grade_takes_a_canvas_zip(course, tmp_path):
    """`course grade` on a Canvas zip of two 01 examples: are the students in grades.csv by their
    Canvas ids with the examples' scores?"""
    example = lambda name: course.path("examples", "submitted", name, "01_losses", "losses.ipynb").read_bytes()  # noqa: E731
    archive = make_zip(tmp_path / "canvas.zip", {
        "smithjane_12345_67890_losses.ipynb": example("perfect"),
        "doejohn_LATE_23456_78901_losses-1.ipynb": example("sum-instead-of-mean"),
    })
    result = subprocess.run([COURSE, "grade", str(archive), "--out", str(tmp_path / "out"), "--jobs", "1"],
                            capture_output=True, text=True, cwd=course.root, timeout=600,
                            env={**os.environ, "COURSE_DATA_DIR": str(course.data_dir)})
    assert result.returncode == 0, result.stderr
    rows = {row["student_id"]: row for row in csv.DictReader(io.StringIO((tmp_path / "out" / "grades.csv").read_text()))}
    assert set(rows) == {"smithjane_12345", "doejohn_23456"}
    full = course.assignment("01_losses").max_score
    assert float(rows["smithjane_12345"]["score"]) == full
    assert 0 < float(rows["doejohn_23456"]["score"]) < full
    feedback = (tmp_path / "out" / "doejohn_23456" / "01_losses" / "feedback.md").read_text()
    assert "Canvas marked this submission late." in feedback
