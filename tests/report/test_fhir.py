"""FHIR Genomics Reporting export of the report document (tumorboard.report.fhir)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from tumorboard.errors import InputError
from tumorboard.report.fhir import EVIDENCE_LEVEL_SYSTEM, fhir_bundle

DATA = Path(__file__).parents[1] / "data" / "report"
GR = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/"

#: Every LOINC code the export may use, each checked against the Genomics Reporting IG 3.0.0
#: FSH sources or its published examples (see the module docstring of tumorboard.report.fhir).
VERIFIED_LOINC = {
    "81247-9", "69548-6", "LA9633-4", "LA26398-0", "LA6684-0", "94076-7", "LA26806-2",
    "LA14029-5", "48018-6", "48004-6", "48005-3", "81258-6", "48002-0", "62374-4", "48019-4",
    "82155-3", "81252-9", "69547-8", "69551-0", "81254-5", "92822-6", "LA30102-0", "93044-6",
    "51963-7", "81259-4", "LA9661-5", "LA9660-7",
}


@pytest.fixture(scope="module")
def bundle(doc) -> dict[str, Any]:
    return fhir_bundle(doc)


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _by_profile(bundle: dict[str, Any], profile: str) -> list[dict[str, Any]]:
    return [r for r in _resources(bundle, "Observation")
            if GR + profile in r.get("meta", {}).get("profile", [])]


def _component(obs: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [c for c in obs.get("component", [])
            if any(k.get("code") == code for k in c["code"].get("coding", []))]


def _full_url(bundle: dict[str, Any], resource: dict[str, Any]) -> str:
    return next(e["fullUrl"] for e in bundle["entry"] if e["resource"] is resource)


def _codes(node: Any, system: str) -> set[str]:
    out: set[str] = set()
    if isinstance(node, dict):
        if node.get("system") == system and "code" in node:
            out.add(node["code"])
        for v in node.values():
            out |= _codes(v, system)
    elif isinstance(node, list):
        for v in node:
            out |= _codes(v, system)
    return out


def test_bundle_parses_as_fhir_r4b(bundle) -> None:
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "collection"
    assert len(parsed.entry) == len(bundle["entry"])


def test_report_is_a_genomics_report_listing_every_observation(bundle) -> None:
    report = bundle["entry"][0]["resource"]
    assert report["resourceType"] == "DiagnosticReport"
    assert report["meta"]["profile"] == [GR + "genomics-report"]
    assert report["code"]["coding"][0] == {
        "system": "http://loinc.org", "code": "81247-9",
        "display": "Master HL7 genetic variant reporting panel"}
    assert report["category"][0]["coding"][0]["code"] == "GE"
    assert report["status"] == "preliminary"  # the document's sign_off is a draft
    results = {r["reference"] for r in report["result"]}
    observations = {_full_url(bundle, o) for o in _resources(bundle, "Observation")}
    assert results == observations
    assert "trastuzumab deruxtecan" in report["conclusion"]
    assert "EWSR1::WT1 confirms DSRCT" in report["conclusion"]


def test_patient_is_pseudonymous(bundle) -> None:
    (patient,) = _resources(bundle, "Patient")
    assert patient["identifier"] == [{"use": "secondary",
                                      "system": "https://tumorboard.example/fhir/sid/pseudonym",
                                      "value": "DSRCT-001"}]
    assert patient["gender"] == "male"
    assert patient["birthDate"] == "2001"
    assert not {"name", "address", "telecom"} & set(patient)


def test_every_reference_resolves_inside_the_bundle(bundle) -> None:
    urls = {e["fullUrl"] for e in bundle["entry"]}

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [node["reference"]] if isinstance(node.get("reference"), str) else []
            return own + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    found = refs([e["resource"] for e in bundle["entry"]])
    assert found
    assert set(found) <= urls


def test_only_verified_loinc_codes_are_used(bundle) -> None:
    assert _codes(bundle, "http://loinc.org") <= VERIFIED_LOINC


def test_fusion_is_a_variant_with_both_partners(bundle) -> None:
    fusions = [o for o in _by_profile(bundle, "variant")
               if any(c["valueCodeableConcept"].get("text") == "EWSR1::WT1"
                      for c in _component(o, "81252-9"))]
    assert len(fusions) == 1
    obs = fusions[0]
    assert obs["code"]["coding"][0]["code"] == "69548-6"
    assert obs["valueCodeableConcept"]["coding"][0]["code"] == "LA9633-4"
    genes = [c["valueCodeableConcept"]["text"] for c in _component(obs, "48018-6")]
    assert genes == ["EWSR1", "WT1"]
    (change,) = _component(obs, "48019-4")
    assert change["valueCodeableConcept"]["coding"][0]["code"] == "SO:0001565"


def test_mutation_has_protein_hgvs_and_vaf(bundle) -> None:
    (obs,) = [o for o in _by_profile(bundle, "variant")
              if _component(o, "48005-3") and any(
                  c["valueCodeableConcept"].get("text") == "PIK3CA"
                  for c in _component(o, "48018-6"))]
    (protein,) = _component(obs, "48005-3")
    assert protein["valueCodeableConcept"]["coding"][0] == {
        "system": "http://varnomen.hgvs.org", "code": "p.His1047Arg"}
    (vaf,) = _component(obs, "81258-6")
    assert vaf["valueQuantity"]["value"] == pytest.approx(0.31)
    assert vaf["valueQuantity"]["system"] == "http://unitsofmeasure.org"
    (source,) = _component(obs, "48002-0")
    assert source["valueCodeableConcept"]["coding"][0]["code"] == "LA6684-0"
    (build,) = _component(obs, "62374-4")
    assert build["valueCodeableConcept"]["coding"][0]["code"] == "LA26806-2"
    assert obs["specimen"]["reference"].startswith("urn:uuid:")


def test_copy_number_findings_are_variants_with_copy_number(doc, bundle) -> None:
    n_cn = len(doc["findings"]["copy_number"])
    cn = [o for o in _by_profile(bundle, "variant") if _component(o, "82155-3")]
    assert len(cn) == n_cn
    so = {c["valueCodeableConcept"]["coding"][0]["code"]
          for o in cn for c in _component(o, "48019-4")}
    assert so <= {"SO:0001742", "SO:0001743"}


def test_tmb_is_a_molecular_biomarker(bundle) -> None:
    (tmb,) = [o for o in _by_profile(bundle, "molecular-biomarker")
              if o["code"]["coding"][0]["code"] == "94076-7"]
    assert tmb["valueQuantity"]["value"] == pytest.approx(0.86, abs=0.01)
    assert tmb["valueQuantity"]["code"] == "1/1000000{Base}"


def test_therapeutic_implications_derive_from_their_support(bundle) -> None:
    implications = _by_profile(bundle, "therapeutic-implication")
    assert len(implications) == 3
    by_agent = {c["valueCodeableConcept"]["text"]: o for o in implications
                for c in _component(o, "51963-7")}
    urls = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}

    alpelisib = by_agent["alpelisib"]
    assert alpelisib["code"]["coding"][0] == {
        "system": "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs",
        "code": "therapeutic-implication", "display": "Therapeutic Implication"}
    (source,) = [urls[r["reference"]] for r in alpelisib["derivedFrom"]]
    assert GR + "variant" in source["meta"]["profile"]
    assert _component(source, "48005-3")[0]["valueCodeableConcept"]["coding"][0]["code"] \
        == "p.His1047Arg"
    (level,) = _component(alpelisib, "93044-6")
    assert level["valueCodeableConcept"]["coding"][0]["system"] == EVIDENCE_LEVEL_SYSTEM
    assert level["valueCodeableConcept"]["coding"][0]["code"] == "m2B"
    (effect,) = _component(alpelisib, "therapeutic-implication")
    assert effect["valueCodeableConcept"]["coding"][0]["code"] == "LA9661-5"

    tdxd = by_agent["trastuzumab deruxtecan"]
    sources = [urls[r["reference"]] for r in tdxd["derivedFrom"]]
    assert len(sources) == 2  # target state + proteome; the entity support has no Observation
    assert all(GR + "molecular-biomarker" in s["meta"]["profile"] for s in sources)
    assert _component(tdxd, "93044-6")[0]["valueCodeableConcept"]["text"] == "m2A Z"
    arts = [e["valueRelatedArtifact"] for e in tdxd["extension"]]
    assert arts[0]["url"] == "https://pubmed.ncbi.nlm.nih.gov/37870536/"
    assert arts[1]["url"] == "https://clinicaltrials.gov/study/NCT04482309"
    assert "url" not in arts[2]

    cetuximab = by_agent["cetuximab"]
    (effect,) = _component(cetuximab, "therapeutic-implication")
    assert effect["valueCodeableConcept"]["coding"][0]["code"] == "LA9660-7"
    kinds = [urls[r["reference"]] for r in cetuximab["derivedFrom"]]
    fusion = [k for k in kinds if _component(k, "81252-9")]
    assert len(kinds) == 2 and len(fusion) == 1  # the KRAS variant and the existing fusion


def test_same_document_gives_the_same_bundle(doc) -> None:
    assert fhir_bundle(doc) == fhir_bundle(copy.deepcopy(doc))
    assert json.dumps(fhir_bundle(doc), sort_keys=True)  # JSON-serialisable


def test_signed_report_is_final(doc) -> None:
    signed = copy.deepcopy(doc)
    signed["sign_off"]["status"] = "signed"
    b = fhir_bundle(signed)
    assert b["entry"][0]["resource"]["status"] == "final"
    assert {o["status"] for o in _resources(b, "Observation")} == {"final"}


def test_document_without_recommendations_still_exports() -> None:
    doc = json.loads((DATA / "report_DSRCT-001.json").read_text(encoding="utf-8"))
    b = fhir_bundle(doc)
    Bundle.model_validate(b)
    assert not _by_profile(b, "therapeutic-implication")
    assert "No targeted therapy recommendation" in b["entry"][0]["resource"]["conclusion"]


def test_not_a_report_document_is_refused(doc) -> None:
    with pytest.raises(InputError, match=r"not a tumorboard report document.*missing report"):
        fhir_bundle({"format": 1, "patient": {"patient": "X"}})
    with pytest.raises(InputError, match="format 7"):
        fhir_bundle({**doc, "format": 7})
