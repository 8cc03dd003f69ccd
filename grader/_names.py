"""Which names a piece of code binds: shared by the grading kernel's stand-ins
(``grader._student``) and the preprocessor that sets them up (``grader.sandbox``), which
must not pay for importing torch to read some source.
"""
from __future__ import annotations

import ast


def bound(statements) -> set:
    """Names the statements bind at top level (not inside the functions they define)."""
    names, todo = set(), list(statements)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            todo.extend(node.decorator_list)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Lambda):
            continue
        todo.extend(ast.iter_child_nodes(node))
    return names
