"""Can a notebook see what it must not (graders, reference, other submissions, the network), write
to the data, or change a verdict by patching torch or builtins? Each probe runs in a real kernel."""
import base64
import io
from dataclasses import replace

import nbformat
import pytest
import torch

from course.execute import execute
from course.grade import grade_submission, hidden_paths
from course.collect import Submission
from course.grading import Call
from course.judge import encode_calls

SNOOP = '''
import os, socket
def try_read(path):
    try:
        with open(path) as f:
            return "READ " + f.read(40)
    except Exception as error:
        return "blocked: " + type(error).__name__
def try_listdir(path):
    try:
        return sorted(os.listdir(path))
    except Exception as error:
        return "blocked: " + type(error).__name__
def try_connect(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return "connected"
    except Exception as error:
        return "blocked: " + type(error).__name__
def try_write(folder):
    try:
        with open(os.path.join(folder, "planted.txt"), "w") as f:
            f.write("x")
        return "wrote"
    except Exception as error:
        return "blocked: " + type(error).__name__
'''


@pytest.fixture(scope="module")
def snoop(course, tmp_path_factory):
    """Run the probes in a kernel set up exactly as `course grade` sets one up."""
    other = tmp_path_factory.mktemp("class") / "bob" / "01_losses"
    other.mkdir(parents=True)
    (other / "losses.ipynb").write_text('{"secret": "bob\'s answers"}')
    data = tmp_path_factory.mktemp("data")
    (data / "existing.txt").write_text("data")
    course = replace(course, data_dir=data)
    assignment = course.assignment("01_losses")
    grader_file = course.path("autograder", "01_losses", "test_losses.py")
    calls = {
        "grader": Call("try_read", (str(grader_file),)),
        "reference": Call("try_read", (str(course.path("solutions", "losses.py")),)),
        "source": Call("try_read", (str(course.path("source", "01_losses", "losses.ipynb")),)),
        "other_student": Call("try_read", (str(other / "losses.ipynb"),)),
        "autograder_dir": Call("try_listdir", (str(course.path("autograder")),)),
        "git": Call("try_listdir", (str(course.root / ".git"),)),
        "network_out": Call("try_connect", ("8.8.8.8", 53)),
        "loopback": Call("try_connect", ("127.0.0.1", 22)),
        "data_write": Call("try_write", (str(data),)),
        "data_read": Call("try_read", (str(data / "existing.txt"),)),
        "own_folder_write": Call("try_write", (".",)),
    }
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SNOOP)])
    result = execute(notebook, "losses.ipynb", assignment, course, encode_calls(calls), "", calls,
                     hidden_paths(course) + [other.parent.parent])
    answers = {k: torch.load(io.BytesIO(base64.b64decode(v)), weights_only=True)["value"] for k, v in result.outcomes.items()}
    return result, answers


def test_kernel_is_isolated(snoop):
    result, _ = snoop
    assert result.isolation.startswith("isolated"), result.isolation


@pytest.mark.parametrize("what", ["grader", "reference", "source", "other_student"])
def test_notebook_cannot_read_hidden_files(snoop, what):
    """Is every grader, reference and other student's file unreadable from the kernel?"""
    assert snoop[1][what].startswith("blocked"), snoop[1][what]


def test_hidden_folders_look_empty(snoop):
    assert snoop[1]["autograder_dir"] == [] and snoop[1]["git"] == []


@pytest.mark.parametrize("what", ["network_out", "loopback"])
def test_notebook_has_no_network(snoop, what):
    assert snoop[1][what].startswith("blocked"), snoop[1][what]


def test_data_is_readable_but_not_writable(snoop):
    assert snoop[1]["data_read"] == "READ data"
    assert snoop[1]["data_write"].startswith("blocked"), snoop[1]["data_write"]
    assert snoop[1]["own_folder_write"] == "wrote"


def test_patching_torch_and_builtins_cannot_change_a_verdict(course, tmp_path):
    """Does a notebook with wrong answers that patches torch.testing, torch.allclose, builtins
    and the answer path still lose exactly the points of its wrong answers?"""
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
    results, _ = grade_submission(course, Submission("mallory", "01_losses", path))
    failed = {t["name"] for t in results["tests"] if t["score"] < t["max_score"]}
    assert {"test_cross_entropy_matches_reference", "test_cross_entropy_stable_for_large_logits"} <= failed
