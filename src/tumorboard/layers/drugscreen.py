"""Drug-screen layer: sensitivity of patient-derived models to drugs, against the cohort.

Input is the ``drug_screen`` store table of every model of the cohort (one row per well:
model, plate, drug, concentration in µM, role, raw signal and/or the lab's viability). The
layer works in four pure steps on tables (DESIGN.md §4):

1. :func:`normalise_plates` - per model and plate, the mean and SD of the negative (vehicle)
   and positive (kill) controls, the Z'-factor and its QC verdict, and percent viability of
   every well from its raw signal (wells the lab normalised already keep their viability);
2. :func:`fit_screens` - one 4-parameter log-logistic fit per (sample, model, drug) over all
   replicate points, with DSS1/2/3 (:mod:`tumorboard.layers.doseresponse`);
3. :func:`score_screens` - the DSS3 of each (model, drug) against the other *valid* models
   screened with the same drug: leave-one-out z, cohort and entity percentiles, reference
   size (:mod:`tumorboard.layers.scoring`), and the call;
4. :func:`drug_screen_findings` - Findings of layer ``drug_screen``, kind
   ``drug_sensitivity``, with the provenance the report draws from (fit parameters, points,
   plates, and the cohort band: p10 / p50 / p90 of the other valid models' fitted curves).

Calls, in order (the first that applies):

- ``qc_failed``: a plate holding this (model, drug) has Z' < :data:`Z_PRIME_MIN`;
- ``fit_failed``: the curve could not be fitted (reported, never forced);
- ``insufficient_reference``: fewer than :data:`MIN_REFERENCE` *other* valid models were
  screened with the drug;
- ``sensitive``: DSS >= :data:`DSS_ACTIVE`, z >= :data:`SENSITIVE_Z` and cohort percentile
  >= :data:`SENSITIVE_PERCENTILE`;
- ``resistant``: DSS < :data:`DSS_ACTIVE`, z <= -:data:`SENSITIVE_Z` and cohort percentile
  <= 100 - :data:`SENSITIVE_PERCENTILE`;
- ``active``: DSS >= :data:`DSS_ACTIVE`; else ``inactive``.

The z and percentile pair is :func:`tumorboard.layers.scoring.call_outliers`, as for the
molecular layers. Valid = fit status ``fitted`` or ``flat`` and no plate failing QC. Where the
other models' DSS are all equal (SD 0, e.g. a drug no other model responds to) there is no z
and the percentile alone decides (call_outliers): the only responder is ``sensitive``. QC is
judged before the fit because a failed plate explains a failed fit (the board should see the
plate, not the curve, as the problem).

Sources
-------
- Z'-factor and its 0.5 threshold: Zhang JH, Chung TD, Oldenburg KR, J Biomol Screen
  1999;4:67-73, doi:10.1177/108705719900400206, PMID 10838414.
- Percent viability relative to vehicle and kill controls, 4-parameter log-logistic fits,
  drug sensitivity score (DSS): Yadav B et al., Sci Rep 2014;4:5193, doi:10.1038/srep05193,
  PMID 24898935 (DSS3 is their recommended score).
- Patient-derived tumour models screened with a drug panel and each model's response ranked
  against the other tumours screened with the same drug: Pauli C et al., Personalized in
  vitro and in vivo cancer models to guide precision medicine, Cancer Discov 2017;7:462-477,
  doi:10.1158/2159-8290.CD-16-1154.
- Leave-one-out z and mid-rank percentiles: :mod:`tumorboard.layers.scoring` (TOPAS).
- Cohort band quantiles: numpy's default ("linear", Hyndman & Fan definition 7) quantile of
  the other models' fitted viability at each grid point (Hyndman RJ, Fan Y, Am Stat
  1996;50:361-365, doi:10.2307/2684934).

Implementation: normalisation is vectorised over wells (group statistics by plate id); the
fits are one call of :func:`tumorboard.layers.doseresponse.fit_dose_response` per (model,
drug) over pre-split arrays (no pandas per group), in worker processes for large cohorts;
scores are one leave-one-out pass over the models x drugs DSS matrix; the band's
leave-one-out quantiles come from one sort per drug and grid point (no per-model re-sort).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from tumorboard.knowledge.drugs import drug_components
from tumorboard.layers import doseresponse, scoring
from tumorboard.layers._common import int_list, sample_column
from tumorboard.model import findings_frame

__all__ = [
    "BAND_POINTS",
    "DSS_ACTIVE",
    "METHOD",
    "MIN_REFERENCE",
    "SCREEN_CALLS",
    "SENSITIVE_PERCENTILE",
    "SENSITIVE_Z",
    "Z_PRIME_MIN",
    "call_thresholds",
    "drug_screen_findings",
    "fit_screens",
    "normalise_plates",
    "score_screens",
]

LAYER = "drug_screen"
KIND = "drug_sensitivity"
METHOD = "4-parameter log-logistic fit; DSS3 (Yadav 2014)"

#: DSS at or above which a drug counts as active in a model. tumorboard's own choice: DSS3 is
#: the area of % inhibition above the 10 % response threshold, normalised so that a complete,
#: potent response over the whole tested range scores near 100 (Yadav et al. 2014,
#: doi:10.1038/srep05193); a curve that only grazes the threshold scores a few points, so 10
#: (a tenth of the maximum) asks for a response clearly beyond assay noise.
DSS_ACTIVE: float = 10.0

#: Leave-one-out z of DSS for "sensitive" (with DSS >= DSS_ACTIVE) and, negated, "resistant"
#: (with DSS < DSS_ACTIVE). tumorboard's own choice (issue 9 spec): more permissive than the
#: |z| >= 2 of the molecular layers because a drug is screened on tens, not thousands, of
#: models, and the board wants the patient's model near the top of them flagged; 1.5 SD above
#: the other models' median is about their top 7 % for normal data. The DSS floor keeps a
#: "sensitive" call from resting on a relative rank alone (a model "less inactive" than the
#: others is not sensitive), and the ceiling keeps "resistant" for models that do not respond.
SENSITIVE_Z: float = 1.5

#: Cohort percentile a "sensitive" call also needs (and 100 minus it, at most, for
#: "resistant"): the z and percentile pair of :func:`tumorboard.layers.scoring.call_outliers`,
#: whose docstring gives the reason - DSS is skewed (many models near 0, a long tail of
#: responders), and on skewed values a z alone flags too many: on simulated random curves
#: z >= 1.5 alone called 15 % of (model, drug) pairs sensitive. 90 is the percentile the
#: molecular layers use (expression, proteome), so a "sensitive" model is in the top tenth of
#: the models screened with the drug. Where the other models' DSS are all equal (SD 0, no z)
#: the percentile alone decides, as in call_outliers: the one model responding to a drug no
#: other model responds to is sensitive.
SENSITIVE_PERCENTILE: float = 90.0

#: Fewest other valid models with the drug for a cohort-relative call (layers.scoring).
MIN_REFERENCE: int = scoring.MIN_REFERENCE

#: Z'-factor threshold of plate QC (Zhang et al. 1999; :data:`doseresponse.Z_PRIME_MIN`).
Z_PRIME_MIN: float = doseresponse.Z_PRIME_MIN

#: Grid points of the cohort band. tumorboard's own choice: 40 points over a 3-4 log range
#: (about 10 per decade) draw a smooth band at report size and keep provenance small.
BAND_POINTS: int = 40

#: Quantiles of the cohort band (percent): the central 80 % of the other models and their
#: median. tumorboard's own choice: with ~15 models per drug the 10th and 90th percentiles are
#: still between observed curves, where the 5th/95th would be the extremes.
BAND_QUANTILES: tuple[float, float, float] = (10.0, 50.0, 90.0)

#: Calls of a drug-screen finding.
SCREEN_CALLS: tuple[str, ...] = ("sensitive", "resistant", "active", "inactive",
                                 "insufficient_reference", "qc_failed", "fit_failed")

_NEGATIVE, _POSITIVE, _TREATMENT = "negative_control", "positive_control", "treatment"
_VALID_STATUS = ("fitted", "flat")


def call_thresholds() -> dict[str, Any]:
    """The thresholds of the calls, as every finding records them in its provenance."""
    return {"dss_active": DSS_ACTIVE, "sensitive_z": SENSITIVE_Z,
            "sensitive_percentile": SENSITIVE_PERCENTILE, "z_prime_min": Z_PRIME_MIN,
            "min_reference": MIN_REFERENCE}


def _prepared(readings: pd.DataFrame) -> pd.DataFrame:
    """A copy with a ``sample`` column, string keys without NA (plate '' when absent)."""
    if not isinstance(readings, pd.DataFrame):
        raise TypeError("readings must be a pandas DataFrame (the drug_screen store table)")
    frame = readings.copy()
    col = sample_column(frame, "drug_screen")
    if col != "sample":
        frame = frame.rename(columns={col: "sample"})
    if "sample" not in frame:
        frame["sample"] = pd.Series(dtype="string")
    for name in ("signal", "viability", "concentration_um"):
        if name not in frame:
            frame[name] = np.nan
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    for name in ("model", "plate", "model_type", "drug", "drug_as_given", "role", "well",
                 "assay"):
        if name not in frame:
            frame[name] = pd.NA
        frame[name] = frame[name].astype("string")
    frame["sample"] = frame["sample"].astype("string")
    # A file of one model may leave the model to the sample id (spec §1); keys need a value.
    frame["model"] = frame["model"].fillna(frame["sample"])
    frame["plate"] = frame["plate"].fillna("")
    frame["drug_as_given"] = frame["drug_as_given"].fillna(frame["drug"])
    return frame.reset_index(drop=True)


def normalise_plates(readings: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Percent viability of every well and the QC of every plate, from the plate controls.

    Per (sample, model, plate): mean and SD (ddof 1) of the negative (vehicle) and positive
    (kill) control wells and the Z'-factor ``1 - 3 (sd_p + sd_n) / |mu_p - mu_n|``
    (:func:`tumorboard.layers.doseresponse.z_prime`; Zhang et al. 1999). QC is ``pass`` at
    Z' >= :data:`Z_PRIME_MIN`, ``fail`` below it, ``not_assessed`` where there are fewer than
    two wells of either control. Controls are judged on the raw signal when the plate has
    one, else on the lab's viability of the control wells.

    Viability of a well without one: ``100 (x - mu_p) / (mu_n - mu_p)``
    (:func:`~tumorboard.layers.doseresponse.percent_viability`; Yadav et al. 2014). A plate
    without positive controls is normalised to vehicle alone (``mu_p = 0``: the luminescent
    ATP readouts of 3D screens have a background near zero; tumorboard's own choice, and the
    plate's QC is then ``not_assessed``). Wells that carry the lab's viability keep it.

    Parameters
    ----------
    readings
        The ``drug_screen`` store table (column ``sample_id`` or ``sample``; spec in
        :data:`tumorboard.io.tables.TABLES`), optionally with an ``assay`` column.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The readings with ``sample`` and filled ``viability``, and the plate QC table: one row
        per (sample, model, plate) with ``n_negative``, ``negative_mean``, ``negative_sd``,
        ``n_positive``, ``positive_mean``, ``positive_sd``, ``source`` ("signal" /
        "viability"), ``z_prime`` and ``qc``.
    """
    frame = _prepared(readings)
    keys = ["sample", "model", "plate"]
    plate_of = frame.groupby(keys, sort=True, dropna=False).ngroup().to_numpy()
    n_plates = int(plate_of.max()) + 1 if len(frame) else 0
    has_signal = np.zeros(n_plates, dtype=bool)
    np.logical_or.at(has_signal, plate_of, frame["signal"].notna().to_numpy())
    # Controls are read on the scale the plate was measured on.
    control_value = np.where(has_signal[plate_of], frame["signal"].to_numpy(),
                             frame["viability"].to_numpy())
    role = frame["role"].fillna(_TREATMENT).to_numpy(dtype=object)

    def stats(which: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
        chosen = (role == which) & np.isfinite(control_value)
        values = [np.empty(0)] * n_plates
        if chosen.any():
            order = np.argsort(plate_of[chosen], kind="stable")
            ids, starts = np.unique(plate_of[chosen][order], return_index=True)
            for i, part in zip(ids, np.split(control_value[chosen][order], starts[1:]),
                               strict=True):
                values[i] = part
        n = np.array([len(v) for v in values], dtype="int64")
        with np.errstate(invalid="ignore"):
            mean = np.array([v.mean() if len(v) else np.nan for v in values])
            sd = np.array([v.std(ddof=1) if len(v) > 1 else np.nan for v in values])
        return n, mean, sd, values

    n_neg, mean_neg, sd_neg, neg = stats(_NEGATIVE)
    n_pos, mean_pos, sd_pos, pos = stats(_POSITIVE)
    z = np.array([doseresponse.z_prime(neg[i], pos[i])
                  if len(neg[i]) >= 2 and len(pos[i]) >= 2 else np.nan
                  for i in range(n_plates)], dtype="float64")
    qc = np.where(np.isnan(z), "not_assessed", np.where(z >= Z_PRIME_MIN, "pass", "fail"))

    firsts = frame.drop_duplicates(keys).assign(_plate=lambda f: plate_of[f.index])
    firsts = firsts.sort_values("_plate")
    plate_qc = pd.DataFrame({
        "sample": firsts["sample"].to_numpy(dtype=object),
        "model": firsts["model"].to_numpy(dtype=object),
        "plate": firsts["plate"].to_numpy(dtype=object),
        "n_negative": n_neg, "negative_mean": mean_neg, "negative_sd": sd_neg,
        "n_positive": n_pos, "positive_mean": mean_pos, "positive_sd": sd_pos,
        "source": np.where(has_signal, "signal", "viability"),
        "z_prime": z, "qc": qc,
    })
    for col in ("sample", "model", "plate", "source", "qc"):
        plate_qc[col] = plate_qc[col].astype("string")

    # Without a kill control the plate is normalised to vehicle alone (docstring).
    positive_level = np.where(np.isnan(mean_pos), 0.0, mean_pos)
    # A plate whose controls give no scale (no vehicle signal, or vehicle = kill) keeps NaN
    # viability: its curves then fail for want of points, and say so.
    scalable = np.isfinite(mean_neg) & (mean_neg != positive_level)
    needed = (frame["viability"].isna().to_numpy() & frame["signal"].notna().to_numpy()
              & scalable[plate_of])
    if needed.any():
        rows = np.flatnonzero(needed)
        rows = rows[np.argsort(plate_of[rows], kind="stable")]
        ids, starts = np.unique(plate_of[rows], return_index=True)
        signal = frame["signal"].to_numpy()
        viability = frame["viability"].to_numpy(copy=True)
        for plate, part in zip(ids, np.split(rows, starts[1:]), strict=True):
            viability[part] = doseresponse.percent_viability(
                signal[part], negative_mean=float(mean_neg[plate]),
                positive_mean=float(positive_level[plate]))
        frame["viability"] = viability
    return frame, plate_qc


def _overall_qc(verdicts: list[str]) -> str:
    """One plate failing fails the curve; all passing passes it; else not assessed."""
    if "fail" in verdicts:
        return "fail"
    if verdicts and all(v == "pass" for v in verdicts):
        return "pass"
    return "not_assessed"


#: Fewest curves for which :func:`fit_screens` fits in worker processes. tumorboard's own
#: choice: one fit takes tens of milliseconds (several least-squares starts), starting a
#: process pool about a second, so below a few hundred curves the pool does not pay.
PARALLEL_MIN_FITS: int = 400


def _fit_one(log10_conc: np.ndarray, viability: np.ndarray
             ) -> tuple[doseresponse.CurveFit, float, float, float]:
    fit = doseresponse.fit_dose_response(log10_conc, viability)
    return (fit, *(doseresponse.drug_sensitivity_score(fit, kind=k) for k in (1, 2, 3)))


def _fit_chunk(points: list[tuple[np.ndarray, np.ndarray]]
               ) -> list[tuple[doseresponse.CurveFit, float, float, float]]:
    """Fits of a chunk of curves (module level: runs in a worker process)."""
    return [_fit_one(x, y) for x, y in points]


def _fit_all(points: list[tuple[np.ndarray, np.ndarray]]
             ) -> list[tuple[doseresponse.CurveFit, float, float, float]]:
    """Every curve's fit and DSS1/2/3, in worker processes for many curves.

    The fit is Python-bound (scipy's least squares holds the GIL), so threads do not help;
    processes do. Workers: ``TUMORBOARD_THREADS`` or the CPU count (a Dask worker sets 1 and
    fits in its own process). Processes are spawned, not forked (forking a process that runs
    threads can deadlock), so, as for Dask's LocalCluster, a script calling this must guard
    its top level with ``if __name__ == "__main__"``; if no pool can be started the curves
    are fitted here.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    workers = min(scoring._threads(), 8)
    # Never from a child process: a worker of a pool (or of Dask) fits its own share.
    if (workers <= 1 or len(points) < PARALLEL_MIN_FITS
            or multiprocessing.parent_process() is not None):
        return _fit_chunk(points)

    size = -(-len(points) // (4 * workers))
    chunks = [points[i:i + size] for i in range(0, len(points), size)]
    try:
        with ProcessPoolExecutor(max_workers=workers,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            return [fit for part in pool.map(_fit_chunk, chunks) for fit in part]
    except (AssertionError, OSError, RuntimeError):  # no child processes allowed here
        return _fit_chunk(points)


def fit_screens(readings: pd.DataFrame) -> pd.DataFrame:
    """One dose-response fit per (sample, model, drug), with DSS, plates and points.

    The readings are normalised (:func:`normalise_plates`) and the treatment wells with a
    finite viability and a positive concentration are fitted on log10(µM) with
    :func:`tumorboard.layers.doseresponse.fit_dose_response` (all replicates together);
    DSS1/2/3 by :func:`~tumorboard.layers.doseresponse.drug_sensitivity_score` (Yadav et al.
    2014, response threshold 10 % inhibition).

    Parameters
    ----------
    readings
        The ``drug_screen`` store table of one or many models (see :func:`normalise_plates`).

    Returns
    -------
    pandas.DataFrame
        One row per (sample, model, drug), sorted by them: ``sample``, ``assay``, ``model``,
        ``model_type``, ``drug`` (canonical), ``drug_as_given``, ``agents`` (tuple of
        canonical components), ``fit`` (:class:`~tumorboard.layers.doseresponse.CurveFit`),
        ``status``, ``dss1``, ``dss2``, ``dss3``, ``cmin_um``, ``cmax_um``, ``n_points``,
        ``plates`` (list of {plate, z_prime, qc}), ``plate_qc`` (pass / fail /
        not_assessed over the plates), ``conc_um`` and ``viability`` (the fitted points).
    """
    frame, plate_qc = normalise_plates(readings)
    plate_key = list(zip(plate_qc["sample"], plate_qc["model"], plate_qc["plate"],
                         strict=True))
    plate_info = {k: (p, z, q) for k, p, z, q in zip(
        plate_key, plate_qc["plate"].tolist(), plate_qc["z_prime"].tolist(),
        plate_qc["qc"].tolist(), strict=True)}
    treated = frame[(frame["role"].fillna(_TREATMENT) == _TREATMENT)
                    & frame["drug"].notna()].copy()
    columns = ["sample", "assay", "model", "model_type", "drug", "drug_as_given", "agents",
               "fit", "status", "dss1", "dss2", "dss3", "cmin_um", "cmax_um", "n_points",
               "plates", "plate_qc", "conc_um", "viability"]
    if treated.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    treated = treated.sort_values(["sample", "model", "drug", "concentration_um"],
                                  kind="stable")
    group = treated.groupby(["sample", "model", "drug"], sort=False).ngroup().to_numpy()
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    bounds = np.r_[starts, len(treated)]
    conc = treated["concentration_um"].to_numpy()
    viab = treated["viability"].to_numpy()
    usable = np.isfinite(viab) & np.isfinite(conc) & (conc > 0)
    text = {c: treated[c].to_numpy(dtype=object) for c in
            ("sample", "assay", "model", "model_type", "drug", "drug_as_given", "plate")}
    points = []
    for start, stop in itertools.pairwise(bounds):
        ok = usable[start:stop]
        points.append((conc[start:stop][ok], viab[start:stop][ok]))
    fitted = _fit_all([(np.log10(c), v) for c, v in points])
    rows: list[dict[str, Any]] = []
    components: dict[str, tuple[str, ...]] = {}
    for (start, stop), (c, v), (fit, dss1, dss2, dss3) in zip(
            itertools.pairwise(bounds), points, fitted, strict=True):
        part = slice(start, stop)
        sample, model, drug = text["sample"][start], text["model"][start], text["drug"][start]
        plates = []
        for plate in dict.fromkeys(text["plate"][part]):
            name, z, q = plate_info[(sample, model, plate)]
            plates.append({"plate": name or None, "z_prime": None if z != z else z, "qc": q})
        if drug not in components:
            components[drug] = drug_components(drug)
        given = [g for g in dict.fromkeys(text["drug_as_given"][part]) if g is not pd.NA]
        assay = text["assay"][start]
        model_type = text["model_type"][start]
        rows.append({
            "sample": sample, "assay": None if assay is pd.NA else assay, "model": model,
            "model_type": None if model_type is pd.NA else model_type, "drug": drug,
            "drug_as_given": "; ".join(given) if given else drug,
            "agents": components[drug], "fit": fit, "status": fit.status,
            "dss1": dss1, "dss2": dss2, "dss3": dss3,
            "cmin_um": float(c.min()) if len(c) else np.nan,
            "cmax_um": float(c.max()) if len(c) else np.nan,
            "n_points": len(c), "plates": plates,
            "plate_qc": _overall_qc([p["qc"] for p in plates]),
            "conc_um": c.tolist(), "viability": v.tolist(),
        })
    out = pd.DataFrame(rows, columns=columns)
    for col in ("dss1", "dss2", "dss3", "cmin_um", "cmax_um"):
        out[col] = out[col].astype("float64")
    return out


def _loo_kth(ordered: np.ndarray, k: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The k-th smallest of ``ordered`` without its element at position ``r``.

    ``r`` = len(ordered) for a value that is not a member (nothing left out). Equal values are
    interchangeable, so ``r`` may be the start of the value's run of ties (layers.scoring).
    """
    index = np.where(k < r, k, k + 1)
    return ordered[np.clip(index, 0, max(len(ordered) - 1, 0))]


def _loo_quantile(ordered: np.ndarray, values: np.ndarray, member: np.ndarray,
                  q: float) -> np.ndarray:
    """Linear-interpolation quantile ``q`` (0-1) of ``ordered`` without each member value.

    ``ordered``: the sorted finite values of the reference; ``values``: one per queried row;
    ``member``: whether that value is one of ``ordered`` (then one copy is left out). The
    same as ``numpy.quantile(others, q)`` (method "linear") without a sort per row.
    """
    n = len(ordered)
    m = n - member.astype("int64")
    out = np.full(len(values), np.nan)
    have = m > 0
    if n == 0 or not have.any():
        return out
    r = np.where(member, np.searchsorted(ordered, values, side="left"), n)
    h = q * (m - 1)
    lo = np.floor(h).astype("int64")
    hi = np.minimum(lo + 1, m - 1)
    a, b = _loo_kth(ordered, lo, r), _loo_kth(ordered, hi, r)
    out[have] = (a + (h - lo) * (b - a))[have]
    return out


def score_screens(fits: pd.DataFrame, *, entities: pd.Series | None = None) -> pd.DataFrame:
    """Each (model, drug) DSS3 against the other valid models screened with the same drug.

    Valid = fit ``fitted`` or ``flat`` and no plate failing QC. Among the valid models of a
    drug: leave-one-out z of DSS3 (median and SD of the others, ddof 1;
    :func:`tumorboard.layers.scoring.leave_one_out_z`), mid-rank percentile in the cohort and
    within the entity of the model's sample (:func:`~tumorboard.layers.scoring.percentile_rank`),
    reference size = other valid models with the drug. The call follows the rules of the
    module docstring.

    Parameters
    ----------
    fits
        :func:`fit_screens` output (of the whole cohort).
    entities
        Sample -> entity (OncoTree code), for the within-entity percentiles.

    Returns
    -------
    pandas.DataFrame
        ``fits`` with ``valid``, ``z_score``, ``percentile_cohort``, ``percentile_entity``,
        ``reference_size``, ``reference_size_entity``, ``n_valid`` (valid models with the
        drug), ``dss_median_others`` and ``call``.
    """
    out = fits.reset_index(drop=True).copy()
    n = len(out)
    if n == 0:
        for col in ("valid", "z_score", "percentile_cohort", "percentile_entity",
                    "reference_size", "reference_size_entity", "n_valid",
                    "dss_median_others", "call"):
            out[col] = pd.Series(dtype=object)
        return out
    valid = (out["status"].isin(_VALID_STATUS) & (out["plate_qc"] != "fail")).to_numpy(
        dtype=bool)
    dss = out["dss3"].to_numpy(dtype="float64")
    unit = (out["sample"].astype(str) + "\x1f" + out["model"].astype(str)).to_numpy()
    units, row_unit = np.unique(unit, return_inverse=True)
    drugs, row_drug = np.unique(out["drug"].astype(str).to_numpy(), return_inverse=True)
    grid = np.full((len(units), len(drugs)), np.nan)
    grid[row_unit[valid], row_drug[valid]] = dss[valid]
    matrix = pd.DataFrame(grid, index=pd.Index(units), columns=pd.Index(drugs))
    z, reference = scoring.leave_one_out_z(matrix)
    pct = scoring.percentile_rank(matrix)
    z_row = z.to_numpy()[row_unit, row_drug]
    pct_row = pct.to_numpy()[row_unit, row_drug]
    n_valid = np.isfinite(grid).sum(axis=0)[row_drug]
    # Invalid rows are judged against every valid model (none of them is left out).
    ref_row = np.where(valid, reference.to_numpy()[row_unit, row_drug], n_valid)
    pct_entity_row = np.full(n, np.nan)
    ref_entity_row = np.full(n, np.nan)
    if entities is not None:
        unit_sample = pd.Series(out["sample"].astype(str).to_numpy(), index=unit)
        unit_sample = unit_sample[~unit_sample.index.duplicated()].reindex(units)
        groups = pd.Series(entities.reindex(unit_sample.to_numpy()).to_numpy(), index=units)
        pct_entity_row = scoring.percentile_rank(matrix, groups=groups).to_numpy()[
            row_unit, row_drug]
        codes, _ = pd.factorize(groups, use_na_sentinel=True)
        present = np.isfinite(grid)
        for code in np.unique(codes[codes >= 0]):
            members = present[codes == code].sum(axis=0)
            rows = codes[row_unit] == code
            ref_entity_row[rows] = members[row_drug[rows]] - valid[rows]
    median_others = np.full(n, np.nan)
    for j in range(len(drugs)):
        rows = np.flatnonzero(row_drug == j)
        ordered = np.sort(grid[:, j][np.isfinite(grid[:, j])])
        median_others[rows] = _loo_quantile(ordered, dss[rows], valid[rows], 0.5)

    status = out["status"].to_numpy(dtype=object)
    plate = out["plate_qc"].to_numpy(dtype=object)
    outlier = scoring.call_outliers(
        np.where(valid, z_row, np.nan), np.where(valid, pct_row, np.nan), ref_row,
        z_high=SENSITIVE_Z, pct_high=SENSITIVE_PERCENTILE, z_low=-SENSITIVE_Z,
        pct_low=100.0 - SENSITIVE_PERCENTILE, min_reference=MIN_REFERENCE)
    with np.errstate(invalid="ignore"):
        active = dss >= DSS_ACTIVE
        call = np.select(
            [plate == "fail", status == "failed", ref_row < MIN_REFERENCE,
             active & (outlier == "high"), ~active & (outlier == "low"), active],
            ["qc_failed", "fit_failed", "insufficient_reference", "sensitive", "resistant",
             "active"], "inactive")
    out["valid"] = valid
    out["z_score"] = np.where(valid, z_row, np.nan)
    out["percentile_cohort"] = np.where(valid, pct_row, np.nan)
    out["percentile_entity"] = np.where(valid, pct_entity_row, np.nan)
    out["reference_size"] = pd.array(ref_row.astype("int64"), dtype="Int64")
    out["reference_size_entity"] = pd.array(ref_entity_row, dtype="Float64").astype("Int64")
    out["n_valid"] = n_valid.astype("int64")
    out["dss_median_others"] = median_others
    out["call"] = call.astype(object)
    return out


def _cohort_bands(scored: pd.DataFrame, report: np.ndarray) -> list[dict[str, Any]]:
    """The cohort band of each reported row: p10/p50/p90 of the other valid models' fitted
    viability on :data:`BAND_POINTS` log-spaced concentrations over the row's tested range.

    Rows of a drug that share a range share one grid, one evaluation of every valid curve and
    one sort per grid point; each row then leaves its own curve out (:func:`_loo_quantile`).
    """
    bands: list[dict[str, Any]] = [{} for _ in range(len(report))]
    if not len(report):
        return bands
    sub = scored.iloc[report]
    keys = list(zip(sub["drug"].astype(str), sub["cmin_um"], sub["cmax_um"], strict=True))
    by_key: dict[tuple[str, float, float], list[int]] = {}
    for i, key in enumerate(keys):
        by_key.setdefault(key, []).append(i)
    valid = scored["valid"].to_numpy(dtype=bool)
    drug_rows = {d: np.flatnonzero(valid & (scored["drug"].astype(str).to_numpy() == d))
                 for d in {k[0] for k in keys}}
    fits = scored["fit"].to_numpy(dtype=object)
    for (drug, cmin, cmax), members in by_key.items():
        if not (np.isfinite(cmin) and np.isfinite(cmax) and cmin > 0):
            for i in members:
                bands[i] = {"log10_conc": [], "p10": [], "p50": [], "p90": []}
            continue
        grid = np.linspace(np.log10(cmin), np.log10(cmax), BAND_POINTS)
        others = drug_rows[drug]
        curves = (np.vstack([np.asarray(fits[k].viability(grid), dtype="float64")
                             for k in others]) if len(others)
                  else np.empty((0, BAND_POINTS)))
        finite = np.isfinite(curves).all(axis=1)
        curves, others = curves[finite], others[finite]
        ordered = np.sort(curves, axis=0)
        position = {int(k): p for p, k in enumerate(others)}
        rows = report[members]
        own = np.full((len(rows), BAND_POINTS), np.nan)
        member = np.array([int(k) in position for k in rows], dtype=bool)
        for i, k in enumerate(rows):
            if member[i]:
                own[i] = curves[position[int(k)]]
        quantiles = {}
        for q in BAND_QUANTILES:
            values = np.full((len(rows), BAND_POINTS), np.nan)
            for g in range(BAND_POINTS):
                values[:, g] = _loo_quantile(ordered[:, g], own[:, g], member, q / 100.0)
            quantiles[f"p{int(q)}"] = values
        log10_conc = grid.tolist()
        for i, local in enumerate(members):
            bands[local] = {"log10_conc": log10_conc,
                            **{name: v[i].tolist() for name, v in quantiles.items()}}
    return bands


def drug_screen_findings(
    readings: pd.DataFrame | None = None,
    *,
    fits: pd.DataFrame | None = None,
    patients: pd.Series,
    entities: pd.Series | None = None,
    samples: list[str] | None = None,
) -> pd.DataFrame:
    """Drug-sensitivity Findings of ``samples`` (default: all), scored against the cohort.

    Runs :func:`fit_screens` (unless given its result) and :func:`score_screens` on the whole
    cohort and emits one finding per (sample, model, drug) of the reported samples: layer
    ``drug_screen``, kind ``drug_sensitivity``, gene None, feature = canonical drug, value =
    DSS3, the cohort scores and the call, and the provenance of the spec (method, assay,
    model, fit, DSS, plates, points, cohort band, thresholds).

    Parameters
    ----------
    readings
        The ``drug_screen`` table of every model of the cohort (``sample_id`` or ``sample``
        column; an ``assay`` column with the assay uid is copied into the provenance).
    fits
        Instead of ``readings``: :func:`fit_screens` of the cohort, e.g. fitted in parts on
        several workers and concatenated (fits are per (sample, model, drug), so the parts
        of a cohort split by sample concatenate to the whole).
    patients
        Sample -> patient id.
    entities
        Sample -> entity (OncoTree code), for the within-entity percentiles.
    samples
        Samples to report; every model of ``readings`` is still part of the reference.

    Returns
    -------
    pandas.DataFrame
        A findings table (:func:`tumorboard.model.findings_frame`).

    Raises
    ------
    TypeError
        Unless exactly one of ``readings`` and ``fits`` is given (a caller error).
    """
    if (readings is None) == (fits is None):
        raise TypeError("drug_screen_findings takes either readings or fits, not both")
    scored = score_screens(fit_screens(readings) if fits is None else fits,
                           entities=entities)
    if scored.empty:
        return findings_frame()
    wanted = np.ones(len(scored), dtype=bool) if samples is None else (
        scored["sample"].isin(list(samples)).to_numpy(dtype=bool))
    report = np.flatnonzero(wanted)
    if not len(report):
        return findings_frame()
    rows = scored.iloc[report].reset_index(drop=True)
    bands = _cohort_bands(scored, report)
    thresholds = call_thresholds()
    provenance = []
    for row, band, ref_entity in zip(rows.itertuples(index=False), bands,
                                     int_list(rows["reference_size_entity"]), strict=True):
        provenance.append({
            "method": METHOD, "assay": row.assay, "model": row.model,
            "model_type": row.model_type, "drug_as_given": row.drug_as_given,
            "agents": list(row.agents), "fit": row.fit.to_dict(),
            "cmin_um": row.cmin_um, "cmax_um": row.cmax_um,
            "dss": {"dss1": row.dss1, "dss2": row.dss2, "dss3": row.dss3,
                    "threshold_pct": doseresponse.DSS_RESPONSE_THRESHOLD},
            "plates": row.plates,
            "points": {"conc_um": row.conc_um, "viability": row.viability},
            "cohort": {"n": int(row.n_valid), "dss_median_others": row.dss_median_others,
                       "reference_size_entity": ref_entity, **band},
            "thresholds": thresholds,
        })
    sample_ids = rows["sample"].astype(object).to_numpy()
    return findings_frame(pd.DataFrame({
        "patient": patients.reindex(sample_ids).to_numpy(dtype=object),
        "sample": sample_ids,
        "layer": LAYER,
        "gene": None,
        "feature": rows["drug"].astype(object).to_numpy(),
        "kind": KIND,
        "value": rows["dss3"].to_numpy(dtype="float64"),
        "z_score": rows["z_score"].to_numpy(dtype="float64"),
        "percentile_cohort": rows["percentile_cohort"].to_numpy(dtype="float64"),
        "percentile_entity": rows["percentile_entity"].to_numpy(dtype="float64"),
        "reference_size": rows["reference_size"].to_numpy(),
        "call": rows["call"].to_numpy(dtype=object),
        "provenance": provenance,
    }))
