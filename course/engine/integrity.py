"""Read a submission's code, never running it, for attacks on the grading harness: hooks into IPython
or the interpreter, forged grader output, patched torch or builtins, and ways out of the sandbox.

Each finding is one line for the instructor; `apply` records them in results.json and, by policy,
holds the grade. Students never see the findings: a scan that can be read can be dodged.
"""
from __future__ import annotations

import ast
import re
from typing import Callable, Iterable

POLICIES = ("flag", "zero")
HELD = "This submission was held for review by your instructor."
EVIDENCE_CHARS = 80
UNREADABLE = "is nested too deeply for the scan; read it by hand"

# Cell magics whose body is Python (scanned with `ast`); any other cell magic's body is shell, a
# script or a file to write, so it is scanned as text.
PYTHON_CELL_MAGICS = {"capture", "time", "timeit", "prun", "debug", "python", "python3"}

# Whatever a submission reaches through these roots reaches the grader's own code in its kernel.
GUARDED_ROOTS = ("torch", "builtins", "IPython", "get_ipython()")
# torch.backends.cudnn.deterministic = True is how honest code asks for reproducibility.
UNGUARDED_PREFIXES = ("torch.backends",)
# Names a harness checks with; no honest notebook assigns to them, whatever the owner.
CHECKERS = {"assert_close", "allclose", "isclose", "isinstance", "issubclass", "__import__"}

# `from torch import *` binds these names; the scan cannot import torch to list the rest.
STAR_EXPORTS = {
    "torch": ("Tensor", "nn", "testing", "optim", "autograd", "linalg", "manual_seed"),
    "torch.nn": ("Module", "Parameter", "functional", "init"),
}

HOOKS = {  # attribute or name -> what reaching it does
    "pre_run_cell": "names an IPython execution event",
    "post_run_cell": "names an IPython execution event",
    "pre_execute": "names an IPython execution event",
    "post_execute": "names an IPython execution event",
    "register_magic_function": "registers an IPython magic",
    "register_magics": "registers an IPython magic",
    "ast_transformers": "installs an IPython code transformer",
    "input_transformer_manager": "installs an IPython code transformer",
    "input_transformers_cleanup": "installs an IPython code transformer",
    "input_transformers_post": "installs an IPython code transformer",
    "set_custom_exc": "installs an IPython exception handler",
    "set_hook": "installs an IPython hook",
    "displayhook": "reaches into the display machinery",
    "display_pub": "reaches into the display machinery",
    "display_formatter": "reaches into the display machinery",
    "iopub_socket": "writes to the kernel's message channel",
    "iopub_thread": "writes to the kernel's message channel",
    "settrace": "installs a trace or profile hook",
    "setprofile": "installs a trace or profile hook",
    "addaudithook": "installs an audit hook",
    "meta_path": "changes how modules are imported",
    "path_hooks": "changes how modules are imported",
    "path_importer_cache": "changes how modules are imported",
    "publish_display_data": "publishes raw display data",
    "_repr_mimebundle_": "defines a raw display method",
    "_ipython_display_": "defines a raw display method",
    "CDLL": "loads native code",
    "PyDLL": "loads native code",
    "LoadLibrary": "loads native code",
    "dlopen": "loads native code",
    "load_library": "loads native code",
    "load_inline": "loads native code",
    "cpp_extension": "loads native code",
}
IMPORTS = {  # top-level module -> what importing it does
    "course": "imports the grading package",
    "ctypes": "imports ctypes (native calls around Python)",
    "_ctypes": "imports ctypes (native calls around Python)",
    "cffi": "imports cffi (native calls around Python)",
    "daemon": "imports python-daemon (detached processes)",
    "zmq": "imports the kernel's messaging library",
    "ipykernel": "imports the kernel's messaging library",
    "jupyter_client": "imports the kernel's messaging library",
}
SYSCALLS = {"mount", "umount", "umount2", "unshare", "setns", "pivot_root", "ptrace", "prctl", "chroot", "nsenter"}
DETACHES = {"os.fork", "os.forkpty", "pty.fork", "os.setsid", "os.setpgrp", "os.setpgid", "os.daemon"}
SIGNALS = {"os.kill", "os.killpg", "signal.pidfd_send_signal", "os.pidfd_open"}
SETATTRS = {"setattr", "delattr", "builtins.setattr", "builtins.delattr", "object.__setattr__",
            "object.__delattr__", "type.__setattr__", "type.__delattr__"}
MAPPING_EDITS = {"update", "setdefault", "__setitem__", "__delitem__", "pop", "popitem", "clear"}
IMPORTERS = {"__import__", "builtins.__import__", "importlib.import_module", "importlib.__import__"}

# Strings a submission may hand to a shell, a file or a syscall.
SYSCALL_WORD = re.compile(r"\b(umount2?|unshare|setns|pivot_root|ptrace|prctl|nsenter|chroot)\b")
SHELL_MOUNT = re.compile(r"^\s*(sudo\s+)?mount\b")
SHELL_KILL = re.compile(r"^\s*(sudo\s+)?(kill|pkill|killall)\b")
PROC = re.compile(r"(^|[\s'\"=:(])/proc(\b|$)")

# The names a cell that does not parse most likely patches through (the usual import aliases).
GUARDED_WORDS = r"(torch|nn|F|Tensor|builtins|IPython|__builtins__)"

# The same findings as text patterns, for code `ast` cannot read: a cell that does not parse, shell
# lines (`!...`) and the body of a shell or file cell magic. Each pattern -> the finding it makes.
TEXT_PATTERNS = [
    (re.compile(r"\.events\s*\.\s*register\b"), "registers an IPython event hook"),
    *[(re.compile(rf"\b{name}\b"), what) for name, what in HOOKS.items()],
    (re.compile(r"\binput_transformers_\w+"), "installs an IPython code transformer"),
    (re.compile(r"vnd\.course"), "uses the grader's MIME type"),
    (re.compile(r"\bdisplay\s*\(.*\braw\s*=\s*True"), "publishes a raw MIME bundle"),
    (re.compile(r"^\s*(import|from)\s+course\b", re.M), "imports the grading package"),
    (re.compile(r"(__import__|import_module)\s*\(\s*['\"]course\b"), "imports the grading package"),
    (re.compile(r"course\.probe"), "refers to the grader's probe module"),
    (re.compile(rf"(?<![\w.]){GUARDED_WORDS}(\s*\.\s*(?!backends\b)\w+)+\s*(=(?!=)|[-+*/|&]=)"),
     "assigns to a guarded attribute"),
    (re.compile(rf"\b(setattr|delattr)\s*\(\s*{GUARDED_WORDS}\b"), "sets an attribute of a guarded object"),
    (re.compile(r"\b__builtins__\s*(\[[^\]]*\]\s*)?=(?!=)"), "replaces a builtin"),
    (re.compile(r"\b(ctypes|cffi)\b"), "uses native calls around Python"),
    (re.compile(r"(?<!drive\.)\bmount\b|" + SYSCALL_WORD.pattern), "calls namespaces, mounts or tracing"),
    (re.compile(r"\bos\s*\.\s*(fork|forkpty|setpgrp|setpgid)\b|\b(setsid|start_new_session|preexec_fn|nohup)\b"),
     "forks or detaches a process"),
    (re.compile(r"\bos\s*\.\s*kill(pg)?\s*\((?!\s*os\s*\.\s*getpid\s*\(\s*\)\s*,)"),
     "sends a signal to another process"),
    (re.compile(r"(^|[!;&|`(]|\$\()\s*(sudo\s+)?(kill|pkill|killall)\s", re.M), "sends a signal to another process"),
    (re.compile(r"/proc\b"), "reads /proc"),
    (re.compile(r"(?<![\w.])(exec|eval|compile)\s*\("), "runs code built from a string"),
]


def scan(cells: list[str], numbers: list[int] | None = None) -> list[str]:
    """One instructor-facing line per attack found in `cells` (sources, never run); cell k is named
    "cell {numbers[k]}", by default its position in `cells` counting from 1."""
    numbers = numbers or list(range(1, len(cells) + 1))
    split = [_split(source) for source in cells]
    names = Names([tree for tree, _ in split if tree is not None])
    flags = []
    for number, source, (tree, text) in zip(numbers, cells, split):
        found = _cell_findings(source, tree, names) + _text_findings(text)
        flags += [f"cell {number}: {finding}" for finding in _one_per_kind(found)]
    return flags


def scan_notebook(notebook) -> list[str]:
    """`scan` of the student's code cells (test cells excluded), each named by its place in the notebook."""
    from .notebook import is_test_cell

    picked = [(n, c.source) for n, c in enumerate(notebook.cells, start=1)
              if c.cell_type == "code" and not is_test_cell(c)]
    return scan([source for _, source in picked], [n for n, _ in picked])


def apply(results: dict, flags: list[str], policy: str = "flag") -> dict:
    """Record `flags` in results["extra_data"]["integrity"]; under policy "zero", any flag scores the
    submission 0 and tells the student only that it is held for review. Returns `results`."""
    if policy not in POLICIES:
        raise ValueError(f"tamper policy must be one of {', '.join(POLICIES)}, got {policy!r}.")
    results.setdefault("extra_data", {})["integrity"] = list(flags)
    if policy == "zero" and flags:
        results["score"] = 0.0
        for test in results.get("tests", []):
            test["score"], test["status"] = 0.0, "failed"
        # One neutral sentence: the flags would teach an attacker what to hide next time.
        results["output"] = "\n".join(filter(None, [results.get("output", ""), HELD]))
    return results


def _split(cell: str) -> tuple[ast.Module | None, str]:
    """The cell's Python as a tree (None when it does not parse) and the text only a shell or a
    cell magic reads: magic and shell lines are blanked out of the Python, as course.grading does."""
    lines = cell.splitlines()
    first = next((line.strip() for line in lines if line.strip()), "")
    if first.startswith("%%") and first[2:].split(" ")[0] not in PYTHON_CELL_MAGICS:
        return ast.Module(body=[], type_ignores=[]), cell
    shell = [line for line in lines if line.lstrip().startswith(("%", "!"))]
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)
    try:
        return ast.parse(code), "\n".join(shell)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # Never run as Python, but scanned as text, so a syntax error hides nothing.
        return None, "\n".join(shell)


def _cell_findings(source: str, tree: ast.Module | None, names: Names) -> list[str]:
    """One cell's findings: from its tree, or from its text when it does not parse or breaks the scan."""
    if tree is None:
        return _text_findings(source)
    if id(tree) not in names.unreadable:
        try:
            return _tree_findings(tree, names)
        except RecursionError:
            pass
    # Code that Python runs but that is nested too deeply to scan is a sign in itself.
    return [UNREADABLE] + _text_findings(source)


def _one_per_kind(findings: list[str]) -> list[str]:
    """The first finding of each kind ("imports ctypes (...)" and "imports ctypes (...)" are one)."""
    kinds = {}
    for finding in findings:
        kinds.setdefault(finding.split(" (")[0], finding)
    return list(kinds.values())


def _text_findings(text: str) -> list[str]:
    return [f"{what} ({_clip(match.group(0))})"
            for pattern, what in TEXT_PATTERNS for match in [pattern.search(text)] if match]


class Names:
    """What each name in the notebook stands for as a dotted path (`nn` -> `torch.nn`), learned from
    the imports and plain assignments of every cell, so an alias made in one cell is seen in another."""

    def __init__(self, trees: list[ast.Module]):
        self.aliases: dict[str, str] = {"__builtins__": "builtins"}
        self.modules: set[str] = set(GUARDED_ROOTS) | {"type()"}
        self.unreadable: set[int] = set()  # id() of each tree too deeply nested to follow
        for _ in range(4):  # `A = torch`, then `B = A.Tensor`: a few passes reach a fixed point
            before = dict(self.aliases)
            for tree in trees:
                self._learn_tree(tree)
            if self.aliases == before:
                break

    def _learn_tree(self, tree: ast.Module) -> None:
        try:
            for node in ast.walk(tree):
                self._learn(node)
        except RecursionError:
            self.unreadable.add(id(tree))

    def dotted(self, node: ast.AST) -> str | None:
        """`node` as a dotted path with aliases resolved (`T.argmax` -> `torch.Tensor.argmax`), or None."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            owner = self.dotted(node.value)
            return f"{owner}.{node.attr}" if owner else None
        if isinstance(node, ast.Subscript):
            mapping, name = self.dotted(node.value), _constant(node.slice)
            if mapping == "sys.modules":
                return name  # sys.modules["torch"] is torch
            if mapping in ("globals()", "locals()") and name:
                return self.aliases.get(name, name)  # globals()["torch"] is whatever torch names
            return None
        if isinstance(node, ast.Call):
            return self._called(node)
        if isinstance(node, ast.NamedExpr):  # (T := torch.Tensor).argmax = ...
            return self.dotted(node.value)
        if isinstance(node, ast.IfExp):  # (torch.Tensor if True else int).argmax = ...
            paths = [self.dotted(node.body), self.dotted(node.orelse)]
            return next((path for path in paths if guarded(path)), paths[0])
        return None

    def _called(self, node: ast.Call) -> str | None:
        function = self.dotted(node.func)
        text = _constant(node.args[1]) if len(node.args) > 1 else None
        if function in ("getattr", "builtins.getattr") and text:
            owner = self.dotted(node.args[0])
            return f"{owner}.{text}" if owner else None
        if function in IMPORTERS and node.args:
            return _constant(node.args[0])
        if function in ("get_ipython", "IPython.get_ipython"):
            return "get_ipython()"
        if function in ("type", "builtins.type"):
            return "type()"
        if function in ("vars", "builtins.vars") and node.args:
            owner = self.dotted(node.args[0])
            return f"{owner}.__dict__" if owner else None
        return f"{function}()" if function else None

    def _learn(self, node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                self._bind(bound, alias.name if alias.asname else bound, module=True)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name == "*":
                    for name in STAR_EXPORTS.get(node.module, ()):
                        self._bind(name, f"{node.module}.{name}", module=True)
                else:
                    self._bind(alias.asname or alias.name, f"{node.module}.{alias.name}", module=True)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                self._bind_pairs(target, node.value)
        elif isinstance(node, ast.For) and isinstance(node.iter, (ast.List, ast.Tuple, ast.Set)):
            for element in node.iter.elts:  # for cls in (torch.Tensor,): cls.argmax = ...
                self._bind_pairs(node.target, element)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args.posonlyargs + node.args.args
            for arg, default in zip(args[len(args) - len(node.args.defaults):], node.args.defaults):
                self._bind_pairs(ast.Name(arg.arg), default)  # def f(T=torch.Tensor): T.argmax = ...
            for arg, default in zip(node.args.kwonlyargs, node.args.kw_defaults):
                if default is not None:
                    self._bind_pairs(ast.Name(arg.arg), default)

    def _bind_pairs(self, target: ast.AST, value: ast.AST | None) -> None:
        if isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)):
            for sub_target, sub_value in zip(target.elts, value.elts):
                self._bind_pairs(sub_target, sub_value)
        elif isinstance(target, ast.Name) and value is not None:
            self._bind(target.id, self.dotted(value))

    def _bind(self, name: str, path: str | None, module: bool = False) -> None:
        if not path:
            return
        if module:
            self.modules.add(path.split(".")[0])
        # Only paths into a module are aliases (`x = torch.zeros(3)` is data); a guarded alias is
        # never overwritten, so `T = torch.Tensor; T = 0` in another cell cannot launder it.
        if _of_class(path) or (path.split(".")[0] in self.modules and not _made_by_call(path)):
            if not guarded(self.aliases.get(name)):
                self.aliases[name] = path


def guarded(path: str | None) -> bool:
    """Whether `path` is inside torch, builtins or IPython, whose attributes the grader relies on."""
    if not path or path.startswith(UNGUARDED_PREFIXES):
        return False
    if _of_class(path):
        return True
    return path.split(".")[0] in GUARDED_ROOTS and not _made_by_call(path)


def _of_class(path: str) -> bool:
    """A class reached through a value (`type(x)`, `x.__class__`): patching it patches torch.Tensor."""
    return path.startswith("type()") or "__class__" in path.split(".")


def _made_by_call(path: str) -> bool:
    """A value some call returned (`torch.zeros().requires_grad`): setting its attributes patches nothing."""
    for root in ("get_ipython()", "type()"):
        path = path.removeprefix(root)
    return "()" in path


def _tree_findings(tree: ast.Module, names: Names) -> list[str]:
    return [finding for node in ast.walk(tree) for check in CHECKS for finding in [check(node, names)] if finding]


# Each check looks at one node and returns its finding, or None. They are listed in CHECKS below.

def ipython_hook(node: ast.AST, names: Names) -> str | None:
    """IPython events, transformers, display internals and interpreter hooks, by attribute, name or string."""
    if isinstance(node, ast.Attribute) and node.attr == "register" and \
            isinstance(node.value, ast.Attribute) and node.value.attr == "events":
        return f"registers an IPython event hook ({_clip(ast.unparse(node))})"
    for name in _names_reached(node):
        what = HOOKS.get(name) or ("installs an IPython code transformer" if name.startswith("input_transformers_")
                                   else None)
        if what:
            return f"{what} ({_clip(_evidence(node))})"
    return None


def grader_mime(node: ast.AST, names: Names) -> str | None:
    """The grader's MIME type in a string, or a raw MIME bundle passed to display()."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and "vnd.course" in node.value:
        return f"uses the grader's MIME type ({_clip(repr(node.value))})"
    if isinstance(node, ast.Call) and (names.dotted(node.func) or "").split(".")[-1] in ("display", "update_display"):
        if any(k.arg == "raw" and not (isinstance(k.value, ast.Constant) and not k.value.value) for k in node.keywords):
            return f"publishes a raw MIME bundle ({_clip(ast.unparse(node))})"
    return None


PROBE_NAME = re.compile(r"\bcourse\.(engine\.)?probe\b")  # today's module, and where it lived before engine/


def imports_course(node: ast.AST, names: Names) -> str | None:
    """The grading package, by import statement, import function, sys.modules or a 'course.engine.probe' string."""
    for module in _modules_imported(node, names):
        if module.split(".")[0] == "course":
            return f"imports the grading package ({module})"
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and PROBE_NAME.search(node.value):
        return f"refers to the grader's probe module ({_clip(repr(node.value))})"
    return None


def imports_native_or_kernel(node: ast.AST, names: Names) -> str | None:
    """ctypes and cffi (native calls that no Python-level guard sees), daemons, the kernel's messaging."""
    for module in _modules_imported(node, names):
        what = IMPORTS.get(module.split(".")[0])
        if what and module.split(".")[0] != "course":
            return f"{what} ({module})"
    return None


def patches_guarded(node: ast.AST, names: Names) -> str | None:
    """An assignment or deletion that changes torch, builtins or IPython for every later caller."""
    store = isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del))
    verb = "deletes" if isinstance(getattr(node, "ctx", None), ast.Del) else "assigns to"
    if store and isinstance(node, ast.Attribute):
        owner = names.dotted(node.value)
        if guarded(owner) or node.attr in CHECKERS:
            resolved, written = f"{owner or ast.unparse(node.value)}.{node.attr}", ast.unparse(node)
            return f"{verb} {_clip(resolved)}" + (f" ({_clip(written)})" if written != resolved else "")
    if store and isinstance(node, ast.Name) and node.id == "__builtins__":
        return f"{verb} __builtins__"
    if store and isinstance(node, ast.Subscript):
        return _mapping_patched(names.dotted(node.value), _clip(ast.unparse(node)))
    if isinstance(node, ast.Call):
        return _patched_by_call(node, names)
    return None


def _patched_by_call(node: ast.Call, names: Names) -> str | None:
    function = names.dotted(node.func) or ""
    first = names.dotted(node.args[0]) if node.args else None
    if function in SETATTRS and guarded(first):
        return f"calls {function.split('.')[-1]} on {_clip(first)}"
    if function in ("operator.setitem", "operator.delitem"):  # operator.setitem(vars(torch), "allclose", f)
        return _mapping_patched(first, _clip(ast.unparse(node)))
    if isinstance(node.func, ast.Attribute):
        owner = names.dotted(node.func.value)
        if node.func.attr in ("__setattr__", "__delattr__") and guarded(owner):
            return f"calls {node.func.attr} on {_clip(owner)}"
        if node.func.attr in MAPPING_EDITS:
            return _mapping_patched(owner, _clip(ast.unparse(node)))
    return None


def _mapping_patched(mapping: str | None, evidence: str) -> str | None:
    """An edit of builtins' namespace, a guarded object's __dict__, or sys.modules."""
    if mapping == "builtins" or (mapping or "").endswith(".__dict__") and guarded(mapping[: -len(".__dict__")]):
        return f"edits the namespace of {mapping} ({evidence})"
    if mapping == "sys.modules":
        return f"replaces a module in sys.modules ({evidence})"
    return None


def escapes_sandbox(node: ast.AST, names: Names) -> str | None:
    """Namespaces, mounts and tracing; forking or detaching; signals to other processes."""
    if not isinstance(node, ast.Call):
        return None
    function = names.dotted(node.func) or (node.func.attr if isinstance(node.func, ast.Attribute) else "")
    last = function.split(".")[-1]
    if last in SYSCALLS and not (last == "mount" and function.split(".")[-2:-1] == ["drive"]):  # Colab's drive
        return f"calls {last} (namespaces, mounts or tracing) ({_clip(ast.unparse(node))})"
    if function in DETACHES:
        return f"forks or detaches a process ({function})"
    for keyword in node.keywords:
        if keyword.arg in ("start_new_session", "preexec_fn", "process_group") and \
                not (isinstance(keyword.value, ast.Constant) and keyword.value.value in (False, None)):
            return f"starts a detached process ({keyword.arg}=...)"
    if function in SIGNALS and not (node.args and names.dotted(node.args[0]) == "os.getpid()"):
        return f"sends a signal to another process ({_clip(ast.unparse(node))})"
    return None


def runs_hidden_code(node: ast.AST, names: Names) -> str | None:
    """exec, eval or compile, and imports by a computed name: code no scan can read."""
    if not isinstance(node, ast.Call):
        return None
    function = names.dotted(node.func) or ""
    if function in ("exec", "eval", "compile", "builtins.exec", "builtins.eval", "builtins.compile"):
        return f"runs code built from a string ({function})"
    if function in IMPORTERS and node.args and _constant(node.args[0]) is None:
        return f"imports a module by a computed name ({_clip(ast.unparse(node))})"
    return None


def suspicious_string(node: ast.AST, names: Names) -> str | None:
    """Strings for a shell or a syscall: /proc paths, mount or namespace commands, kill commands."""
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return None
    text, evidence = node.value, _clip(repr(node.value))
    if PROC.search(text):
        return f"reads /proc ({evidence})"
    if text.strip() in SYSCALLS or SHELL_MOUNT.search(text) or SYSCALL_WORD.search(text):
        return f"names namespaces, mounts or tracing ({evidence})"
    if SHELL_KILL.search(text):
        return f"sends a signal to another process ({evidence})"
    return None


CHECKS: list[Callable[[ast.AST, Names], str | None]] = [
    ipython_hook,
    grader_mime,
    imports_course,
    imports_native_or_kernel,
    patches_guarded,
    escapes_sandbox,
    runs_hidden_code,
    suspicious_string,
]


def _names_reached(node: ast.AST) -> Iterable[str]:
    """The names a node reaches: an attribute, a bare name, an imported name, a defined function,
    a getattr string, or a string that is exactly a name (`getattr(sys, "settrace")`)."""
    if isinstance(node, ast.Attribute):
        yield node.attr
    elif isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        yield node.name
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            yield alias.name.split(".")[-1]
    elif isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"\w+", node.value):
        yield node.value


def _modules_imported(node: ast.AST, names: Names) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    if isinstance(node, ast.Call) and names.dotted(node.func) in IMPORTERS and node.args:
        return [module for module in [_constant(node.args[0])] if module]
    if isinstance(node, ast.Subscript) and names.dotted(node.value) == "sys.modules":
        return [module for module in [_constant(node.slice)] if module]
    return []


def _evidence(node: ast.AST) -> str:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return f"def {node.name}"
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return ast.unparse(node)
    return ast.unparse(node) if not isinstance(node, ast.Constant) else repr(node.value)


def _constant(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _clip(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= EVIDENCE_CHARS else text[: EVIDENCE_CHARS - 3] + "..."
