"""Does the molecular evidence agree with the submitted histology?

An entity-defining fusion (the catalogue of :mod:`tumorboard.layers.fusions`, after the WHO
Classification of Soft Tissue and Bone Tumours, 5th ed., IARC 2020) names the entities it
defines as OncoTree codes. The submitted diagnosis is *concordant* when its code is one of
them or lies below or above one of them in OncoTree (a submitted "SOFT_TISSUE" sarcoma with
EWSR1::WT1 is refined to DSRCT, not contradicted); *discordant* otherwise, which raises an
alert for the board: in 8 of the 30 DSRCT patients of the MASTER study the correct diagnosis
came only from molecular data (Renner, Oleś et al., Nat Commun 2026). Methylation classes
join this evidence when the classifier is trained (its own issue).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tumorboard import reference


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


def molecular_concordance(submitted_code: str, findings: pd.DataFrame) -> dict[str, Any]:
    """Concordance of a submitted OncoTree code with the entity-defining fusions found.

    Returns
    -------
    dict
        ``status`` (``concordant``, ``refined``, ``discordant``, ``no_molecular_evidence``),
        ``submitted``, ``suggested`` (OncoTree code or None), ``evidence`` (one record per
        defining fusion: fusion, entities, WHO entity, citation) and ``message``.
    """
    fusions = findings[(findings["kind"] == "fusion") & (findings["call"] == "entity_defining")]
    evidence = []
    for row in fusions.itertuples():
        prov = row.provenance if isinstance(row.provenance, dict) else {}
        codes = [c for c in prov.get("entity_codes") or [] if c]
        if codes:
            evidence.append({"fusion": row.feature, "sample": row.sample, "entities": codes,
                             "who_entity": prov.get("who_entity"),
                             "citation": prov.get("citation"), "layer": "fusions"})
    submitted = str(submitted_code).upper()
    if not evidence:
        return {"status": "no_molecular_evidence", "submitted": submitted, "suggested": None,
                "evidence": [], "message": "no entity-defining alteration found"}
    codes = list(dict.fromkeys(c for e in evidence for c in e["entities"]))
    if submitted in codes:
        status, suggested = "concordant", submitted
        message = f"{', '.join(e['fusion'] for e in evidence)} confirms {submitted}"
    elif any(_refines(c, submitted) for c in codes):
        status = "refined"
        suggested = next(c for c in codes if _refines(c, submitted))
        message = (f"{evidence[0]['fusion']} defines {suggested}, a more specific entity than "
                   f"the submitted {submitted}")
    else:
        status, suggested = "discordant", codes[0]
        who = evidence[0]["who_entity"] or codes[0]
        message = (f"ALERT: {evidence[0]['fusion']} defines {who} ({codes[0]}), which "
                   f"contradicts the submitted diagnosis {submitted}; review histology")
    return {"status": status, "submitted": submitted, "suggested": suggested,
            "evidence": evidence, "message": message}
