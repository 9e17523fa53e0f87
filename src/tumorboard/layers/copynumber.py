"""Copy-number layer: purity- and ploidy-aware gene calls, focal versus arm-level extent.

Input is the store's ``gene_copy_number`` table (one row per gene and sample, the values of the
segment covering most of the gene) and, for the extent of each event, the ``segments`` table,
both with a ``sample_id`` column (:data:`tumorboard.io.tables.TABLES`). Output is a findings
table of layer ``copy_number`` with kinds ``amplification``, ``gain``, ``loss`` and ``deletion``
(homozygous), one per non-neutral gene: ``feature`` ``'MDM2 amplification'``, ``value`` the
estimated absolute copy number, ``call`` ``focal`` / ``arm_level`` (or ``extent_unknown``
without segments), and the log2 ratio, purity, ploidy, segment and thresholds in provenance.

Absolute copy number
--------------------
When the caller gives absolute copy number (ASCAT ``nMajor + nMinor``, FACETS ``tcn.em``), it is
used as is. Otherwise the log2 ratio ``r`` is converted with tumour purity ``p`` and tumour
ploidy ``P``. A segment with ``n`` copies in the tumour cells and 2 in the normal cells has, in
the mixture, ``p*n + 2*(1-p)`` copies against an average of ``p*P + 2*(1-p)``; the ratio
``2**r`` of the two gives

    n = (2**r * (p*P + 2*(1-p)) - 2*(1-p)) / p

(ABSOLUTE's relation R = (p*q + 2(1-p)) / D with D = p*tau + 2(1-p): Carter et al., Nat
Biotechnol 2012, doi:10.1038/nbt.2203; for P = 2 it is CNVkit's ``call --purity`` rescaling
n = (2*2**r - 2*(1-p)) / p, Talevich et al., PLoS Comput Biol 2016,
doi:10.1371/journal.pcbi.1004873, https://cnvkit.readthedocs.io/en/stable/calling.html).
Negative estimates (noise at low purity) are set to 0. Without a purity the sample is treated as
pure (p = 1), as CNVkit does, and the provenance says so. Sex chromosomes are called against the
same ploidy as the autosomes (the tables do not carry the patient's sex).

Thresholds (relative to the ploidy ``P``)
-----------------------------------------
- ``deletion`` (homozygous): n < 0.5, i.e. no copy left after rounding; PURPLE's deletion
  driver rule "minimum copy number < 0.5" (Priestley et al., Nature 2019,
  doi:10.1038/s41586-019-1689-y; hmftools PURPLE driver catalog).
- ``loss``: 0.5 <= n < P - 0.5, ``gain``: n >= P + 0.5, i.e. the rounded copy number below or
  above the ploidy, the GDC's categories "loss: 0 < copy number < ploidy" and "gain: ploidy <
  copy number" (GDC, "How are the five categories of copy number changes determined?",
  gdc.cancer.gov) applied to non-integer estimates.
- ``amplification``: n > 3 * P, PURPLE's amplification driver rule "minimum exonic copy number
  > 3 x sample ploidy" (Priestley et al. 2019). ``amplification_factor=2`` comes close to the
  GDC's looser "copy number >= 2 x ploidy" (which also includes 2 x ploidy itself).

Focal versus arm-level
----------------------
Adjacent segments of a sample on the same chromosome that reach the gene's level (at least a
gain for gains, at least an amplification for amplifications, likewise downwards) are merged
into one event, as Taylor et al. merge adjacent segments with the same call before measuring
arms (Cancer Cell 2018, doi:10.1016/j.ccell.2018.03.007). The event is ``arm_level`` when it
covers at least 80 % of the gene's chromosome arm (Taylor et al.'s arm-call threshold), else
``focal``. A focal amplification inside an arm-level gain is therefore focal (MDM2/CDK4 in
dedifferentiated liposarcoma). Arm boundaries: ``knowledge/grch38_arms.tsv`` (UCSC hg38
cytoBand centromeres).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from tumorboard.layers._common import sample_column
from tumorboard.model import findings_frame

__all__ = [
    "CopyNumberParams",
    "absolute_copy_number",
    "arm_table",
    "copy_number_calls",
    "copy_number_findings",
]

LAYER = "copy_number"
#: Kind a neutral watch-list gene would get; emitted only if the model lists it for the layer.
NEUTRAL_KIND = "copy_number"
_LEVEL_KIND = {2: "amplification", 1: "gain", -1: "loss", -2: "deletion"}
_CHROM_BITS = 5  # chromosome codes < 32
_POS_BITS = 28  # GRCh38 chromosomes are < 2**28 bp


@dataclass(frozen=True)
class CopyNumberParams:
    """Thresholds of the copy-number layer (see the module docstring for the sources).

    Attributes
    ----------
    amplification_factor
        Amplification when copy number > this factor x ploidy (3, PURPLE; Priestley et al.,
        Nature 2019, doi:10.1038/s41586-019-1689-y).
    deletion_below
        Homozygous deletion when copy number < this (0.5, PURPLE).
    half_copy
        Gain when copy number >= ploidy + half_copy, loss when < ploidy - half_copy (0.5: the
        rounded copy number differs from the ploidy, GDC copy-number categories).
    arm_fraction
        An event covering at least this fraction of its chromosome arm is arm-level (0.8,
        Taylor et al., Cancer Cell 2018, doi:10.1016/j.ccell.2018.03.007).
    default_ploidy
        Tumour ploidy used when none is given for a sample (2, diploid).
    """

    amplification_factor: float = 3.0
    deletion_below: float = 0.5
    half_copy: float = 0.5
    arm_fraction: float = 0.8
    default_ploidy: float = 2.0

    def thresholds(self, ploidy: float) -> dict[str, float]:
        """The copy-number cut-offs for a given ploidy, for provenance and reports."""
        return {
            "amplification_above": self.amplification_factor * ploidy,
            "gain_from": ploidy + self.half_copy,
            "loss_below": ploidy - self.half_copy,
            "deletion_below": self.deletion_below,
        }


@cache
def arm_table() -> pd.DataFrame:
    """GRCh38 chromosome arms (``knowledge/grch38_arms.tsv``): chrom, arm, start, end (1-based,
    inclusive), centromere_start, centromere_end."""
    text = (resources.files("tumorboard.knowledge") / "grch38_arms.tsv").read_text("utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return pd.read_csv(io.StringIO(body), sep="\t",
                       dtype={"chrom": "string", "arm": "string", "start": "int64",
                              "end": "int64", "centromere_start": "int64",
                              "centromere_end": "int64"})


def absolute_copy_number(
    log2_ratio: np.ndarray | pd.Series | float,
    purity: np.ndarray | pd.Series | float,
    ploidy: np.ndarray | pd.Series | float = 2.0,
    normal_copies: np.ndarray | pd.Series | float = 2.0,
) -> np.ndarray:
    """Tumour-cell copy number from a log2 ratio, purity and ploidy (vectorised).

    ``n = (2**r * (p*P + c*(1-p)) - c*(1-p)) / p`` with ``c`` the normal cells' copies (2; 1 for
    chrX/chrY of a male), clipped at 0 (module docstring; Carter et al., Nat Biotechnol 2012,
    doi:10.1038/nbt.2203; Talevich et al., PLoS Comput Biol 2016,
    doi:10.1371/journal.pcbi.1004873). Purity NaN or outside (0, 1] counts as 1 (pure).
    """
    r = np.asarray(log2_ratio, dtype=np.float64)
    p = np.asarray(purity, dtype=np.float64)
    ploid = np.asarray(ploidy, dtype=np.float64)
    c = np.asarray(normal_copies, dtype=np.float64)
    p = np.where(np.isfinite(p) & (p > 0) & (p <= 1), p, 1.0)
    normal = c * (1.0 - p)
    with np.errstate(over="ignore"):
        n = (np.exp2(r) * (p * ploid + normal) - normal) / p
    return np.clip(n, 0.0, None)


def _levels(cn: np.ndarray, ploidy: np.ndarray, params: CopyNumberParams) -> np.ndarray:
    """-2 deletion, -1 loss, 0 neutral, 1 gain, 2 amplification; NaN copy number -> 0."""
    known = np.isfinite(cn)
    c = np.where(known, cn, ploidy)
    return np.select(
        [c < params.deletion_below,
         c < ploidy - params.half_copy,
         c > params.amplification_factor * ploidy,
         c >= ploidy + params.half_copy],
        [-2, -1, 2, 1],
        default=0,
    ).astype(np.int8)


def _per_sample(values: Mapping[str, Any] | pd.Series | float | None, samples: np.ndarray,
                default: float) -> np.ndarray:
    if values is None:
        return np.full(len(samples), default, dtype=np.float64)
    if np.isscalar(values):
        return np.full(len(samples), float(values), dtype=np.float64)  # type: ignore[arg-type]
    series = values if isinstance(values, pd.Series) else pd.Series(dict(values), dtype=float)
    out = pd.to_numeric(series, errors="coerce").reindex(samples).to_numpy(dtype=np.float64)
    return np.where(np.isfinite(out), out, default)


def _expected(frame: pd.DataFrame, samples: np.ndarray, ploidy: np.ndarray,
              sex: Mapping[str, str] | pd.Series | None) -> tuple[np.ndarray, np.ndarray,
                                                                    np.ndarray]:
    """Per row: expected tumour copies (ploidy, halved on a male's X/Y), normal-cell copies,
    and whether the row is on chrY of a female (not callable)."""
    sexes = _sex_series(sex).reindex(samples)
    chrom = (frame["chrom"].astype("string") if "chrom" in frame
             else pd.Series(pd.NA, index=frame.index, dtype="string"))
    on_x = chrom.eq("chrX").fillna(False).to_numpy(dtype=bool)
    on_y = chrom.eq("chrY").fillna(False).to_numpy(dtype=bool)
    male = sexes.eq("male").fillna(False).to_numpy(dtype=bool)
    female = sexes.eq("female").fillna(False).to_numpy(dtype=bool)
    haploid = male & (on_x | on_y)
    expected = np.where(haploid, ploidy / 2.0, ploidy)
    normal = np.where(haploid, 1.0, 2.0)
    return expected, normal, female & on_y


def _sex_series(sex: Mapping[str, str] | pd.Series | None) -> pd.Series:
    values = dict(sex.items()) if isinstance(sex, pd.Series) else dict(sex or {})
    return pd.Series(values, dtype="string").str.lower()


def _estimate(frame: pd.DataFrame, samples: np.ndarray, purity: np.ndarray, ploidy: np.ndarray,
              normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Copy number per row (total_cn if given, else converted log2) and its source."""
    total = (frame["total_cn"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
             if "total_cn" in frame else np.full(len(frame), np.nan))
    log2 = (frame["log2_ratio"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            if "log2_ratio" in frame else np.full(len(frame), np.nan))
    converted = absolute_copy_number(log2, purity, ploidy, normal)
    has_total = np.isfinite(total)
    cn = np.where(has_total, total, converted)
    source = np.where(has_total, "total_cn", np.where(np.isfinite(log2), "log2_ratio", "none"))
    return cn, source


def copy_number_calls(
    gene_copy_number: pd.DataFrame,
    segments: pd.DataFrame | None = None,
    *,
    purity: Mapping[str, float] | pd.Series | float | None = None,
    ploidy: Mapping[str, float] | pd.Series | float | None = None,
    sex: Mapping[str, str] | pd.Series | None = None,
    params: CopyNumberParams = CopyNumberParams(),
) -> pd.DataFrame:
    """Every gene of ``gene_copy_number`` with its copy-number estimate, level and extent.

    ``sex`` (sample id -> ``male``/``female``) sets the expected copies of chrX and chrY: a
    male's X and Y are expected at half the ploidy with one copy in normal cells; a female's
    chrY genes are not called. Without it, X and Y are called like autosomes (a male's X then
    looks like an arm-level loss; the provenance says the sex was unknown).

    Returns
    -------
    pandas.DataFrame
        The input columns plus ``cn`` (estimated copy number), ``cn_source``, ``purity``
        (NaN when not given), ``ploidy``, ``level`` (-2..2), ``kind`` (NA when neutral),
        ``arm``, ``event_chrom``/``event_start``/``event_end`` (merged segments reaching the
        gene's level), ``arm_fraction`` and ``extent`` (``focal`` / ``arm_level`` /
        ``extent_unknown``; NA when neutral), ``segment_start``/``segment_end`` (the segment
        under the gene's midpoint).
    """
    genes = gene_copy_number.reset_index(drop=True)
    col = sample_column(genes, "copy-number")
    samples = genes[col].astype("string").to_numpy(dtype=object) if len(genes) else np.array([])
    pur = _per_sample(purity, samples, np.nan)
    ploid = _per_sample(ploidy, samples, params.default_ploidy)
    expected, normal, skip = _expected(genes, samples, ploid, sex)
    cn, source = _estimate(genes, samples, pur, expected, normal)
    level = np.where(skip, 0, _levels(cn, expected, params)).astype(np.int8)
    out = genes.copy()
    out["cn"] = cn
    out["cn_source"] = source
    out["purity"] = pur
    out["ploidy"] = ploid
    out["expected_cn"] = expected
    out["sex"] = _sex_series(sex).reindex(samples).to_numpy()
    out["level"] = level
    out["kind"] = pd.Series(level, dtype="Int64").map(_LEVEL_KIND).astype("string").to_numpy()
    for name in ("arm", "event_chrom", "extent"):
        out[name] = pd.Series(pd.NA, index=out.index, dtype="string")
    for name in ("event_start", "event_end", "segment_start", "segment_end"):
        out[name] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    out["arm_fraction"] = np.nan
    if not len(out):
        return out
    _extent(out, col, segments, purity, ploidy, sex, params)
    out.loc[out["level"] == 0, "extent"] = pd.NA
    return out


def _extent(out: pd.DataFrame, col: str, segments: pd.DataFrame | None,
            purity: Any, ploidy: Any, sex: Any, params: CopyNumberParams) -> None:
    """Fill arm, event and extent columns of ``out`` in place (vectorised over samples)."""
    arms = arm_table()
    chrom_codes = {c: i + 1 for i, c in enumerate(arms["chrom"].drop_duplicates())}
    p_arm = arms[arms["arm"].str.endswith("p")].set_index("chrom")
    q_arm = arms[arms["arm"].str.endswith("q")].set_index("chrom")

    g_chrom = out["chrom"].astype("string")
    g_mid = ((out["start"].astype("Float64") + out["end"].astype("Float64")) // 2)
    g_mid_np = g_mid.to_numpy(dtype=float, na_value=np.nan)
    g_code = g_chrom.map(chrom_codes).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    located = np.isfinite(g_mid_np) & np.isfinite(g_code)
    cen_start = g_chrom.map(p_arm["end"]).astype("Float64").to_numpy(dtype=float,
                                                                     na_value=np.nan)
    cen_end = g_chrom.map(q_arm["start"]).astype("Float64").to_numpy(dtype=float,
                                                                     na_value=np.nan)
    # Midpoints inside the centromere go to the nearer arm.
    is_p = g_mid_np < (cen_start + cen_end) / 2
    arm_name = np.where(is_p, g_chrom.str.removeprefix("chr").to_numpy(dtype=object) + "p",
                        g_chrom.str.removeprefix("chr").to_numpy(dtype=object) + "q")
    arm_start = np.where(is_p, 1, cen_end)
    arm_end = np.where(is_p, cen_start, g_chrom.map(q_arm["end"]).astype("Float64")
                       .to_numpy(dtype=float, na_value=np.nan))
    out["arm"] = pd.array(np.where(located, arm_name, None), dtype="string")

    if segments is None or not len(segments):
        out.loc[located, "extent"] = "extent_unknown"
        return
    seg = segments.reset_index(drop=True)
    s_col = sample_column(seg, "copy-number")
    seg = seg[seg["chrom"].astype("string").isin(list(chrom_codes))]
    if not len(seg):
        out.loc[located, "extent"] = "extent_unknown"
        return
    s_samples = seg[s_col].astype("string").to_numpy(dtype=object)
    s_pur = _per_sample(purity, s_samples, np.nan)
    s_ploid = _per_sample(ploidy, s_samples, params.default_ploidy)
    s_expected, s_normal, s_skip = _expected(seg, s_samples, s_ploid, sex)
    s_cn, _ = _estimate(seg, s_samples, s_pur, s_expected, s_normal)
    s_level = np.where(s_skip, 0, _levels(s_cn, s_expected, params)).astype(np.int8)

    all_samples = pd.Index(pd.unique(np.concatenate([s_samples,
                                                     out[col].astype("string")
                                                     .to_numpy(dtype=object)])))
    s_scode = all_samples.get_indexer(s_samples).astype(np.int64)
    s_ccode = seg["chrom"].astype("string").map(chrom_codes).to_numpy(dtype=np.int64)
    s_start = seg["start"].to_numpy(dtype=np.int64)
    s_end = seg["end"].to_numpy(dtype=np.int64)
    group = (s_scode << _CHROM_BITS) | s_ccode
    order = np.lexsort((s_start, group))
    group, s_start, s_end, s_level = group[order], s_start[order], s_end[order], s_level[order]
    s_chrom_name = seg["chrom"].astype("string").to_numpy(dtype=object)[order]

    # Overlap of each segment with the p and q arm of its chromosome.
    pa_end = pd.Series(s_chrom_name).map(p_arm["end"]).to_numpy(dtype=np.int64)
    qa_start = pd.Series(s_chrom_name).map(q_arm["start"]).to_numpy(dtype=np.int64)
    qa_end = pd.Series(s_chrom_name).map(q_arm["end"]).to_numpy(dtype=np.int64)
    ov_p = np.clip(np.minimum(s_end, pa_end) - s_start + 1, 0, None)
    ov_q = np.clip(s_end - np.maximum(s_start, qa_start) + 1, 0, None)
    ov_q = np.where(s_start > qa_end, 0, ov_q)

    # Gene -> segment under its midpoint.
    key = (group << _POS_BITS) | s_start
    g_scode = all_samples.get_indexer(out[col].astype("string").to_numpy(dtype=object))
    g_group = (g_scode.astype(np.int64) << _CHROM_BITS) | np.where(located, g_code, 0).astype(
        np.int64)
    g_key = (g_group << _POS_BITS) | np.where(located, g_mid_np, 0).astype(np.int64)
    idx = np.searchsorted(key, g_key, side="right") - 1
    idx_c = np.clip(idx, 0, len(key) - 1)
    covered = (located & (idx >= 0) & (group[idx_c] == g_group)
               & (s_end[idx_c] >= np.where(located, g_mid_np, 0)))
    out["segment_start"] = pd.array(np.where(covered, s_start[idx_c], 0), dtype="Int64")
    out["segment_end"] = pd.array(np.where(covered, s_end[idx_c], 0), dtype="Int64")
    out.loc[~covered, ["segment_start", "segment_end"]] = pd.NA

    g_level = out["level"].to_numpy()
    ev_start = np.zeros(len(out), dtype=np.int64)
    ev_end = np.zeros(len(out), dtype=np.int64)
    frac = np.full(len(out), np.nan)
    found = np.zeros(len(out), dtype=bool)
    new_group = np.ones(len(group), dtype=bool)
    new_group[1:] = group[1:] != group[:-1]
    for lvl in (2, 1, -1, -2):  # four levels, each vectorised over all segments
        cond = s_level >= lvl if lvl > 0 else s_level <= lvl
        prev = np.concatenate([[False], cond[:-1]])
        starts = cond & (new_group | ~prev)
        run = np.cumsum(starts) - 1
        n_runs = int(starts.sum())
        if n_runs == 0:
            continue
        w = cond.astype(np.float64)
        sum_p = np.bincount(run[cond], weights=ov_p[cond] * w[cond], minlength=n_runs)
        sum_q = np.bincount(run[cond], weights=ov_q[cond] * w[cond], minlength=n_runs)
        r_start = np.full(n_runs, np.iinfo(np.int64).max)
        np.minimum.at(r_start, run[cond], s_start[cond])
        r_end = np.zeros(n_runs, dtype=np.int64)
        np.maximum.at(r_end, run[cond], s_end[cond])
        pick = covered & (g_level == lvl) & cond[idx_c]
        rid = run[idx_c[pick]]
        arm_len = (arm_end[pick] - arm_start[pick] + 1).astype(np.float64)
        ov = np.where(is_p[pick], sum_p[rid], sum_q[rid])
        frac[pick] = ov / arm_len
        ev_start[pick] = r_start[rid]
        ev_end[pick] = r_end[rid]
        found |= pick
    out["arm_fraction"] = frac
    out["event_start"] = pd.array(np.where(found, ev_start, 0), dtype="Int64")
    out["event_end"] = pd.array(np.where(found, ev_end, 0), dtype="Int64")
    out.loc[~found, ["event_start", "event_end"]] = pd.NA
    out["event_chrom"] = pd.array(np.where(found, g_chrom.to_numpy(dtype=object), None),
                                  dtype="string")
    extent = np.where(found, np.where(frac >= params.arm_fraction, "arm_level", "focal"),
                      np.where(located, "extent_unknown", None))
    out["extent"] = pd.array(extent, dtype="string")


def copy_number_findings(
    gene_copy_number: pd.DataFrame,
    segments: pd.DataFrame | None = None,
    *,
    patients: Mapping[str, str] | pd.Series,
    purity: Mapping[str, float] | pd.Series | float | None = None,
    ploidy: Mapping[str, float] | pd.Series | float | None = None,
    sex: Mapping[str, str] | pd.Series | None = None,
    params: CopyNumberParams = CopyNumberParams(),
    genes: Iterable[str] = (),
) -> pd.DataFrame:
    """Findings of the copy-number layer: one per non-neutral gene and sample.

    Parameters
    ----------
    gene_copy_number
        The store's ``gene_copy_number`` table (with ``sample_id``).
    segments
        The store's ``segments`` table of the same samples; without it the extent is
        ``extent_unknown``.
    patients
        Sample id -> patient id; every sample of ``gene_copy_number`` must be listed.
    purity
        Sample id -> tumour cell content (0-1, the sample's ``tumour_cell_content``); missing:
        no purity correction (recorded).
    ploidy
        Sample id -> tumour ploidy (or one number); missing: ``params.default_ploidy``.
    sex
        Sample id -> patient sex (``male``/``female``), for chrX/chrY (see
        :func:`copy_number_calls`).
    genes
        Watch-list genes reported even when neutral, as kind :data:`NEUTRAL_KIND` with call
        ``neutral``.

    Returns
    -------
    pandas.DataFrame
        Findings (:data:`tumorboard.model.FINDING_COLUMNS`), layer ``copy_number``.
    """
    calls = copy_number_calls(gene_copy_number, segments, purity=purity, ploidy=ploidy,
                              sex=sex, params=params)
    col = sample_column(calls, "copy-number")
    if not len(calls):
        return findings_frame()
    mapping = dict(patients.items()) if isinstance(patients, pd.Series) else dict(patients)
    missing = sorted(set(calls[col].dropna()) - set(mapping))
    if missing:
        raise ValueError(f"no patient given for sample(s) {', '.join(missing)}")

    keep = (calls["level"] != 0) | calls["gene"].isin(set(genes))
    rows = calls[keep]
    if not len(rows):
        return findings_frame()
    kind = rows["kind"].fillna(NEUTRAL_KIND)
    call = rows["extent"].fillna("neutral")
    provenance = _provenance(rows, params)
    frame = pd.DataFrame({
        "patient": rows[col].map(mapping).to_numpy(),
        "sample": rows[col].to_numpy(),
        "layer": LAYER,
        "gene": rows["gene"].to_numpy(),
        "feature": (rows["gene"].astype("string") + " " + kind).to_numpy(),
        "kind": kind.to_numpy(),
        "value": rows["cn"].to_numpy(dtype=float),
        "z_score": np.nan,
        "call": call.to_numpy(),
        "provenance": provenance,
    })
    return findings_frame(frame)


def _values(series: pd.Series | None, n: int) -> list[Any]:
    """Column as a list of Python scalars with None for missing (fast, no per-cell checks)."""
    if series is None:
        return [None] * n
    if pd.api.types.is_float_dtype(series.dtype) and not isinstance(series.dtype,
                                                                     pd.Float64Dtype):
        arr = series.to_numpy(dtype=float)
        return np.where(np.isfinite(arr), arr, None).tolist()
    return series.astype(object).where(series.notna(), None).tolist()


def _locus(chrom: pd.Series, start: pd.Series, end: pd.Series) -> list[Any]:
    text = (chrom.astype("string") + ":" + start.astype("Int64").astype("string") + "-"
            + end.astype("Int64").astype("string"))
    return _values(text, len(text))


def _provenance(rows: pd.DataFrame, params: CopyNumberParams) -> list[dict[str, Any]]:
    """One provenance dict per finding, built column-wise (millions of rows for a cohort)."""
    n = len(rows)
    settings = asdict(params)
    thresholds = {v: params.thresholds(v) for v in np.unique(rows["expected_cn"])}
    cn = rows["cn"].to_numpy(dtype=float)
    cn_list = np.where(np.isfinite(cn), np.round(cn, 3), None).tolist()
    purity = _values(rows["purity"], n)
    source = rows["cn_source"].tolist()
    no_purity = "no purity given: sample treated as pure (copy number may be underestimated)"
    sex = _values(rows["sex"].astype("string"), n)
    on_xy = rows["chrom"].astype("string").isin(["chrX", "chrY"]).fillna(False).tolist()
    no_sex = "sex unknown: chrX/chrY called against the autosomal ploidy"
    event_start = _values(rows["event_start"], n)
    event_end = _values(rows["event_end"], n)
    event_region = _locus(rows["event_chrom"], rows["event_start"], rows["event_end"])
    arm = _values(rows["arm"], n)
    frac = np.round(rows["arm_fraction"].to_numpy(dtype=float), 4)
    events = [
        None if a is None else {"region": reg, "length_bp": b - a + 1, "arm": ar,
                                "arm_fraction": fr}
        for a, b, reg, ar, fr in zip(event_start, event_end, event_region, arm, frac.tolist(),
                                     strict=True)
    ]
    columns = {
        "cn": cn_list,
        "cn_source": source,
        "log2_ratio": _values(rows.get("log2_ratio"), n),
        "total_cn": _values(rows.get("total_cn"), n),
        "purity": purity,
        "ploidy": rows["ploidy"].astype(float).tolist(),
        "expected_cn": rows["expected_cn"].astype(float).tolist(),
        "sex": sex,
        "gene_locus": _locus(rows["chrom"], rows["start"], rows["end"]),
        "segment": _locus(rows["chrom"], rows["segment_start"], rows["segment_end"]),
        "segment_fraction": _values(rows.get("segment_fraction"), n),
        "n_segments": _values(rows.get("n_segments"), n),
        "event": events,
    }
    keys = list(columns)
    out = []
    for i, values in enumerate(zip(*columns.values(), strict=True)):
        prov = dict(zip(keys, values, strict=True))
        prov["method"] = "tumorboard.layers.copynumber.copy_number_findings"
        prov["purity_note"] = (no_purity if purity[i] is None and source[i] == "log2_ratio"
                               else None)
        prov["sex_note"] = no_sex if on_xy[i] and sex[i] not in ("male", "female") else None
        prov["thresholds"] = thresholds[prov["expected_cn"]]
        prov["arm_fraction_threshold"] = params.arm_fraction
        prov["params"] = settings
        out.append(prov)
    return out
