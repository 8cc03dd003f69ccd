"""What comes out of the gradebook.

- ``export``: each student's graded cells (``gradebook_rows``) and the course's CSV.
- ``feedback``: one HTML page per student, never quoting a hidden test.
- ``lms``: Canvas's and Moodle's grade imports.
"""
