"""The SVG chart helpers draw what the numbers say: bar sizes, point positions, escaped text."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from autograder.reports import charts

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup) -> ET.Element:
    root = ET.fromstring(str(markup))          # well-formed XML, or this raises
    assert root.tag == f"{SVG}svg" and root.get("class") == "chart"
    return root


def _marks(root: ET.Element, tag: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if e.get("class") == "mark"]


def test_histogram_counts_and_bin_edges() -> None:
    assert charts.histogram([0, 9.99, 10, 55, 100, 100], lo=0, hi=100, bins=10) == (2, 1, 0, 0, 0, 1, 0, 0, 0, 2)
    assert charts.histogram([-5, 250], lo=0, hi=100, bins=4) == (1, 0, 0, 1)
    with pytest.raises(ValueError, match="hi > lo"):
        charts.histogram([1], lo=1, hi=1, bins=3)


def test_histogram_bars_have_heights_proportional_to_counts() -> None:
    scores = [95, 92, 91, 75, 40, 41]                      # 90-100: 3, 70-80: 1, 40-50: 2
    counts = charts.histogram(scores, lo=0, hi=100, bins=10)
    bars = [charts.Bar(f"{i * 10}", c, f"{c} students") for i, c in enumerate(counts)]
    root = _parse(charts.column_chart(bars, title="Scores", x_label="score %", y_label="students"))
    rects = _marks(root, "rect")
    assert [float(r.get("data-value")) for r in rects] == [2, 1, 3]          # empty bins draw no bar
    heights = [float(r.get("height")) for r in rects]
    assert heights[0] == pytest.approx(2 * heights[1], abs=0.11) and heights[2] == pytest.approx(3 * heights[1], abs=0.11)
    bottoms = {round(float(r.get("y")) + float(r.get("height")), 1) for r in rects}
    assert len(bottoms) == 1                                                  # all stand on the x axis
    assert [r.find(f"{SVG}title").text for r in rects] == ["2 students", "1 students", "3 students"]
    assert root.find(f"{SVG}title").text == "Scores"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "score %" in texts and "students" in texts


def test_bar_widths_follow_the_rates_and_groups_get_headings() -> None:
    bars = [charts.Bar("t1", 1.0, "all", group="01_rnn"), charts.Bar("t2", 0.25, "quarter", group="01_rnn"),
            charts.Bar("t3", 0.5, "half", group="02_emb")]
    root = _parse(charts.bar_chart(bars, title="Pass rates", x_label="passing", y_label=""))
    widths = [float(r.get("width")) for r in _marks(root, "rect")]
    assert widths[1] / widths[0] == pytest.approx(0.25, rel=0.01) and widths[2] / widths[0] == pytest.approx(0.5, rel=0.01)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts.count("01_rnn") == 1 and texts.count("02_emb") == 1 and "25%" in texts


def test_text_from_submissions_is_escaped() -> None:
    evil = '<script>alert("x")</script>'
    bars = [charts.Bar(evil, 0.5, f"tooltip {evil}", group=evil)]
    markup = str(charts.bar_chart(bars, title=evil, x_label="x", y_label="y"))
    assert "<script>" not in markup
    root = _parse(markup)
    assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))
    assert evil in [t.text for t in root.iter(f"{SVG}text")]


def test_strip_plot_box_spans_the_quartiles_and_every_value_is_a_point() -> None:
    rows = {"01_rnn_basics": [("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0), ("e", 5.0)], "02_empty": []}
    root = _parse(charts.strip_plot(rows, title="Runtime", x_label="seconds", y_label=""))
    points = _marks(root, "circle")
    assert sorted(float(p.get("data-value")) for p in points) == [1, 2, 3, 4, 5]
    xs = {float(p.get("data-value")): float(p.get("cx")) for p in points}
    box, = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "box"]
    assert float(box.get("x")) == pytest.approx(xs[2.0], abs=0.1)                       # q1 = 2
    assert float(box.get("x")) + float(box.get("width")) == pytest.approx(xs[4.0], abs=0.2)   # q3 = 4
    assert xs[1.0] < xs[3.0] < xs[5.0]


def test_line_chart_draws_each_epoch_higher_values_higher() -> None:
    series = {"loss": (0.7, 0.5, 0.4), "val_accuracy": (0.6, 0.7, 0.8)}
    root = _parse(charts.line_chart(series, title="Training", x_label="epoch", y_label="value"))
    points = _marks(root, "circle")
    assert len(points) == 6 and len(list(root.iter(f"{SVG}polyline"))) == 2
    loss = [p for p in points if p.find(f"{SVG}title").text.startswith("loss")]
    ys = [float(p.get("cy")) for p in loss]
    assert ys[0] < ys[1] < ys[2]                            # falling loss: y grows downwards on screen
    assert [float(p.get("cx")) for p in loss] == sorted(float(p.get("cx")) for p in loss)


def test_scale_chart_places_markers_in_order() -> None:
    root = _parse(charts.scale_chart([("0 points", 0.65, "#888"), ("full points", 0.78, "#080"),
                                      ("measured", 0.74, "#00f")], band=(0.65, 0.78), title="t", x_label="acc"))
    cx = {p.find(f"{SVG}title").text.split(":")[0]: float(p.get("cx")) for p in _marks(root, "circle")}
    assert cx["0 points"] < cx["measured"] < cx["full points"]


def test_nice_ticks_cover_the_maximum() -> None:
    assert charts.nice_ticks(7, integer=True) == (0, 2, 4, 6, 8)
    assert charts.nice_ticks(4.057)[-1] >= 4.057 and charts.nice_ticks(0) == (0.0, 1.0)
