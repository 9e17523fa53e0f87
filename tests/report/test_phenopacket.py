"""GA4GH Phenopacket v2 export of the report document (tumorboard.report.phenopacket)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from phenopackets import Phenopacket

from tumorboard.errors import InputError
from tumorboard.report.phenopacket import phenopacket

DATA = Path(__file__).parents[1] / "data" / "report"


@pytest.fixture(scope="module")
def packet(doc) -> dict[str, Any]:
    return phenopacket(doc)


def _interpretations(packet: dict[str, Any]) -> dict[str, dict[str, Any]]:
    gis = packet["interpretations"][0]["diagnosis"]["genomicInterpretations"]
    return {g["variantInterpretation"]["variationDescriptor"]["label"]: g for g in gis}


def test_round_trip_through_protobuf(packet) -> None:
    message = json_format.Parse(json.dumps(packet), Phenopacket())
    assert json_format.MessageToDict(message) == packet


def test_subject_is_pseudonym_and_sex_only(packet) -> None:
    assert packet["subject"] == {"id": "DSRCT-001", "sex": "MALE"}
    assert packet["id"] == "DSRCT-001-20261201-b2b60d9f"


def test_disease_is_the_oncotree_code_with_its_version(packet) -> None:
    (disease,) = packet["diseases"]
    assert disease["term"] == {"id": "ONCOTREE:DSRCT",
                               "label": "Desmoplastic Small-Round-Cell Tumor"}
    assert disease["onset"] == {"timestamp": "2021-07-26T00:00:00Z"}
    oncotree = [r for r in packet["metaData"]["resources"] if r["id"] == "oncotree"]
    assert oncotree == [{"id": "oncotree", "name": "OncoTree",
                         "url": "https://oncotree.mskcc.org/", "version": "oncotree_2025_10_03",
                         "namespacePrefix": "ONCOTREE"}]


def test_biosamples(packet) -> None:
    tumour, normal = packet["biosamples"]
    assert tumour["id"] == "DSRCT-001-T1" and tumour["individualId"] == "DSRCT-001"
    assert tumour["sampledTissue"] == {"id": "UBERON:0003688", "label": "omentum"}
    assert tumour["tumorProgression"]["id"] == "NCIT:C84509"
    assert tumour["materialSample"]["id"] == "EFO:0009655"
    assert tumour["histologicalDiagnosis"]["id"] == "ONCOTREE:DSRCT"
    assert tumour["timeOfCollection"] == {"timestamp": "2021-12-27T00:00:00Z"}
    (tcc,) = tumour["measurements"]
    assert tcc["value"]["quantity"]["value"] == pytest.approx(81.0)
    assert tcc["value"]["quantity"]["unit"]["id"] == "UO:0000187"
    assert normal["materialSample"]["id"] == "EFO:0009654"
    assert "tumorProgression" not in normal and "measurements" not in normal


def test_genomic_interpretations(packet) -> None:
    gis = _interpretations(packet)
    assert set(gis) == {"EWSR1::WT1", "WT1::EWSR1", "PIK3CA p.His1047Arg", "KRAS p.Gly12Asp"}
    fusion = gis["EWSR1::WT1"]
    assert fusion["interpretationStatus"] == "CAUSATIVE"
    assert fusion["subjectOrBiosampleId"] == "DSRCT-001-T1"
    vd = fusion["variantInterpretation"]["variationDescriptor"]
    assert vd["geneContext"] == {"valueId": "hgnc.symbol:EWSR1", "symbol": "EWSR1"}
    assert vd["structuralType"]["id"] == "SO:0001565"
    # The fusion supports the cetuximab resistance record of the fixture.
    assert fusion["variantInterpretation"]["therapeuticActionability"] == "ACTIONABLE"
    assert gis["WT1::EWSR1"]["interpretationStatus"] == "CANDIDATE"
    assert "therapeuticActionability" not in gis["WT1::EWSR1"]["variantInterpretation"]

    pik3ca = gis["PIK3CA p.His1047Arg"]
    assert pik3ca["interpretationStatus"] == "CONTRIBUTORY"
    vi = pik3ca["variantInterpretation"]
    assert vi["therapeuticActionability"] == "ACTIONABLE"
    assert "acmgPathogenicityClassification" not in vi  # NOT_PROVIDED, the proto default
    assert vi["variationDescriptor"]["expressions"] == [{"syntax": "hgvs.p",
                                                         "value": "p.His1047Arg"}]
    assert vi["variationDescriptor"]["moleculeContext"] == "protein"


def test_recommendations_are_summarised_not_medical_actions(packet) -> None:
    assert "medicalActions" not in packet
    summary = packet["interpretations"][0]["summary"]
    assert "1. trastuzumab deruxtecan (T-DXd) [evidence m2A Z] for ERBB2" in summary
    assert "Predicted resistance: cetuximab [evidence m2A R]" in summary
    assert packet["interpretations"][0]["progressStatus"] == "IN_PROGRESS"
    refs = {r["id"]: r["reference"] for r in packet["metaData"]["externalReferences"]
            if "id" in r}
    assert refs["PMID:37870536"] == "https://pubmed.ncbi.nlm.nih.gov/37870536/"
    assert refs["DOI:10.1056/NEJMoa1813904"] == "https://doi.org/10.1056/NEJMoa1813904"


def test_meta_data(packet) -> None:
    meta = packet["metaData"]
    assert meta["createdBy"] == "tumorboard 0.1.0"
    assert meta["phenopacketSchemaVersion"] == "2.0"
    assert meta["created"] == "2026-12-01T13:36:11Z"
    # Every CURIE prefix used has a resource.
    prefixes = {p.lower() for p in re.findall(r'"(?:id|valueId)": "([A-Za-z.]+):',
                                                json.dumps(packet))} - {"pmid", "doi"}
    declared = {r["namespacePrefix"].lower() for r in meta["resources"]}
    assert prefixes == declared


def test_pure_and_deterministic(doc) -> None:
    before = copy.deepcopy(doc)
    assert phenopacket(doc) == phenopacket(doc)
    assert doc == before


def test_not_a_report_document_is_refused(doc) -> None:
    with pytest.raises(InputError, match="not a tumorboard report document"):
        phenopacket({"format": 1})
    doc = {**doc, "patient": {**doc["patient"], "patient": None}}
    with pytest.raises(InputError, match="no patient pseudonym"):
        phenopacket(doc)
