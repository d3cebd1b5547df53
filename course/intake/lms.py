"""LMS downloads as they come: a zip unpacked without trusting a single entry of it, and the file
names Canvas, Moodle and Blackboard give submissions, read into whose file it is, how recent, and
whether the LMS marked it late.

The naming conventions, as each LMS writes them (its own source, or its users' tools):
- Canvas, "Download Submissions" (lib/content_zipper.rb): one flat zip of
  `<sortablename>[_LATE]_<user id>_<attachment id>_<file name>`, the name lower-cased with every
  non-word character removed (`anon_<id>` in place of name and user id when grading is anonymous).
  A file uploaded again under a name already taken becomes `<name>-1.<ext>`, `-2`, ...
- Moodle, "Download all submissions" (mod/assign): a folder per submission and plugin,
  `<Full Name>_<participant id>_assignsubmission_file[_]/<file name>` (Moodle 3.1 and later), or
  flat `<Full Name>_<participant id>_assignsubmission_file_<file name>` (before, or with
  "download submissions in folders" off). Only the latest submission is in it; nothing marks late.
- Blackboard Learn, "Assignment File Download": flat
  `<Assignment Name>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file name>`, with one receipt
  `<Assignment Name>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>.txt` per attempt; every attempt is in
  it; nothing in the name marks late. (A username holding `_` cannot be told from the title: the
  last `_` before `_attempt_` ends the title, as every Blackboard organiser reads it.)
- Any other LMS: a regular expression in course.toml with the named groups nbgrader's zip_collect
  uses (`student_id`, optionally `timestamp`, `late`, `file_id`), matched at the start of the
  file's path inside the download, '/'-separated.
"""
from __future__ import annotations

import re
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..config import CONFIG_NAME, ConfigError

# A class download is a few hundred notebooks of a few MB; anything far beyond is refused whole.
MAX_ENTRIES = 20_000
MAX_BYTES = 4 * 1024**3
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Claim:
    """What an LMS's name for a file says: whose it is, the file name the student gave it, how recent
    it is (compared only between one student's files of one download), and whether it was late."""
    lms: str
    student_id: str
    filename: str
    order: tuple[int, ...] = ()
    late: bool = False


def slug(name: str) -> str:
    """A person's name as Canvas writes it into file names: lower case, nothing but word characters."""
    return re.sub(r"\W+", "", name.lower())


_CANVAS = re.compile(r"(?:(?!LATE_|anon_)(?P<name>\w+?)_)?(?:(?P<late>LATE)_)?"
                     r"(?P<user>anon_[A-Za-z0-9]+|\d+)_(?P<attachment>\d+)_(?P<file>.+)")
_CANVAS_RESUBMITTED = re.compile(r"(?P<stem>.+)-(?P<n>\d+)(?P<ext>\.[^.]+)?")
_MOODLE_FOLDER = re.compile(r"(?P<name>[^_]*)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z]+)_?")
_MOODLE_FILE = re.compile(r"(?P<name>[^_]*)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.+)")
_BLACKBOARD = re.compile(r"(?P<title>.*)_(?P<user>[^_]+)_attempt_(?P<stamp>\d{4}(?:-\d{2}){5})_(?P<file>.+)")
_BLACKBOARD_RECEIPT = re.compile(r".*_[^_]+_attempt_\d{4}(?:-\d{2}){5}\.txt")


def canvas(parts: tuple[str, ...]) -> Claim | None:
    """`smithjane_12345_67890_losses.ipynb`, `doejohn_LATE_23456_78901_losses-1.ipynb`: the newest
    file is the highest resubmission number, then the highest attachment id (ids only grow)."""
    match = _CANVAS.fullmatch(parts[-1])
    if not match:
        return None
    user, name = match["user"], match["name"]
    filename, resubmission = match["file"], 0
    again = _CANVAS_RESUBMITTED.fullmatch(filename)
    if again:
        filename, resubmission = again["stem"] + (again["ext"] or ""), int(again["n"])
    return Claim("Canvas", f"{name}_{user}" if name else user, filename,
                 (resubmission, int(match["attachment"])), late=bool(match["late"]))


def moodle(parts: tuple[str, ...]) -> Claim | None:
    """`Jane Smith_12345_assignsubmission_file_/losses.ipynb` (a folder per submission, at any depth
    of the download) or `Jane Smith_12345_assignsubmission_file_losses.ipynb` (flat)."""
    for depth in range(len(parts) - 2, -1, -1):  # the nearest submission folder above the file
        match = _MOODLE_FOLDER.fullmatch(parts[depth])
        if match:
            return Claim("Moodle", _moodle_id(match), parts[-1])
    match = _MOODLE_FILE.fullmatch(parts[-1])
    return Claim("Moodle", _moodle_id(match), match["file"]) if match else None


def _moodle_id(match: re.Match) -> str:
    # Moodle's participant id is unique within the assignment; the name makes the id readable.
    name = slug(match["name"])
    return f"{name}_{match['participant']}" if name else match["participant"]


def blackboard(parts: tuple[str, ...]) -> Claim | None:
    """`Assignment Name_jsmith_attempt_2024-03-01-10-22-33_losses.ipynb`: the newest attempt is the
    latest timestamp."""
    match = _BLACKBOARD.fullmatch(parts[-1])
    if not match:
        return None
    return Claim("Blackboard", match["user"], match["file"], tuple(int(n) for n in match["stamp"].split("-")))


def is_lms_receipt(name: str) -> bool:
    """A Blackboard attempt receipt (`..._attempt_<timestamp>.txt`): the LMS's, not the student's."""
    return bool(_BLACKBOARD_RECEIPT.fullmatch(name))


def compile_pattern(text: str) -> re.Pattern | None:
    """course.toml's pattern for another LMS, checked once: one ConfigError sentence when unusable."""
    if not text:
        return None
    try:
        pattern = re.compile(text)
    except re.error as error:
        raise ConfigError(f"{CONFIG_NAME}: the submission file name pattern {text!r} is not a regular "
                          f"expression ({error}).") from None
    if "student_id" not in pattern.groupindex:
        raise ConfigError(f"{CONFIG_NAME}: the submission file name pattern {text!r} has no (?P<student_id>...) group.")
    return pattern


def by_pattern(pattern: re.Pattern, parts: tuple[str, ...]) -> Claim | None:
    """nbgrader zip_collect's named groups: student_id; optionally timestamp (or attempt), late, file_id."""
    match = pattern.match("/".join(parts))
    if not match or not match["student_id"]:
        return None
    groups = match.groupdict()
    stamp = groups.get("timestamp") or groups.get("attempt") or ""
    return Claim("course.toml pattern", match["student_id"], groups.get("file_id") or parts[-1],
                 tuple(int(n) for n in re.findall(r"\d+", stamp)), late=bool(groups.get("late")))


# The conventions in the order they are tried (after course.toml's pattern, when there is one): those
# whose marks (`_assignsubmission_`, `_attempt_`) cannot be mistaken first, then Canvas's bare numbers.
CONVENTIONS = (moodle, blackboard, canvas)


def read_name(parts: tuple[str, ...], pattern: re.Pattern | None = None) -> Claim | None:
    """What the LMS conventions say about the file at `parts` (its path inside the download)."""
    if pattern is not None:
        claim = by_pattern(pattern, parts)
        if claim:
            return claim
    for convention in CONVENTIONS:
        claim = convention(parts)
        if claim:
            return claim
    return None


class _TooBig(Exception):
    pass


def unzip(archive: Path, into: Path, shown: str) -> tuple[Path | None, list[str]]:
    """Unpack `archive` into the new folder `into`, refusing each entry that is a link, a special
    file, an absolute path or a path out of `into`, and the whole archive when it holds more than
    MAX_ENTRIES entries or expands past MAX_BYTES (counted as written, not as the zip declares).
    Returns the folder (None when nothing was unpacked) and one sentence per refusal."""
    try:
        archive_file = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        return None, [f"{shown}: not a readable zip file ({error}); nothing in it was graded."]
    with archive_file:
        entries = archive_file.infolist()
        refusal = _whole_refusal(entries)
        if refusal:
            return None, [f"{shown}: {refusal}; refused as a possible zip bomb, nothing in it was graded."]
        into.mkdir(mode=0o700)
        try:
            return into, _unpack(archive_file, entries, into, shown)
        except _TooBig:
            shutil.rmtree(into, ignore_errors=True)
            return None, [f"{shown}: expands to more than {_size(MAX_BYTES)}; refused as a possible zip bomb, "
                          "nothing in it was graded."]


def _whole_refusal(entries: list[zipfile.ZipInfo]) -> str:
    if len(entries) > MAX_ENTRIES:
        return f"holds {len(entries)} entries, more than {MAX_ENTRIES}"
    if sum(entry.file_size for entry in entries) > MAX_BYTES:
        return f"declares more than {_size(MAX_BYTES)} of files"
    return ""


def _size(n: int) -> str:
    return f"{n / 1024**3:g} GiB" if n >= 1024**3 else f"{n / 1024**2:g} MB"


def _unpack(archive_file: zipfile.ZipFile, entries: list[zipfile.ZipInfo], into: Path, shown: str) -> list[str]:
    problems, seen, written = [], set(), 0
    for entry in entries:
        name = entry.filename.replace("\\", "/")  # zips made on Windows may separate with backslashes
        parts = tuple(part for part in PurePosixPath(name).parts if part not in ("", "."))
        refusal = _entry_refusal(entry, name, parts, seen)
        if refusal:
            problems.append(f"{shown}/{entry.filename}: refused, {refusal}; not extracted.")
            continue
        if not parts:
            continue
        seen.add(parts)
        target = into.joinpath(*parts)
        try:
            if entry.is_dir():
                target.mkdir(mode=0o700, parents=True, exist_ok=True)
            else:
                written = _copy(archive_file, entry, target, written)
        except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, EOFError, OSError,
                ValueError) as error:  # damaged, encrypted, an unknown compression, a name the disk refuses
            problems.append(f"{shown}/{entry.filename}: could not be extracted ({type(error).__name__}: {error}); "
                            "not graded.")
    return problems


def _entry_refusal(entry: zipfile.ZipInfo, name: str, parts: tuple[str, ...], seen: set) -> str:
    """Why this entry must not be written, or ''."""
    kind = stat.S_IFMT(entry.external_attr >> 16)  # the Unix file type, where the zip recorded one
    if kind == stat.S_IFLNK:
        return "it is a symbolic link"
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "it is not a plain file or folder"
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "its path is absolute"
    if ".." in parts:
        return "its path climbs out of the folder it is unpacked into (zip slip)"
    if parts in seen:
        return "a second entry of the same name"
    return ""


def _copy(archive_file: zipfile.ZipFile, entry: zipfile.ZipInfo, target: Path, written: int) -> int:
    """Write one entry, counting every byte against MAX_BYTES; returns the running total."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with archive_file.open(entry) as source, open(target, "xb") as sink:  # "x": never over anything
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            if written > MAX_BYTES:
                raise _TooBig
            sink.write(chunk)
    return written
