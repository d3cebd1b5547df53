"""Is course.toml read into typed settings, with every user error one sentence naming what and where?"""
import os
import shutil

import pytest

from course.config import ConfigError, load


@pytest.fixture
def course_copy(course, tmp_path):
    """A copy of the course's config and source notebooks, to break on purpose."""
    shutil.copy(course.root / "course.toml", tmp_path / "course.toml")
    shutil.copytree(course.path("source"), tmp_path / course.folders.source)
    return tmp_path


def edit(root, old, new):
    path = root / "course.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_real_config_loads(course):
    """Does the committed course.toml give each assignment its notebook, points and limits?"""
    losses = course.assignment("01_losses")
    assert losses.notebook == "losses.ipynb"
    assert losses.max_score == sum(losses.tests.values()) > 0
    assert losses.limits.cell_timeout > 0 and losses.limits.memory_mb >= 3072


@pytest.mark.parametrize("old,new,expected", [
    ("[course]\n", "[course]\ncolour = 1\n", "unknown key 'course.colour'"),
    ("cell_timeout = 60", "cell_timout = 60", "unknown key 'limits.cell_timout'"),
    ('notebook = "losses.ipynb"', 'notebook = "losses.ipynb"\npoints = 3', "unknown key 'assignments.01_losses.points'"),
    ("cell_timeout = 60", 'cell_timeout = "sixty"', "'limits.cell_timeout' must be int"),
    ('notebook = "losses.ipynb"', 'notebook = "nope.ipynb"', "nope.ipynb, which does not exist"),
    ("seed = 5081", "", "missing required key 'seed'"),
    ("test_mse_matches_reference = 2", "test_mse_matches_reference = -2", "positive number of points"),
    ('tamper_policy = "flag"', 'tamper_policy = "strict"',
     "'grading.tamper_policy' must be 'flag' or 'zero', got 'strict'"),
    ('tamper_policy = "flag"', "tamper_policy = 0", "'grading.tamper_policy' must be str"),
    ("rotate_seed = false", 'rotate_seed = "yes"', "'grading.rotate_seed' must be bool"),
    ("rotate_seed = false", "rotate_seed = 1", "'grading.rotate_seed' must be bool"),
    ("cell_timeout = 60", "cell_timeout = true", "'limits.cell_timeout' must be int"),
    ("[grading]\n", "[grading]\nstrict = true\n", "unknown key 'grading.strict'"),
])
def test_config_errors_are_one_sentence(course_copy, old, new, expected):
    """Does each mistake in course.toml raise one line that says what is wrong and where?"""
    edit(course_copy, old, new)
    with pytest.raises(ConfigError) as error:
        load(course_copy)
    assert expected in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_config_is_one_sentence(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path)


def test_data_dir_env_overrides_config(course_copy, monkeypatch, tmp_path):
    """Does COURSE_DATA_DIR win over course.toml's data_dir, and a relative data_dir resolve from the course root?"""
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    assert load(course_copy).data_dir == course_copy / "data"
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "elsewhere"))
    assert load(course_copy).data_dir == tmp_path / "elsewhere"


def test_folders_come_from_config(course_copy):
    """Are folder names read from [folders], so paths follow a renamed folder?"""
    edit(course_copy, 'release = "release"', 'release = "student_copies"')
    course = load(course_copy)
    assert course.path("release", "01_losses") == course_copy / "student_copies" / "01_losses"


def test_grading_defaults(course, course_copy):
    """Do the committed config and a config without [grading] both flag for the instructor only, with a fixed seed?"""
    assert course.grading.tamper_policy == "flag" and course.grading.rotate_seed is False
    text = (course_copy / "course.toml").read_text()
    start = text.index("[grading]")
    end = text.index("\n[", start + 1)
    (course_copy / "course.toml").write_text(text[:start] + text[end + 1:])
    grading = load(course_copy).grading
    assert grading.tamper_policy == "flag" and grading.rotate_seed is False


def test_grading_keys_take_their_values(course_copy):
    """Does `tamper_policy = "zero"` and `rotate_seed = true` reach Course.grading as a str and a bool?"""
    edit(course_copy, 'tamper_policy = "flag"', 'tamper_policy = "zero"')
    edit(course_copy, "rotate_seed = false", "rotate_seed = true")
    grading = load(course_copy).grading
    assert grading.tamper_policy == "zero" and grading.rotate_seed is True


def test_usable_cores_follow_affinity_and_a_cgroup_quota(tmp_path):
    from course.config import usable_cores

    affinity = len(os.sched_getaffinity(0))
    assert usable_cores(tmp_path / "absent") == affinity
    (tmp_path / "unlimited").write_text("max 100000\n")
    assert usable_cores(tmp_path / "unlimited") == affinity
    (tmp_path / "one-and-a-half").write_text("150000 100000\n")
    assert usable_cores(tmp_path / "one-and-a-half") == 1
    (tmp_path / "half").write_text("50000 100000\n")  # Gradescope's default half a CPU: still one job
    assert usable_cores(tmp_path / "half") == 1
