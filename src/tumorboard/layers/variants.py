"""Small-variant layer: filters, hotspot and gene-role annotation, tumour mutational burden.

Input is the store's ``variants`` table (:data:`tumorboard.io.tables.TABLES`) of one or more
tumour samples, with a ``sample_id`` column. Output is a findings table
(:func:`tumorboard.model.findings_frame`) of layer ``variants``:

- kind ``mutation``, one per reportable variant: ``feature`` ``'BRAF p.Val600Glu'`` (or HGVSc,
  or ``chrom:pos ref>alt`` without a protein change), ``value`` the variant allele fraction, and
  ``call`` one of

  * ``hotspot``: a single-residue change (missense, nonsense) or a splice-site change at a
    recurrent hotspot of cancerhotspots.org v2 (Chang et al., Cancer Discov 2018,
    doi:10.1158/2159-8290.CD-17-0321), matched by gene, residue number and reference amino acid;
  * ``oncogenic_likely``: a truncating variant (nonsense, frameshift, canonical splice site,
    start loss) in a tumour suppressor gene. A null variant in a bona fide tumour suppressor is
    very strong evidence of oncogenicity (criterion OVS1 of the ClinGen/CGC/VICC oncogenicity
    SOP, Horak et al., Genet Med 2022, doi:10.1016/j.gim.2022.01.001);
  * ``vus``: everything else that passed the filters (variant of uncertain significance).

- kind ``tmb``, one per sample: ``feature`` ``'TMB'``, ``value`` mutations per megabase, ``call``
  ``high`` at >= 10 mut/Mb (the FDA tissue-agnostic pembrolizumab threshold, KEYNOTE-158;
  Marabelle et al., Lancet Oncol 2020, doi:10.1016/S1470-2045(20)30445-9), else ``low``.

Gene roles (oncogene / tumour suppressor) come from ``knowledge/gene_roles.tsv`` (Vogelstein et
al., Science 2013, doi:10.1126/science.1235122, plus cited additions), hotspots from
``knowledge/cancer_hotspots_v2.tsv`` (derived from cancerhotspots.org v2; see the knowledge
README). Both are read once and cached.
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
    "NONSYNONYMOUS_CODING",
    "TRUNCATING",
    "VariantParams",
    "annotate_variants",
    "gene_roles",
    "hotspot_table",
    "parse_hgvsp",
    "tumour_mutational_burden",
    "variant_findings",
]

LAYER = "variants"

#: Sequence Ontology terms of non-synonymous coding variants: the Ensembl VEP consequences that
#: the GDC MAF specification maps to the MAF classes maftools counts as non-synonymous
#: (``Missense_Mutation``, ``Nonsense_Mutation``, ``Nonstop_Mutation``,
#: ``Translation_Start_Site``, ``Frame_Shift_Del/Ins``, ``In_Frame_Del/Ins``, ``Splice_Site``;
#: maftools ``vc_nonSyn``, Mayakonda et al., Genome Res 2018, doi:10.1101/gr.239244.118; GDC
#: MAF Format v1.0.0, https://docs.gdc.cancer.gov/Data/File_Formats/MAF_Format/).
NONSYNONYMOUS_CODING: tuple[str, ...] = (
    "missense_variant",
    "stop_gained",
    "stop_lost",
    "start_lost",
    "frameshift_variant",
    "inframe_insertion",
    "inframe_deletion",
    "protein_altering_variant",
    "splice_acceptor_variant",
    "splice_donor_variant",
)

#: Consequences that truncate the protein or abolish it: the "null variant" types of criterion
#: OVS1 (nonsense, frameshift, canonical +/-1,2 splice sites, initiation codon; Horak et al.,
#: Genet Med 2022, doi:10.1016/j.gim.2022.01.001).
TRUNCATING: tuple[str, ...] = (
    "stop_gained",
    "frameshift_variant",
    "splice_acceptor_variant",
    "splice_donor_variant",
    "start_lost",
)

#: IUPAC three-letter amino acid codes -> one letter (HGVS uses both; ``Ter``/``*`` = stop).
_AA3 = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
    "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
    "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Ter": "*",
    "Sec": "U", "Pyl": "O", "Xaa": "X",
}
_AA = "(?:" + "|".join(_AA3) + r"|[ACDEFGHIKLMNPQRSTVWYUOX*])"
#: p.(Val600Glu) / p.V600E / p.Arg80Ter / p.Glu746_Ala750del / p.Arg130fs / p.X125_splice
_HGVSP = (
    rf"^p\.\(?(?P<ref>{_AA})(?P<start>\d+)"
    rf"(?:_(?P<ref_end>{_AA})(?P<end>\d+))?"
    r"(?P<rest>[^)]*)\)?$"
)
_SPLICE = r"^p\.X(?P<start>\d+)_splice$"


@dataclass(frozen=True)
class VariantParams:
    """Filters and thresholds of the small-variant layer.

    Attributes
    ----------
    min_depth
        Minimum tumour read depth at the variant. Default 20: "at least 20X coverage ... is
        required to make accurate calls" (Griffith lab somatic variant refinement SOP,
        pmbio.org "Somatic SNV and Indel Manual Review"; Barnell et al., Genet Med 2019,
        doi:10.1038/s41436-018-0278-z).
    min_alt_depth
        Minimum reads supporting the alternative allele. Default 5 (same SOP: "we require at
        least 5 variant-supporting reads to confidently call a variant as somatic").
    min_vaf
        Minimum variant allele fraction. Default 0.05 (same SOP: "at least 5% VAF is required to
        make confident calls (given 20X coverage)"; also the cut-off of the tumour-only TMB
        comparison of Parikh et al., JAMA Netw Open 2020, doi:10.1001/jamanetworkopen.2020.0202).
        Depth, alt depth and VAF missing in the input (NA) are not held against a variant;
        the provenance says which were unavailable.
    pass_only
        Report only variants whose caller FILTER is ``PASS``. TMB always counts PASS variants
        only, whatever this says.
    consequences
        Sequence Ontology terms of reportable (and TMB-counted) variants; a variant qualifies if
        any of its '&'-joined terms is listed. Default :data:`NONSYNONYMOUS_CODING`.
    impacts
        VEP IMPACT classes kept (default HIGH, MODERATE: the protein-altering classes of the
        Ensembl VEP consequence table, https://www.ensembl.org/info/genome/variation/
        prediction/predicted_data.html). A missing impact does not exclude a variant.
    territory_mb
        Coding territory in megabases that TMB divides by. Default 35.0 Mb, the size of the
        protein-coding exome assumed by tumorboard's whole-exome TMB (the same value the
        simulator uses); set it to the coding target size of a panel or capture kit, as the
        TMB harmonisation project requires (Merino et al., J Immunother Cancer 2020,
        doi:10.1136/jitc-2019-000147; Chalmers et al., Genome Med 2017,
        doi:10.1186/s13073-017-0424-2, TMB = mutations per Mb of interrogated coding sequence).
    tmb_high
        TMB (mut/Mb) at or above which the call is ``high``: 10 mut/Mb, the FDA threshold for
        pembrolizumab in TMB-high solid tumours (KEYNOTE-158; Marabelle et al., Lancet Oncol
        2020, doi:10.1016/S1470-2045(20)30445-9; Keytruda prescribing information 2020). That
        threshold was set with the FoundationOne CDx panel; exome TMB is comparable only
        approximately (Merino et al. 2020).
    """

    min_depth: int = 20
    min_alt_depth: int = 5
    min_vaf: float = 0.05
    pass_only: bool = True
    consequences: tuple[str, ...] = NONSYNONYMOUS_CODING
    impacts: tuple[str, ...] = ("HIGH", "MODERATE")
    territory_mb: float = 35.0
    tmb_high: float = 10.0

    def __post_init__(self) -> None:
        if self.territory_mb <= 0:
            raise ValueError("territory_mb must be positive")


#: Why tumour-only TMB is biased upward, recorded in the provenance of such samples.
TUMOUR_ONLY_CAVEAT = (
    "tumour-only sequencing: without a matched normal, private germline variants that survive "
    "population-database filtering are counted as somatic and inflate TMB (Parikh et al., "
    "JAMA Netw Open 2020, doi:10.1001/jamanetworkopen.2020.0202)"
)


# ---------------------------------------------------------------------------------------------
# Knowledge
# ---------------------------------------------------------------------------------------------


def _read_knowledge_tsv(name: str, dtype: dict[str, str]) -> pd.DataFrame:
    text = (resources.files("tumorboard.knowledge") / name).read_text("utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return pd.read_csv(io.StringIO(body), sep="\t", dtype=dtype, keep_default_na=False,
                       na_values=[""])


@cache
def hotspot_table() -> pd.DataFrame:
    """Cancer hotspots v2 residues (``knowledge/cancer_hotspots_v2.tsv``), one row per residue.

    Columns: gene, position, residue_type (``residue`` / ``splice``), ref_aa (one letter, or
    ``splice``), mutation_count, variant_aa (``'E:833|M:29|...'``), qvalue, source_symbol.
    """
    return _read_knowledge_tsv(
        "cancer_hotspots_v2.tsv",
        {"gene": "string", "position": "int64", "residue_type": "string", "ref_aa": "string",
         "mutation_count": "int64", "variant_aa": "string", "qvalue": "float64",
         "source_symbol": "string"},
    )


@cache
def gene_roles() -> pd.DataFrame:
    """Oncogene / tumour suppressor roles (``knowledge/gene_roles.tsv``), indexed by gene.

    Columns: role (``oncogene`` / ``tsg``), source (a key of the file's source list),
    previous_symbol.
    """
    table = _read_knowledge_tsv(
        "gene_roles.tsv",
        {"gene": "string", "role": "string", "source": "string", "previous_symbol": "string"},
    )
    return table.set_index("gene")


# ---------------------------------------------------------------------------------------------
# HGVS protein notation
# ---------------------------------------------------------------------------------------------


def _one_letter(codes: pd.Series) -> pd.Series:
    return codes.map(lambda c: _AA3.get(c, c) if isinstance(c, str) else c).astype("string")


def parse_hgvsp(hgvsp: pd.Series) -> pd.DataFrame:
    """Residue, range and change type of HGVS protein changes, vectorised.

    Accepts the three-letter form VEP writes (``p.Val600Glu``, ``p.Arg80Ter``,
    ``p.Glu746_Ala750del``, ``p.Arg130GlyfsTer5``, ``p.Pro412=``), the one-letter MAF
    ``HGVSp_Short`` form (``p.V600E``, ``p.R80*``) and MAF splice notation ``p.X125_splice``
    (HGVS Nomenclature, https://hgvs-nomenclature.org/stable/recommendations/protein/).

    Returns
    -------
    pandas.DataFrame
        Same index; ``ref`` (one-letter reference amino acid at ``start``), ``start``, ``end``
        (Int64; ``end == start`` for a single residue), ``change``: ``substitution`` (missense
        or nonsense), ``synonymous``, ``frameshift``, ``inframe`` (deletion, insertion,
        duplication, delins over a range or at one residue), ``splice``, ``other``; NA where
        the string is not a protein change.
    """
    text = hgvsp.astype("string").str.strip()
    uniq = pd.Series(text.dropna().unique(), dtype="string")
    out = pd.DataFrame({"ref": pd.Series(pd.NA, index=uniq.index, dtype="string"),
                        "start": pd.Series(pd.NA, index=uniq.index, dtype="Int64"),
                        "end": pd.Series(pd.NA, index=uniq.index, dtype="Int64"),
                        "change": pd.Series(pd.NA, index=uniq.index, dtype="string")})
    splice = uniq.str.extract(_SPLICE)
    is_splice = splice["start"].notna()
    parts = uniq.str.extract(_HGVSP)
    ok = parts["start"].notna() & ~is_splice
    rest = parts["rest"].fillna("")
    ranged = parts["end"].notna()
    alt_aa = rest.str.fullmatch(_AA)
    change = np.select(
        [
            is_splice.to_numpy(),
            (ok & rest.str.contains("fs", regex=False)).to_numpy(),
            (ok & ~ranged & (rest == "=")).to_numpy(),
            (ok & ~ranged & alt_aa).to_numpy(),
            (ok & rest.str.contains(r"del|dup|ins", regex=True)).to_numpy(),
            ok.to_numpy(),
        ],
        ["splice", "frameshift", "synonymous", "substitution", "inframe", "other"],
        default="",
    )
    out["change"] = pd.Series(change, index=uniq.index, dtype="string").replace("", pd.NA)
    start = parts["start"].where(ok, splice["start"])
    out["start"] = pd.to_numeric(start, errors="coerce").astype("Int64")
    end = pd.to_numeric(parts["end"], errors="coerce").astype("Int64")
    out["end"] = end.fillna(out["start"])
    out["ref"] = _one_letter(parts["ref"]).where(ok, pd.NA)
    out.loc[is_splice, "ref"] = "splice"
    out.index = uniq.to_numpy()
    result = out.reindex(text.to_numpy())
    result.index = hgvsp.index
    return result


# ---------------------------------------------------------------------------------------------
# Filters and annotation
# ---------------------------------------------------------------------------------------------


def _has_any_term(consequence: pd.Series, terms: Iterable[str]) -> pd.Series:
    wanted = set(terms)
    uniq = consequence.dropna().unique()
    hits = {c: bool(wanted.intersection(str(c).split("&"))) for c in uniq}
    return consequence.map(hits).fillna(False).astype(bool)


def annotate_variants(variants: pd.DataFrame, params: VariantParams = VariantParams()
                      ) -> pd.DataFrame:
    """The variants with filter flags, hotspot match, gene role and call (no rows dropped).

    Added columns: ``pass_filter``, ``depth_ok``, ``alt_depth_ok``, ``vaf_ok``,
    ``consequence_ok``, ``impact_ok``, ``reportable`` (all filters of ``params``),
    ``tmb_counted`` (PASS + depth/VAF + non-synonymous), ``protein_start``, ``protein_end``,
    ``protein_ref``, ``protein_change``, ``role``, ``role_source``, ``hotspot`` (bool),
    ``hotspot_count``, ``hotspot_qvalue``, ``hotspot_variants``, ``hotspot_residues`` (hotspot
    residues inside an in-frame indel's range, for information only), ``truncating``, ``call``.
    """
    v = variants.copy()
    flt = v["filter"].astype("string")
    v["pass_filter"] = (flt.isna() | (flt == "PASS")).to_numpy(dtype=bool)
    depth = v["depth"].astype("Float64")
    alt = v["alt_depth"].astype("Float64")
    vaf = v["vaf"].astype("Float64")
    v["depth_ok"] = (depth.isna() | (depth >= params.min_depth)).to_numpy(dtype=bool)
    v["alt_depth_ok"] = (alt.isna() | (alt >= params.min_alt_depth)).to_numpy(dtype=bool)
    v["vaf_ok"] = (vaf.isna() | (vaf >= params.min_vaf)).to_numpy(dtype=bool)
    cons = v["consequence"].astype("string")
    v["consequence_ok"] = _has_any_term(cons, params.consequences).to_numpy()
    impact = v["impact"].astype("string").str.upper()
    v["impact_ok"] = (impact.isna() | impact.isin(params.impacts)).to_numpy(dtype=bool)
    quality = v["depth_ok"] & v["alt_depth_ok"] & v["vaf_ok"]
    v["reportable"] = (quality & v["consequence_ok"] & v["impact_ok"]
                       & (v["pass_filter"] | (not params.pass_only)))
    v["tmb_counted"] = quality & v["consequence_ok"] & v["pass_filter"]

    prot = parse_hgvsp(v["hgvsp"])
    v["protein_start"] = prot["start"].to_numpy()
    v["protein_end"] = prot["end"].to_numpy()
    v["protein_ref"] = prot["ref"].to_numpy()
    v["protein_change"] = prot["change"].to_numpy()

    roles = gene_roles()
    gene = v["gene"].astype("string")
    v["role"] = gene.map(roles["role"]).astype("string")
    v["role_source"] = gene.map(roles["source"]).astype("string")

    hs = hotspot_table()
    key = pd.MultiIndex.from_arrays([hs["gene"], hs["position"], hs["residue_type"]])
    hs_idx = pd.Series(np.arange(len(hs)), index=key)
    single = v["protein_change"].isin(["substitution", "splice"]).to_numpy(dtype=bool)
    rtype = np.where(v["protein_change"] == "splice", "splice", "residue")
    lookup = pd.MultiIndex.from_arrays([
        gene.fillna("").to_numpy(),
        v["protein_start"].fillna(-1).to_numpy(dtype=np.int64),
        rtype,
    ])
    pos = hs_idx.reindex(lookup).to_numpy()
    found = single & ~np.isnan(pos)
    row = np.where(found, pos, 0).astype(np.int64)
    ref_ok = hs["ref_aa"].to_numpy()[row] == v["protein_ref"].fillna("").to_numpy()
    hit = found & ref_ok
    v["hotspot"] = hit
    v["hotspot_count"] = pd.array(np.where(hit, hs["mutation_count"].to_numpy()[row], 0),
                                  dtype="Int64")
    v.loc[~hit, "hotspot_count"] = pd.NA
    v["hotspot_qvalue"] = np.where(hit, hs["qvalue"].to_numpy()[row], np.nan)
    v["hotspot_variants"] = pd.Series(np.where(hit, hs["variant_aa"].to_numpy()[row], None),
                                      index=v.index, dtype="string")
    v["hotspot_ref_mismatch"] = found & ~ref_ok
    v["hotspot_residues"] = _residues_in_range(v, hs)

    v["truncating"] = _has_any_term(cons, TRUNCATING).to_numpy()
    v["call"] = np.select(
        [v["hotspot"].to_numpy(dtype=bool),
         (v["truncating"] & (v["role"] == "tsg").fillna(False)).to_numpy(dtype=bool)],
        ["hotspot", "oncogenic_likely"],
        default="vus",
    )
    return v


def _residues_in_range(v: pd.DataFrame, hs: pd.DataFrame) -> list[list[int]]:
    """Hotspot residues inside each in-frame indel's protein range (informative only)."""
    out: list[list[int]] = [[] for _ in range(len(v))]
    inframe = np.flatnonzero((v["protein_change"] == "inframe").fillna(False).to_numpy())
    if not len(inframe):
        return out
    residues = hs[hs["residue_type"] == "residue"].groupby("gene")["position"].apply(np.sort)
    genes = v["gene"].astype("string").to_numpy()
    starts = v["protein_start"].to_numpy()
    ends = v["protein_end"].to_numpy()
    for i in inframe:  # in-frame indels are a handful per tumour
        g = genes[i]
        if g is pd.NA or g not in residues.index:
            continue
        pos = residues[g]
        lo, hi = int(starts[i]), int(ends[i])
        out[i] = [int(p) for p in pos[(pos >= lo) & (pos <= hi)]]
    return out


# ---------------------------------------------------------------------------------------------
# Findings
# ---------------------------------------------------------------------------------------------


def _patient_lookup(samples: Iterable[str], patients: Mapping[str, str] | pd.Series
                    ) -> dict[str, str]:
    mapping = dict(patients.items()) if isinstance(patients, pd.Series) else dict(patients)
    missing = sorted({s for s in samples if s not in mapping})
    if missing:
        raise ValueError(f"no patient given for sample(s) {', '.join(missing)}")
    return mapping


def _as_mapping(values: Mapping[str, Any] | pd.Series | None) -> dict[str, Any]:
    if values is None:
        return {}
    return dict(values.items()) if isinstance(values, pd.Series) else dict(values)


def _feature(v: pd.DataFrame) -> pd.Series:
    gene = v["gene"].astype("string")
    genomic = (v["chrom"].astype("string") + ":" + v["pos"].astype("string") + " "
               + v["ref"].astype("string") + ">" + v["alt"].astype("string"))
    change = v["hgvsp"].astype("string").where(
        v["protein_change"].notna() & (v["protein_change"] != "splice"),
        v["hgvsc"].astype("string"),
    )
    change = change.fillna(v["hgvsc"].astype("string"))
    named = gene + " " + change
    return named.fillna(genomic).fillna(gene)


def tumour_mutational_burden(
    variants: pd.DataFrame,
    *,
    params: VariantParams = VariantParams(),
    samples: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Tumour mutational burden per sample: counted variants / coding territory in Mb.

    Counts distinct (chrom, pos, ref, alt) per sample that are PASS, pass the depth, alt-depth
    and VAF filters and have a non-synonymous coding consequence (``params.consequences``), and
    divides by ``params.territory_mb`` (Chalmers et al., Genome Med 2017,
    doi:10.1186/s13073-017-0424-2; Merino et al., J Immunother Cancer 2020,
    doi:10.1136/jitc-2019-000147).

    Parameters
    ----------
    samples
        Samples to report even when they have no variant row (TMB 0); default: the samples
        present in ``variants``.

    Returns
    -------
    pandas.DataFrame
        Index ``sample_id``; columns ``n_mutations`` (int) and ``tmb`` (mut/Mb).
    """
    col = sample_column(variants, "variants")
    annotated = annotate_variants(variants, params) if len(variants) else None
    return _tmb(annotated, col, samples or [], params)


def _tmb(annotated: pd.DataFrame | None, col: str, samples: Iterable[str],
         params: VariantParams) -> pd.DataFrame:
    if annotated is not None and len(annotated):
        counted = annotated[annotated["tmb_counted"]]
        counted = counted.drop_duplicates([col, "chrom", "pos", "ref", "alt"])
        n = counted.groupby(col).size()
        present = annotated[col].dropna().unique().tolist()
    else:
        n, present = pd.Series(dtype=np.int64), []
    wanted = list(dict.fromkeys([*present, *samples]))
    n = n.reindex(wanted, fill_value=0).astype(np.int64)
    out = pd.DataFrame({"n_mutations": n, "tmb": n / params.territory_mb})
    out.index.name = "sample_id"
    return out


def variant_findings(
    variants: pd.DataFrame,
    *,
    patients: Mapping[str, str] | pd.Series,
    params: VariantParams = VariantParams(),
    tumour_only: Mapping[str, bool] | pd.Series | None = None,
    sequenced: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Findings of the small-variant layer: reportable mutations and TMB per sample.

    Parameters
    ----------
    variants
        The store's ``variants`` table for one or more tumour samples, with ``sample_id``.
    patients
        Sample id -> patient id (e.g. the whole cohort). Every sample in ``variants`` must be
        listed.
    params
        Filters and thresholds (:class:`VariantParams`); recorded in every provenance.
    tumour_only
        Sample id -> whether the sample was sequenced without a matched normal. Such samples'
        findings carry :data:`TUMOUR_ONLY_CAVEAT` on their TMB; missing samples are unknown.
    sequenced
        Samples that have a variants assay even if it holds no row (a clean exome); they get a
        TMB of 0 instead of no TMB finding. They must be in ``patients``.

    Returns
    -------
    pandas.DataFrame
        Findings (:data:`tumorboard.model.FINDING_COLUMNS`), layer ``variants``, kinds
        ``mutation`` and ``tmb``.

    Raises
    ------
    ValueError
        If a sample of ``variants`` has no patient in ``patients`` (a caller error).
    """
    col = sample_column(variants, "variants")
    present = variants[col].dropna().unique().tolist() if len(variants) else []
    extra = list(sequenced or [])
    lookup = _patient_lookup([*present, *extra], patients)
    only = _as_mapping(tumour_only)
    settings = {**asdict(params), "consequences": list(params.consequences),
                "impacts": list(params.impacts)}

    parts: list[pd.DataFrame] = []
    annotated = annotate_variants(variants, params) if len(variants) else None
    if annotated is not None:
        rep = annotated[annotated["reportable"]]
        if len(rep):
            parts.append(_mutation_rows(rep, col, lookup, settings, only))
    tmb = _tmb(annotated, col, extra, params)
    parts.append(_tmb_rows(tmb, lookup, settings, only, params))
    return findings_frame(pd.concat(parts, ignore_index=True))


def _values(series: pd.Series, n: int) -> list[Any]:
    """Column as a list of Python scalars with None for missing (no per-cell checks)."""
    if series is None:
        return [None] * n
    return series.astype(object).where(series.notna(), None).tolist()


def _mutation_rows(rep: pd.DataFrame, col: str, lookup: dict[str, str],
                   settings: dict[str, Any], only: dict[str, Any]) -> pd.DataFrame:
    n = len(rep)
    columns = {
        name: _values(rep[name], n)
        for name in ("chrom", "pos", "ref", "alt", "consequence", "impact", "hgvsc", "hgvsp",
                     "filter", "depth", "alt_depth", "role", "role_source")
    }
    columns["transcript"] = _values(rep["transcript_id"], n)
    columns["hotspot_ref_mismatch"] = rep["hotspot_ref_mismatch"].astype(bool).tolist()
    columns["hotspot_residues_in_range"] = [r or None for r in rep["hotspot_residues"]]
    columns["truncating"] = rep["truncating"].astype(bool).tolist()
    samples = rep[col].tolist()
    columns["tumour_only"] = [only.get(s) for s in samples]
    missing = {k: rep[k].isna().to_numpy() for k in ("depth", "alt_depth", "vaf")}
    hot = rep["hotspot"].to_numpy(dtype=bool)
    start = _values(rep["protein_start"], n)
    ref = _values(rep["protein_ref"], n)
    count = _values(rep["hotspot_count"], n)
    qval = rep["hotspot_qvalue"].to_numpy(dtype=float).tolist()
    observed = _values(rep["hotspot_variants"], n)
    source = ("cancerhotspots.org v2 (Chang et al., Cancer Discov 2018, "
              "doi:10.1158/2159-8290.CD-17-0321)")
    keys = list(columns)
    provenance = []
    for i, values in enumerate(zip(*columns.values(), strict=True)):
        prov = dict(zip(keys, values, strict=True))
        prov["method"] = "tumorboard.layers.variants.variant_findings"
        prov["unavailable"] = [k for k, m in missing.items() if m[i]]
        prov["hotspot"] = None if not hot[i] else {
            "residue": start[i], "ref_aa": ref[i], "mutation_count": count[i],
            "qvalue": qval[i], "variants_observed": observed[i], "source": source,
        }
        prov["params"] = settings
        provenance.append(prov)
    return pd.DataFrame({
        "patient": [lookup[s] for s in samples],
        "sample": samples,
        "layer": LAYER,
        "gene": rep["gene"].to_numpy(),
        "feature": _feature(rep).to_numpy(),
        "kind": "mutation",
        "value": rep["vaf"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
        "z_score": np.nan,
        "call": rep["call"].to_numpy(),
        "provenance": provenance,
    })


def _tmb_rows(tmb: pd.DataFrame, lookup: dict[str, str], settings: dict[str, Any],
              only: dict[str, Any], params: VariantParams) -> pd.DataFrame:
    provenance = []
    for sample, n in tmb["n_mutations"].items():
        prov: dict[str, Any] = {
            "method": "tumorboard.layers.variants.tumour_mutational_burden",
            "n_mutations": int(n),
            "territory_mb": params.territory_mb,
            "threshold_high": params.tmb_high,
            "threshold_source": "FDA pembrolizumab TMB-H >= 10 mut/Mb (KEYNOTE-158; Marabelle "
                                "et al., Lancet Oncol 2020, doi:10.1016/S1470-2045(20)30445-9)",
            "counted": "PASS, depth/alt-depth/VAF filters, non-synonymous coding consequence",
            "tumour_only": only.get(sample),
            "params": settings,
        }
        if only.get(sample):
            prov["caveat"] = TUMOUR_ONLY_CAVEAT
        provenance.append(prov)
    values = tmb["tmb"].to_numpy(dtype=float)
    return pd.DataFrame({
        "patient": [lookup[s] for s in tmb.index],
        "sample": tmb.index.to_numpy(),
        "layer": LAYER,
        "gene": None,
        "feature": "TMB",
        "kind": "tmb",
        "value": values,
        "z_score": np.nan,
        "call": np.where(values >= params.tmb_high, "high", "low"),
        "provenance": provenance,
    })
