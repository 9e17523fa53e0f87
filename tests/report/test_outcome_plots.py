"""Outcome figures: valid SVG naming groups and patients, PNG data URIs, the SIMULATED mark,
InputError on missing columns or empty tables, and numbers drawn as the tables give them.

Nothing here looks at pixels. Where a figure shows numbers (months on the axis, numbers at
risk, bar lengths) they are checked on the :class:`~matplotlib.figure.Figure` (``image=
'figure'``) against closed-form values computed independently from the raw data.
"""

from __future__ import annotations

import base64
import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from tumorboard.errors import InputError
from tumorboard.report import outcome_plots as op

# Matplotlib reports misuse as UserWarning; none of these figures may trigger one.
pytestmark = pytest.mark.filterwarnings("error::UserWarning")

SVG = "{http://www.w3.org/2000/svg}svg"


def _parse(svg: str) -> str:
    assert svg.startswith("<svg ")  # inline in HTML: no XML declaration
    root = ET.fromstring(svg)
    assert root.tag == SVG
    return "".join(root.itertext())


def _texts(fig: object) -> str:
    """All text of a Figure, without rendering it."""
    from matplotlib.text import Text

    return "\n".join(t.get_text() for t in fig.findobj(Text))  # type: ignore[attr-defined]


# --- fixtures: tables in the shapes the outcomes modules produce -------------------------

DURATIONS = {  # days; hand-made so every count below can be checked by eye
    "MTB-guided": ([40, 95, 180, 200, 365, 400, 700, 800], [1, 1, 0, 1, 1, 0, 1, 0]),
    "standard": ([20, 60, 60, 150, 250, 300], [1, 1, 0, 1, 1, 1]),
}


def _km_tables(durations: dict[str, tuple[list[int], list[int]]]
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Curves (with the optional censored count) and the full event table per group, from
    lifelines, whose estimates outcomes.survival also uses."""
    curves, at_risk = [], []
    for group, (d, e) in durations.items():
        km = KaplanMeierFitter().fit(d, np.asarray(e, dtype=bool))
        sf, ci = km.survival_function_.iloc[:, 0], km.confidence_interval_
        et = km.event_table
        curves.append(pd.DataFrame({"group": group, "time": sf.index.to_numpy(float),
                                    "survival": sf.to_numpy(), "lower": ci.iloc[:, 0].to_numpy(),
                                    "upper": ci.iloc[:, 1].to_numpy(),
                                    "censored": et["censored"].reindex(sf.index).to_numpy()}))
        at_risk.append(pd.DataFrame({"group": group, "time": et.index.to_numpy(float),
                                     "at_risk": et["at_risk"].to_numpy(),
                                     "events": et["observed"].to_numpy(),
                                     "censored": et["censored"].to_numpy()}))
    return pd.concat(curves, ignore_index=True), pd.concat(at_risk, ignore_index=True)


CURVES, EVENT_TABLE = _km_tables(DURATIONS)


def _grid(durations: dict[str, tuple[list[int], list[int]]], step: float = 182.625
          ) -> pd.DataFrame:
    """Numbers at risk every 6 months counted from the raw durations, with cumulative events
    and censorings: the shape of outcomes.survival.kaplan_meier's ``at_risk``."""
    rows = []
    longest = max(max(d) for d, _e in durations.values())
    for group, (d, e) in durations.items():
        d, e = np.asarray(d, dtype=float), np.asarray(e, dtype=bool)
        for t in np.arange(0, longest + 1, step):
            rows.append({"group": group, "time": t, "at_risk": int((d >= t).sum()),
                         "events": int(((d <= t) & e).sum()),
                         "censored": int(((d <= t) & ~e).sum())})
    return pd.DataFrame(rows)


GRID = _grid(DURATIONS)  # 0..24 months: MTB-guided 8 5 3 2 1, standard 6 2 0 0 0

FOREST = pd.DataFrame({
    "label": ["age >= 30", "DSRCT", "EWSR1-WT1 fusion only", "MTB-guided"],
    "hr": [0.6, 1.8, np.nan, 1.1], "lower": [0.3, 0.9, np.nan, 0.5],
    "upper": [1.2, 3.6, np.nan, np.inf], "p": [0.1449, 0.0812, np.nan, 0.0004],
    "n": [40, 12, 3, 25]})

RATIOS = pd.DataFrame({
    "patient": ["DSRCT-001", "DSRCT-002", "DSRCT-003", "DSRCT-004", "DSRCT-005"],
    "line": [2, 3, 2, 4, 2], "pfs_ratio": [2.0, 0.5, 1.5, np.nan, 0.25],
    "verdict": ["benefit", "no_benefit", "benefit", "not_evaluable", "no_benefit"]})

LINES = pd.DataFrame({
    "patient": ["DSRCT-001", "DSRCT-001", "DSRCT-001", "DSRCT-002", "DSRCT-002"],
    "line": [1, 2, 3, 1, 2],
    "regimen": ["VDC/IE", "irinotecan/temozolomide", "pazopanib", "VDC/IE", "cabozantinib"],
    "start": pd.to_datetime(["2022-01-01", "2022-09-01", "2023-05-01", "2022-03-01",
                             "2023-01-15"]),
    "stop": pd.to_datetime(["2022-08-01", "2023-04-01", None, "2022-12-01", "2023-09-01"]),
    "mtb_guided": [False, False, True, False, True]})

EVENTS = pd.DataFrame({
    "patient": ["DSRCT-001", "DSRCT-001", "DSRCT-001", "DSRCT-002", "DSRCT-002", "DSRCT-001"],
    "date": pd.to_datetime(["2022-08-01", "2023-04-01", "2023-08-01", "2022-12-01",
                            "2023-10-01", "2023-02-01"]),
    "kind": ["progression", "progression", "response", "progression", "death",
             "ctdna_positive"]})

RECIST = pd.DataFrame({
    "assessment_date": pd.to_datetime(["2023-04-20", "2023-07-01", "2023-10-01"]),
    "overall": ["PD", "PR", "SD"], "sum_mm": [88.0, 55.0, 50.0]})

CTDNA = pd.DataFrame({
    "collected": pd.to_datetime(["2023-04-20", "2023-06-01", "2023-09-01"]),
    "tumour_fraction": [0.05, 0.002, 0.0], "mrd": [True, True, False]})

CALIBRATION = pd.DataFrame({
    "group": ["low risk", "intermediate risk", "high risk"],
    "predicted": [0.8, 0.6, 0.3], "observed": [0.75, 0.62, 0.35],
    "lower": [0.6, 0.45, 0.2], "upper": [0.9, 0.77, 0.5]})


# Every plot with its required input, so the shared behaviours are tested on all of them.
PLOTS = {
    "kaplan_meier": (lambda **kw: op.kaplan_meier_plot(CURVES, GRID, title="OS",
                                                       logrank_p=0.0012, **kw)),
    "forest": lambda **kw: op.forest_plot(FOREST, title="Cox model", **kw),
    "waterfall": lambda **kw: op.pfsr_waterfall(RATIOS, **kw),
    "swimmer": lambda **kw: op.swimmer_plot(LINES, EVENTS, **kw),
    "timeline": lambda **kw: op.patient_timeline(LINES, EVENTS, RECIST, CTDNA,
                                                  patient="DSRCT-001", **kw),
    "calibration": lambda **kw: op.calibration_plot(CALIBRATION,
                                                    horizon_label="24-month OS", **kw),
}


# --- shared behaviour -------------------------------------------------------------------


@pytest.mark.parametrize("name", PLOTS)
def test_svg_is_valid_and_simulated_flag_marks_it(name: str) -> None:
    assert "SIMULATED" not in _texts(PLOTS[name](image="figure"))
    assert "SIMULATED" in _parse(PLOTS[name](simulated=True))


@pytest.mark.parametrize("name", PLOTS)
def test_png_mode_returns_a_png_data_uri(name: str) -> None:
    out = PLOTS[name](image="png")
    assert out.startswith("<img ") and 'src="data:image/png;base64,' in out
    data = out.split("base64,", 1)[1].split('"', 1)[0]
    assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("call", "column"), [
    (lambda: op.kaplan_meier_plot(CURVES.drop(columns="upper"), EVENT_TABLE, title="OS"),
     "upper"),
    (lambda: op.kaplan_meier_plot(CURVES, EVENT_TABLE.drop(columns="censored"), title="OS"),
     "censored"),
    (lambda: op.forest_plot(FOREST.drop(columns="n"), title="x"), "n"),
    (lambda: op.pfsr_waterfall(RATIOS.drop(columns="verdict")), "verdict"),
    (lambda: op.swimmer_plot(LINES.drop(columns="mtb_guided"), EVENTS), "mtb_guided"),
    (lambda: op.swimmer_plot(LINES, EVENTS.drop(columns="kind")), "kind"),
    (lambda: op.patient_timeline(LINES, EVENTS, RECIST.drop(columns="sum_mm"),
                                 patient="DSRCT-001"), "sum_mm"),
    (lambda: op.patient_timeline(LINES, EVENTS, None, CTDNA.drop(columns="mrd"),
                                 patient="DSRCT-001"), "mrd"),
    (lambda: op.calibration_plot(CALIBRATION.drop(columns="observed"), horizon_label="x"),
     "observed"),
])
def test_missing_column_is_named(call: object, column: str) -> None:
    with pytest.raises(InputError) as err:
        call()  # type: ignore[operator]
    assert err.value.column == column
    assert f"no column '{column}'" in str(err.value)


@pytest.mark.parametrize(("call", "name"), [
    (lambda: op.kaplan_meier_plot(CURVES.iloc[:0], EVENT_TABLE, title="OS"), "curves"),
    (lambda: op.forest_plot(FOREST.iloc[:0], title="x"), "table"),
    (lambda: op.pfsr_waterfall(RATIOS.iloc[:0]), "ratios"),
    (lambda: op.swimmer_plot(LINES.iloc[:0], EVENTS.iloc[:0]), "lines"),
    (lambda: op.calibration_plot(CALIBRATION.iloc[:0], horizon_label="x"), "calibration"),
])
def test_empty_table_is_an_input_error(call: object, name: str) -> None:
    with pytest.raises(InputError, match=f"{name} is empty: nothing to plot"):
        call()  # type: ignore[operator]


def test_not_a_dataframe_is_an_input_error() -> None:
    with pytest.raises(InputError, match="ratios must be a pandas DataFrame, got list"):
        op.pfsr_waterfall([1.2, 0.8])  # type: ignore[arg-type]


# --- formatting -------------------------------------------------------------------------


@pytest.mark.parametrize(("p", "text"), [
    (0.0004, "< 0.001"), (0.001, "0.001"), (0.0012, "0.001"), (0.0099, "0.010"),
    (0.0451, "0.05"), (0.1449, "0.14"), (0.82, "0.82")])
def test_format_p_follows_nejm_rounding(p: float, text: str) -> None:
    """NEJM: 2 decimals above 0.01, 3 between 0.001 and 0.01, '< 0.001' below."""
    assert op.format_p(p) == text


def test_p_text_puts_the_relation_sign_once() -> None:
    assert op.p_text(0.0004, "log-rank p") == "log-rank p < 0.001"
    assert op.p_text(0.0012) == "p = 0.001"


def test_months_are_days_over_mean_julian_month() -> None:
    from tumorboard.outcomes import DAYS_PER_MONTH

    assert op.DAYS_PER_MONTH == 30.4375 == DAYS_PER_MONTH
    assert op.months(365.25) == pytest.approx(12.0)


# --- Kaplan–Meier -----------------------------------------------------------------------


def test_kaplan_meier_names_groups_and_p_value() -> None:
    text = _parse(op.kaplan_meier_plot(CURVES, EVENT_TABLE, title="Overall survival",
                                       logrank_p=0.0012))
    assert text.count("MTB-guided") >= 2  # legend and number-at-risk row
    assert text.count("standard") >= 2
    assert "log-rank p = 0.001" in text
    assert "Number at risk" in text and "Overall survival" in text
    no_p = _texts(op.kaplan_meier_plot(CURVES, EVENT_TABLE, title="Overall survival",
                                       image="figure"))
    assert "log-rank" not in no_p
    assert "log-rank p < 0.001" in _texts(
        op.kaplan_meier_plot(CURVES, EVENT_TABLE, title="OS", logrank_p=1e-6, image="figure"))


def test_kaplan_meier_single_group_has_no_legend() -> None:
    curves, table = _km_tables({"all": DURATIONS["standard"]})
    fig = op.kaplan_meier_plot(curves, table, title="PFS", image="figure")
    assert fig.axes[0].get_legend() is None
    assert "all" in _texts(fig)  # the at-risk row is still labelled


def test_long_event_table_is_thinned_and_counts_match_raw_durations() -> None:
    """A lifelines event table (one row per distinct time, 41 here: 0 and months 1..40) is
    thinned to every 4th time (ceil(41 / 12)), and each shown number at risk equals
    #{durations >= t} counted from the raw durations (R ``summary(survfit(Surv(d, e) ~ 1),
    times = t)$n.risk``), an independent check of what the table is read as."""
    whole_months = (np.arange(1, 41) * op.DAYS_PER_MONTH).tolist()
    many = {"MTB-guided": (whole_months, [1, 0] * 20)}
    curves, table = _km_tables(many)
    assert table["time"].nunique() == 41 > op.MAX_AT_RISK_COLUMNS
    fig = op.kaplan_meier_plot(curves, table, title="OS", image="figure")
    main, at_risk_ax = fig.axes[0], fig.axes[1]
    ticks_months = main.xaxis.get_major_locator()()
    assert list(ticks_months) == pytest.approx(list(range(0, 41, 4)))
    durations = np.array(whole_months)
    expected = [int((durations >= m * op.DAYS_PER_MONTH - 1e-9).sum()) for m in ticks_months]
    shown = [int(t.get_text()) for t in sorted(at_risk_ax.texts, key=lambda t: t.get_position())]
    assert shown == expected
    assert expected[0] == 40 and expected[-1] == 1


def test_censor_ticks_come_from_the_curves_censored_column() -> None:
    """MTB-guided censorings are at days 180, 400 and 800 (event 0 in DURATIONS)."""
    fig = op.kaplan_meier_plot(CURVES, EVENT_TABLE, title="OS", image="figure")
    marks = [ln for ln in fig.axes[0].get_lines() if ln.get_marker() == "|"]
    assert len(marks) == 2  # one per group
    assert list(marks[0].get_xdata()) == pytest.approx([180 / 30.4375, 400 / 30.4375,
                                                        800 / 30.4375])
    bare = op.kaplan_meier_plot(CURVES.drop(columns="censored"), EVENT_TABLE, title="OS",
                                image="figure")
    assert not [ln for ln in bare.axes[0].get_lines() if ln.get_marker() == "|"]


def test_short_at_risk_table_sets_the_ticks_in_months() -> None:
    """A reporting table at 0, 6 and 12 months (days 0, 182.625, 365.25) gives ticks 0, 6, 12
    and exactly those numbers under each group."""
    at = pd.DataFrame({"group": ["MTB-guided"] * 3 + ["standard"] * 3,
                       "time": [0.0, 182.625, 365.25] * 2, "at_risk": [8, 6, 3, 6, 3, 0],
                       "events": [0, 0, 0, 0, 0, 0], "censored": [0, 0, 0, 0, 0, 0]})
    fig = op.kaplan_meier_plot(CURVES, at, title="OS", image="figure")
    assert list(fig.axes[0].xaxis.get_major_locator()()) == pytest.approx([0, 6, 12])
    rows: dict[float, list[str]] = {}
    for t in fig.axes[1].texts:
        x, y = t.get_position()
        rows.setdefault(y, []).append((x, t.get_text()))  # type: ignore[arg-type]
    assert [[s for _x, s in sorted(r)] for _y, r in sorted(rows.items())] == [
        ["8", "6", "3"], ["6", "3", "0"]]


def test_six_monthly_grid_is_shown_as_given() -> None:
    """The grid of :func:`_grid` counted by hand from DURATIONS: MTB-guided durations
    40 95 180 200 365 400 700 800 -> 8 at 0, 5 at 6 months (182.6 d: 180 is out), 3 at 12
    (365.25 d: 365 is out), 2 at 18 (547.9 d), 1 at 24 (730.5 d); standard
    20 60 60 150 250 300 -> 6, 2, 0, 0, 0."""
    fig = op.kaplan_meier_plot(CURVES, GRID, title="OS", image="figure")
    assert list(fig.axes[0].xaxis.get_major_locator()()) == pytest.approx([0, 6, 12, 18, 24])
    rows: dict[float, list[tuple[float, str]]] = {}
    for t in fig.axes[1].texts:
        x, y = t.get_position()
        rows.setdefault(y, []).append((x, t.get_text()))
    assert [[s for _x, s in sorted(r)] for _y, r in sorted(rows.items())] == [
        ["8", "5", "3", "2", "1"], ["6", "2", "0", "0", "0"]]
    gap = GRID.drop(index=GRID.index[(GRID["group"] == "standard") & (GRID["time"] > 0)])
    fig = op.kaplan_meier_plot(CURVES, gap, title="OS", image="figure")
    cells = [t.get_text() for t in fig.axes[1].texts if t.get_position()[1] == 1]
    assert cells == ["6", "", "", "", ""]  # never interpolated


def test_kaplan_meier_rejects_at_risk_of_an_unknown_group() -> None:
    at = EVENT_TABLE.assign(group="placebo")
    with pytest.raises(InputError, match="at_risk has group 'placebo'") as err:
        op.kaplan_meier_plot(CURVES, at, title="OS")
    assert err.value.column == "group"


def test_kaplan_meier_rejects_text_in_a_number_column() -> None:
    bad = CURVES.astype({"survival": object})
    bad.loc[2, "survival"] = "high"
    with pytest.raises(InputError, match="curves row 3: 'high' is not a number") as err:
        op.kaplan_meier_plot(bad, EVENT_TABLE, title="OS")
    assert err.value.column == "survival"


# --- forest -----------------------------------------------------------------------------


def test_forest_plot_shows_hr_ci_p_and_not_estimable() -> None:
    text = _parse(op.forest_plot(FOREST, title="Cox model"))
    for label in FOREST["label"]:
        assert label in text
    assert "0.60 (0.30–1.20)" in text and "1.80 (0.90–3.60)" in text
    assert "1.10 (0.50–∞)" in text
    assert "0.14" in text and "0.08" in text and "< 0.001" in text
    assert text.count("not estimable") == 1
    assert "(n = 40)" in text


def test_forest_plot_is_log_scaled_with_squares_growing_with_n() -> None:
    fig = op.forest_plot(FOREST, title="Cox model", image="figure")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert any(list(line.get_xdata()) == [1.0, 1.0] for line in ax.get_lines())
    squares = ax.collections[-1]
    sizes = squares.get_sizes()
    assert len(sizes) == 3  # the not-estimable row has no square
    assert np.argmax(sizes) == 0 and np.argmin(sizes) == 1  # n = 40 largest, n = 12 smallest


def test_forest_plot_rejects_log_hazard_ratios() -> None:
    with pytest.raises(InputError, match=re.escape("hr -0.5 is not positive")) as err:
        op.forest_plot(FOREST.assign(hr=[-0.5, 0.6, np.nan, 0.1]), title="x")
    assert err.value.column == "hr" and err.value.sample == "age >= 30"


# --- PFS ratio waterfall ----------------------------------------------------------------


def test_waterfall_sorts_log2_ratios_and_counts_verdicts() -> None:
    fig = op.pfsr_waterfall(RATIOS, image="figure")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["DSRCT-001 L2", "DSRCT-003 L2", "DSRCT-002 L3", "DSRCT-005 L2",
                      "DSRCT-004 L4"]
    heights = [bar.get_height() for bar in ax.patches[:5]]
    assert heights == pytest.approx([1.0, math.log2(1.5), -1.0, -2.0, 0.0])
    assert ax.patches[4].get_hatch() == "///"  # not evaluable
    threshold = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert threshold[0].get_ydata()[0] == pytest.approx(math.log2(1.3))
    text = _texts(fig)
    assert "benefit (n = 2)" in text and "no benefit (n = 2)" in text
    assert "not evaluable (n = 1)" in text and "n.e." in text and "PFSr = 1.3" in text


def test_waterfall_svg_names_patients_and_marks_censored() -> None:
    text = _parse(op.pfsr_waterfall(RATIOS.assign(censored=[True, False, False, False, False]),
                                    threshold=1.5))
    for patient in RATIOS["patient"]:
        assert patient in text
    assert "PFS censored (n = 1)" in text and "PFSr = 1.5" in text


def test_waterfall_rejects_unknown_verdict() -> None:
    with pytest.raises(InputError, match="ratios row 2: verdict 'maybe' is not known") as err:
        op.pfsr_waterfall(RATIOS.assign(verdict=["benefit", "maybe", "benefit",
                                                 "not_evaluable", "no_benefit"]))
    assert err.value.column == "verdict" and err.value.sample == "DSRCT-002"


# --- swimmer ----------------------------------------------------------------------------


def test_swimmer_plot_names_patients_and_event_kinds() -> None:
    text = _parse(op.swimmer_plot(LINES, EVENTS))
    for name in ("DSRCT-001", "DSRCT-002", "MTB-guided line", "ongoing", "progression",
                 "death", "response", "ctDNA positive", "Months from start of first line"):
        assert name in text
    assert "last follow-up" not in text  # only kinds present get a legend entry


def test_swimmer_bars_are_months_from_first_line_start() -> None:
    """DSRCT-001 line 1: 2022-01-01 to 2022-08-01 = 212 days = 212 / 30.4375 months from 0;
    line 2 starts 243 days after the first start. Follow-up: DSRCT-001 to its last event
    (2023-08-01) is 577 days, DSRCT-002 to death (2023-10-01) 579 days, so DSRCT-002 is the
    top lane (y ticks run bottom to top)."""
    fig = op.swimmer_plot(LINES, EVENTS, image="figure")
    ax = fig.axes[0]
    bars = [p for p in ax.patches if p.get_height() == pytest.approx(0.55)]
    assert bars[0].get_x() == pytest.approx(0.0)
    assert bars[0].get_width() == pytest.approx(212 / 30.4375)
    assert bars[1].get_x() == pytest.approx(243 / 30.4375)
    lanes = [t.get_text() for t in ax.get_yticklabels()]
    assert lanes == ["DSRCT-001", "DSRCT-002"]
    ongoing = [c for c in ax.get_children() if type(c).__name__ == "Annotation"]
    assert len(ongoing) == 1  # only pazopanib (stop NaT) ends in an arrow


def test_swimmer_rejects_unknown_event_kind_and_stray_patients() -> None:
    with pytest.raises(InputError, match="events row 1: kind 'relapse' is not known") as err:
        op.swimmer_plot(LINES, EVENTS.assign(kind=["relapse", *EVENTS["kind"].tolist()[1:]]))
    assert err.value.column == "kind" and err.value.sample == "DSRCT-001"
    stray = pd.concat([EVENTS, pd.DataFrame({"patient": ["DSRCT-009"],
                                             "date": pd.to_datetime(["2023-01-01"]),
                                             "kind": ["death"]})])
    with pytest.raises(InputError, match="events of patient 'DSRCT-009' who has no therapy"):
        op.swimmer_plot(LINES, stray)


def test_swimmer_rejects_a_line_without_start() -> None:
    with pytest.raises(InputError, match="lines row 4: start is missing") as err:
        op.swimmer_plot(LINES.assign(start=LINES["start"].where(LINES.index != 3)), EVENTS)
    assert err.value.sample == "DSRCT-002"


# --- patient timeline -------------------------------------------------------------------


def test_patient_timeline_shows_lines_responses_and_ctdna() -> None:
    text = _parse(op.patient_timeline(LINES, EVENTS, RECIST, CTDNA, patient="DSRCT-001"))
    assert "DSRCT-001" in text and "DSRCT-002" not in text
    for label in ("L1 VDC/IE", "L3 pazopanib", "PD", "PR", "SD", "ctDNA tumour fraction",
                  "sum of diameters (mm)", "ctDNA detected", "ctDNA not detected", "events"):
        assert label in text


def test_patient_timeline_ctdna_is_on_a_log_secondary_axis() -> None:
    fig = op.patient_timeline(LINES, EVENTS, RECIST, CTDNA, patient="DSRCT-001",
                              image="figure")
    twin = [ax for ax in fig.axes if ax.get_yscale() == "log"]
    assert len(twin) == 1 and twin[0].get_ylabel() == "ctDNA tumour fraction"
    detected, not_detected = twin[0].collections[-2:]
    assert len(detected.get_offsets()) == 2 and len(not_detected.get_offsets()) == 1
    # Not detected (fraction 0) is drawn hollow, a factor 3 under the smallest detection.
    assert not_detected.get_offsets()[0][1] == pytest.approx(0.002 / 3)
    assert not_detected.get_facecolors()[0][:3] == pytest.approx([1.0, 1.0, 1.0])


def test_patient_timeline_without_measurements_and_ctdna_only() -> None:
    text = _parse(op.patient_timeline(LINES, EVENTS, patient="DSRCT-002"))
    assert "DSRCT-002" in text and "cabozantinib" in text and "death" in text
    fig = op.patient_timeline(LINES, EVENTS, None, CTDNA, patient="DSRCT-001", image="figure")
    assert [ax.get_yscale() for ax in fig.axes] == ["linear", "log"]


def test_patient_timeline_draws_empty_measurement_tables_as_none() -> None:
    fig = op.patient_timeline(LINES, EVENTS, RECIST.iloc[:0], CTDNA.iloc[:0],
                              patient="DSRCT-002", image="figure")
    assert len(fig.axes) == 1  # no measurement panel for a patient without assessments


def test_patient_timeline_rejects_unknown_patient_and_percent_fractions() -> None:
    with pytest.raises(InputError, match="patient 'DSRCT-404' has no therapy line"):
        op.patient_timeline(LINES, EVENTS, patient="DSRCT-404")
    with pytest.raises(InputError, match=re.escape("tumour_fraction 5.0 is outside 0-1")) as err:
        op.patient_timeline(LINES, EVENTS, None, CTDNA.assign(tumour_fraction=[5.0, 0.2, 0.0]),
                            patient="DSRCT-001")
    assert err.value.column == "tumour_fraction"


# --- calibration ------------------------------------------------------------------------


def test_calibration_plot_names_groups_against_the_diagonal() -> None:
    text = _parse(op.calibration_plot(CALIBRATION, horizon_label="24-month OS"))
    for group in CALIBRATION["group"]:
        assert group in text
    assert "Predicted 24-month OS" in text and "perfect calibration" in text
    fig = op.calibration_plot(CALIBRATION, horizon_label="24-month OS", image="figure")
    ax = fig.axes[0]
    diagonal = ax.get_lines()[0]
    assert list(diagonal.get_xdata()) == [0, 1] and list(diagonal.get_ydata()) == [0, 1]
    points = ax.collections[-1].get_offsets()
    assert np.asarray(points).tolist() == [[0.8, 0.75], [0.6, 0.62], [0.3, 0.35]]


def test_calibration_rejects_percentages() -> None:
    message = re.escape("calibration row 1: predicted 80.0 is outside 0-1")
    with pytest.raises(InputError, match=message):
        op.calibration_plot(CALIBRATION.assign(predicted=[80.0, 60.0, 30.0]),
                            horizon_label="x")


# --- tables exactly as the sibling outcomes modules write them -----------------------------


def test_timeline_reads_mrd_calls_of_the_ctdna_module() -> None:
    calls = CTDNA.assign(mrd=["positive", "negative", "not_evaluable"],
                         tumour_fraction=[0.05, 0.0, np.nan])
    fig = op.patient_timeline(LINES, EVENTS, RECIST, calls, patient="DSRCT-001",
                              image="figure")
    log_ax = next(ax for ax in fig.axes if ax.get_yscale() == "log")
    sizes = [len(c.get_offsets()) for c in log_ax.collections]
    assert sizes == [1, 1]  # positive, negative; not evaluable without a fraction: no point
    with pytest.raises(InputError, match="ctdna row 2: mrd 'maybe' is not known") as err:
        op.patient_timeline(LINES, EVENTS, None, CTDNA.assign(mrd=[True, "maybe", False]),
                            patient="DSRCT-001")
    assert err.value.column == "mrd" and err.value.sample == "DSRCT-001"


def test_calibration_reads_prognostic_column_names_one_horizon_at_a_time() -> None:
    table = CALIBRATION.rename(columns={"lower": "observed_lower", "upper": "observed_upper"})
    text = _parse(op.calibration_plot(table.assign(horizon=730.5),
                                      horizon_label="2-year OS"))
    assert "high risk" in text
    two = pd.concat([table.assign(horizon=730.5), table.assign(horizon=1095.75)])
    with pytest.raises(InputError, match="several horizons") as err:
        op.calibration_plot(two, horizon_label="x")
    assert err.value.column == "horizon"


def test_waterfall_reads_censoring_from_pfs2_event() -> None:
    fig = op.pfsr_waterfall(RATIOS.assign(pfs2_event=[False, True, True, pd.NA, True]),
                            image="figure")
    assert "PFS censored (n = 1)" in _texts(fig)
    assert fig.axes[0].patches[0].get_hatch() == "\\\\\\"  # DSRCT-001, the largest ratio
