"""Does the static scan flag every attack on the grading harness, and nothing an honest student writes?"""
from pathlib import Path

import nbformat
import pytest

from course.engine.integrity import HELD, apply, scan, scan_notebook
from course.engine.notebook import student_cells

ROOT = Path(__file__).resolve().parents[1]
# The example submissions that tamper on purpose (examples/specs/*.py): (student, assignment).
DELIBERATE = {("tampers-with-assert-close", "01_losses")}


def flagged(code: str) -> list[str]:
    return scan([code])


@pytest.mark.parametrize("code,expected", [
    # IPython and interpreter hooks
    ("get_ipython().events.register('post_run_cell', f)", "registers an IPython event hook"),
    ("ip = get_ipython()\nip.events.register('pre_execute', f)",
     "registers an IPython event hook (ip.events.register)"),
    ("get_ipython().ast_transformers.append(T())", "installs an IPython code transformer"),
    ("get_ipython().input_transformers_post.append(f)", "installs an IPython code transformer"),
    ("get_ipython().register_magic_function(f)", "registers an IPython magic"),
    ("get_ipython().set_custom_exc((Exception,), handler)", "installs an IPython exception handler"),
    ("import sys\nsys.settrace(tracer)", "installs a trace or profile hook (sys.settrace)"),
    ("from sys import setprofile\nsetprofile(tracer)", "installs a trace or profile hook"),
    ("import sys\nsys.addaudithook(hook)", "installs an audit hook"),
    ("import sys\nsys.meta_path.insert(0, Finder())", "changes how modules are imported (sys.meta_path)"),
    ("import sys\ngetattr(sys, 'path_hooks').append(hook)", "changes how modules are imported"),
    ("import sys\nsys.displayhook = hook", "reaches into the display machinery"),
    ("get_ipython().kernel.iopub_socket", "writes to the kernel's message channel"),
    # the grader's MIME type and raw display
    ("print('application/vnd.course.outcome+json')", "uses the grader's MIME type"),
    ("from IPython.display import publish_display_data\npublish_display_data({})", "publishes raw display data"),
    ("from IPython.display import display\ndisplay({'text/plain': 'x'}, raw=True)", "publishes a raw MIME bundle"),
    ("class A:\n    def _repr_mimebundle_(self, **kwargs):\n        return {}", "defines a raw display method"),
    # the grading package
    ("import course.engine.probe", "imports the grading package (course.engine.probe)"),
    ("from course import probe", "imports the grading package (course)"),
    ("__import__('course')", "imports the grading package (course)"),
    ("import importlib\nimportlib.import_module('course.engine.probe')", "imports the grading package (course.engine.probe)"),
    ("name = 'course.engine.probe'", "refers to the grader's probe module"),
    ("name = 'course.probe'", "refers to the grader's probe module"),
    # patched torch, builtins, IPython, through aliases too
    ("import torch\ntorch.Tensor.argmax = lambda *a: 0", "assigns to torch.Tensor.argmax"),
    ("import torch\nsetattr(torch, 'allclose', f)", "calls setattr on torch"),
    ("import torch\ndelattr(torch.Tensor, 'argmax')", "calls delattr on torch.Tensor"),
    ("import torch\ndel torch.Tensor.argmax", "deletes torch.Tensor.argmax"),
    ("import builtins\nbuiltins.isinstance = f", "assigns to builtins.isinstance"),
    ("import builtins as b\nb.isinstance = f", "assigns to builtins.isinstance (b.isinstance)"),
    ("import torch.nn as nn\nnn.Module.eval = lambda self: self", "assigns to torch.nn.Module.eval"),
    ("import torch\ntorch.manual_seed = lambda seed: None", "assigns to torch.manual_seed"),
    ("import torch\nT = torch.Tensor\nT.argmax = f", "assigns to torch.Tensor.argmax (T.argmax)"),
    ("from torch import Tensor\nTensor.argmax = f", "assigns to torch.Tensor.argmax"),
    ("from torch import *\nTensor.argmax = f", "assigns to torch.Tensor.argmax"),
    ("import torch.nn.functional as F\nF.cross_entropy = f", "assigns to torch.nn.functional.cross_entropy"),
    ("import torch\nG = getattr(torch, 'testing')\nG.assert_close = f", "assigns to torch.testing.assert_close"),
    ("import IPython\nIPython.display.display = f", "assigns to IPython.display.display"),
    ("import torch\nfor C in (torch.Tensor,):\n    C.argmax = f", "assigns to torch.Tensor.argmax"),
    ("import torch\ndef patch(T=torch.Tensor):\n    T.argmax = f", "assigns to torch.Tensor.argmax"),
    ("import torch\ntype(torch.zeros(1)).argmax = f", "assigns to type().argmax"),
    ("import torch\nobject.__setattr__(torch, 'allclose', f)", "calls __setattr__ on torch"),
    ("import torch\ntorch.zeros(1).__class__.argmax = f", "assigns to torch.zeros().__class__.argmax"),
    ("import torch\nglobals()['torch'].Tensor.argmax = f", "assigns to torch.Tensor.argmax"),
    ("import torch\n(T := torch.Tensor).argmax = f", "assigns to torch.Tensor.argmax"),
    ("import torch, operator\noperator.setitem(vars(torch), 'allclose', f)", "edits the namespace of torch.__dict__"),
    ("import torch\nvars(torch)['allclose'] = f", "edits the namespace of torch.__dict__"),
    ("import sys\nsys.modules['torch'] = fake", "replaces a module in sys.modules"),
    ("import sys\nsys.modules['torch'].Tensor.argmax = f", "assigns to torch.Tensor.argmax"),
    ("__builtins__.isinstance = f", "assigns to builtins.isinstance"),
    ("__builtins__['print'] = f", "edits the namespace of builtins"),
    ("__builtins__ = {}", "assigns to __builtins__"),
    # native code, namespaces, detached processes, signals, /proc
    ("import ctypes", "imports ctypes"),
    ("from cffi import FFI", "imports cffi"),
    ("import torch\ntorch.ops.load_library('evil.so')", "loads native code"),
    ("from torch.utils.cpp_extension import load_inline", "loads native code"),
    ("libc.mount(b'none', b'/x')", "calls mount"),
    ("import os\nos.unshare(os.CLONE_NEWNS)", "calls unshare"),
    ("libc.prctl(1, 0)", "calls prctl"),
    ("import os\nos.system('mount -t tmpfs none /x')", "names namespaces, mounts or tracing"),
    ("import os\nos.system('nsenter -t 1 -m sh')", "names namespaces, mounts or tracing"),
    ("import os\nif os.fork() == 0:\n    os.setsid()", "forks or detaches a process (os.fork)"),
    ("import subprocess\nsubprocess.Popen(['sleep', '9'], start_new_session=True)", "starts a detached process"),
    ("import os\nos.kill(os.getppid(), 9)", "sends a signal to another process"),
    ("import os\nos.kill(1234, 9)", "sends a signal to another process"),
    ("open('/proc/self/environ').read()", "reads /proc"),
    ("import os\nos.listdir(f'/proc/{pid}/fd')", "reads /proc"),
    # code no scan can read
    ("exec('import ctypes')", "runs code built from a string (exec)"),
    ("module = __import__(name)", "imports a module by a computed name"),
])
def test_attack_is_flagged(code, expected):
    """Is each way of reaching the harness, the grader's channel or the host flagged by name?"""
    flags = flagged(code)
    assert any(expected in flag for flag in flags), flags
    assert all(flag.startswith("cell 1: ") for flag in flags)


@pytest.mark.parametrize("code,expected", [
    ("!cat /proc/1/environ", "reads /proc"),
    ("!kill -9 1", "sends a signal to another process"),
    ("listing = !mount\n", "calls namespaces, mounts or tracing"),
    ("%%bash\nmount -t tmpfs none /tmp/x", "calls namespaces, mounts or tracing"),
    ("%%writefile helper.py\nimport course.engine.probe", "imports the grading package"),
    ("def broken(:\n    pass\ntorch.Tensor.argmax = f", "assigns to a guarded attribute"),
    ("def broken(:\n    pass\nget_ipython().events.register('post_run_cell', f)", "registers an IPython event hook"),
])
def test_shell_magics_and_syntax_errors_do_not_hide_code(code, expected):
    """Are shell lines, shell cell magics and cells that do not parse scanned as text?"""
    flags = flagged(code)
    assert any(expected in flag for flag in flags), flags


@pytest.mark.parametrize("code", [
    "import torch\ntorch.manual_seed(0)\ntorch.backends.cudnn.deterministic = True",
    "import torch\nx = torch.zeros(3)\nx.requires_grad = True\nx.grad = None\nx.data = x.data * 2",
    "optimizer.param_groups[0]['lr'] = 0.1",
    "import torch\nlayer = torch.nn.Linear(2, 1)\nlayer.weight = torch.nn.Parameter(torch.zeros(1, 2))",
    "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        self.fc = nn.Linear(2, 1)\n\n    def forward(self, x):\n        return self.fc(x)",
    "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.rcParams['figure.figsize'] = (6, 4)",
    "from google.colab import drive\ndrive.mount('/content/drive')",
    "from IPython.display import display\ndisplay(figure)",
    "import os\nos.kill(os.getpid(), 9)",
    "amount = 3\nprint('the amount of data mounted up')",
    "model.eval()\nwith torch.no_grad():\n    accuracy = (model(x).argmax(1) == y).float().mean()",
])
def test_honest_code_is_not_flagged(code):
    """Does code a student may honestly write (calls, its own objects, torch.backends) pass clean?"""
    assert flagged(code) == []


def test_alias_made_in_one_cell_is_seen_in_another():
    """Is `import torch.nn as nn` in one cell followed to `nn.Module.eval = ...` in a later one?"""
    flags = scan(["import torch.nn as nn", "x = 1", "nn.Module.eval = lambda self: self"])
    assert flags == ["cell 3: assigns to torch.nn.Module.eval (nn.Module.eval)"]


def notebooks(pattern: str) -> list[Path]:
    found = sorted(ROOT.glob(pattern))
    assert found, pattern
    return found


def folder_id(path: Path) -> str:
    return f"{path.parts[-3]}/{path.parts[-2]}"


@pytest.mark.parametrize("path", notebooks("examples/submitted/*/*/*.ipynb"), ids=folder_id)
def test_examples_flagged_only_where_deliberate(path):
    """Is an example submission flagged exactly when its spec tampers on purpose?"""
    flags = scan(student_cells(nbformat.read(path, as_version=4)))
    assert bool(flags) == ((path.parts[-3], path.parts[-2]) in DELIBERATE), flags


def test_tampering_example_is_named_for_what_it_patches():
    path = ROOT / "examples/submitted/tampers-with-assert-close/01_losses/losses.ipynb"
    flags = scan_notebook(nbformat.read(path, as_version=4))
    assert any("assigns to torch.testing.assert_close" in flag for flag in flags), flags
    assert any("assigns to torch.allclose" in flag for flag in flags), flags


@pytest.mark.parametrize("path", notebooks("release/*/*.ipynb") + notebooks("source/*/*.ipynb"),
                         ids=folder_id)
def test_release_and_source_notebooks_are_clean(path):
    """Do the notebooks we hand out, locked self-check cells included, produce no flag?"""
    assert scan_notebook(nbformat.read(path, as_version=4)) == []


def test_scan_notebook_names_cells_by_their_place_in_the_notebook():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# title"),
        nbformat.v4.new_code_cell("import ctypes"),
    ])
    assert scan_notebook(notebook) == ["cell 2: imports ctypes (native calls around Python) (ctypes)"]


def results() -> dict:
    return {
        "score": 3.0, "max_score": 4.0, "output": "Your notebook ran without problems.",
        "tests": [{"name": "test_a", "score": 3.0, "max_score": 3.0, "status": "passed", "output": "a"},
                  {"name": "test_b", "score": 0.0, "max_score": 1.0, "status": "failed", "output": "b"}],
        "extra_data": {"student_id": "s", "assignment": "01_losses"},
    }


def test_apply_records_nothing_for_clean_code():
    """Is a clean submission's integrity an empty list, its score untouched even under "zero"?"""
    graded = apply(results(), [], "zero")
    assert graded["extra_data"]["integrity"] == [] and graded["score"] == 3.0
    assert graded["output"] == results()["output"]


def test_flag_policy_tells_only_the_instructor():
    """Under "flag", are the flags recorded while the score and the student's text stay as they were?"""
    flags = ["cell 4: imports ctypes (native calls around Python) (ctypes)"]
    graded = apply(results(), flags)
    assert graded["extra_data"]["integrity"] == flags
    graded.pop("extra_data")
    assert graded == {k: v for k, v in results().items() if k != "extra_data"}


def test_zero_policy_holds_the_submission_without_saying_why():
    """Under "zero", is every score 0 and the student told only that it is held for review?"""
    flags = ["cell 4: assigns to torch.Tensor.argmax"]
    graded = apply(results(), flags, "zero")
    assert graded["score"] == 0 and all(t["score"] == 0 and t["status"] == "failed" for t in graded["tests"])
    assert graded["output"].endswith(HELD)
    student_text = graded["output"] + "".join(t["output"] for t in graded["tests"])
    assert "argmax" not in student_text and "cell 4" not in student_text


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="tamper policy"):
        apply(results(), [], "strict")


@pytest.mark.parametrize("depth", [900, 1500, 3000])
def test_deep_nesting_does_not_break_the_scan(depth):
    """Does code nested deeper than the scan can follow still get its attack flagged, never a crash?"""
    flags = scan(["import torch\nx = " + "a." * depth + "b\ntorch.Tensor.argmax = f"])
    assert any("torch.Tensor.argmax" in flag for flag in flags), flags
