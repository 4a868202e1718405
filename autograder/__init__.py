"""Autograder for the recurrent-neural-network week: release, grade, record, report."""
import importlib.util
import sys

__version__ = "0.1.0"

# jsonschema (imported by nbformat) loads the optional `rfc3987_syntax` package when it is
# installed, which builds a grammar at import time: 1.5-4 s per process here, paid by every
# grading worker. nbformat never validates that format, so the import is declined.
sys.modules.setdefault("rfc3987_syntax", None)


def _nbgrader_without_its_server_extensions() -> None:
    """Register the `nbgrader` package without running its __init__, which imports nbgrader's four
    Jupyter server extensions (jupyter_server and tornado handlers: about 1 s per process). The
    grader uses nbgrader's api, converters, exchange, coursedir and plugins modules, which import
    as usual from the package's folder, and never a server extension in its own process (formgrader
    runs in a Jupyter server of its own, which imports nbgrader whole). `nbgrader.__version__` is set,
    as nbgrader's apps read it."""
    if "nbgrader" in sys.modules:
        return
    spec = importlib.util.find_spec("nbgrader")
    if spec is None or not spec.submodule_search_locations:
        return
    sys.modules["nbgrader"] = importlib.util.module_from_spec(spec)
    from nbgrader._version import __version__ as nbgrader_version

    sys.modules["nbgrader"].__version__ = nbgrader_version


_nbgrader_without_its_server_extensions()
