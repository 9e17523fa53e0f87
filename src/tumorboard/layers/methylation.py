"""Methylation layer: the methylation class of each tumour sample from the active classifier.

Input is a samples x probes beta matrix (the store's ``methylation`` table as a matrix) and a
fitted :class:`tumorboard.diagnosis.classifier.MethylationClassifier`. Output is one finding
per sample, layer ``methylation``, kind ``methylation_class``:

- ``feature``: the call, a class code (``DSRCT``), a family (``CSA``) or ``no match``;
- ``value``: its calibrated score (class score, or the family's summed score);
- ``call``: ``class`` (score ≥ 0.9), ``family`` (a family's summed score ≥ 0.9),
  ``no_match`` (neither), or ``not_classified`` (fewer of the model's CpGs measured than it
  needs; the provenance says how many) — the rules of Capper et al. 2018 and Koelsche et al.
  2021 (doi:10.1038/s41467-020-20603-4) as implemented in
  :meth:`~tumorboard.diagnosis.classifier.MethylationClassifier.call`;
- ``provenance``: the top three classes with scores and names, the OncoTree code the call
  maps to (:func:`tumorboard.diagnosis.reference.class_to_oncotree`, families via
  :func:`~tumorboard.diagnosis.reference.family_to_oncotree`), CpGs present / required /
  total, the model (name, file sha256, training-set sha256, ``simulated``) and, when the
  model carries a reference map, the case's position on it
  (:func:`tumorboard.diagnosis.placement.place`).

A methylation class is not a cohort-relative score: ``z_score`` and percentiles stay empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from tumorboard.diagnosis.classifier import NO_MATCH, MethylationClassifier
from tumorboard.diagnosis.placement import place
from tumorboard.diagnosis.reference import (
    class_families,
    class_names,
    class_to_oncotree,
    family_to_oncotree,
)
from tumorboard.model import findings_frame

CITATION = ("Koelsche et al., Nat Commun 2021;12:498, doi:10.1038/s41467-020-20603-4; "
            "Capper et al., Nature 2018;555:469-474, doi:10.1038/nature26000")


def methylation_class_findings(
    betas: pd.DataFrame,
    *,
    classifier: MethylationClassifier,
    model: Mapping[str, Any],
    patients: Mapping[str, str] | pd.Series,
) -> pd.DataFrame:
    """Findings of the methylation layer: one ``methylation_class`` finding per sample.

    Parameters
    ----------
    betas
        Samples x probes beta values (index: sample ids).
    classifier
        The fitted classifier.
    model
        Its record (:func:`tumorboard.diagnosis.installed.model_info`): name, sha256,
        training_sha256, simulated.
    patients
        Sample id -> patient id; every sample of ``betas`` must be listed.
    """
    if betas.empty:
        return findings_frame()
    mapping = dict(patients.items()) if isinstance(patients, pd.Series) else dict(patients)
    missing = sorted(set(betas.index) - set(mapping))
    if missing:
        raise ValueError(f"no patient given for sample(s) {', '.join(missing)}")
    present = classifier.features_present(betas)
    enough = present >= classifier.features_required_
    classified = betas[enough.to_numpy()]
    table = classifier.call(classified, families=class_families()) \
        if enough.any() else pd.DataFrame()
    where = place(classifier, classified) if enough.any() else pd.DataFrame()
    names, codes, fam_codes = class_names(), class_to_oncotree(), family_to_oncotree()
    about_model = {k: model.get(k) for k in ("name", "sha256", "training_sha256", "simulated")}
    rows = []
    for sample in betas.index:
        prov: dict[str, Any] = {
            "method": "calibrated methylation classifier (tumorboard.diagnosis.classifier)",
            "model": about_model, "threshold": classifier.threshold,
            "features_present": int(present[sample]),
            "features_required": classifier.features_required_,
            "features_total": len(classifier.features_), "citation": CITATION,
        }
        if not enough[sample]:
            prov["message"] = (f"only {int(present[sample]):,} of the model's "
                               f"{len(classifier.features_):,} CpGs measured; at least "
                               f"{classifier.features_required_:,} are needed")
            rows.append(_row(mapping[sample], sample, "not classified", None,
                             "not_classified", prov))
            continue
        r = table.loc[sample]
        top = [{"class": r[f"class_{k}"], "score": float(r[f"score_{k}"]),
                "name": names.get(r[f"class_{k}"], "")}
               for k in (1, 2, 3) if isinstance(r.get(f"class_{k}"), str)]
        level = str(r["call_level"])
        call = str(r["call"])
        if level == "class":
            code, name = codes.get(call), names.get(call, call)
        elif level == "family":
            code, name = fam_codes.get(call), f"{call} family"
        else:
            code, name = None, NO_MATCH
        prov.update(top_classes=top, call_level=level, call_name=name, oncotree_code=code,
                    family=str(r["family"]), family_score=float(r["family_score"]))
        if sample in where.index:
            w = where.loc[sample]
            prov["placement"] = {"x": float(w["x"]), "y": float(w["y"]),
                                 "nearest_reference_class": str(w["nearest"])}
        rows.append(_row(mapping[sample], sample, call, float(r["score"]),
                         "no_match" if level == "none" else level, prov))
    return findings_frame(pd.DataFrame(rows))


def _row(patient: str, sample: str, feature: str, value: float | None, call: str,
         provenance: dict[str, Any]) -> dict[str, Any]:
    return {"patient": patient, "sample": sample, "layer": "methylation", "gene": None,
            "feature": feature, "kind": "methylation_class",
            "value": np.nan if value is None else value, "call": call,
            "provenance": provenance}
