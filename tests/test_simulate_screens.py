"""Tests of the simulated drug screens: determinism, untouched other files, the screened
share, plate layout and controls, truth that reproduces the written signals, the planted
labels, and the project's reader on every simulated screen.

The checks parse ``drug_screen.csv`` with the csv module and recompute the 4-parameter
log-logistic curve and the Z'-factor here (Zhang et al. 1999, doi:10.1177/108705719900400206),
independently of the simulator's and the layers' code.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import statistics
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import yaml

from tumorboard.errors import InputError
from tumorboard.io.case import read_case
from tumorboard.io.drugscreen import read_drug_screen
from tumorboard.knowledge.drugs import canonical_drug
from tumorboard.simulate import (
    SCREEN_DRUGS,
    SCREEN_NOISE_CV,
    SCREEN_NOISY_CV,
    CohortTruth,
    PatientTruth,
    _plan_cohort,
    _plan_screens,
    simulate_cohort,
)

COHORT = {"seed": 7, "n_dsrct": 6, "others": {"DDLS": 2, "LMS": 2, "GIST": 1, "ES": 1, "ASPS": 1},
          "size": "small"}
LABELS = {"sensitive", "resistant", "flat", "partial", "noisy", "qc_fail", "typical"}
NANOMOLAR = 1e-3  # µM per nM


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CohortTruth]:
    root = tmp_path_factory.mktemp("screens")
    return root, simulate_cohort(root, **COHORT)


def _screened(truth: CohortTruth) -> list[PatientTruth]:
    return [p for p in truth.patients if p.drug_screen is not None]


def _wells(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _micromolar(row: dict[str, str]) -> float:
    if "concentration_um" in row:
        return float(row["concentration_um"])
    assert row["unit"] == "nM"
    return float(row["concentration"]) * NANOMOLAR


def _role(row: dict[str, str]) -> str:
    words = {"treatment": "treatment", "sample": "treatment", "negative_control": "negative",
             "negative": "negative", "positive_control": "positive", "positive": "positive"}
    return words[row["role"]]


def _ll4(conc_um: float, c: dict) -> float:
    """The 4PL curve written out (Sebaugh 2011, doi:10.1002/pst.426), viability in %."""
    return c["bottom"] + (c["top"] - c["bottom"]) / (
        1 + (conc_um / 10 ** c["log10_ec50"]) ** c["hill"])


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# --- determinism and the other files -------------------------------------------------------


def test_same_seed_gives_byte_identical_screens(tmp_path: Path) -> None:
    kwargs = {"n_dsrct": 3, "others": {"GIST": 1}, "size": "small", "screens": 1.0}
    simulate_cohort(tmp_path / "a", seed=11, **kwargs)
    # another interpreter with another string-hash seed: no set/dict-order dependence
    code = (f"from tumorboard.simulate import simulate_cohort; "
            f"simulate_cohort({str(tmp_path / 'b')!r}, seed=11, **{kwargs!r})")
    subprocess.run([sys.executable, "-c", code], check=True,
                   env={**os.environ, "PYTHONHASHSEED": "4321"})
    simulate_cohort(tmp_path / "c", seed=12, **kwargs)
    a, b, c = (_digest(tmp_path / x) for x in "abc")
    screens = [k for k in a if k.endswith("drug_screen.csv")]
    assert len(screens) == 4
    assert a == b
    assert all(a[k] != c[k] for k in screens)  # another seed, other screens


def test_screens_leave_every_other_file_unchanged(tmp_path: Path) -> None:
    kwargs = {"seed": 5, "n_dsrct": 3, "others": {"DDLS": 1, "ES": 1}, "size": "small"}
    truth0 = simulate_cohort(tmp_path / "none", screens=0, **kwargs)
    truth1 = simulate_cohort(tmp_path / "all", screens=1.0, **kwargs)
    none, every = _digest(tmp_path / "none"), _digest(tmp_path / "all")
    added = sorted(set(every) - set(none))
    assert added == sorted(f"{p.patient_id}/drug_screen.csv" for p in truth1.patients)
    for name, digest in none.items():
        if not name.endswith(("case.yaml", "truth.json")):
            assert every[name] == digest, name
    # case.yaml differs only by the screen's entry under the tumour sample
    for p in truth0.patients:
        without = yaml.safe_load((tmp_path / "none" / p.patient_id / "case.yaml").read_text())
        with_ = yaml.safe_load((tmp_path / "all" / p.patient_id / "case.yaml").read_text())
        tumour = with_["samples"][0]
        assert tumour["files"][-1]["layer"] == "drug_screen"
        tumour["files"].pop()
        assert with_ == without
    # without screens, truth.json has no drug_screen key at all (as before screens existed)
    raw = json.loads((tmp_path / "none" / "truth.json").read_text(encoding="utf-8"))
    assert all("drug_screen" not in p for p in raw["patients"])
    assert all(p.drug_screen is None for p in truth0.patients)
    assert CohortTruth.from_json(tmp_path / "none" / "truth.json") == truth0
    assert CohortTruth.from_json(tmp_path / "all" / "truth.json") == truth1


@pytest.mark.parametrize("share", [0.0, 0.2, 0.5, 0.75, 1.0])
def test_screened_share_per_entity(share: float) -> None:
    others = {"SYNS": 3, "ES": 3, "DDLS": 3, "LMS": 3, "GIST": 2, "IMT": 2, "ASPS": 2}
    plans = _plan_cohort(20261122, 30, others)
    screens = _plan_screens(20261122, plans, share)
    counts = {"DSRCT": 30, **others}
    for code, n in counts.items():
        chosen = [p for p in plans if p.entity.code == code and p.pid in screens]
        assert len(chosen) == math.floor(share * n + 0.5), code
    assert all(s.model == f"PDO-{pid}" for pid, s in screens.items())
    # the same call chooses the same patients
    assert list(_plan_screens(20261122, plans, share)) == list(screens)


def test_default_share_in_the_files(cohort: tuple[Path, CohortTruth]) -> None:
    root, truth = cohort
    counts = Counter(p.entity for p in truth.patients)
    screened = Counter(p.entity for p in _screened(truth))
    for code, n in counts.items():
        assert screened[code] == math.floor(0.75 * n + 0.5), code
    for p in truth.patients:
        assert (root / p.patient_id / "drug_screen.csv").is_file() == (p.drug_screen is not None)


def test_case_yaml_lists_the_screen_under_the_tumour(cohort: tuple[Path, CohortTruth]) -> None:
    root, truth = cohort
    for p in truth.patients:
        case = read_case(root / p.patient_id)
        entries = [(s.id, f) for s in case.samples for f in s.files if f.layer == "drug_screen"]
        if p.drug_screen is None:
            assert entries == []
            continue
        [(sample, entry)] = entries
        assert sample == p.tumour_sample
        assert (entry.format, entry.path, entry.tool) == ("drug_screen", "drug_screen.csv",
                                                          "CellTiter-Glo 3D")
        assert entry.options == {"model": f"PDO-{p.patient_id}", "model_type": "organoid"}
        assert p.files["drug_screen"] == "drug_screen.csv"
        assert p.formats["drug_screen"] == "drug_screen"


@pytest.mark.parametrize("screens", [-0.1, 1.5, "half", True, float("nan"), None])
def test_bad_screen_share_is_refused(tmp_path: Path, screens: object) -> None:
    with pytest.raises(InputError, match=r"screens is .*\(expected a share from 0 to 1\)\. "
                                         r"Fix: give the share of patients"):
        simulate_cohort(tmp_path / "out", n_dsrct=1, others={}, size="small", screens=screens)
    assert not (tmp_path / "out").exists()


# --- plates, controls and signals ----------------------------------------------------------


def test_plate_layout_and_controls(cohort: tuple[Path, CohortTruth]) -> None:
    root, truth = cohort
    well_name = re.compile(r"^[A-P](0[1-9]|1\d|2[0-4])$")
    for p in _screened(truth):
        screen = p.drug_screen
        rows = _wells(root / p.patient_id / "drug_screen.csv")
        assert {r["model"] for r in rows} == {screen["model"]}
        plates = defaultdict(list)
        for r in rows:
            plates[r["plate"]].append(r)
        assert 1 <= len(plates) <= 2
        assert [q["plate"] for q in screen["plates"]] == sorted(plates)
        assert 2 <= screen["replicates"] <= 3
        assert 5 <= screen["n_concentrations"] <= 7
        for plate, wells in plates.items():
            names = [r["well"] for r in wells]
            assert all(well_name.match(w) for w in names)
            assert len(set(names)) == len(names) <= 384
            roles = Counter(_role(r) for r in wells)
            assert roles["negative"] >= 16 and roles["positive"] >= 16
            assert {r["drug"] for r in wells if _role(r) == "negative"} == {"DMSO"}
            assert {r["drug"] for r in wells if _role(r) == "positive"} == {
                "Benzethonium chloride"}
            neg = [float(r["signal"]) for r in wells if _role(r) == "negative"]
            pos = [float(r["signal"]) for r in wells if _role(r) == "positive"]
            # CellTiter-Glo 3D levels: DMSO about 50,000 RLU, dead-cell control about 800
            assert 35_000 < statistics.mean(neg) < 70_000
            assert 500 < statistics.mean(pos) < 1_200
            z = 1 - 3 * (statistics.stdev(neg) + statistics.stdev(pos)) / abs(
                statistics.mean(neg) - statistics.mean(pos))
            [recorded] = [q for q in screen["plates"] if q["plate"] == plate]
            assert recorded["z_prime"] == pytest.approx(z, rel=1e-9)
            assert recorded["qc"] == ("pass" if z >= 0.5 else "fail")
        # every drug of the panel once, on one plate, at its concentrations x replicates
        treatment = [r for r in rows if _role(r) == "treatment"]
        by_drug = defaultdict(list)
        for r in treatment:
            by_drug[canonical_drug(r["drug"])].append(r)
        assert set(by_drug) == {d.inn for d in SCREEN_DRUGS} == set(screen["drugs"])
        for drug, wells in by_drug.items():
            c = screen["drugs"][drug]
            assert {r["plate"] for r in wells} == {c["plate"]}
            conc = Counter(_micromolar(r) for r in wells)
            assert sorted(conc) == pytest.approx(sorted(c["concentrations_um"]), rel=1e-12)
            assert set(conc.values()) == {screen["replicates"]}
            assert len(conc) == screen["n_concentrations"]
            assert max(conc) == pytest.approx(c["cmax_um"], rel=1e-5)
            assert math.log10(max(conc) / min(conc)) == pytest.approx(4.0, abs=1e-5)
            assert {int(r["replicate"]) for r in wells} == set(range(1, screen["replicates"] + 1))


def test_truth_reproduces_the_signals(cohort: tuple[Path, CohortTruth]) -> None:
    """Normalised to the plate's controls, every well lies on its true curve within the
    multiplicative noise: the log ratio of signal to the curve's expected signal has mean
    about 0 and SD about the noise CV (log-normal: SD of log = sqrt(log(1 + CV^2))); the
    replicate means, scaled by sqrt(replicates), too (a wrong curve shows up there first:
    a Hill slope off by 20 % gives 1.29 times the SD, the true curves 1.03)."""
    root, truth = cohort
    log_ratios: dict[float, list[float]] = defaultdict(list)
    replicates: dict[tuple, list[float]] = defaultdict(list)
    for p in _screened(truth):
        screen = p.drug_screen
        rows = _wells(root / p.patient_id / "drug_screen.csv")
        controls = {}
        for q in screen["plates"]:
            neg = [float(r["signal"]) for r in rows
                   if r["plate"] == q["plate"] and _role(r) == "negative"]
            pos = [float(r["signal"]) for r in rows
                   if r["plate"] == q["plate"] and _role(r) == "positive"]
            controls[q["plate"]] = (statistics.mean(neg), statistics.mean(pos))
        for r in rows:
            if _role(r) != "treatment":
                continue
            c = screen["drugs"][canonical_drug(r["drug"])]
            neg, pos = controls[r["plate"]]
            conc = _micromolar(r)
            expected = pos + (neg - pos) * _ll4(conc, c) / 100
            value = math.log(float(r["signal"]) / expected)
            log_ratios[c["noise_cv"]].append(value)
            replicates[(c["noise_cv"], p.patient_id, r["drug"], conc)].append(value)
    assert set(log_ratios) == {SCREEN_NOISE_CV, SCREEN_NOISY_CV, 0.35}
    assert len(log_ratios[SCREEN_NOISE_CV]) > 1_000
    for cv, values in log_ratios.items():
        sd = math.sqrt(math.log1p(cv * cv))
        means = [statistics.mean(v) * math.sqrt(len(v))
                 for key, v in replicates.items() if key[0] == cv]
        ordinary = cv == SCREEN_NOISE_CV
        # the control means carry error too (16 wells each): a little slack on the mean
        slack = 0.02 if ordinary else 0.05
        low, high = (0.85, 1.15) if ordinary else (0.75, 1.3)
        assert abs(statistics.mean(values)) < slack + 3 * sd / math.sqrt(len(values)), cv
        assert low * sd < statistics.stdev(values) < high * sd, cv
        assert low * sd < statistics.stdev(means) < high * sd, cv


# --- planted truths ------------------------------------------------------------------------


def test_planted_labels(cohort: tuple[Path, CohortTruth]) -> None:
    _, truth = cohort
    screened = _screened(truth)
    labels = Counter(c["label"] for p in screened for c in p.drug_screen["drugs"].values())
    assert set(labels) == LABELS
    assert labels["partial"] == 1 and labels["resistant"] == 2
    noisy = {p.patient_id for p in screened
             if any(c["label"] == "noisy" for c in p.drug_screen["drugs"].values())}
    assert len(noisy) == 1
    for p in screened:
        drugs = p.drug_screen["drugs"]
        tdxd = drugs["trastuzumab deruxtecan"]
        if p.erbb2_expressed:
            # ERBB2 expressed without activation: the T-DXd rationale of the MASTER study
            assert tdxd["label"] == "sensitive"
            assert tdxd["log10_ec50"] < math.log10(tdxd["cmax_um"]) - 1
        else:
            assert tdxd["label"] in {"flat", "noisy", "qc_fail"}
            assert tdxd["bottom"] == tdxd["top"]
        expected = {"GIST": "imatinib", "DDLS": "palbociclib", "ES": "olaparib",
                    "ASPS": "cabozantinib"}.get(p.entity)
        if expected:
            assert drugs[expected]["label"] == "sensitive", p.patient_id
            typical = next(d.log10_ec50 for d in SCREEN_DRUGS if d.inn == expected)
            assert drugs[expected]["log10_ec50"] < typical - 1
        if p.kdr_activated:
            assert drugs["pazopanib"]["label"] == "sensitive"
        for drug, c in drugs.items():
            assert c["top"] > 85 and 0.8 <= c["hill"] <= 2.5
            assert 5 <= c["bottom"] <= 60 or c["bottom"] == c["top"]
            if c["label"] == "partial":
                assert drug in {"doxorubicin", "gemcitabine", "eribulin", "trabectedin"}
                assert c["log10_ec50"] > math.log10(c["cmax_um"])
                assert _ll4(c["cmax_um"], c) > 50  # never reaches 50 % in range
            if c["label"] == "resistant":
                assert c["bottom"] == c["top"]
                assert drug in {"doxorubicin", "gemcitabine", "eribulin", "trabectedin"}
    planted = {p.patient_id for p in screened for c in p.drug_screen["drugs"].values()
               if c["label"] == "sensitive"}
    assert not planted & noisy  # the noisy model hides no planted sensitivity


def test_poor_control_plate(cohort: tuple[Path, CohortTruth]) -> None:
    _, truth = cohort
    plates = [(p, q) for p in _screened(truth) for q in p.drug_screen["plates"]]
    failing = [(p, q) for p, q in plates if q["z_prime"] < 0.5]
    assert len(failing) == 1
    p, q = failing[0]
    assert q["qc"] == "fail" and len(p.drug_screen["plates"]) == 2
    on_plate = [c for c in p.drug_screen["drugs"].values() if c["plate"] == q["plate"]]
    assert on_plate and all(c["label"] == "qc_fail" for c in on_plate)
    assert all(q["z_prime"] >= 0.6 for _, q in plates if q["qc"] == "pass")


def test_drug_names_need_the_synonym_list(cohort: tuple[Path, CohortTruth]) -> None:
    _, truth = cohort
    given = defaultdict(set)
    for p in _screened(truth):
        for inn, c in p.drug_screen["drugs"].items():
            assert canonical_drug(c["drug_as_given"]) == inn
            given[inn].add(c["drug_as_given"])
    # both simulated compound libraries appear, and most names are not the INN itself
    assert all(len(names) == 2 for names in given.values())
    assert sum(n.lower() != inn for inn, names in given.items() for n in names) >= 16


# --- the project's reader ----------------------------------------------------------------


def test_reader_reads_every_simulated_screen(cohort: tuple[Path, CohortTruth]) -> None:
    root, truth = cohort
    for p in _screened(truth):
        screen = p.drug_screen
        path = root / p.patient_id / "drug_screen.csv"
        rows = _wells(path)
        data = read_drug_screen(path, sample=p.tumour_sample, model=screen["model"],
                                model_type="organoid")
        table = data.tables["drug_screen"]
        assert len(table) == len(rows)
        assert set(table["model"]) == {screen["model"]}
        assert set(table["model_type"]) == {"organoid"}
        assert Counter(table["role"]) == Counter(
            {"treatment": "treatment", "negative": "negative_control",
             "positive": "positive_control"}[_role(r)] for r in rows)
        treated = table[table["role"] == "treatment"]
        assert set(treated["drug"]) == set(screen["drugs"])
        assert set(table.loc[table["role"] != "treatment", "drug"]) == {"vehicle",
                                                                     "positive control"}
        got = sorted(zip(treated["plate"], treated["well"], treated["concentration_um"],
                         treated["signal"], strict=True))
        want = sorted((r["plate"], r["well"], _micromolar(r), float(r["signal"]))
                      for r in rows if _role(r) == "treatment")
        assert [g[:2] for g in got] == [w[:2] for w in want]
        np.testing.assert_allclose([g[2] for g in got], [w[2] for w in want], rtol=1e-12)
        assert [g[3] for g in got] == [w[3] for w in want]
        for drug, c in screen["drugs"].items():
            conc = treated.loc[treated["drug"] == drug, "concentration_um"]
            np.testing.assert_allclose(sorted(set(conc)), c["concentrations_um"][::-1],
                                       rtol=1e-12)
