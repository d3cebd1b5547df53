"""What the names in a notebook's code refer to, resolved per scope as Python resolves them, without
running the code: for checking that a function is written by hand.

A name is looked up in its function's locals, then in the enclosing functions, then among the
notebook's module-level names (imports, assignments, definitions in every cell, the last
unconditional binding winning, as it would when the grader calls the function after the notebook
ran), then Python's builtins. What a name is bound to is one of: an object from outside the notebook
(`Outside("torch.nn.functional.mse_loss")`), one of the notebook's own functions, lambdas or classes
(`Own`), something built at run time that cannot be read statically (`Dynamic`: getattr with a
computed name, eval, exec, import_module of a computed name), or a value the code computes (COMPUTED).
"""
from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
DEFINITIONS = FUNCTIONS + (ast.ClassDef, ast.Lambda)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
# Builtins whose result depends on strings or namespaces only known at run time.
RUNTIME_NAMESPACES = {"eval": "eval()", "exec": "exec()", "compile": "compile()", "globals": "globals()",
                      "vars": "vars()", "locals": "locals()", "setattr": "setattr()", "delattr": "delattr()"}


@dataclass(frozen=True)
class Outside:
    path: str  # dotted, e.g. "torch.nn.functional.mse_loss"; calling it keeps the path (an instance of it)


@dataclass(frozen=True)
class Own:
    node: ast.AST  # the notebook's own def, lambda or class (compared by identity, as ast nodes are)
    scope: "Scope"  # where it was defined: its free names are looked up from there


@dataclass(frozen=True)
class Dynamic:
    how: str  # what makes it unreadable, for the instructor, e.g. "getattr() with a computed name"


class Computed:
    """A value the code computes (a parameter, an arithmetic result): nothing to follow."""

    def __repr__(self) -> str:
        return "COMPUTED"


COMPUTED = Computed()


@dataclass(eq=False)
class Scope:
    """One namespace: the module, a function or lambda, a class body or a comprehension."""

    node: ast.AST | None
    parent: "Scope | None"
    kind: str  # "module", "function", "class" or "comprehension"
    bindings: dict = field(default_factory=dict)  # name -> [(expression or value, scope it is evaluated in)]
    declared_global: set = field(default_factory=set)
    declared_nonlocal: set = field(default_factory=set)
    star_imports: list = field(default_factory=list)  # modules of `from m import *`
    trees: list = field(default_factory=list)  # the module's cells, parsed

    @property
    def module(self) -> "Scope":
        return self if self.parent is None else self.parent.module

    def bind(self, name: str, source, where: "Scope", replace: bool = False) -> None:
        if name in self.declared_global and self.kind != "module":
            self.module.bind(name, source, where, replace)
            return
        if replace:
            self.bindings[name] = []
        self.bindings.setdefault(name, []).append((source, where))

    def lookup(self, name: str) -> list:
        """The bindings `name` has where this scope's code uses it: [(source, scope to evaluate it in)]."""
        if self.kind != "module" and name in self.declared_global:
            return self.module.lookup(name)
        if name in self.bindings and name not in self.declared_nonlocal:
            return self.bindings[name]
        scope = self.parent
        while scope is not None and scope.kind == "class":  # a class body's names are not visible inside its methods
            scope = scope.parent
        if scope is not None:
            return scope.lookup(name)
        return self.unbound(name)

    def unbound(self, name: str) -> list:
        """A module-level name no cell binds: from a star import, a Python builtin, or unknown."""
        found = [(Outside(f"{module}.{name}"), self) for module in self.star_imports]
        if hasattr(builtins, name):
            found.append((Outside(f"builtins.{name}"), self))
        return found or [(Outside(name), self)]


# --- building scopes -----------------------------------------------------------------------------

class Binder(ast.NodeVisitor):
    """Records the names a scope's own statements bind. Nested defs, lambdas, classes and
    comprehensions are scopes of their own: only the name a def or class binds is recorded here."""

    def __init__(self, scope: Scope):
        self.scope = scope
        self.top = True  # at the module's top level an unconditional binding replaces earlier ones

    def statements(self, body: list) -> None:
        for statement in body:
            self.visit(statement)

    def nested(self, node) -> None:
        top, self.top = self.top, False
        self.generic_visit(node)
        self.top = top

    def bind(self, name: str, source) -> None:
        self.scope.bind(name, source, self.scope, replace=self.top and self.scope.kind == "module")

    def bind_target(self, target, value) -> None:
        if isinstance(target, ast.Name):
            self.bind(target.id, value)
        elif isinstance(target, ast.Starred):
            self.bind_target(target.value, value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            pairs = (isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts)
                     and not any(isinstance(e, ast.Starred) for e in target.elts + value.elts))
            for i, element in enumerate(target.elts):
                self.bind_target(element, value.elts[i] if pairs else value)
        # attribute and subscript targets bind no name

    def visit_FunctionDef(self, node):
        self.bind(node.name, Own(node, self.scope))

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Lambda(self, node):
        pass

    def visit_ListComp(self, node):
        pass  # its own scope (a walrus inside is too rare to follow)

    visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_ListComp

    def visit_Assign(self, node):
        for target in node.targets:
            self.bind_target(target, node.value)
        self.visit(node.value)

    def visit_AnnAssign(self, node):
        if node.value is not None:
            self.bind_target(node.target, node.value)
            self.visit(node.value)

    def visit_AugAssign(self, node):
        if isinstance(node.target, ast.Name):
            self.scope.bind(node.target.id, node.value, self.scope)  # x += v keeps what x was, adds v
        self.visit(node.value)

    def visit_NamedExpr(self, node):
        self.scope.bind(node.target.id, node.value, self.scope)
        self.visit(node.value)

    def visit_For(self, node):
        top, self.top = self.top, False
        self.bind_target(node.target, node.iter)
        self.visit(node.iter)
        self.statements(node.body)
        self.statements(node.orelse)
        self.top = top

    visit_AsyncFor = visit_For

    def visit_With(self, node):
        top, self.top = self.top, False
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self.bind_target(item.optional_vars, item.context_expr)
        self.statements(node.body)
        self.top = top

    visit_AsyncWith = visit_With

    def visit_ExceptHandler(self, node):
        if node.name:
            self.scope.bind(node.name, COMPUTED, self.scope)
        self.nested(node)

    def visit_If(self, node):
        self.nested(node)

    visit_While = visit_Try = visit_If
    visit_TryStar = visit_Match = visit_If

    def visit_MatchAs(self, node):
        if node.name:
            self.scope.bind(node.name, COMPUTED, self.scope)
        self.generic_visit(node)

    def visit_MatchStar(self, node):
        if node.name:
            self.scope.bind(node.name, COMPUTED, self.scope)

    def visit_Import(self, node):
        for alias in node.names:
            if alias.asname:
                self.bind(alias.asname, Outside(alias.name))
            else:  # `import torch.nn.functional` binds `torch`
                self.bind(alias.name.split(".")[0], Outside(alias.name.split(".")[0]))

    def visit_ImportFrom(self, node):
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                self.scope.star_imports.append(module)
            else:
                self.bind(alias.asname or alias.name, Outside(f"{module}.{alias.name}"))

    def visit_Global(self, node):
        self.scope.declared_global.update(node.names)

    def visit_Nonlocal(self, node):
        self.scope.declared_nonlocal.update(node.names)


def parse(cell: str) -> ast.Module | None:
    """A cell as Python; IPython magic and shell lines are blanked so the rest still parses. None when
    the cell is not Python (it would not run in the kernel either)."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.splitlines())
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def module_scope(cells: list[str]) -> Scope:
    """The notebook's module-level names, from every cell in order."""
    scope = Scope(None, None, "module")
    scope.trees = [tree for tree in map(parse, cells) if tree is not None]
    binder = Binder(scope)
    for tree in scope.trees:
        binder.statements(tree.body)
    return scope


def body_scope(own: Own) -> Scope:
    node = own.node
    if isinstance(node, ast.ClassDef):
        scope = Scope(node, own.scope, "class")
        Binder(scope).statements(node.body)
        return scope
    scope = Scope(node, own.scope, "function")
    args = node.args
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    for arg, default in list(zip(positional, defaults)) + list(zip(args.kwonlyargs, args.kw_defaults)):
        scope.bind(arg.arg, COMPUTED, scope)
        if default is not None:
            scope.bind(arg.arg, default, own.scope)
    for arg in (args.vararg, args.kwarg):
        if arg is not None:
            scope.bind(arg.arg, COMPUTED, scope)
    binder = Binder(scope)
    if isinstance(node, ast.Lambda):
        binder.visit(node.body)
    else:
        binder.statements(node.body)
    return scope


def comprehension_scope(node, scope: Scope) -> Scope:
    inner = Scope(node, scope, "comprehension")
    for generator in node.generators:
        Binder(inner).bind_target(generator.target, generator.iter)
    return inner


# --- what an expression refers to ----------------------------------------------------------------

class Resolver:
    """Evaluates expressions to what they may refer to (a set of Outside, Own, Dynamic, COMPUTED)."""

    def __init__(self, forbidden: set[str]):
        self.forbidden = forbidden
        self.active: set = set()  # bindings being evaluated: a cycle (x = x + 1) refers to nothing new
        self.scopes: dict = {}  # Own -> the scope its body runs in, built once

    def body(self, own: Own) -> Scope:
        """The scope a def, lambda or class body runs in: its parameters (a default is evaluated
        where the def is) and the names its own statements bind."""
        if own not in self.scopes:
            self.scopes[own] = body_scope(own)
        return self.scopes[own]

    def name(self, name: str, scope: Scope) -> set:
        found = set()
        for source, where in scope.lookup(name):
            if isinstance(source, ast.AST):
                key = (id(source), id(where))
                if key in self.active:
                    continue
                self.active.add(key)
                try:
                    found |= self.value(source, where)
                finally:
                    self.active.discard(key)
            elif isinstance(source, Outside) and source.path == name and name in self.forbidden:
                found.add(Dynamic(f"`{name}`, which no cell the grader can read defines"))
            else:
                found.add(source)
        return found or {COMPUTED}

    def attribute(self, bases: set, attr: str) -> set:
        found = set()
        for base in bases:
            if attr == "__dict__":
                found.add(Dynamic("a `__dict__` lookup"))
            elif isinstance(base, Outside):
                found.add(Outside(f"{base.path}.{attr}"))
            elif isinstance(base, Own) and isinstance(base.node, ast.ClassDef):
                body = self.body(base)
                found |= self.name(attr, body) if attr in body.bindings else {base}  # inherited: the class itself
            elif isinstance(base, Dynamic):
                found.add(base)
            elif attr in self.forbidden and bases == {COMPUTED}:
                found.add(Dynamic(f"`.{attr}` on a value whose type the grader cannot read"))
            else:
                found.add(COMPUTED)
        return found

    def call(self, node: ast.Call, scope: Scope) -> set:
        found = set()
        constant = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in node.args]
        for function in self.value(node.func, scope):
            path = function.path if isinstance(function, Outside) else ""
            if path == "builtins.getattr" and len(node.args) >= 2:
                found |= (self.attribute(self.value(node.args[0], scope), constant[1]) if constant[1]
                          else {Dynamic("getattr() with a computed name")})
            elif path.removeprefix("builtins.") in RUNTIME_NAMESPACES and path.startswith("builtins."):
                found.add(Dynamic(RUNTIME_NAMESPACES[path.removeprefix("builtins.")]))
            elif path in ("builtins.__import__", "importlib.import_module", "importlib.__import__"):
                if node.args and constant[0]:
                    module = constant[0]
                    found.add(Outside(module if path == "importlib.import_module" or len(node.args) > 3
                                      else module.split(".")[0]))
                else:
                    found.add(Dynamic(f"{path.split('.')[-1]}() of a computed name"))
            else:
                found.add(function)
        for argument in node.args + [k.value for k in node.keywords]:
            found |= self.value(argument, scope)  # Wrapper(nn.MSELoss()) still holds the loss
        return found

    def value(self, node: ast.AST, scope: Scope) -> set:
        if isinstance(node, ast.Name):
            return self.name(node.id, scope)
        if isinstance(node, ast.Attribute):
            return self.attribute(self.value(node.value, scope), node.attr)
        if isinstance(node, ast.Call):
            return self.call(node, scope)
        if isinstance(node, ast.Subscript):
            return self.subscript(node, scope)
        if isinstance(node, DEFINITIONS):
            return {Own(node, scope)}
        if isinstance(node, COMPREHENSIONS):
            inner = comprehension_scope(node, scope)
            parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            return set().union(*(self.value(p, inner) for p in parts)) or {COMPUTED}
        found = set()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                found |= self.value(child, scope)
        return found or {COMPUTED}

    def subscript(self, node: ast.Subscript, scope: Scope) -> set:
        key = node.slice.value if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str) else None
        found = set()
        for container in self.value(node.value, scope):
            if isinstance(container, Outside) and container.path == "sys.modules":
                found.add(Outside(key) if key else Dynamic("sys.modules[] of a computed name"))
            else:
                found.add(container)  # an element of a container holds what the container holds
        return found


# --- what a function reaches ---------------------------------------------------------------------

EVALUATED = (ast.Name, ast.Attribute, ast.Call, ast.Subscript)


def references(node: ast.AST, scope: Scope):
    """(expression, scope) for every name, attribute, call and subscript that code under `node`
    evaluates in `scope`, and (definition, scope) for each def, lambda and class it makes; their
    bodies are not entered (they are followed when reached)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, DEFINITIONS):
            yield child, scope
        elif isinstance(child, COMPREHENSIONS):
            yield from references(child, comprehension_scope(child, scope))
        else:
            if isinstance(child, EVALUATED) and not isinstance(getattr(child, "ctx", None), (ast.Store, ast.Del)):
                yield child, scope
            yield from references(child, scope)


def definition_references(own: Own, body: Scope):
    """What running a def, lambda or class reaches: its decorators, defaults and bases where it is
    defined, then its body in its own scope."""
    node = own.node
    outer = [node.args.defaults, node.args.kw_defaults] if not isinstance(node, ast.ClassDef) else [node.bases, [k.value for k in node.keywords]]
    outer.append(getattr(node, "decorator_list", []))
    for expression in (e for group in outer for e in group if e is not None):
        yield expression, own.scope
        yield from references(expression, own.scope)
    if isinstance(node, ast.Lambda):
        yield node.body, body
        yield from references(node.body, body)
        return
    yield from references(ast.Module(body=node.body, type_ignores=[]), body)


@dataclass(frozen=True)
class Reached:
    used: frozenset  # forbidden names the function reaches
    unchecked: tuple  # what could not be read statically, for the instructor
    defined: bool = True  # False when no cell binds the function's name (it may be made at run time)


def reached(cells: list[str], function: str, forbidden: set[str]) -> Reached:
    """The forbidden names `function` reaches when it is called after the notebook ran: in its own
    body, in the notebook's functions and classes it refers to, through aliases, attribute chains
    and module-level objects, every name resolved in its own scope."""
    module = module_scope(cells)
    resolver = Resolver(forbidden)
    used, unchecked, seen = set(), [], set()
    try:
        todo = list(resolver.name(function, module)) if function in module.bindings else []
        todo += runtime_rebinding(module, resolver)
        while todo:
            target = todo.pop()
            if target in seen:
                continue
            seen.add(target)
            if isinstance(target, Outside):
                used |= set(target.path.split(".")) & forbidden
            elif isinstance(target, Dynamic):
                unchecked.append(target.how)
            elif isinstance(target, Own):
                for node, scope in definition_references(target, resolver.body(target)):
                    todo.extend({Own(node, scope)} if isinstance(node, DEFINITIONS) else resolver.value(node, scope))
    except RecursionError:
        unchecked.append("code nested too deeply to read")
    return Reached(frozenset(used), tuple(dict.fromkeys(unchecked)), function in module.bindings)


def runtime_rebinding(module: Scope, resolver: Resolver) -> list:
    """Module-level code that can rebind names at run time (exec, globals(), setattr, ...): the
    function the grader calls may then not be the one the cells define."""
    found = []
    for tree in module.trees:
        for node, scope in references(tree, module):
            if isinstance(node, ast.Call):
                found += [target for target in resolver.value(node.func, scope) if isinstance(target, Outside)
                          and target.path.startswith("builtins.")
                          and target.path.removeprefix("builtins.") in RUNTIME_NAMESPACES]
    return [Dynamic(f"module-level {RUNTIME_NAMESPACES[t.path.removeprefix('builtins.')]}") for t in found]
