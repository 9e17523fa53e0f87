"""Expression layer: RNA expression outliers of each tumour against the rest of the cohort.

Input is the cohort's samples x genes TPM matrix (``Workspace.matrix("expression")``). Each
value is log-transformed, ``log2(TPM + 1)``, and judged against the other patients with
:mod:`tumorboard.layers.scoring` (leave-one-out z-score, cohort and entity percentiles).
Output is a findings table of layer ``expression``:

- ``overexpression``: call "high" (z >= ``z_high`` and cohort percentile >= ``pct_high``) in a
  sample where the gene is expressed (TPM >= ``min_expressed_tpm``);
- ``underexpression``: call "low" (z <= ``z_low`` and percentile <= ``pct_low``) of a gene that
  the cohort expresses (cohort median TPM >= ``min_expressed_tpm``);
- ``expression``: every other measured value, but only for the genes of the watch list
  (targets and antigens the report must always show), so the table stays small.

``value`` is ``log2(TPM + 1)`` (what :mod:`tumorboard.targets` reads back as TPM); the
provenance holds the method, the parameters, the TPM, whether the gene counts as expressed,
and the cohort and entity reference sizes.

Scoring by blocks of genes: every step is per gene (the log, the scores of
:mod:`tumorboard.layers.scoring`, which depend on one feature's values across the cohort, the
cohort median TPM, the calls), so calling :func:`expression_findings` on all samples x a block
of genes gives exactly the rows of the whole matrix for those genes; a matrix larger than
memory can be scored block by block and the findings concatenated
(``tests/layers/test_blockwise.py`` checks it).

Sources
-------
- Cohort-relative RNA outliers for precision oncology: Vaske OM et al., Comparative tumor RNA
  sequencing analysis for difficult-to-treat pediatric and young adult patients with cancer,
  JAMA Netw Open 2019;2(10):e1913968, doi:10.1001/jamanetworkopen.2019.13968 (each tumour's
  log2(TPM + 1) profile compared with a large tumour compendium; outliers relative to that
  cohort nominate targets).
- The leave-one-out z-score against the other patients of the cohort and its significance
  level z >= 2: the Kuster lab's TOPAS pipeline (https://github.com/kusterlab/TOPAS-pipeline,
  ``bin/metrics.py`` leave-one-out median and SD; ``basket_scoring`` counts z >= 2 as
  significant). cBioPortal uses the same +/-2 default for "mRNA high/low" z-scores against
  the study's own samples (https://docs.cbioportal.org/z-score-normalization-script/).
- TPM >= 1 as "expressed": the detection cut-off of the Human Protein Atlas tissue
  transcriptome (Uhlén M et al., Science 2015;347:1260419, doi:10.1126/science.1260419).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from tumorboard.layers import scoring
from tumorboard.layers._common import int_list
from tumorboard.model import findings_frame

__all__ = ["METHOD", "ExpressionParams", "expression_findings"]

LAYER = "expression"
METHOD = "leave-one-out z-score and mid-rank percentile of log2(TPM + pseudocount) vs cohort"


@dataclass(frozen=True)
class ExpressionParams:
    """Thresholds of the expression layer (sources in the module docstring).

    Attributes
    ----------
    pseudocount
        Added to TPM before log2 (``log2(TPM + 1)``, the transform of Vaske et al. 2019 and of
        the Treehouse compendium), so that TPM 0 maps to 0 and the scale is symmetric in fold
        changes above ~1 TPM. :mod:`tumorboard.targets` assumes 1.
    z_high, pct_high
        Overexpression: leave-one-out z >= 2 (TOPAS significance level; cBioPortal's default
        mRNA z threshold) *and* at or above the 90th cohort percentile. The percentile guard
        keeps heavy-tailed genes, where z >= 2 is common, from flooding the report.
    z_low, pct_low
        Underexpression, the mirror image: z <= -2 and at or below the 10th percentile.
    min_reference
        Fewest other patients with a value for a call; below it the call is
        "insufficient_reference" (:data:`tumorboard.layers.scoring.MIN_REFERENCE`).
    min_expressed_tpm
        TPM at which a gene counts as expressed (Human Protein Atlas detection cut-off, 1 TPM).
        Overexpression needs the sample to express the gene; underexpression needs the cohort
        to (median TPM of the cohort), since a drop from noise level to zero means nothing.
    """

    pseudocount: float = 1.0
    z_high: float = 2.0
    pct_high: float = 90.0
    z_low: float = -2.0
    pct_low: float = 10.0
    min_reference: int = scoring.MIN_REFERENCE
    min_expressed_tpm: float = 1.0


def _check_matrix(tpm: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(tpm, pd.DataFrame):
        raise TypeError("tpm must be a samples x genes pandas DataFrame")
    if tpm.columns.has_duplicates:
        dup = tpm.columns[tpm.columns.duplicated()].unique()[:5].tolist()
        raise ValueError(f"tpm has duplicate gene columns: {dup}")
    return tpm.astype("float64")


def _thresholds(params: ExpressionParams) -> dict[str, Any]:
    return {"z_high": params.z_high, "pct_high": params.pct_high, "z_low": params.z_low,
            "pct_low": params.pct_low, "min_reference": params.min_reference}


def _calls(z: Any, percentile: Any, reference_size: Any, params: ExpressionParams) -> Any:
    return scoring.call_outliers(z, percentile, reference_size, **_thresholds(params))


def _cohort_medians(tpm: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
    """Cohort median TPM of the genes at ``positions``, a few thousand genes at a time."""
    tpm_t = tpm.T.to_numpy(dtype="float64", na_value=np.nan)  # a view of a float64 frame
    step = max(1, scoring._BLOCK_ELEMENTS // max(1, tpm_t.shape[1]))
    out = np.full(len(positions), np.nan)
    for start in range(0, len(positions), step):
        chunk = slice(start, start + step)
        out[chunk] = scoring.nan_median_rows(tpm_t[positions[chunk]])
    return out


def expression_findings(
    tpm: pd.DataFrame,
    *,
    entities: pd.Series,
    patients: pd.Series,
    samples: list[str] | None = None,
    params: ExpressionParams = ExpressionParams(),
    genes: list[str] | None = None,
) -> pd.DataFrame:
    """Expression findings of ``samples`` (default: all), scored against the whole cohort.

    Parameters
    ----------
    tpm
        Samples x genes (HGNC symbols) TPM matrix of the cohort, NaN where a gene was not
        quantified in a sample.
    entities
        Sample -> entity (OncoTree code), for the within-entity percentiles.
    patients
        Sample -> patient id.
    samples
        Samples to report; every sample of ``tpm`` is still part of the reference.
    params
        Thresholds (:class:`ExpressionParams`).
    genes
        Watch list: genes reported with kind ``expression`` even when not outliers.

    Returns
    -------
    pandas.DataFrame
        A findings table (:func:`tumorboard.model.findings_frame`), ``feature`` = gene symbol.
    """
    tpm = _check_matrix(tpm)

    def log2_plus_pseudocount(block: np.ndarray) -> None:
        with np.errstate(invalid="ignore", divide="ignore"):
            block += params.pseudocount
            np.log2(block, out=block)

    # features x samples, C-contiguous (the layout scoring sorts along): one copy of the
    # 60,000-gene matrix, logged as it is copied
    log_t = scoring._copy_features_by_samples(tpm, transform=log2_plus_pseudocount)
    values = pd.DataFrame(log_t.T, index=tpm.index, columns=tpm.columns, copy=False)
    gene_names = pd.array(tpm.columns.to_numpy(dtype=object), dtype="string")
    watch_column = np.isin(gene_names.to_numpy(dtype=object), list(genes or []))

    def reported(block: scoring.ScoreBlock) -> np.ndarray:
        # Outliers and watch-list genes; the rules below pick the findings among them.
        outlier = scoring.outlier_call_mask(block.z_score, block.percentile_cohort,
                                            block.reference_size, ("high", "low"),
                                            **_thresholds(params))
        return outlier | watch_column[block.features][:, None]

    scored = scoring.score_matrix(values, entities=entities, samples=samples, keep=reported)
    del values, log_t
    if scored.empty:
        return findings_frame()

    calls = _calls(scored["z_score"], scored["percentile_cohort"], scored["reference_size"],
                   params).to_numpy(dtype=object)
    sample_tpm = np.exp2(scored["value"].to_numpy()) - params.pseudocount
    expressed = sample_tpm >= params.min_expressed_tpm
    features = scored["feature"].to_numpy(dtype=object)
    watch = np.isin(features, list(genes or []))
    # Cohort medians only where needed (low calls, reported rows): a median is a sort.
    needed = pd.Index(pd.unique(features[(calls != "neutral") | watch]))
    cohort_median = pd.Series(_cohort_medians(tpm, tpm.columns.get_indexer(needed)),
                              index=needed)
    median_of_row = cohort_median.reindex(features).to_numpy()
    # An "outlier" at noise level is not a finding: demote it to neutral.
    calls = np.where((calls == "high") & ~expressed, "neutral", calls)
    calls = np.where((calls == "low") & ~(median_of_row >= params.min_expressed_tpm),
                     "neutral", calls)

    kind = np.select([calls == "high", calls == "low", watch],
                     ["overexpression", "underexpression", "expression"], "")
    keep = kind != ""
    rows = scored[keep].reset_index(drop=True)
    if rows.empty:
        return findings_frame()

    settings = asdict(params)
    provenance: list[dict[str, Any]] = [
        {
            "method": METHOD,
            "params": settings,
            "tpm": t,
            "expressed": e,
            "cohort_median_tpm": m,
            "reference_size": r,
            "reference_size_entity": re,
        }
        # Python floats, bools and ints (None where missing), converted column by column
        for t, e, m, r, re in zip(
            sample_tpm[keep].tolist(), expressed[keep].tolist(), median_of_row[keep].tolist(),
            int_list(rows["reference_size"]), int_list(rows["reference_size_entity"]),
            strict=True,
        )
    ]
    sample_ids = rows["sample"].astype(object)
    return findings_frame(pd.DataFrame({
        "patient": patients.reindex(sample_ids.to_numpy()).to_numpy(dtype=object),
        "sample": sample_ids.to_numpy(),
        "layer": LAYER,
        "gene": rows["feature"].to_numpy(dtype=object),
        "feature": rows["feature"].to_numpy(dtype=object),
        "kind": kind[keep],
        "value": rows["value"].to_numpy(),
        "z_score": rows["z_score"].to_numpy(),
        "percentile_cohort": rows["percentile_cohort"].to_numpy(),
        "percentile_entity": rows["percentile_entity"].to_numpy(),
        "reference_size": rows["reference_size"].to_numpy(),
        "call": calls[keep],
        "provenance": provenance,
    }))
