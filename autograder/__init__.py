"""Autograder for the recurrent-neural-network week: release, grade, record, report."""
import sys

__version__ = "0.1.0"

# jsonschema (imported by nbformat) loads the optional `rfc3987_syntax` package when it is
# installed, which builds a grammar at import time: 1.5-4 s per process here, paid by every
# grading worker. nbformat never validates that format, so the import is declined.
sys.modules.setdefault("rfc3987_syntax", None)
