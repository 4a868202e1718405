"""Feedback for a Keras topic: the training curve, the held-out metric against the thresholds, no hidden code."""
from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from report_factories import TOPIC2, synthetic_result

from autograder.config import load_config
from autograder.course.notebooks import load_source
from autograder.gradebook import Gradebook
from autograder.grading.verdicts import models
from autograder.reports.feedback import write_feedback
from autograder.results import ModelMetric

MODEL = "sentiment_embedding_bag"
HISTORY = {"loss": (0.69, 0.52, 0.41), "val_loss": (0.66, 0.55, 0.50),
           "accuracy": (0.55, 0.74, 0.81), "val_accuracy": (0.60, 0.71, 0.74)}
SVG = "{http://www.w3.org/2000/svg}"


def _metric_verdict(config, spec, value: float | None):
    test = next(t for nb in spec.notebooks for t in nb.tests if t.model == (MODEL, "metric"))
    m = models.Measurement(MODEL, value=value, baseline=0.5, reported=0.9, epochs=3, params=160_033,
                           problem="" if value is not None else "models/sentiment_embedding_bag.keras was not saved")
    verdict = models.metric_verdict(test.grade_id, test.points, models.ModelSpec(MODEL, "binary_text", "accuracy"), m,
                                    threshold=config.thresholds[f"{MODEL}.accuracy"], budget=config.budgets[MODEL])
    return test, verdict


HIDDEN_FAIL = "the loss must be binary cross-entropy computed from logits (from_logits=True)"


def _record_ann(gb: Gradebook, config, spec, value: float):
    """ann's topic-2 grade: the model measured at `value`, the hidden training test lost."""
    test, measured = _metric_verdict(config, spec, value)
    gb.sync_assignment(spec)
    gb.record(synthetic_result(
        spec, "ann", handed_in=(TOPIC2,), replaced={test.grade_id: measured},
        lost={"test_train_model_hidden": HIDDEN_FAIL},
        metrics=(ModelMetric(MODEL, "accuracy", value, 0.5, 0.9, 3, 160_033, HISTORY),)))
    return test, measured


@pytest.fixture
def pages(tmp_path: Path, course_root: Path):
    config = load_config(course_root).with_gradebook(tmp_path / "gb.db")
    spec, sources = load_source(config)
    _, missing = _metric_verdict(config, spec, None)
    with Gradebook(config) as gb:
        test, measured = _record_ann(gb, config, spec, 0.74)
        gb.record(synthetic_result(
            spec, "bo", handed_in=(TOPIC2,), replaced={test.grade_id: missing},
            metrics=(ModelMetric(MODEL, "accuracy", None, None, None, None, None, {}),)))
    write_feedback(config=config, output_dir=tmp_path / "feedback")
    read = lambda student: (tmp_path / "feedback" / student / config.assignment / f"{TOPIC2}.html").read_text()
    return config, sources, measured, read("ann"), read("bo")


def _charts(page: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(r'<svg class="chart".*?</svg>', page, re.S)]


def test_training_curve_has_every_epoch_of_every_series(pages) -> None:
    _, _, _, ann, _ = pages
    curve, = [c for c in _charts(ann) if c.find(f"{SVG}title").text.startswith("Training curve")]
    marks = [e for e in curve.iter(f"{SVG}circle") if e.get("class") == "mark"]
    drawn = sorted(float(m.get("data-value")) for m in marks)
    assert drawn == sorted(v for series in HISTORY.values() for v in series)
    assert {m.find(f"{SVG}title").text.split(",")[0] for m in marks} == set(HISTORY)


def test_measured_metric_against_the_thresholds_and_points(pages) -> None:
    config, _, measured, ann, _ = pages
    threshold = config.thresholds[f"{MODEL}.accuracy"]
    table = re.search(r'<table class="model">(.*?)</table>', ann, re.S).group(1)
    rows = {html.unescape(re.sub(r"<[^>]+>", "", th)).strip(): html.unescape(re.sub(r"<[^>]+>", "", td)).strip()
            for th, td in re.findall(r"<th>(.*?)</th><td[^>]*>(.*?)</td>", table, re.S)}
    expected = models.curve(0.74, threshold) * measured.max_points
    assert measured.points == pytest.approx(expected, abs=1e-4) and 0 < measured.points < measured.max_points
    assert rows == {
        "held-out accuracy, measured by the grader": "0.7400 (higher is better)",
        "0 points at": f"{threshold.min:g}", "full points at": f"{threshold.target:g}",
        "trivial baseline on the same data": "0.5000", "your notebook reported": "0.9000",
        "points": f"{measured.points:g} / {measured.max_points:g}", "epochs trained": "3", "parameters": "160,033"}
    scale, = [c for c in _charts(ann) if c.find(f"{SVG}title").text.startswith("Held-out accuracy")]
    cx = {m.find(f"{SVG}title").text.split(":")[0]: float(m.get("cx")) for m in scale.iter(f"{SVG}circle")}
    assert cx["baseline"] < cx["0 points"] < cx["measured"] < cx["full points"] < cx["you reported"]


def test_an_unmeasured_model_says_why_and_draws_nothing(pages) -> None:
    _, _, _, _, bo = pages
    assert "could not measure this model: models/sentiment_embedding_bag.keras was not saved" in bo
    assert _charts(bo) == [] and "saved no training history" in bo


def test_no_hidden_code_on_the_page(pages) -> None:
    _, sources, _, ann, _ = pages
    hidden_code = [line.strip() for cell in sources[TOPIC2].cells
                   for block in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S)
                   for line in block.splitlines()]
    hidden_code = [l for l in hidden_code if len(l) >= 20 and not l.startswith(("assert", "#", '"'))]
    assert len(hidden_code) > 10
    text = html.unescape(ann)
    assert not [l for l in hidden_code if l in text]
    assert "from_logits=True" in text                       # the hidden test's own message is shown
    assert "Traceback" not in text and "### BEGIN HIDDEN" not in text


def test_the_summary_view_rounds_the_metric_and_hides_hidden_messages(tmp_path: Path, course_root: Path) -> None:
    """What `autograder serve` releases before the due date: the metric to 2 decimals without the
    scale chart, the lost hidden test counted per exercise without its message; the full view of the
    same gradebook shows both."""
    from autograder.reports.feedback import FeedbackView

    config = load_config(course_root).with_gradebook(tmp_path / "gb.db")
    spec, _ = load_source(config)
    hidden_fail = HIDDEN_FAIL
    with Gradebook(config) as gb:
        _record_ann(gb, config, spec, 0.74321)
    pages = {}
    for name, view in (("full", FeedbackView()), ("summary", FeedbackView(summary=True, metric_decimals=2))):
        write_feedback(config=config, output_dir=tmp_path / name, view=view)
        pages[name] = (tmp_path / name / "ann" / config.assignment / f"{TOPIC2}.html").read_text()
    assert "0.7432" in pages["full"] and html.escape(hidden_fail) in pages["full"]
    assert "against the thresholds" in pages["full"]
    summary = pages["summary"]
    assert "<strong>0.74</strong> (higher is better)" in summary and "0.7432" not in summary
    assert hidden_fail not in summary and html.escape(hidden_fail) not in summary
    assert "test_train_model_hidden" not in summary and 'id="exercises"' in summary
    assert "against the thresholds" not in summary              # the scale chart carries the exact value
