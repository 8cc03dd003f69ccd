"""Student code under grading: kept out of the grading kernel, run in locked-down forks.

Invariants (each has tests in tests/test_sandbox.py and tests/test_gaming.py):
1. The grading kernel runs only the instructor's cells (as restored from the gradebook), but
   not the test cells (5); it parses student code but never runs it. Student code runs only
   in forks of the kernel.
2. Only the names the exercises ask for (what the sources' solution cells bind) cross from
   student code into the tests' namespace; the instructor's names keep their values.
3. What crosses back is plain data (JSON plus raw tensor bytes, never pickle), rebuilt by
   the grader, within a size budget; of what a call changes in its arguments, only what
   its exercise declares (``c.SandboxStudentCode.changes``) comes back.
4. A fork sees an allow-listed filesystem and environment and only its own process; it
   can start no process, open no socket and signal no other process (kernel-enforced on
   Linux); it runs within a time, memory, output and disk budget.
5. The grading kernel never runs a test cell, so no fork of it holds a hidden test: each test
   cell runs in a trusted fork of the kernel (``_tests``), whose calls of student code the
   kernel runs, their arguments sent by value, one after another in one sandbox fork of its
   own per test cell (``_student.Session``): never in a process another cell's calls used.

Files:
- ``preprocessors``: the nbgrader preprocessors (``SandboxStudentCode``, ``RestoreStudentCode``)
  and which instructor cells may run whole in one fork (``display_cells``).
- ``_student``: the kernel side: stand-ins for student cells and functions, the forks,
  a test cell's session.
- ``_tests``: test cells, run in test processes forked from the kernel.
- ``_names``: which names code binds and reads (shared by both sides, no torch).
- ``_wire``, ``_figures``: what a fork may send back, and how it is rebuilt.
- ``_mounts``, ``_seccomp``, ``_jail``: a fork's view of the filesystem, its system calls,
  its audit hook and resource limits.

Importing this package is light (the grading kernel imports ``_student`` through it): the
preprocessors, which need nbgrader, load when first asked for.
"""
_PREPROCESSORS = ("SandboxStudentCode", "RestoreStudentCode", "display_cells", "hidden_names",
                  "kernel_guards", "readable")


def __getattr__(name: str):
    if name in _PREPROCESSORS:
        from . import preprocessors
        return getattr(preprocessors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
