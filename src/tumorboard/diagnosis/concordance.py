"""Does the molecular evidence agree with the submitted histology?

Two kinds of molecular evidence name an entity, each as OncoTree codes:

- an **entity-defining fusion** (the catalogue of :mod:`tumorboard.layers.fusions`, after the
  WHO Classification of Soft Tissue and Bone Tumours, 5th ed., IARC 2020);
- a **methylation class** called by the calibrated classifier (score ≥ 0.9, or a family call),
  mapped to OncoTree through the committed table of the 65 GSE140686 classes
  (:func:`tumorboard.diagnosis.reference.class_to_oncotree`; Koelsche et al., Nat Commun
  2021, doi:10.1038/s41467-020-20603-4). "No match" calls are not evidence; a call of a
  control-tissue class (blood, muscle, reactive tissue) is a warning about the sample, not an
  entity.

Each item is judged against the submitted code: *concordant* when it names the submitted
code or an entity above it in OncoTree (the class WDLS-DDLS maps to LIPO, which covers a
submitted DDLS), *refined* when it names a more specific entity (below it in OncoTree, or a
sibling of a "not otherwise specified" node: SARCNOS → DSRCT under SOFT_TISSUE), *discordant*
otherwise.
The overall status is discordant when any item is, then refined, then concordant. A
discordant status raises the "diagnosis revision suggested" alert for the board: in 8 of the
30 DSRCT patients of the MASTER study the correct diagnosis came only from molecular data
(Renner, Oleś et al., Nat Commun 2026). The suggested code is that of the first discordant
(else refining, else concordant) item, fusions before methylation, as the fusion defines the
entity in the WHO classification.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tumorboard import reference

ALERT_TITLE = "diagnosis revision suggested"
STATUSES = ("concordant", "refined", "discordant", "no_molecular_evidence")


def _refines(code: str, submitted: str) -> bool:
    """Whether ``code`` is a more specific diagnosis than ``submitted``: below it in OncoTree,
    or a sibling of a 'not otherwise specified' node (SARCNOS -> DSRCT under SOFT_TISSUE)."""
    tree = reference.oncotree()
    if code not in tree or submitted not in tree:
        return False
    if submitted in reference.lineage(code):
        return True
    node = tree[submitted]
    return "NOS" in node.name.split() and node.parent in reference.lineage(code)


def _verdict(code: str, submitted: str) -> str:
    # a broader code (a methylation class covering several entities, WDLS-DDLS -> LIPO)
    # agrees with a submitted entity below it
    if code == submitted or (code in reference.oncotree() and submitted in reference.oncotree()
                             and code in reference.lineage(submitted)):
        return "concordant"
    return "refined" if _refines(code, submitted) else "discordant"


def _prov(row: Any) -> dict[str, Any]:
    return row.provenance if isinstance(row.provenance, dict) else {}


def concordance_evidence(findings: pd.DataFrame) -> tuple[list[dict[str, Any]], list[str]]:
    """The entity-naming evidence items and the sample warnings of a patient's findings."""
    items: list[dict[str, Any]] = []
    warnings: list[str] = []
    fusions = findings[(findings["kind"] == "fusion") & (findings["call"] == "entity_defining")]
    for row in fusions.itertuples():
        prov = _prov(row)
        codes = [c for c in prov.get("entity_codes") or [] if c]
        if codes:
            items.append({"layer": "fusions", "evidence": row.feature, "sample": row.sample,
                          "entities": codes, "entity": prov.get("who_entity") or codes[0],
                          "score": None, "citation": prov.get("citation")})
    classes = findings[(findings["kind"] == "methylation_class")
                       & findings["call"].isin(["class", "family"])]
    for row in classes.itertuples():
        prov = _prov(row)
        model = prov.get("model") or {}
        label = f"methylation class {row.feature} ({float(row.value):.2f})"
        if model.get("simulated"):
            label += " [simulated demo model]"
        code = prov.get("oncotree_code")
        if code:
            items.append({"layer": "methylation", "evidence": label, "sample": row.sample,
                          "entities": [code], "entity": prov.get("call_name") or code,
                          "score": float(row.value), "citation": prov.get("citation")})
        elif str(row.feature).startswith("CTRL"):
            warnings.append(f"{row.sample}: the methylation profile matches control tissue "
                            f"({prov.get('call_name') or row.feature}); the sample may hold "
                            "little tumour; check the tumour cell content")
        else:
            warnings.append(f"{row.sample}: {label} has no OncoTree code; compare it with the "
                            "histology by hand")
    return items, warnings


def molecular_concordance(submitted_code: str, findings: pd.DataFrame) -> dict[str, Any]:
    """Concordance of a submitted OncoTree code with the fusions and methylation classes found.

    Returns
    -------
    dict
        ``status`` (one of :data:`STATUSES`), ``alert`` (True when discordant), ``title``
        (:data:`ALERT_TITLE` when alerting), ``submitted``, ``suggested`` (OncoTree code or
        None), ``evidence`` (one record per item: layer, evidence, sample, entities, entity,
        score, verdict, citation), ``warnings`` and ``message``.
    """
    submitted = str(submitted_code).upper()
    items, warnings = concordance_evidence(findings)
    for item in items:
        item["verdict"] = min((_verdict(c, submitted) for c in item["entities"]),
                              key=("concordant", "refined", "discordant").index)
    result: dict[str, Any] = {"submitted": submitted, "evidence": items,
                              "warnings": warnings, "alert": False, "title": None}
    if not items:
        return {**result, "status": "no_molecular_evidence", "suggested": None,
                "message": "no entity-defining alteration or methylation class call"
                + (f" ({'; '.join(warnings)})" if warnings else "")}
    by_verdict = {v: [i for i in items if i["verdict"] == v]
                  for v in ("discordant", "refined", "concordant")}
    status = next(v for v in ("discordant", "refined", "concordant") if by_verdict[v])
    lead = by_verdict[status][0]
    suggested = (submitted if status == "concordant" else
                 next(c for c in lead["entities"] if _verdict(c, submitted) == status))
    def named(chosen: list[dict[str, Any]]) -> str:
        return "; ".join(f"{i['evidence']} → {'/'.join(i['entities'])}" for i in chosen)


    if status == "concordant":
        message = f"{named(items)}: confirms {submitted}"
    elif status == "refined":
        message = (f"{named(items)}: {suggested} is a more specific entity than the submitted "
                   f"{submitted}")
    else:
        agree = [i for i in items if i is not lead and suggested in i["entities"]]
        message = (f"{lead['evidence']} indicates {lead['entity']} "
                   f"({suggested})"
                   + (f", supported by {', '.join(i['evidence'] for i in agree)}" if agree
                      else "")
                   + f", which contradicts the submitted diagnosis {submitted}; review the "
                   "histology")
        others = [i for i in items if i is not lead and suggested not in i["entities"]]
        if others:
            message += f" (other evidence: {named(others)})"
        result.update(alert=True, title=ALERT_TITLE)
    if warnings:
        message += f" ({'; '.join(warnings)})"
    return {**result, "status": status, "suggested": suggested, "message": message}
