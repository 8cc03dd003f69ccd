"""Which names a piece of code binds: shared by the grading kernel's stand-ins
(``_student``) and the preprocessor that sets them up (``preprocessors``), which
must not pay for importing torch to read some source.
"""
from __future__ import annotations

import ast
import functools

DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)  # bind a name; run later
SCOPES = (*DEFINITIONS, ast.Lambda)
RANDOM_STATE = "random state"  # in a declaration of what a call may change: the global generators


def bound(statements) -> set:
    """Names the statements bind at top level (not inside the functions they define)."""
    names, todo = set(), list(statements)
    while todo:
        node = todo.pop()
        if isinstance(node, DEFINITIONS):
            names.add(node.name)
            todo.extend(node.decorator_list)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Lambda):
            continue
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            # Its loop variables are its own; only a walrus inside binds out here.
            names.update(n.target.id for n in ast.walk(node) if isinstance(n, ast.NamedExpr))
            continue
        todo.extend(ast.iter_child_nodes(node))
    return names


ANY = "*"  # stands for every global: code that reaches them by name at run time
_DYNAMIC = {"globals", "vars", "locals", "eval", "exec", "dir"}


def _params(args: ast.arguments) -> set:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return {a.arg for a in every if a is not None}


class _Reads(ast.NodeVisitor):
    """Collects the module globals some code may read (or delete) when it runs, function
    and lambda bodies included; names local to a function or comprehension are not."""

    def __init__(self, local: frozenset = frozenset()):
        self.local, self.found = local, set()

    def visit_Name(self, node):
        if not isinstance(node.ctx, ast.Store) and node.id not in self.local:
            self.found.add(node.id)

    def visit_AugAssign(self, node):  # x += 1 reads x
        if isinstance(node.target, ast.Name) and node.target.id not in self.local:
            self.found.add(node.target.id)
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Name) and func.id in _DYNAMIC and func.id not in self.local:
            self.found.add(ANY)
        elif (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call)
              and isinstance(func.value.func, ast.Name) and func.value.func.id == "globals"):
            # globals().get("x") reads x; globals().update(...) reads nothing; others, anything
            if func.attr == "get" and node.args and isinstance(node.args[0], ast.Constant):
                self.found.add(str(node.args[0].value))
            elif func.attr != "update":
                self.found.add(ANY)
            for arg in [*node.args, *node.keywords]:
                self.visit(arg)
            return
        self.generic_visit(node)

    def visit_Subscript(self, node):  # globals()["x"]
        value = node.value
        if (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "globals"
                and isinstance(node.slice, ast.Constant)):
            self.found.add(str(node.slice.value))
            return
        self.generic_visit(node)

    def _scope(self, local: set, body: list) -> None:
        declared = {n for node in outside_scopes(body)
                    if isinstance(node, (ast.Global, ast.Nonlocal)) for n in node.names}
        inner = _Reads(frozenset((self.local | local | bound(body)) - declared))
        for node in body:
            inner.visit(node)
        self.found |= inner.found

    def _header(self, node) -> None:
        args = node.args
        for part in [*getattr(node, "decorator_list", []), *args.defaults,
                     *(d for d in args.kw_defaults if d is not None)]:
            self.visit(part)

    def visit_FunctionDef(self, node):
        self._header(node)
        self._scope(_params(node.args), node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        self._header(node)
        self._scope(_params(node.args), [ast.Expr(node.body)])

    def visit_ClassDef(self, node):
        for part in [*node.decorator_list, *node.bases, *node.keywords]:
            self.visit(part)
        self._scope(set(), node.body)

    def _comprehension(self, node, parts):
        self.visit(node.generators[0].iter)  # evaluated where the comprehension stands
        targets = {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
        inner = _Reads(frozenset(self.local | targets))
        for g in node.generators:
            for part in [*([g.iter] if g is not node.generators[0] else []), *g.ifs]:
                inner.visit(part)
        for part in parts:
            inner.visit(part)
        self.found |= inner.found

    def visit_ListComp(self, node):
        self._comprehension(node, [node.elt])

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node):
        self._comprehension(node, [node.key, node.value])


def outside_scopes(nodes):
    """``nodes`` and every node below them but the insides of the scopes among them (functions,
    classes, lambdas: each is given, not what it holds). Walking each scope's own part alone
    keeps reading code linear in its size, however deep its scopes nest."""
    todo = list(nodes)
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, SCOPES):
            todo.extend(ast.iter_child_nodes(node))


def reads(code) -> set:
    """Globals a statement, a list of them or an expression may read when run; ``ANY``
    among them if it looks globals up by a name computed at run time."""
    return set().union(*map(_reads, code if isinstance(code, list) else [code]))


@functools.cache
def _reads(node) -> frozenset:
    # Each node read once however often it is asked about (every test cell asks about the
    # cells after it): a student's cell may be huge. Kept until ``forget``.
    visitor = _Reads()
    try:
        visitor.visit(node)
    except RecursionError:  # nested deeper than Python's stack (a.b.b... 600 long): may read anything
        return frozenset({ANY})
    return frozenset(visitor.found)


def forget() -> None:
    """Drop what ``reads`` remembers (once a notebook's cells are read: its trees go with it)."""
    _reads.cache_clear()


def _stored(target) -> set | None:
    """The names an assignment target rebinds outright, or None if it also reads (x[i] = ...)."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        parts = [_stored(t.value if isinstance(t, ast.Starred) else t) for t in target.elts]
        return None if None in parts else set().union(*parts)
    return None


def read_before_rebound(names: set, cells: list[list]) -> set:
    """Which of ``names`` the module-level code of ``cells`` (statement lists, in the order
    they run) may read while they still hold the values they had before: a read after
    the cell plainly rebinds the name (``x = ...``, ``import x``, ``def x``) does not
    count, nor one inside the body of a ``for`` loop whose target rebinds it."""
    found: set = set()
    if not names:
        return found

    def hit(seen: set, live: set) -> None:
        found.update(live if ANY in seen else seen & live)

    def flow(statements, live: set) -> None:
        for statement in statements:
            if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
                hit(reads(statement.value), live)
                targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                for target in targets:
                    stored = _stored(target)
                    if stored is None:
                        hit(reads(target), live)
                    else:
                        live -= stored
            elif isinstance(statement, (ast.For, ast.AsyncFor)):
                hit(reads(statement.iter), live)
                stored = _stored(statement.target)
                if stored is None:
                    hit(reads(statement.target), live)
                flow(statement.body, live - (stored or set()))
                flow(statement.orelse, set(live))  # the loop may not have run: names keep their values
            elif isinstance(statement, (ast.Import, ast.ImportFrom)):
                live -= bound([statement])
            elif isinstance(statement, DEFINITIONS):
                hit(reads(statement), live)
                live.discard(statement.name)
            else:
                hit(reads(statement), live)

    for cell in cells:
        flow(cell, set(names))  # fresh each cell: a rebinding in one cell is not assumed for the next
    return found


def changeable(declared: dict[str, list[str]], sources: list[str]) -> dict[str, list]:
    """``declared`` (function -> the parameters it may change, by name) with each parameter
    also by its position, read from the function's ``def`` in ``sources``: a call may pass it
    either way."""
    out = {}
    for source in sources:
        try:
            body = ast.parse(source).body
        except SyntaxError:
            continue
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in declared:
                positional = [a.arg for a in [*node.args.posonlyargs, *node.args.args]]
                keys = list(declared[node.name])
                keys += [positional.index(name) for name in declared[node.name] if name in positional]
                out[node.name] = keys
    return out
