"""The course's grading command line: ``python -m grader --help``."""
import sys

# jsonschema, under nbformat, imports rfc3987_syntax when it is installed (jupyter_events
# wants it) for an optional IRI format check, and that builds a parser at import: over a
# second in every grading process. Notebook schemas check no formats: do without it.
sys.modules.setdefault("rfc3987_syntax", None)
