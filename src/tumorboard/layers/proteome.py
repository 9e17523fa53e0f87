"""Proteome layer: protein abundance outliers of each tumour against the rest of the cohort.

Input is a samples x features matrix of log2 abundances (MS protein groups or RPPA
antibodies; NaN = not quantified), the batch of every sample (samples quantified together,
e.g. one TMT plex, one MaxQuant run, one RPPA slide set) and the gene of every feature.
Values are centred within batches (:func:`centre_by_batch`), then scored against the other
patients with :mod:`tumorboard.layers.scoring`. Output is a findings table of layer
``proteome``: ``protein_high`` / ``protein_low`` for calls "high" / "low", and ``protein``
for the other measured features of watch-list genes. ``value`` is the centred log2 abundance
that was scored; the provenance keeps the uncentred value.

Batch-wise median centring
--------------------------
1. Each sample's values minus the sample's median over the features it quantified: removes
   differences in loading and overall signal between samples ("global median
   normalisation"), assuming most proteins do not change between tumours.
2. Per feature, each batch's values minus the batch median of that feature: removes the
   offsets between batches (TMT plexes, runs) that otherwise dominate multi-batch data.

This is the two-step median centring of the TOPAS pipeline (Kuster lab: median centring of the
channels within each batch, then across batches; https://github.com/kusterlab/TOPAS-pipeline,
``bin/preprocess_tools.py`` ``load_and_normalize``), and the sample- and feature-level median
centring of the batch-correction tutorial of Čuklina J et al., Mol Syst Biol 2021;17:e10240,
doi:10.15252/msb.202110240. Multi-batch TMT data need it: Brenes A et al., Mol Cell Proteomics
2019;18:1967-1980, doi:10.1074/mcp.RA119.001472.

Per-feature centring removes whatever the batch's samples share, biology included: it assumes
the batches are not confounded with entity (balanced designs). A batch median also needs a few
samples to estimate an offset rather than a patient's biology: batches with fewer than
``min_batch_size`` samples quantifying a feature (e.g. one file per patient) are pooled for
that feature and centred together, so a single-sample batch keeps its signal.

Scoring by blocks of features
-----------------------------
Step 1 is the only step that looks across features: every other step (batch medians, pooling
of small batches, the leave-one-out z-scores, percentiles and calls of
:mod:`tumorboard.layers.scoring`, and ``not_detected_in_sample``) depends on one feature's own
values across the cohort. A caller that cannot hold the whole matrix computes the sample
medians once over all features (:func:`sample_medians`) and passes them as ``sample_centres``;
scoring any block of features (all samples x some features) then gives exactly the rows that
the whole matrix gives for those features.

Missing values
--------------
In data-dependent (DDA) proteomics a protein missing in one sample but quantified in the
other samples of the same batch is mostly missing not at random: it was below the detection
limit (Lazar C et al., J Proteome Res 2016;15:1116-1125, doi:10.1021/acs.jproteome.5b00981;
Karpievitch YV et al., BMC Bioinformatics 2012;13(Suppl 16):S5,
doi:10.1186/1471-2105-13-S16-S5). Such a value is reported as ``not_detected_in_sample``:
kind ``protein_low``, value NaN, call "low", no z-score, and the provenance says so; it is
never imputed. A feature that no sample of the batch quantified was not measured there
(another panel, another search): no finding, since "not measured" carries no information
about the tumour (and :mod:`tumorboard.targets` treats any protein finding as a measurement).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from tumorboard.errors import InputError
from tumorboard.layers import scoring
from tumorboard.layers._common import int_list
from tumorboard.model import findings_frame

__all__ = [
    "METHOD",
    "MIN_BATCH_SIZE",
    "ProteomeParams",
    "centre_by_batch",
    "centre_by_batch_inplace",
    "missing_categories",
    "proteome_findings",
    "sample_medians",
]

LAYER = "proteome"
METHOD = ("batch-wise median centring, then leave-one-out z-score and mid-rank percentile "
          "of log2 abundance vs cohort")

#: Fewest samples of a batch with a value for a feature to centre that batch on its own
#: median: the smallest sample count whose median is not set by one outlying patient (the
#: median of n values tolerates floor((n - 1) / 2) outliers; Hampel FR, J Am Stat Assoc
#: 1974;69:383-393, doi:10.1080/01621459.1974.10482962, breakdown point).
MIN_BATCH_SIZE: int = 3

NOT_DETECTED = "not_detected_in_sample"
NOT_MEASURED = "not_measured"
MEASURED = "measured"


@dataclass(frozen=True)
class ProteomeParams:
    """Thresholds of the proteome layer (sources in the module docstring).

    Attributes
    ----------
    z_high, pct_high
        ``protein_high``: leave-one-out z >= 2 (TOPAS significance level) and at or above the
        90th cohort percentile (the same rule as the expression layer).
    z_low, pct_low
        ``protein_low``: z <= -2 and at or below the 10th percentile.
    min_reference
        Fewest other patients with a value for a call
        (:data:`tumorboard.layers.scoring.MIN_REFERENCE`).
    centre_samples
        Subtract each sample's median first (step 1 of the centring).
    min_batch_size
        Batches with fewer samples quantifying a feature are pooled for it
        (:data:`MIN_BATCH_SIZE`).
    not_detected_min_fraction
        A ``not_detected_in_sample`` finding is emitted for a feature outside the watch list
        only if at least this fraction of the other samples of the batch quantified it: a
        protein seen in most of the batch but not here was likely below detection here, one
        seen in a few samples is at the detection limit everywhere. Watch-list genes always
        get the finding.
    """

    z_high: float = 2.0
    pct_high: float = 90.0
    z_low: float = -2.0
    pct_low: float = 10.0
    min_reference: int = scoring.MIN_REFERENCE
    centre_samples: bool = True
    min_batch_size: int = MIN_BATCH_SIZE
    not_detected_min_fraction: float = 0.5


def _numeric(abundance: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(abundance, pd.DataFrame):
        raise TypeError("abundance must be a samples x features pandas DataFrame")
    if abundance.index.has_duplicates:
        dup = abundance.index[abundance.index.duplicated()].unique()[:5].tolist()
        raise ValueError(f"abundance has duplicate samples: {dup}")
    return abundance.astype("float64")


def _batch_codes(batches: pd.Series | None, index: pd.Index) -> np.ndarray:
    """Integer batch code per sample; samples without a batch get their own code each."""
    if batches is None:
        labels = pd.Series(index=index, dtype=object)
    else:
        if not isinstance(batches, pd.Series):
            raise TypeError("batches must be a pandas Series mapping sample -> batch")
        labels = batches.reindex(index).astype(object)
    codes, uniques = pd.factorize(labels, use_na_sentinel=True)
    codes = np.asarray(codes).copy()
    missing = np.flatnonzero(codes < 0)
    codes[missing] = len(uniques) + np.arange(len(missing))
    return codes


def _group_sum(codes: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
    """Per-group column sums of a samples x features array (groups x features)."""
    out = np.zeros((n_groups, values.shape[1]), dtype=values.dtype)
    if len(codes) == 0:
        return out
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    out[sorted_codes[starts]] = np.add.reduceat(values[order], starts, axis=0)
    return out


def centre_by_batch(
    abundance: pd.DataFrame,
    batches: pd.Series | None,
    *,
    centre_samples: bool = True,
    min_batch_size: int = MIN_BATCH_SIZE,
    sample_centres: pd.Series | None = None,
) -> pd.DataFrame:
    """Median-centre log2 abundances per sample, then per feature within each batch.

    Parameters
    ----------
    abundance
        Samples x features, log2 values, NaN = not quantified (stays NaN).
    batches
        Sample -> batch label. Samples absent from it (or ``batches=None``) are treated as
        batches of their own.
    centre_samples
        Subtract each sample's median over its quantified features first.
    min_batch_size
        For each feature, batches with fewer samples quantifying it are pooled and centred on
        the pooled median (a batch of one would otherwise lose all its signal).
    sample_centres
        Sample -> the median subtracted in step 1, computed by the caller over *all* features
        (:func:`sample_medians` of the whole matrix) when ``abundance`` is only a block of the
        features; every sample of ``abundance`` must have one. None: the medians of
        ``abundance`` itself. Ignored without ``centre_samples``.

    Returns
    -------
    pandas.DataFrame
        Aligned to ``abundance``. Method and sources: module docstring.

    Raises
    ------
    InputError
        A sample of ``abundance`` has no entry in ``sample_centres``.
    """
    frame = _numeric(abundance)
    if frame.size == 0:
        return frame.copy()
    # features x samples, C-contiguous (the layout scoring sorts along): one copy, centred in
    # place
    xt = scoring._copy_features_by_samples(frame)
    centre_by_batch_inplace(xt, frame.index, batches, centre_samples=centre_samples,
                            min_batch_size=min_batch_size, sample_centres=sample_centres)
    return pd.DataFrame(xt.T, index=frame.index, columns=frame.columns, copy=False)


def centre_by_batch_inplace(
    xt: np.ndarray,
    samples: pd.Index,
    batches: pd.Series | None,
    *,
    centre_samples: bool = True,
    min_batch_size: int = MIN_BATCH_SIZE,
    sample_centres: pd.Series | None = None,
) -> None:
    """:func:`centre_by_batch` on a features x samples float64 array, in place.

    For callers that already hold their own copy of the matrix in this layout (the layout
    :mod:`tumorboard.layers.scoring` works in), so that centring needs no second copy.
    Features are centred in blocks, on a few threads: temporaries stay the size of a block.

    Parameters
    ----------
    xt
        Features x samples, C-contiguous float64; overwritten with the centred values.
    samples
        The sample of each column of ``xt``.
    batches, centre_samples, min_batch_size, sample_centres
        As for :func:`centre_by_batch`.

    Raises
    ------
    InputError
        A sample of ``samples`` has no entry in ``sample_centres``.
    """
    if samples.has_duplicates:
        dup = samples[samples.duplicated()].unique()[:5].tolist()
        raise ValueError(f"abundance has duplicate samples: {dup}")
    if xt.size == 0:
        return
    codes = _batch_codes(batches, samples)
    if centre_samples:
        if sample_centres is None:
            medians = scoring.nan_median_columns(xt)
        else:
            medians = _given_centres(sample_centres, samples)
        # A sample that quantified nothing has no median; its values are all NaN anyway.
        xt -= np.nan_to_num(medians, nan=0.0)[None, :]
    # Each block's columns are taken in batch order, so that every batch is a contiguous
    # slice (fancy-indexing the columns of each batch separately is several times slower).
    order = np.argsort(codes, kind="stable")
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    sizes = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])

    def work(block: slice) -> None:
        xb = xt[block]
        grouped = np.take(xb, order, axis=1)
        present = ~np.isnan(grouped)
        counts = np.add.reduceat(present, starts, axis=1, dtype=np.int64)  # features x batches
        eligible = counts >= min_batch_size
        own = np.repeat(eligible, sizes, axis=1)  # centred on their own batch's median
        pooled = np.full(xb.shape[0], np.nan)
        pooling = np.flatnonzero(~own.all(axis=1))
        if len(pooling):
            pooled_values = np.where(own[pooling], np.nan, grouped[pooling])
            pooled_values.sort(axis=1)
            pooled[pooling] = scoring._median_of_sorted(pooled_values)
        for b, (start, size) in enumerate(zip(starts, sizes, strict=True)):
            batch_values = grouped[:, start:start + size]
            offset = pooled
            if eligible[:, b].any():
                median = scoring._median_of_sorted(np.sort(batch_values, axis=1))
                offset = np.where(eligible[:, b], median, pooled)
            batch_values -= offset[:, None]
        np.take(grouped, inverse, axis=1, out=xb)

    scoring._for_row_blocks(xt.shape[0], xt.shape[1], work)


def sample_medians(abundance: pd.DataFrame) -> pd.Series:
    """Each sample's median log2 abundance over the features it quantified (centring step 1).

    Exactly the medians that :func:`centre_by_batch` subtracts first (module docstring,
    "Batch-wise median centring", step 1: TOPAS ``load_and_normalize``; Čuklina et al. 2021,
    doi:10.15252/msb.202110240): :func:`tumorboard.layers.scoring.nan_median_columns` of the
    features x samples float64 array, NaN for a sample without any value (the layer then
    subtracts 0). A caller scoring the matrix in blocks of features computes them once over
    the whole matrix, with this function or with ``scoring.nan_median_columns`` on the same
    features x samples array (identical numbers), and passes them as ``sample_centres``.

    Parameters
    ----------
    abundance
        Samples x features, log2 values, NaN = not quantified.

    Returns
    -------
    pandas.Series
        Sample -> median (float64), in the order of ``abundance``'s rows.
    """
    frame = _numeric(abundance)
    xt = frame.T.to_numpy(dtype="float64", na_value=np.nan)  # a view of a float64 frame
    return pd.Series(scoring.nan_median_columns(xt), index=frame.index, dtype="float64",
                     name="sample_median")


def _given_centres(sample_centres: pd.Series, samples: pd.Index) -> np.ndarray:
    """``sample_centres`` aligned to ``samples`` as float64; every sample must have one."""
    if not isinstance(sample_centres, pd.Series):
        raise InputError(
            f"sample_centres must be a pandas Series mapping sample -> median, not "
            f"{type(sample_centres).__name__}",
            fix="pass proteome.sample_medians(<the whole matrix>)")
    centres = sample_centres.copy()
    centres.index = centres.index.astype(str)
    if centres.index.has_duplicates:
        dup = centres.index[centres.index.duplicated()].unique()[:5].tolist()
        raise InputError(f"sample_centres has duplicate samples: {dup}",
                         fix="pass one median per sample (proteome.sample_medians)")
    wanted = pd.Index(samples).astype(str)
    absent = wanted.difference(centres.index)
    if len(absent):
        raise InputError(
            f"sample_centres has no median for {len(absent)} sample(s) of the matrix: "
            f"{', '.join(absent[:5])}",
            sample=str(absent[0]),
            fix="compute the medians over the whole matrix with proteome.sample_medians and "
                "pass them for every sample")
    values = pd.to_numeric(centres.reindex(wanted), errors="coerce")
    return values.to_numpy(dtype="float64", na_value=np.nan)


def missing_categories(abundance: pd.DataFrame, batches: pd.Series | None) -> pd.DataFrame:
    """Why each value is (not) there: "measured", "not_detected_in_sample" or "not_measured".

    "not_detected_in_sample": missing here, quantified in another sample of the same batch;
    "not_measured": no sample of the batch quantified the feature. Samples without a batch
    form their own batch. Rationale and sources: module docstring.
    """
    frame = _numeric(abundance)
    present = ~np.isnan(frame.to_numpy(dtype="float64", na_value=np.nan))
    codes = _batch_codes(batches, frame.index)
    n_batches = int(codes.max()) + 1 if len(codes) else 0
    in_batch = _group_sum(codes, n_batches, present.astype(np.int64))[codes] > 0
    out = np.select([present, in_batch], [MEASURED, NOT_DETECTED], NOT_MEASURED)
    return pd.DataFrame(out.astype(object), index=frame.index, columns=frame.columns)


def _thresholds(params: ProteomeParams) -> dict[str, Any]:
    return {"z_high": params.z_high, "pct_high": params.pct_high, "z_low": params.z_low,
            "pct_low": params.pct_low, "min_reference": params.min_reference}


def _calls(z: Any, percentile: Any, reference_size: Any, params: ProteomeParams) -> Any:
    return scoring.call_outliers(z, percentile, reference_size, **_thresholds(params))


def proteome_findings(
    abundance: pd.DataFrame,
    *,
    batches: pd.Series | None,
    feature_genes: pd.Series,
    entities: pd.Series,
    patients: pd.Series,
    samples: list[str] | None = None,
    params: ProteomeParams = ProteomeParams(),
    genes: list[str] | None = None,
    sample_centres: pd.Series | None = None,
) -> pd.DataFrame:
    """Proteome findings of ``samples`` (default: all), scored against the whole cohort.

    Parameters
    ----------
    abundance
        Samples x features (protein group / antibody ids) log2 abundances, NaN = missing.
    batches
        Sample -> batch (samples quantified together).
    feature_genes
        Feature -> gene symbol (NA for features without a gene).
    entities, patients
        Sample -> entity (OncoTree code), sample -> patient id.
    samples
        Samples to report; all samples of ``abundance`` form the reference.
    params
        :class:`ProteomeParams`.
    genes
        Watch list: genes whose measured features are always reported (kind ``protein``).
    sample_centres
        Sample -> median to subtract in centring step 1, computed over all features
        (:func:`sample_medians` of the whole matrix), when ``abundance`` is a block of the
        features (all samples): the findings of the block are then exactly those of the whole
        matrix for its features (module docstring, "Scoring by blocks of features"). None: the
        medians of ``abundance``.

    Returns
    -------
    pandas.DataFrame
        A findings table (:func:`tumorboard.model.findings_frame`), ``feature`` = feature id.

    Raises
    ------
    InputError
        A sample has no entry in ``sample_centres``.
    """
    frame = _numeric(abundance)
    centred = centre_by_batch(frame, batches, centre_samples=params.centre_samples,
                              min_batch_size=params.min_batch_size,
                              sample_centres=sample_centres)
    watch_genes = list(genes or [])
    gene_of = feature_genes.astype(object)
    settings = asdict(params)
    feature_ids = pd.array(frame.columns.to_numpy(dtype=object), dtype="string")
    watch_column = np.isin(gene_of.reindex(feature_ids.to_numpy(dtype=object))
                           .to_numpy(dtype=object), watch_genes)

    def reported(block: scoring.ScoreBlock) -> np.ndarray:
        outlier = scoring.outlier_call_mask(block.z_score, block.percentile_cohort,
                                            block.reference_size, ("high", "low"),
                                            **_thresholds(params))
        return outlier | watch_column[block.features][:, None]

    # Measured values: outliers, and every feature of a watch-list gene.
    scored = scoring.score_matrix(centred, entities=entities, samples=samples, keep=reported)
    del centred
    calls = _calls(scored["z_score"], scored["percentile_cohort"], scored["reference_size"],
                   params).to_numpy(dtype=object)
    features = scored["feature"].to_numpy(dtype=object)
    feature_gene = gene_of.reindex(features).to_numpy(dtype=object)
    watch = np.isin(feature_gene, watch_genes)
    kind = np.select([calls == "high", calls == "low", watch],
                     ["protein_high", "protein_low", "protein"], "")
    keep = kind != ""
    rows = scored[keep].reset_index(drop=True)
    sample_ids = rows["sample"].to_numpy(dtype=object)
    raw = frame.to_numpy(dtype="float64", na_value=np.nan)
    row_pos = frame.index.get_indexer(sample_ids)
    col_pos = frame.columns.get_indexer(rows["feature"].to_numpy(dtype=object))
    measured = pd.DataFrame({
        "sample": sample_ids,
        "feature": rows["feature"].to_numpy(dtype=object),
        "gene": feature_gene[keep],
        "kind": kind[keep],
        "value": rows["value"].to_numpy(),
        "z_score": rows["z_score"].to_numpy(),
        "percentile_cohort": rows["percentile_cohort"].to_numpy(),
        "percentile_entity": rows["percentile_entity"].to_numpy(),
        "reference_size": rows["reference_size"].to_numpy(dtype=object),
        "call": calls[keep],
        "provenance": [
            {"method": METHOD, "params": settings, "missing": None,
             "log2_abundance": v, "reference_size": r, "reference_size_entity": re}
            for v, r, re in zip(raw[row_pos, col_pos].tolist(), int_list(rows["reference_size"]),
                                int_list(rows["reference_size_entity"]), strict=True)
        ],
    })

    missing = _not_detected(frame, batches, samples, gene_of, watch_genes, params, settings)
    out = pd.concat([measured, missing], ignore_index=True) if len(missing) else measured
    if out.empty:
        return findings_frame()
    out.insert(0, "patient", patients.reindex(out["sample"].to_numpy()).to_numpy(dtype=object))
    out.insert(2, "layer", LAYER)
    return findings_frame(out)


def _not_detected(
    frame: pd.DataFrame,
    batches: pd.Series | None,
    samples: list[str] | None,
    gene_of: pd.Series,
    watch_genes: list[str],
    params: ProteomeParams,
    settings: dict[str, Any],
) -> pd.DataFrame:
    """``protein_low`` findings for features quantified in the batch but not in the sample."""
    present = ~np.isnan(frame.to_numpy(dtype="float64", na_value=np.nan))
    codes = _batch_codes(batches, frame.index)
    n_batches = int(codes.max()) + 1 if len(codes) else 0
    batch_counts = _group_sum(codes, n_batches, present.astype(np.int64))
    batch_sizes = np.bincount(codes, minlength=n_batches)
    rows = np.arange(len(frame.index))
    if samples is not None:
        rows = rows[frame.index.isin(pd.Index(samples))]
    counts = batch_counts[codes[rows]]  # others quantifying = count, since the sample has none
    others = (batch_sizes[codes[rows]] - 1)[:, None]
    detected_elsewhere = ~present[rows] & (counts > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(others > 0, counts / others, 0.0)
    feature_gene = gene_of.reindex(frame.columns).to_numpy(dtype=object)
    watch = np.isin(feature_gene, watch_genes)[None, :]
    emit = detected_elsewhere & (watch | (fraction >= params.not_detected_min_fraction))
    r_local, f = np.nonzero(emit)
    if len(f) == 0:
        return pd.DataFrame()
    sample_ids = frame.index.to_numpy(dtype=object)[rows[r_local]]
    return pd.DataFrame({
        "sample": sample_ids,
        "feature": frame.columns.to_numpy(dtype=object)[f],
        "gene": feature_gene[f],
        "kind": "protein_low",
        "value": np.nan,
        "z_score": np.nan,
        "percentile_cohort": np.nan,
        "percentile_entity": np.nan,
        "reference_size": None,
        "call": "low",
        "provenance": [
            {"method": METHOD, "params": settings, "missing": NOT_DETECTED,
             "note": "not quantified in this sample but in other samples of its batch: "
                     "most likely below the detection limit (missing not at random); "
                     "not imputed",
             "detected_in_batch": c, "other_samples_in_batch": o}
            for c, o in zip(counts[r_local, f].tolist(), others[r_local, 0].tolist(),
                            strict=True)
        ],
    })
