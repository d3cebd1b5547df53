"""Find the submissions to grade in what the instructor was given: nbgrader's
submitted/<student>/<assignment>/<notebook> trees, single notebooks, folders of one notebook per
student, and LMS downloads (a zip or the folder it unpacks to; course/intake/lms.py reads their names).

Every notebook found ends as a Submission or as one sentence in `problems` saying why it was not
graded, and so does every other file in a folder or zip given (those in one sentence per folder).
A folder is taken for a student only where the layout puts a student; a folder where an assignment
belongs that is not one in course.toml is a problem, never a student. Where nothing names the
assignment (no nbgrader layout, no --assignment), it is told from the notebook's cells, never from
a file name a student can change.
"""
from __future__ import annotations

import difflib
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import lms as intake
from ..config import Course
from ..engine.notebook import NotebookError, nbgrader, read_notebook

# difflib's ratio from which a folder holding notebooks directly (<folder>/<notebook>) is taken for a
# misspelt assignment rather than a student: "01_loses" to "01_losses" is 0.94, "02_gradient" to
# "02_gradient_descent" 0.73, "bob" to "01_losses" 0.17, "sum-instead-of-mean" 0.26 at most.
LOOKS_LIKE_AN_ASSIGNMENT = 0.7


@dataclass(frozen=True)
class Submission:
    student_id: str
    assignment_id: str
    notebook: Path
    note: str = ""  # something the student should know about how the file was found
    late: bool = False  # the LMS marked it late
    source: str = ""  # where the file came from, as given: a path, or <zip>/<entry>
    lms: str = ""  # the LMS whose naming convention gave the student id, if one did


@dataclass
class Found:
    """A notebook whose student and assignment are known (assignment None: to be told from its cells)."""
    path: Path
    shown: str
    student_id: str
    assignment_id: str | None
    claim: intake.Claim | None = None

    @property
    def name(self) -> str:
        """The file name the student gave it."""
        return self.claim.filename if self.claim else self.path.name


@dataclass
class Root:
    """A folder given, or a zip unpacked: where the paths inside it start, and how to show them."""
    folder: Path
    shown: str
    name: str  # the folder's own name (a zip's stem), a student where the layout puts one there
    from_zip: bool = False


@dataclass
class Collection:
    """What was found so far in the paths given, and what was not graded, in sentences."""
    course: Course
    assignment_id: str | None
    pattern: re.Pattern | None = None
    workdir: Path | None = None
    problems: list[str] = field(default_factory=list)
    found: list[Found] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    bad_folders: dict[str, str] = field(default_factory=dict)

    # --- what was given ---

    def add(self, path: Path) -> None:
        if not path.exists():
            self.problems.append(f"{path} does not exist.")
        elif path.is_file() and path.suffix.lower() == ".zip":
            self.add_zip(path)
        elif path.is_file():
            self.add_single(path)
        else:
            self.add_folder(Root(path, str(path), Path(os.path.abspath(path)).name))

    def add_zip(self, archive: Path) -> None:
        into = self.unzip_folder(archive)
        folder, problems = intake.unzip(archive, into, str(archive))
        self.problems += problems
        if folder is not None:
            self.add_folder(Root(folder, str(archive), archive.stem, from_zip=True))

    def unzip_folder(self, archive: Path) -> Path:
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="course-intake-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{archive.stem[:40]}-", dir=self.workdir)) / "unzipped"

    def add_single(self, file: Path) -> None:
        """A notebook named on the command line: its nbgrader folders, its LMS name, or its stem."""
        if not self.first_time(file):
            return
        absolute = Path(os.path.abspath(file))
        if absolute.parent.name in self.course.assignments:  # <student>/<assignment>/<notebook>
            self.found.append(Found(file, str(file), absolute.parent.parent.name, absolute.parent.name))
            return
        claim = intake.read_name((file.name,), self.pattern)
        if claim:
            self.found.append(Found(file, str(file), claim.student_id, self.assignment_id, claim))
        elif self.assignment_id or file.name not in self.notebook_names():
            self.found.append(Found(file, str(file), file.stem, self.assignment_id))
        elif near_assignment(absolute.parent.name, list(self.course.assignments), LOOKS_LIKE_AN_ASSIGNMENT):
            near = near_assignment(absolute.parent.name, list(self.course.assignments), 0.6)
            self.problems.append(f"{file.parent}: no such assignment; did you mean {near}?")
        else:  # <student>/<notebook>: the file's name is the assignment's, the folder's is the student's
            self.found.append(Found(file, str(file), absolute.parent.name, None))

    def add_folder(self, root: Root) -> None:
        notebooks, others = walk(root.folder)
        if not notebooks:
            self.problems.append(f"{root.shown} holds no notebooks{describe(others)}.")
            return
        self.problems += others.sentences(root)
        for file in notebooks:
            if self.first_time(file):
                self.add_in_folder(root, file)

    def add_in_folder(self, root: Root, file: Path) -> None:
        parts = file.relative_to(root.folder).parts
        shown = f"{root.shown}/{'/'.join(parts)}"
        absolute = Path(os.path.abspath(file))
        if absolute.parent.name in self.course.assignments:  # <student>/<assignment>/<notebook>
            top = absolute.parent.parent == Path(os.path.abspath(root.folder))  # a zip's stem, not its folder's
            self.found.append(Found(file, shown, root.name if top else absolute.parent.parent.name, absolute.parent.name))
            return
        claim = intake.read_name(parts, self.pattern)
        if claim:
            self.found.append(Found(file, shown, claim.student_id, self.assignment_id, claim))
            return
        problem = self.misplaced(root, parts)
        if problem:
            folder, sentence = problem
            self.bad_folders.setdefault(folder, sentence)
            return
        if len(parts) == 2:  # <student>/<notebook>
            self.found.append(Found(file, shown, parts[0], self.assignment_id))
        elif file.name not in self.notebook_names():  # <student>.ipynb
            self.found.append(Found(file, shown, file.stem, self.assignment_id))
        elif not root.from_zip:  # <student folder given>/<notebook>
            self.found.append(Found(file, shown, root.name, self.assignment_id))
        else:
            self.problems.append(f"{shown}: cannot tell whose notebook it is (its name is the assignment's own and "
                                 "follows no LMS naming convention); not graded.")

    def misplaced(self, root: Root, parts: tuple[str, ...]) -> tuple[str, str] | None:
        """(folder, sentence) where a folder stands where an assignment belongs but is none."""
        folders = parts[:-1]
        nested = [name for name in folders[:-1] if name in self.course.assignments]
        if nested:
            folder = f"{root.shown}/{'/'.join(folders)}"
            return folder, (f"{folder}: below the assignment folder {nested[-1]} instead of in it (the layout is "
                            "<student>/<assignment>/<notebook>); its notebooks were not graded.")
        if not folders:
            return None
        ids = list(self.course.assignments)
        if len(folders) == 1 and not near_assignment(folders[0], ids, LOOKS_LIKE_AN_ASSIGNMENT):
            return None  # <student>/<notebook>: a folder that does not look like an assignment is a student
        folder = f"{root.shown}/{'/'.join(folders)}"
        near = near_assignment(folders[-1], ids, 0.6)
        if near:
            return folder, f"{folder}: no such assignment; did you mean {near}?"
        return folder, (f"{folder}: no such assignment in course.toml (known: {', '.join(ids)}); "
                        "its notebooks were not graded.")

    def first_time(self, file: Path) -> bool:
        key = os.path.abspath(file)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    def notebook_names(self) -> set[str]:
        return {a.notebook for a in self.course.assignments.values()}

    # --- what it becomes ---

    def submissions(self) -> list[Submission]:
        self.problems += self.bad_folders.values()
        identify = Signatures(self.course) if any(f.assignment_id is None for f in self.found) else None
        groups: dict[tuple[str, str], list[Found]] = {}
        for found in self.found:
            if found.assignment_id is None:
                found.assignment_id, problem = identify(found.path)
                if problem:
                    self.problems.append(f"{found.shown}: {problem}; not graded.")
                    continue
            if not usable_id(found.student_id):
                self.problems.append(f"{found.shown}: the student id {found.student_id!r} read from its name is "
                                     "not a plain name; not graded.")
                continue
            groups.setdefault((found.student_id, found.assignment_id), []).append(found)
        submissions = []
        for (student, assignment_id), files in sorted(groups.items()):
            submission, problems = pick(self.course, student, assignment_id, files)
            self.problems += problems
            if submission:
                submissions.append(submission)
        return submissions


@dataclass
class Others:
    """What a folder holds besides notebooks."""
    files: list[Path] = field(default_factory=list)  # not notebooks
    links: list[Path] = field(default_factory=list)  # symbolic links, never followed
    system: list[Path] = field(default_factory=list)  # .ipynb_checkpoints, __MACOSX, ._* copies
    archives: list[Path] = field(default_factory=list)  # zips inside: a student's own archive

    def sentences(self, root: Root) -> list[str]:
        shown = lambda path: f"{root.shown}/{path.relative_to(root.folder).as_posix()}"  # noqa: E731
        sentences = [f"{shown(link)}: a symbolic link, not followed; not graded." for link in self.links]
        sentences += [f"{shown(archive)}: a zip inside the download, not opened; unzip it and grade its notebook "
                      "with --assignment." for archive in self.archives]
        if self.files:
            sentences.append(f"{root.shown}: {len(self.files)} file(s) that are not notebooks were not graded "
                             f"({_names(self.files)}).")
        if self.system:
            sentences.append(f"{root.shown}: {len(self.system)} Jupyter checkpoint or macOS metadata file(s) "
                             "(.ipynb_checkpoints, __MACOSX, ._*) were ignored.")
        return sentences


def _names(files: list[Path], most: int = 5) -> str:
    receipts = [f for f in files if intake.is_lms_receipt(f.name)]
    rest = [f for f in files if f not in receipts]
    names = [f.name for f in rest[:most]] + ([f"and {len(rest) - most} more"] if len(rest) > most else [])
    if receipts:
        names.append(f"{len(receipts)} Blackboard attempt receipt(s)")
    return ", ".join(names)


def describe(others: Others) -> str:
    """What a folder without notebooks holds instead, for the sentence that says so."""
    rest = others.files + others.links + others.archives + others.system
    return f" (only {len(rest)} other file(s): {_names(rest)})" if rest else ""


def walk(folder: Path) -> tuple[list[Path], Others]:
    """The notebooks under `folder` and everything else, following no symbolic link."""
    notebooks, others = [], Others()
    for here, folders, files in os.walk(folder, followlinks=False):
        here = Path(here)
        for name in sorted(folders):
            if (here / name).is_symlink():
                others.links.append(here / name)
        for name in sorted(files):
            path = here / name
            inside = path.relative_to(folder).parts
            if path.is_symlink():
                others.links.append(path)
            elif ".ipynb_checkpoints" in inside or "__MACOSX" in inside or name.startswith("._"):
                others.system.append(path)
            elif name.lower().endswith(".ipynb"):
                notebooks.append(path)
            elif name.lower().endswith(".zip"):
                others.archives.append(path)
            else:
                others.files.append(path)
    return sorted(notebooks), others


def near_assignment(folder: str, ids: list[str], cutoff: float) -> str:
    """The assignment id `folder` is a misspelling or a shortening of ("03_mnist"), or ''."""
    shortened = [a for a in ids if len(folder) >= 2 and a.lower().startswith(folder.lower())]
    near = shortened or difflib.get_close_matches(folder, ids, n=1, cutoff=cutoff)
    return near[0] if near else ""


def usable_id(student_id: str) -> bool:
    return bool(student_id) and student_id not in (".", "..") and "/" not in student_id and "\0" not in student_id


class Signatures:
    """Tells a notebook's assignment from its cells: the nbgrader grade_ids, and the text of the
    instruction cells (for a notebook whose metadata an editor stripped), that appear in exactly
    one assignment's source notebook. Ids every notebook has (intro, imports, quiz) tell nothing."""

    def __init__(self, course: Course):
        marks = {a.id: _marks(read_notebook(course.path("source", a.id, a.notebook)))
                 for a in course.assignments.values()}
        everywhere = Counter(mark for owned in marks.values() for mark in owned)
        self.owner = {mark: a for a, owned in marks.items() for mark in owned if everywhere[mark] == 1}
        self.known = ", ".join(course.assignments)

    def __call__(self, path: Path) -> tuple[str | None, str]:
        """(assignment id, '') or (None, why it cannot be told)."""
        try:
            notebook = read_notebook(path)
        except NotebookError as error:
            return None, (f"{str(error).rstrip('.')}, so its assignment cannot be told from its cells "
                          "(grade it with --assignment)")
        votes: dict[str, int] = {}
        for mark in _marks(notebook):
            if mark in self.owner:
                votes[self.owner[mark]] = votes.get(self.owner[mark], 0) + 1
        ranked = sorted(votes.items(), key=lambda vote: -vote[1])
        if not ranked:
            return None, f"its cells match no assignment in course.toml ({self.known})"
        if len(ranked) > 1 and ranked[0][1] < 2 * ranked[1][1]:  # a notebook of two assignments: never guess
            return None, f"its cells match both {ranked[0][0]} and {ranked[1][0]} (grade it with --assignment)"
        return ranked[0][0], ""


def _marks(notebook) -> set[tuple[str, str]]:
    marks = set()
    for cell in notebook.cells:
        meta = nbgrader(cell)
        if meta.get("grade_id"):
            marks.add(("grade_id", meta["grade_id"]))
        text = "\n".join(line.rstrip() for line in str(cell.get("source", "")).strip().splitlines())
        if cell.get("cell_type") == "markdown" and not meta.get("solution") and len(text) >= 40:
            marks.add(("text", text))
    return marks


def pick(course: Course, student: str, assignment_id: str, files: list[Found]) -> tuple[Submission | None, list[str]]:
    """One student's notebooks for one assignment: the latest by the LMS's order where it gives one,
    then the one with the assignment's notebook name, else the only one; every other one is a problem."""
    expected = course.assignment(assignment_id).notebook
    latest = max(_order(f) for f in files)
    newest = [f for f in files if _order(f) == latest]
    exact = [f for f in newest if f.name == expected]
    if exact:
        chosen, note = exact[0], ""
    elif len(newest) == 1:
        chosen, note = newest[0], f"Your notebook is named {newest[0].name}, not {expected}; it was graded anyway."
    else:
        names = ", ".join(sorted(f.name for f in newest))
        where = f"{files[0].path.parent}" if not files[0].claim else f"{student}'s {assignment_id}"
        return None, [f"{where}: several notebooks ({names}) and none named {expected}; not graded."]
    notes = [note] if note else []
    claim = chosen.claim
    if claim and len(files) > 1:
        notes.append(f"{claim.lms} held {len(files)} notebooks of yours for this assignment; the latest, "
                     f"{chosen.name}, was graded.")
    if claim and claim.late:
        notes.append(f"{claim.lms} marked this submission late.")
    problems = [f"{f.shown}: not graded, {student}'s {assignment_id} is {chosen.shown}"
                f"{' (the latest)' if claim else ''}." for f in files if f is not chosen]
    submission = Submission(student, assignment_id, chosen.path, " ".join(notes), late=bool(claim and claim.late),
                            source=chosen.shown, lms=claim.lms if claim else "")
    return submission, problems


def _order(found: Found) -> tuple[int, ...]:
    return found.claim.order if found.claim else ()


def course_pattern(course: Course):
    """course.toml's file name pattern for another LMS, where the config declares one."""
    return intake.compile_pattern(getattr(course.grading, "submission_pattern", "") or "")


def collect(course: Course, paths: list[Path], assignment_id: str | None = None, workdir: Path | None = None,
            pattern: str | None = None) -> tuple[list[Submission], list[str]]:
    """The submissions under `paths` and one sentence per thing found that is not graded. Zips are
    unpacked under `workdir` (a new temporary folder when None), which must outlive the grading."""
    compiled = intake.compile_pattern(pattern) if pattern else course_pattern(course)
    found = Collection(course, assignment_id, compiled, Path(workdir) if workdir else None)
    for path in map(Path, paths):
        found.add(path)
    submissions = found.submissions()
    return submissions, found.problems
