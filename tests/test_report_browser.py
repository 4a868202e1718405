"""The class report as a person sees it, in real headless Chromium (Debian's /usr/bin/chromium).

The report comes from real gradings (the demo's topic-1 samples) plus one synthetic student,
recorded through Gradebook.record, whose notebook problem, notes and id carry HTML and a
script, and whose Keras notebook has a measured model, a reported-metric flag and a late penalty.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from report_factories import TOPIC1, TOPIC2, synthetic_result

from autograder.gradebook import Gradebook
from autograder.reports.report import write_report
from autograder.results import ModelMetric, Note, NoteKind

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
EVIL_ID = "zoe<b>bold</b>"
EVIL_PROBLEM = 'not graded: <script>window.__injected = 1; console.error("injected")</script> broken'
EVIL_NOTE = Note(NoteKind.TAMPERING, "test cell 'x' was edited; <img src=x onerror=\"window.__injected = 2\"> restored")
FLAG_NOTE = Note(NoteKind.METRIC,
                 "FLAG: the notebook reported accuracy 0.9500, but the grader measured 0.7400 (tolerance 0.1)")


def _browser_or_skip():
    missing = [what for what, ok in (("chromium", CHROMIUM.is_file()), ("playwright", _has_playwright())) if not ok]
    if missing:
        message = (f"{' and '.join(missing)} missing: run scripts/ensure-browser (installs /usr/bin/chromium) "
                   f"and pip install -e '.[test]'")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _has_playwright() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def report_file(tmp_path_factory, graded_samples):
    samples_config, ctx, _, samples = graded_samples
    root = tmp_path_factory.mktemp("report")
    shutil.copy(samples_config.gradebook_path, root / "gradebook.db")
    config = samples_config.with_gradebook(root / "gradebook.db")
    history = {"loss": (0.69, 0.52, 0.41), "val_accuracy": (0.60, 0.71, 0.74)}
    with Gradebook(config) as gb:
        gb.record(synthetic_result(ctx.spec, EVIL_ID, handed_in=(TOPIC1, TOPIC2), problem=EVIL_PROBLEM))
        gb.record(synthetic_result(ctx.spec, "yan_keras", handed_in=(TOPIC2,), notes=(FLAG_NOTE, EVIL_NOTE),
                                   runtime_s=9.5, late_s=26 * 3600.0, penalty=3.5,
                                   metrics=(ModelMetric("sentiment_embedding_bag", "accuracy", 0.74, 0.5, 0.95, 3,
                                                        160_033, history),)))
        subs = {s.student: s for s in gb.submissions()}
        n_tests = len({(r.notebook, r.test) for r in gb.results()})
    out = root / "report.html"
    write_report(config=config, output=out, submissions=samples / "submitted")
    return out, subs, n_tests


@pytest.fixture(scope="module")
def browser_ready() -> None:
    _browser_or_skip()


@pytest.fixture(scope="module")
def page(browser_ready, report_file):
    from playwright.sync_api import sync_playwright

    out, _, _ = report_file
    profile = tempfile.mkdtemp(prefix="report-chromium-")
    errors, requests = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=FLAGS,
            viewport={"width": 1280, "height": 1000})
        try:
            tab = browser.new_page()
            tab.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
            tab.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
            tab.on("request", lambda r: requests.append(r.url))
            tab.goto(out.as_uri(), wait_until="load")
            yield tab, errors, requests
        finally:
            browser.close()
            shutil.rmtree(profile, ignore_errors=True)


def test_every_chart_draws_visible_marks(page) -> None:
    tab, errors, _ = page
    charts = tab.evaluate("""() => [...document.querySelectorAll('svg.chart')].map(svg => ({
        figure: svg.closest('figure').id,
        title: svg.querySelector(':scope > title').textContent,
        marks: [...svg.querySelectorAll('.mark')].map(m => {
            const r = m.getBoundingClientRect();
            return {value: parseFloat(m.dataset.value), w: r.width, h: r.height,
                    tip: m.querySelector('title') ? m.querySelector('title').textContent : ''};
        })}))""")
    assert [c["figure"] for c in charts] == ["chart-scores", "chart-topics", "chart-runtimes", "chart-tests"]
    for chart in charts:
        drawn = [m for m in chart["marks"] if m["value"] > 0]
        assert drawn, f"{chart['title']}: nothing drawn"
        assert all(m["w"] > 0 and m["h"] > 0 and m["tip"] for m in drawn), chart["title"]
    assert not errors


def test_histogram_matches_the_gradebook(page, report_file) -> None:
    tab, _, _ = page
    _, subs, _ = report_file
    bars = tab.evaluate("""() => [...document.querySelectorAll('#chart-scores .mark')].map(m => ({
        count: parseFloat(m.dataset.value), h: m.getBoundingClientRect().height}))""")
    assert sum(b["count"] for b in bars) == len(subs)
    per_student = bars[0]["h"] / bars[0]["count"]
    assert all(abs(b["h"] - b["count"] * per_student) < 1.0 for b in bars)   # heights proportional to counts


def test_tables_are_filled_with_the_gradebook_scores(page, report_file) -> None:
    tab, _, _ = page
    _, subs, n_tests = report_file
    rows = tab.evaluate("""() => [...document.querySelectorAll('#students tbody tr')].map(tr =>
        [...tr.cells].map(td => td.textContent.trim()))""")
    assert len(rows) == len(subs)
    shown = {r[0]: r for r in rows}
    assert set(shown) == set(subs)                                   # the escaped id reads as itself
    for student, sub in subs.items():
        assert shown[student][1] == f"{sub.score:g}" and shown[student][2] == f"{sub.max_score:g}"
        assert shown[student][4] == f"{sub.final_score:g}"
    assert shown["yan_keras"][3] == "3.5" and shown["yan_keras"][5] == "1 d 2 h"
    assert "late" in shown["yan_keras"][6] and "reported metric" in shown["yan_keras"][6]
    assert tab.locator("#tests tbody tr").count() == n_tests
    kinds = set(tab.locator("#flags tbody tr td:first-child").all_inner_texts())
    assert {"not graded", "tampering", "reported metric", "late", "similar"} <= kinds
    assert tab.locator("#pairs tbody tr").count() >= 1


def test_injected_markup_is_text_and_never_runs(page) -> None:
    tab, errors, requests = page
    assert tab.evaluate("() => window.__injected") is None
    flags = tab.locator("#flags").inner_text()
    assert '<script>window.__injected = 1; console.error("injected")</script>' in flags
    assert '<img src=x onerror="window.__injected = 2">' in flags
    assert tab.locator("#flags img, #flags b, #students b").count() == 0
    assert not errors
    assert all(url.startswith("file://") for url in requests), requests     # nothing from the network


def test_sorting_a_column_works_without_errors(page, report_file) -> None:
    tab, errors, _ = page
    _, subs, _ = report_file
    tab.click("#students thead th:nth-child(5)")                     # final score, ascending
    tab.click("#students thead th:nth-child(5)")                     # descending
    finals = [float(x) for x in tab.locator("#students tbody td:nth-child(5)").all_inner_texts()]
    assert finals == sorted((s.final_score for s in subs.values()), reverse=True)
    assert not errors


def test_screenshot(page, tmp_path_factory) -> None:
    tab, _, _ = page
    shot = tmp_path_factory.mktemp("shots") / "class_report.png"
    tab.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")
