"""The lesson's shorts, as feedback quotes them: number, title, hook and common mistake.

The shorts live in the lesson (`../shared/lesson/`, not part of the course folder), so what feedback
quotes is extracted once into `autograder/shorts.json` and committed:
    python -m course.authoring.lesson ../shared/lesson        # writes autograder/shorts.json
`tests/test_feedback_html.py` checks that the file is what this extraction gives.
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

SHORTS_FILE = "shorts.json"  # in the autograder folder: grading reads it, students never get it
_HEADING = re.compile(r"^## Short (\d+) — (.+?)\s*$")


@dataclass(frozen=True)
class Short:
    number: int
    title: str
    hook: str  # the short's one-sentence idea: the practice it teaches
    mistake: str  # its "Common mistake"


def parse(text: str) -> dict[int, Short]:
    """Every `## Short NN — Title` section of a shorts script, with its Hook and Common mistake."""
    shorts, lines = {}, text.splitlines()
    for i, line in enumerate(lines):
        heading = _HEADING.match(line)
        if not heading:
            continue
        end = next((j for j in range(i + 1, len(lines)) if _HEADING.match(lines[j])), len(lines))
        section = lines[i + 1:end]
        shorts[int(heading.group(1))] = Short(int(heading.group(1)), heading.group(2),
                                              _block(section, "**Hook**"), _block(section, "**Common mistake**"))
    return shorts


def _block(section: list[str], label: str) -> str:
    """The text under a bold label, up to the next label or rule, bullets joined into one line."""
    if label not in [line.strip() for line in section]:
        return ""
    start = [line.strip() for line in section].index(label) + 1
    taken = []
    for line in section[start:]:
        stripped = line.strip()
        if stripped.startswith("**") or stripped == "---" or stripped.startswith("```"):
            break
        if stripped:
            taken.append(stripped.lstrip("- ").strip())
    return " ".join(taken)


def extract(lesson_dir: Path) -> dict[int, Short]:
    found: dict[int, Short] = {}
    for path in sorted(Path(lesson_dir).glob("*.txt")):
        found.update(parse(path.read_text()))
    return found


def load(course) -> dict[int, Short]:
    """The committed extract; {} when the course has none (feedback then names the short without quoting it)."""
    path = course.path("autograder", SHORTS_FILE)
    try:
        return {int(k): Short(**v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError, TypeError):
        return {}


def number(reference: str) -> int | None:
    """12 for "Short 12 — ..." (how graders name the short that teaches a mistake)."""
    match = re.search(r"Short (\d+)", reference)
    return int(match.group(1)) if match else None


def dumps(shorts: dict[int, Short]) -> str:
    return json.dumps({str(n): asdict(s) for n, s in sorted(shorts.items())}, indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    from ..config import load as load_course

    course = load_course()
    target = course.path("autograder", SHORTS_FILE)
    target.write_text(dumps(extract(Path(sys.argv[1]))))
    print(f"wrote {target}")
