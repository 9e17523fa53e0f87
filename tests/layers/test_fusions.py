"""Tests of tumorboard.layers.fusions: catalogue, calls, kinase orientation, filters.

Expected values are worked out by hand in each test's docstring.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tumorboard.io.fusions import read_arriba, read_fusion_table, read_star_fusion
from tumorboard.io.tables import conform
from tumorboard.layers.fusions import (
    KINASE_DOMAIN_UNKNOWN,
    FusionParams,
    annotate_fusions,
    fusion_catalogue,
    fusion_findings,
)
from tumorboard.model import FINDING_COLUMNS
from tumorboard.reference import gene_symbols, tumour_type

DATA = Path(__file__).resolve().parents[1] / "data" / "fusions"


def call(fusion: str, **kw: Any) -> dict[str, Any]:
    """One fusions-table row: high-confidence, in-frame, 20 split reads + 10 pairs."""
    g5, g3 = fusion.split("::")
    row = {"sample_id": "S1", "gene5": g5, "gene3": g3, "fusion": fusion,
           "breakpoint5": None, "breakpoint3": None, "strand5": None, "strand3": None,
           "split_reads": 20, "spanning_pairs": 10, "reading_frame": "in-frame",
           "confidence": "high", "caller": "arriba"}
    row.update(kw)
    return row


def table(*rows: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    out = conform(frame, "fusions")
    out.insert(0, "sample_id", frame["sample_id"].astype("string"))
    return out


# --- catalogue -------------------------------------------------------------------------------


def test_catalogue_codes_are_oncotree_and_genes_are_hgnc() -> None:
    """Every entity code resolves in the shipped OncoTree (tumour_type raises otherwise), every
    gene is a GENCODE symbol, every entry is cited, kinase positions are 3', 5' or either."""
    cat = fusion_catalogue()
    assert len(cat["entity_defining"]) == 26
    for (g5, g3), entry in cat["entity_defining"].items():
        assert {g5, g3} <= gene_symbols()
        assert entry["citation"]
        for code in entry["entities"]:
            assert tumour_type(code).code == code
    for gene, entry in cat["kinases"].items():
        assert gene in gene_symbols()
        assert entry["kinase_position"] in {"3'", "5'", "either"}
        assert entry["evidence"]
        for code in entry.get("characteristic_entities", []):
            tumour_type(code)
    assert cat["entity_defining"][("EWSR1", "WT1")]["entities"] == ["DSRCT"]
    assert cat["entity_defining"][("FUS", "DDIT3")]["entities"] == ["MRLS"]
    assert tumour_type("MRLS").name == "Myxoid/Round-Cell Liposarcoma"
    assert {"ALK", "ROS1", "NTRK1", "NTRK2", "NTRK3", "RET", "FGFR1", "FGFR2", "FGFR3",
            "BRAF"} <= set(cat["kinases"])


# --- calls -----------------------------------------------------------------------------------


def test_entity_defining_and_reciprocal() -> None:
    """EWSR1::WT1 -> entity_defining (DSRCT); WT1::EWSR1 -> reciprocal of EWSR1::WT1, with the
    DSRCT code; CTBS::GNG5 -> other."""
    f = fusion_findings(table(call("EWSR1::WT1"), call("WT1::EWSR1"), call("CTBS::GNG5")),
                        patients={"S1": "P1"})
    by = f.set_index("feature")
    assert by["call"].to_dict() == {"EWSR1::WT1": "entity_defining",
                                    "WT1::EWSR1": "reciprocal", "CTBS::GNG5": "other"}
    assert by.loc["EWSR1::WT1", "provenance"]["entity_codes"] == ["DSRCT"]
    recip = by.loc["WT1::EWSR1", "provenance"]
    assert recip["reciprocal_of"] == "EWSR1::WT1"
    assert recip["entity_codes"] == ["DSRCT"]
    assert recip["entity_defining"] is False


@pytest.mark.parametrize(
    ("fusion", "frame", "expected", "retention"),
    [
        ("EML4::ALK", "in-frame", "actionable_kinase", "presumed: 3' kinase partner, in-frame"),
        ("EML4::ALK", "unknown", "actionable_kinase", "reading frame unknown"),
        ("EML4::ALK", "out-of-frame", "other", "not retained: ALK is the 3' partner"),
        ("ALK::EML4", "in-frame", "other", "not retained: ALK is the 5' partner"),
        ("FGFR3::TACC3", "out-of-frame", "actionable_kinase", "presumed: 5' kinase partner"),
        ("TACC3::FGFR3", "in-frame", "other", "not retained: FGFR3 is the 3' partner"),
        ("BCR::FGFR1", "in-frame", "actionable_kinase", "presumed: 3' kinase partner"),
        ("FGFR1::TACC1", "in-frame", "actionable_kinase", "presumed: 5' kinase partner"),
        ("KIAA1549::BRAF", "stop-codon", "other", "junction is stop-codon"),
    ],
)
def test_kinase_orientation_and_frame(fusion: str, frame: str, expected: str,
                                      retention: str) -> None:
    """A 3' kinase (ALK, BRAF) needs a junction not called out of frame; a 5' FGFR2/3 keeps
    its kinase domain whatever the partner's frame; FGFR1 is activated in both orientations; a
    kinase in the other orientation loses its domain. The domain itself is never asserted."""
    ann = annotate_fusions(table(call(fusion, reading_frame=frame)))
    assert ann.loc[0, "call"] == expected
    kinase = ann.loc[0, "kinase"]
    assert retention in kinase["kinase_retention"]
    assert kinase["kinase_domain"] == KINASE_DOMAIN_UNKNOWN


def test_actionable_kinase_wins_over_entity_and_keeps_entity_codes() -> None:
    """ETV6::NTRK3 defines infantile fibrosarcoma and is an actionable NTRK3 fusion: call
    actionable_kinase, gene NTRK3 (so targets see the kinase), provenance entity code IFS."""
    f = fusion_findings(table(call("ETV6::NTRK3")), patients={"S1": "P1"})
    row = f.iloc[0]
    assert (row["call"], row["gene"]) == ("actionable_kinase", "NTRK3")
    assert row["provenance"]["entity_codes"] == ["IFS"]
    assert row["provenance"]["entity_defining"] is True
    assert row["provenance"]["kinase"]["gene"] == "NTRK3"


# --- filters ---------------------------------------------------------------------------------


def test_read_thresholds_at_their_boundary() -> None:
    """Defaults: >= 1 split read and >= 2 split + discordant. 0+5 fails (no split read); 1+0
    fails (1 < 2); 1+1 passes; NA/NA (panel report without counts) passes."""
    t = table(call("A1::B1", split_reads=0, spanning_pairs=5),
              call("A2::B2", split_reads=1, spanning_pairs=0),
              call("A3::B3", split_reads=1, spanning_pairs=1),
              call("A4::B4", split_reads=None, spanning_pairs=None))
    ann = annotate_fusions(t)
    assert ann["passes"].tolist() == [False, False, True, True]
    assert ann["reason"].tolist()[:2] == ["split reads < 1",
                                         "split reads + discordant pairs < 2"]


def test_low_confidence_dropped_unless_asked() -> None:
    """Arriba 'low' is dropped by default; kept with exclude_confidence=(); a catalogued low
    call is kept with keep_catalogued_low=True, an uncatalogued one is not."""
    t = table(call("EWSR1::FLI1", confidence="low"), call("A1::B1", confidence="low"))
    assert len(fusion_findings(t, patients={"S1": "P"})) == 0
    assert len(fusion_findings(t, patients={"S1": "P"},
                               params=FusionParams(exclude_confidence=()))) == 2
    kept = fusion_findings(t, patients={"S1": "P"},
                           params=FusionParams(keep_catalogued_low=True))
    assert kept["feature"].tolist() == ["EWSR1::FLI1"]


# --- on the readers' test files --------------------------------------------------------------


def test_arriba_dsrct_sample() -> None:
    """arriba.fusions.tsv: two EWSR1::WT1 calls (79 and 8 split reads; the second listed
    WT1-first and re-oriented by the reader) collapse into one entity_defining finding valued
    at the high-confidence call's 79 split reads; the low-confidence EWSR1::CCDC73 is dropped."""
    fus = read_arriba(DATA / "arriba.fusions.tsv").tables["fusions"].assign(sample_id="D1")
    f = fusion_findings(fus, patients={"D1": "DSRCT01"})
    assert f["feature"].tolist() == ["EWSR1::WT1"]
    row = f.iloc[0]
    assert (row["call"], row["value"], row["gene"]) == ("entity_defining", 79.0, "EWSR1")
    prov = row["provenance"]
    assert prov["entity_codes"] == ["DSRCT"]
    assert prov["n_calls"] == 2
    assert [c["split_reads"] for c in prov["calls"]] == [79, 8]
    assert prov["confidence"] == "high"
    assert "Ladanyi" in prov["citation"]
    assert "WHO" in prov["who_classification"]
    assert set(f.columns) == set(FINDING_COLUMNS)
    assert set(f["kind"]) == {"fusion"} and set(f["layer"]) == {"fusions"}


def test_star_fusion_and_panel_files() -> None:
    """STAR-Fusion (coding effect): SS18::SSX1 entity_defining (SYNS), EML4::ALK in-frame
    actionable_kinase, CTBS::GNG5 other. Panel CSV, SYNS_04_T: SS18::SSX2 entity_defining
    (112 split reads, no pair count) and COL1A1::PDGFB (out of frame, 3+0 reads) entity_defining
    (DFSP)."""
    star = read_star_fusion(
        DATA / "star-fusion.fusion_predictions.abridged.coding_effect.tsv"
    ).tables["fusions"].assign(sample_id="S1")
    panel = read_fusion_table(DATA / "panel_fusions.csv", sample="SYNS_04_T")
    fus = pd.concat([star, panel.tables["fusions"].assign(sample_id="S2")], ignore_index=True)
    f = fusion_findings(fus, patients={"S1": "P1", "S2": "P2"})
    calls = {(r.sample, r.feature): r.call for r in f.itertuples()}
    assert calls == {
        ("S1", "SS18::SSX1"): "entity_defining",
        ("S1", "EML4::ALK"): "actionable_kinase",
        ("S1", "CTBS::GNG5"): "other",
        ("S2", "SS18::SSX2"): "entity_defining",
        ("S2", "COL1A1::PDGFB"): "entity_defining",
    }
    by = f.set_index("feature")
    assert by.loc["SS18::SSX2", "value"] == 112.0
    assert by.loc["COL1A1::PDGFB", "provenance"]["entity_codes"] == ["DFSP"]
    assert by.loc["EML4::ALK", "gene"] == "ALK"


def test_missing_patient_and_empty_input() -> None:
    with pytest.raises(ValueError, match="no patient given"):
        fusion_findings(table(call("EWSR1::WT1")), patients={})
    empty = fusion_findings(table(call("EWSR1::WT1")).iloc[0:0], patients={})
    assert list(empty.columns) == list(FINDING_COLUMNS) and len(empty) == 0
