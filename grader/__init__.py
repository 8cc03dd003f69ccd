"""The course's grading command line: ``python -m grader --help``."""
