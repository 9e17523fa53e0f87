"""BED/EQD2 against closed-form values and alpha/beta lookup against the shipped YAML.

Closed forms (Fowler 1989, doi:10.1259/0007-1285-62-740-679; Bentzen 2012,
doi:10.1016/j.radonc.2012.10.006), worked by hand:

- 25 x 2 Gy, a/b 10: BED = 50 (1 + 0.2) = 60; EQD2 = 60 / 1.2 = 50 (2-Gy fractions are their
  own EQD2 whatever a/b).
- 5 x 5 Gy, a/b 4: BED = 25 (1 + 1.25) = 56.25; EQD2 = 56.25 / 1.5 = 37.5.
- 3 x 15 Gy, a/b 10: BED = 45 (1 + 1.5) = 112.5; EQD2 = 112.5 / 1.2 = 93.75.
- 28 x 1.8 Gy, a/b 3: BED = 50.4 (1 + 0.6) = 80.64; EQD2 = 80.64 / (5/3) = 48.384.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tumorboard.errors import InputError
from tumorboard.outcomes.radiotherapy import (
    alpha_beta,
    alpha_beta_table,
    bed,
    eqd2,
    schedule_table,
)


@pytest.mark.parametrize(
    ("d", "n", "ab", "want_bed", "want_eqd2"),
    [
        (2.0, 25, 10.0, 60.0, 50.0),
        (5.0, 5, 4.0, 56.25, 37.5),
        (15.0, 3, 10.0, 112.5, 93.75),
        (1.8, 28, 3.0, 80.64, 48.384),
    ],
)
def test_closed_form(d, n, ab, want_bed, want_eqd2):
    assert bed(d, n, ab) == pytest.approx(want_bed, rel=1e-12)
    assert eqd2(d, n, ab) == pytest.approx(want_eqd2, rel=1e-12)


def test_two_gy_fractions_are_their_own_eqd2_for_any_alpha_beta():
    ab = np.array([0.5, 1.5, 3.0, 4.9, 10.0, 20.0])
    np.testing.assert_allclose(eqd2(2.0, 30, ab), np.full(ab.shape, 60.0), rtol=1e-12)


def test_vectorised_and_series_keep_index():
    d = pd.Series([2.0, 5.0, 15.0], index=["conv", "preop", "sbrt"])
    n = pd.Series([25, 5, 3], index=d.index)
    out = bed(d, n, pd.Series([10.0, 4.0, 10.0], index=d.index))
    assert isinstance(out, pd.Series)
    assert list(out.index) == ["conv", "preop", "sbrt"]
    np.testing.assert_allclose(out.to_numpy(), [60.0, 56.25, 112.5])
    np.testing.assert_allclose(eqd2(np.array([2.0, 5.0]), np.array([25, 5]), 4.0),
                               [50.0, 37.5])


@pytest.mark.parametrize(
    ("d", "n", "ab", "column"),
    [
        (0.0, 5, 4.0, "dose_per_fraction_gy"),
        (-2.0, 5, 4.0, "dose_per_fraction_gy"),
        (2.0, 0, 4.0, "fractions"),
        (2.0, 2.5, 4.0, "fractions"),
        (2.0, 25, 0.0, "alpha_beta_gy"),
        (2.0, 25, float("nan"), "alpha_beta_gy"),
    ],
)
def test_invalid_schedule_raises(d, n, ab, column):
    with pytest.raises(InputError) as err:
        bed(d, n, ab)
    assert err.value.column == column
    assert err.value.fix


def test_non_numeric_dose_raises():
    with pytest.raises(InputError, match="must be numeric"):
        eqd2("two", 25, 10)


def test_alpha_beta_lookup_by_code_name_lineage_and_key():
    sts = alpha_beta("SYNS")
    assert sts.key == "soft_tissue_sarcoma" and sts.value_gy == 4.9 and sts.status == "published"
    assert "10.1667/RADE-20-00226.1" in sts.source
    # DDLS has no own entry: it inherits from its OncoTree parent LIPO.
    ddls = alpha_beta("ddls")
    assert ddls.key == "soft_tissue_sarcoma" and ddls.matched == "LIPO"
    assert alpha_beta("Myxoid/Round-Cell Liposarcoma").key == "myxoid_liposarcoma"
    assert alpha_beta("MRLS").status == "default"
    assert alpha_beta("late_normal_tissue").value_gy == 3.0
    assert alpha_beta("HGESS").matched == "ESS"
    assert float(alpha_beta("ULMS")) == 4.9


def test_benign_tumours_do_not_inherit_the_sarcoma_value():
    # Leiomyoma (soft tissue LM, uterine ULM) share OncoTree parents with sarcomas.
    assert alpha_beta("LM").key == "default"
    assert alpha_beta("ULM").key == "default"


def test_alpha_beta_unknown_histology_gets_default_but_typo_raises():
    os_ = alpha_beta("OS")  # osteosarcoma: valid OncoTree code without an entry
    assert os_.key == "default" and os_.matched == "default" and os_.value_gy == 10.0
    with pytest.raises(InputError, match="not an OncoTree code"):
        alpha_beta("SYNSS")
    with pytest.raises(InputError, match="no histology"):
        alpha_beta("")


def test_every_entry_is_cited_and_codes_exist():
    from tumorboard.reference import oncotree

    table = alpha_beta_table()
    assert {"default", "late_normal_tissue", "soft_tissue_sarcoma"} <= set(table["key"])
    assert table["source"].str.contains(r"doi:10\.|PMID", regex=True).all()
    assert set(table["status"]) <= {"published", "convention", "default"}
    tree = oncotree()
    codes = [c for cell in table["oncotree"] for c in cell.split(";") if c]
    assert codes and all(c in tree for c in codes)


def test_schedule_table_compares_hypo_and_conventional():
    schedules = pd.DataFrame({
        "schedule": ["conventional", "conventional 1.8", "preop 5x5", "SBRT"],
        "dose_per_fraction_gy": [2.0, 1.8, 5.0, 15.0],
        "fractions": [25, 28, 5, 3],
        "histology": ["OS", "late_normal_tissue", "SYNS", "default"],
    })
    out = schedule_table(schedules)
    np.testing.assert_allclose(out["total_dose_gy"], [50.0, 50.4, 25.0, 45.0])
    np.testing.assert_allclose(out["alpha_beta_gy"], [10.0, 3.0, 4.9, 10.0])
    np.testing.assert_allclose(out["bed_gy"], [60.0, 80.64, 25 * (1 + 5 / 4.9), 112.5])
    np.testing.assert_allclose(
        out["eqd2_gy"], [50.0, 48.384, 25 * (1 + 5 / 4.9) / (1 + 2 / 4.9), 93.75])
    assert list(out["schedule"]) == list(schedules["schedule"])
    assert "bed_gy" not in schedules.columns  # input untouched


def test_schedule_table_given_alpha_beta_overrides_lookup():
    schedules = pd.DataFrame({"dose_per_fraction_gy": [5.0, 2.0], "fractions": [5, 25],
                              "histology": ["SYNS", "SYNS"], "alpha_beta_gy": [4.0, None]})
    out = schedule_table(schedules)
    assert list(out["alpha_beta_source"]) == ["given", "soft_tissue_sarcoma"]
    assert out["bed_gy"].iloc[0] == pytest.approx(56.25)
    assert out["eqd2_gy"].iloc[0] == pytest.approx(37.5)


def test_schedule_table_errors_name_the_row():
    bad = pd.DataFrame({"dose_per_fraction_gy": [2.0, 2.0], "fractions": [25, 0],
                        "histology": ["SYNS", "SYNS"]})
    with pytest.raises(InputError) as err:
        schedule_table(bad)
    assert err.value.line == 2 and err.value.column == "fractions"
    typo = pd.DataFrame({"dose_per_fraction_gy": [2.0], "fractions": [25],
                         "histology": ["Synovial"]})
    with pytest.raises(InputError) as err:
        schedule_table(typo)
    assert err.value.line == 1 and err.value.column == "histology"
    with pytest.raises(InputError, match="lacks column"):
        schedule_table(pd.DataFrame({"fractions": [5]}))
