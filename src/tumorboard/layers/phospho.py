"""Phosphoproteome layer: site scores, protein phosphorylation, kinase activity, RTK activation.

Pure functions from a samples x phosphosites matrix of log2 abundances (MS phosphopeptides or RPPA
phospho-antibodies) and the site annotation to cohort-relative scores and Findings
(:func:`tumorboard.model.findings_frame`, layer ``phosphoproteome``).

Scoring scheme (DESIGN.md §1, "Phosphorylation scores"): centre each site across patients, sum the
centred values per protein (protein phosphorylation score) or over a kinase's substrate sites
(kinase activity score) and, separately, over the kinase's own activation-loop/autophosphorylation
sites (activation score); z-score the sums across the cohort (leave-one-out). An RTK activation
score is a weighted sum of sub-scores (expression, protein phosphorylation, kinase/substrate
activity), each sub-score the weighted maximum over its members.

Sources followed
----------------
- TOPAS scores of the Kuster lab: tumour proteome activity scores built from protein
  phosphorylation scores (phosphopeptide scores summed per protein, then a second-level z-score),
  substrate phosphorylation ("kinase") scores summed over PhosphoSitePlus substrates of a kinase,
  and RTK scores that add sub-scores, each the weighted maximum of its members' z-scores capped
  at +/-4; a basket z >= 2 counts as significant. TOPAS-pipeline, Kuster lab, TU Munich,
  https://github.com/kusterlab/TOPAS-pipeline (modules ``TOPAS_protein_phosphorylation_scoring``,
  ``TOPAS_kinase_scoring``, ``basket_scoring.get_weighted_max`` and
  ``count_significant_baskets``); ERC project 833710 "TOPAS", https://cordis.europa.eu/project/id/833710.
- Kinase-centric plus substrate-centric single-sample kinase activity: Beekhof R et al.,
  INKA, an integrative data analysis pipeline for phosphoproteomic inference of active kinases,
  Mol Syst Biol 2019;15:e8250, doi:10.15252/msb.20188250.
- Kinase sites and kinase-substrate pairs: ``tumorboard/knowledge/kinase_sites.yaml``
  (PhosphoSitePlus, Hornbeck et al., Nucleic Acids Res 2015, doi:10.1093/nar/gku1267; UniProt;
  primary papers per entry).

Scoring by blocks of features: site centring (batch medians per site, the site's cohort median)
and the site scores depend on one site's values only; the sums run over the catalogue's sites
(own sites, substrate sites) and the RTKs' sites only. So the cohort can be scored as the
summed sites (:func:`summed_features`) with :func:`phospho_findings`, plus the other sites in
any blocks with :func:`phospho_site_findings`, and together they give exactly the findings of
the whole matrix. With batches the only step across all sites is the per-sample median of
batch centring (:func:`tumorboard.layers.proteome.sample_medians`), passed as
``sample_centres``.

Missing values: a site not quantified in a sample is left out of that sample's sums (sum over the
measured sites; the number of sites summed is recorded); a sum over zero measured sites is missing,
never 0, and its calls are "not_measured".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
import yaml

from tumorboard.errors import InputError
from tumorboard.layers import scoring
from tumorboard.model import findings_frame

__all__ = [
    "SITE_ROLES",
    "SUBSCORES",
    "KinaseActivity",
    "KinaseCatalogue",
    "PhosphoParams",
    "SummedScores",
    "annotate_sites",
    "centre_sites",
    "kinase_activity_scores",
    "kinase_catalogue",
    "parse_kinase_catalogue",
    "phospho_findings",
    "phospho_site_findings",
    "protein_phosphorylation_scores",
    "rtk_activation_scores",
    "site_scores",
    "summed_features",
]

LAYER = "phosphoproteome"

#: Roles of a kinase's own sites and their default weight in the activation score; inhibitory
#: sites (SRC Y530) count against activation.
SITE_ROLES: dict[str, float] = {
    "activation_loop": 1.0,
    "autophosphorylation": 1.0,
    "docking": 1.0,
    "regulatory": 1.0,
    "inhibitory": -1.0,
}

#: RTK sub-scores (DESIGN.md §1) and the members each is the weighted maximum over.
SUBSCORES: dict[str, tuple[str, ...]] = {
    "expression": ("rna", "protein"),
    "phosphorylation": ("protein_phosphorylation", "activation_sites"),
    "kinase_activity": ("substrates",),
}

_SITE = re.compile(r"^[STY]\d+$")
_SOURCE = re.compile(r"^(PMID:\d+|doi:10\.\S+|PMC\d+|Reactome:R-HSA-\d+)$")
#: Site suffix of a feature id: 'ERBB2_Y1248', 'MAPK3_T202_Y204', 'HER2_pY1248', 'JNK_pT183_pY185'.
_FEATURE_SITES = re.compile(r"_(p?[STY]\d+(?:_p?[STY]\d+)*)$")


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class PhosphoParams:
    """Thresholds and weights of the phosphoproteome layer.

    Attributes
    ----------
    z_high, pct_high
        A score is "high" (a kinase "activated") when its leave-one-out z >= ``z_high`` and its
        cohort percentile >= ``pct_high``. z >= 2 is the TOPAS significance threshold for basket
        (RTK) scores (TOPAS-pipeline ``basket_scoring.count_significant_baskets``, default 2.0);
        the percentile condition guards small or heavy-tailed cohorts where a z of 2 is not rare.
        ``pct_high`` is on the scale of :func:`tumorboard.layers.scoring.percentile_rank`.
    z_low, pct_low
        Mirror thresholds for "low".
    min_reference
        Fewest other patients with a value for a z-score to be called; below it the call is
        "insufficient_reference" (default :data:`tumorboard.layers.scoring.MIN_REFERENCE`).
    z_cap
        Member z-scores are capped at +/- ``z_cap`` before the weighted maximum, so that one extreme
        value cannot dominate an RTK score (TOPAS ``get_weighted_max`` caps at +/-4).
    weight_expression, weight_phosphorylation, weight_kinase_activity
        Sub-score weights of the RTK activation score. TOPAS adds its sub-scores with equal weight;
        here the weighted sum is divided by the summed weight of the sub-scores present, so a
        patient without, say, RNA data is scored on the other two sub-scores on the same scale.
    member_rna, member_protein
        Member weights of the expression sub-score (TOPAS uses +/-1 per member).
    member_protein_phosphorylation, member_activation_sites, member_substrates
        Member weights of the phosphorylation and kinase-activity sub-scores.
    site_numbering
        Numbering of sites in features that are not RPPA antibody ids ('GENE|ANTIBODY'):
        ``"uniprot"`` (MS data: UniProt canonical positions) or ``"rppa"`` (antibody numbering, e.g.
        an RPPA matrix exported as 'EGFR_Y1068'; mapped through the catalogue's RPPA aliases).
    report_site_outliers
        Also report sites outside the kinase catalogue, but only where their call is "high".
    """

    z_high: float = 2.0
    pct_high: float = 90.0
    z_low: float = -2.0
    pct_low: float = 10.0
    min_reference: int = scoring.MIN_REFERENCE
    z_cap: float = 4.0
    weight_expression: float = 1.0
    weight_phosphorylation: float = 1.0
    weight_kinase_activity: float = 1.0
    member_rna: float = 1.0
    member_protein: float = 1.0
    member_protein_phosphorylation: float = 1.0
    member_activation_sites: float = 1.0
    member_substrates: float = 1.0
    site_numbering: Literal["uniprot", "rppa"] = "uniprot"
    report_site_outliers: bool = True

    def subscore_weights(self) -> dict[str, float]:
        return {
            "expression": self.weight_expression,
            "phosphorylation": self.weight_phosphorylation,
            "kinase_activity": self.weight_kinase_activity,
        }

    def member_weights(self) -> dict[str, float]:
        return {
            "rna": self.member_rna,
            "protein": self.member_protein,
            "protein_phosphorylation": self.member_protein_phosphorylation,
            "activation_sites": self.member_activation_sites,
            "substrates": self.member_substrates,
        }


# --------------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class KinaseCatalogue:
    """The curated kinase site table (``knowledge/kinase_sites.yaml``) as tables.

    Attributes
    ----------
    kinases
        One row per kinase: ``gene`` (index), ``uniprot``, ``family`` ('rtk', ...).
    own_sites
        ``kinase, site, role, weight, sources, check`` - the kinase's own activation evidence.
    substrates
        ``kinase, gene, uniprot, site, sources, check`` - downstream sites phosphorylated by it.
    rppa_aliases
        ``antibody, gene, named_sites, sites, note`` - one row per antibody target; ``named_sites``
        and ``sites`` are '_'-joined ('T202_Y204').
    references
        Citation keys used in ``sources``.
    """

    kinases: pd.DataFrame
    own_sites: pd.DataFrame
    substrates: pd.DataFrame
    rppa_aliases: pd.DataFrame
    references: dict[str, str]

    @property
    def rtks(self) -> list[str]:
        """Receptor tyrosine kinases of the catalogue, in file order."""
        return self.kinases.index[self.kinases["family"] == "rtk"].tolist()


def _check_sources(sources: Any, where: str, references: Mapping[str, str]) -> tuple[str, ...]:
    if not isinstance(sources, list) or not sources:
        raise ValueError(f"kinase catalogue: {where} has no sources")
    for s in sources:
        if str(s) not in references and not _SOURCE.match(str(s)):
            raise ValueError(f"kinase catalogue: {where} cites unknown source {s!r}")
    return tuple(str(s) for s in sources)


def _check_site(site: Any, where: str) -> str:
    if not _SITE.match(str(site)):
        raise ValueError(f"kinase catalogue: {where} has site {site!r}, expected e.g. 'Y1248'")
    return str(site)


def parse_kinase_catalogue(data: Mapping[str, Any]) -> KinaseCatalogue:
    """Validate the parsed YAML of a kinase site catalogue and return it as tables.

    Raises
    ------
    ValueError
        A malformed entry (the catalogue is part of the program, so this is a programming error):
        unknown role, a site that is not residue+position, an entry without sources, a duplicate
        kinase.
    """
    references = {str(k): str(v) for k, v in (data.get("references") or {}).items()}
    kin_rows: list[dict[str, Any]] = []
    own_rows: list[dict[str, Any]] = []
    sub_rows: list[dict[str, Any]] = []
    for entry in data.get("kinases") or []:
        gene = str(entry["gene"])
        if any(r["gene"] == gene for r in kin_rows):
            raise ValueError(f"kinase catalogue: {gene} listed twice")
        kin_rows.append({"gene": gene, "uniprot": str(entry["uniprot"]),
                         "family": str(entry["family"])})
        if not entry.get("sites"):
            raise ValueError(f"kinase catalogue: {gene} has no own sites")
        for s in entry["sites"]:
            where = f"{gene} {s.get('site')}"
            role = str(s.get("role"))
            if role not in SITE_ROLES:
                raise ValueError(f"kinase catalogue: {where} has unknown role {role!r}")
            own_rows.append({
                "kinase": gene,
                "site": _check_site(s.get("site"), where),
                "role": role,
                "weight": float(s.get("weight", SITE_ROLES[role])),
                "sources": _check_sources(s.get("sources"), where, references),
                "check": bool(s.get("check", False)),
            })
        for s in entry.get("substrates") or []:
            where = f"{gene} substrate {s.get('gene')} {s.get('site')}"
            sub_rows.append({
                "kinase": gene,
                "gene": str(s["gene"]),
                "uniprot": str(s["uniprot"]),
                "site": _check_site(s.get("site"), where),
                "sources": _check_sources(s.get("sources"), where, references),
                "check": bool(s.get("check", False)),
            })
    alias_rows: list[dict[str, Any]] = []
    for a in data.get("rppa_aliases") or []:
        where = f"RPPA alias {a.get('antibody')}"
        named = [_check_site(s, where) for s in a["named_sites"]]
        sites = [_check_site(s, where) for s in a["sites"]]
        _check_sources(a.get("sources"), where, references)
        alias_rows.append({"antibody": str(a["antibody"]), "gene": str(a["gene"]),
                           "named_sites": "_".join(named), "sites": "_".join(sites),
                           "note": str(a.get("note", ""))})
    kinases = pd.DataFrame(kin_rows, columns=["gene", "uniprot", "family"]).set_index("gene")
    own = pd.DataFrame(own_rows, columns=["kinase", "site", "role", "weight", "sources", "check"])
    subs = pd.DataFrame(sub_rows,
                        columns=["kinase", "gene", "uniprot", "site", "sources", "check"])
    aliases = pd.DataFrame(alias_rows,
                           columns=["antibody", "gene", "named_sites", "sites", "note"])
    return KinaseCatalogue(kinases, own, subs, aliases, references)


@functools.cache
def kinase_catalogue() -> KinaseCatalogue:
    """The packaged kinase site catalogue (``tumorboard/knowledge/kinase_sites.yaml``), cached."""
    text = resources.files("tumorboard.knowledge").joinpath("kinase_sites.yaml").read_text(
        encoding="utf-8")
    return parse_kinase_catalogue(yaml.safe_load(text))


# --------------------------------------------------------------------------- site annotation


def _site_table(site_genes: pd.Series | pd.DataFrame) -> pd.DataFrame:
    """``feature`` (index) x ``gene``, ``site`` from a Series feature->gene or a table."""
    if isinstance(site_genes, pd.Series):
        table = site_genes.rename("gene").to_frame()
    else:
        table = site_genes.copy()
        if "feature_id" in table.columns:
            table = table.set_index("feature_id")
        if "gene" not in table.columns:
            raise ValueError("site_genes needs a 'gene' column (and optionally 'site')")
    table = table.loc[~table.index.duplicated()]
    gene = table["gene"].astype("string").str.strip()
    feature = pd.Series(table.index.astype(str), index=table.index)
    parsed = feature.str.extract(_FEATURE_SITES, expand=False).astype("string")
    if "site" in table.columns:
        site = table["site"].astype("string").str.strip().fillna(parsed)
    else:
        site = parsed
    site = site.str.replace(r"(^|_)p(?=[STY]\d)", r"\1", regex=True)
    out = pd.DataFrame({"gene": gene, "site": site})
    out.index = out.index.astype(str)
    out.index.name = "feature"
    return out


def annotate_sites(
    site_genes: pd.Series | pd.DataFrame,
    *,
    catalogue: KinaseCatalogue | None = None,
    site_numbering: Literal["uniprot", "rppa"] = "uniprot",
) -> pd.DataFrame:
    """Map each phospho feature to the protein(s) and UniProt site(s) it measures.

    Parameters
    ----------
    site_genes
        Either a Series feature id -> gene, or a table with ``gene`` and ``site`` columns indexed by
        feature id (or with a ``feature_id`` column), e.g. the store's ``phosphoproteome`` table
        (:data:`tumorboard.io.tables.TABLES`). Without sites, the site is read from the feature id
        suffix ('ERBB2_Y1248', 'EGFR|EGFR_pY1068').
    catalogue
        Kinase catalogue for the RPPA aliases (default: the packaged one).
    site_numbering
        Numbering of sites of features that are not RPPA ids: ``"uniprot"`` (taken as given) or
        ``"rppa"`` (looked up as antibody numbering by gene and site in the RPPA aliases).

    Returns
    -------
    pandas.DataFrame
        One row per feature and measured protein site: ``feature``, ``gene`` and ``site`` as given,
        ``target_gene``, ``target_site`` (UniProt numbering; missing where unknown), ``numbering``
        (``uniprot``, ``rppa_alias`` or ``antibody``: an RPPA antibody without alias, whose sites
        are kept as named but not matched to the catalogue), ``antibody`` and ``label``
        ('EGFR pY1092').

    Notes
    -----
    RPPA features are recognised by the 'GENE|ANTIBODY' id that
    :func:`tumorboard.io.proteome.read_rppa` writes; the alias table resolves antibody numbering
    (EGFR_pY1068 = EGFR Y1092, Src_pY416 = SRC Y419, ...). Unaliased antibodies still count in
    protein phosphorylation sums (per gene) but never as catalogue sites, because their numbering
    is not known to be UniProt's.
    """
    cat = catalogue if catalogue is not None else kinase_catalogue()
    table = _site_table(site_genes)
    feature = pd.Series(table.index, index=table.index)
    is_rppa = feature.str.contains("|", regex=False)
    antibody = feature.str.split("|", n=1).str[1].where(is_rppa).astype("string")
    base = pd.DataFrame({
        "feature": table.index, "gene": table["gene"].to_numpy(),
        "site": table["site"].to_numpy(), "antibody": antibody.to_numpy(),
        "is_rppa": is_rppa.to_numpy(),
    })
    aliases = cat.rppa_aliases
    rppa = base.loc[base["is_rppa"]]
    by_antibody = rppa.merge(
        aliases[["antibody", "gene", "sites"]].rename(
            columns={"gene": "target_gene", "sites": "target_site"}),
        on="antibody", how="inner").assign(numbering="rppa_alias")
    rppa_left = rppa.loc[~rppa["feature"].isin(by_antibody["feature"])]
    parts = [by_antibody, rppa_left.assign(target_gene=rppa_left["gene"], target_site=pd.NA,
                                           numbering="antibody")]
    plain = base.loc[~base["is_rppa"]]
    if site_numbering == "uniprot":
        parts.append(plain.assign(target_gene=plain["gene"], target_site=plain["site"],
                                  numbering="uniprot"))
    elif site_numbering == "rppa":
        by_name = plain.merge(
            aliases[["gene", "named_sites", "sites"]].rename(
                columns={"named_sites": "site", "sites": "target_site"}),
            on=["gene", "site"], how="inner")
        by_name = by_name.assign(target_gene=by_name["gene"], numbering="rppa_alias")
        left = plain.loc[~plain["feature"].isin(by_name["feature"])]
        parts += [by_name, left.assign(target_gene=left["gene"], target_site=pd.NA,
                                       numbering="antibody")]
    else:
        raise ValueError(f"site_numbering must be 'uniprot' or 'rppa', not {site_numbering!r}")
    cols = ["feature", "gene", "site", "antibody", "target_gene", "target_site", "numbering"]
    out = pd.concat([p[cols] for p in parts], ignore_index=True)
    for c in ("gene", "site", "antibody", "target_gene", "target_site", "numbering"):
        out[c] = out[c].astype("string")
    shown = out["target_site"].fillna(out["site"]).astype("string")
    out["label"] = (out["target_gene"].astype("string") + " p"
                    + shown.str.replace("_", "/p", regex=False))
    out["label"] = out["label"].fillna(out["feature"].astype("string"))
    long = out.assign(target_site=out["target_site"].astype("string").str.split("_")).explode(
        "target_site")
    long["target_site"] = long["target_site"].astype("string")
    cols = ["feature", "gene", "site", "target_gene", "target_site", "numbering", "antibody",
            "label"]
    return long[cols].reset_index(drop=True)


def _catalogue_members(annotation: pd.DataFrame, cat: KinaseCatalogue) -> tuple[
        pd.DataFrame, pd.DataFrame]:
    """(feature, kinase, weight) for own activation sites and for substrate sites.

    A feature covering several catalogue sites of one kinase counts once; its weight is +1 unless
    all its catalogue sites of that kinase are inhibitory.
    """
    ann = annotation.dropna(subset=["target_site"])
    ann = ann.loc[ann["numbering"] != "antibody"]
    own = ann.merge(cat.own_sites, left_on=["target_gene", "target_site"],
                    right_on=["kinase", "site"], how="inner", suffixes=("", "_cat"))
    own = (own.groupby(["feature", "kinase"], as_index=False, sort=False)["weight"].max())
    subs = ann.merge(cat.substrates.rename(columns={"gene": "substrate_gene"}),
                     left_on=["target_gene", "target_site"],
                     right_on=["substrate_gene", "site"], how="inner", suffixes=("", "_cat"))
    subs = subs.drop_duplicates(["feature", "kinase"])[["feature", "kinase"]].assign(weight=1.0)
    return own.reset_index(drop=True), subs.reset_index(drop=True)


# --------------------------------------------------------------------------- scores


class SummedScores(NamedTuple):
    """Sums of centred site values per group (protein or kinase), and their cohort z-scores.

    All four are samples x groups; ``n_sites`` counts the sites that entered each sum (0 where the
    sum is missing), ``reference_size`` the other patients the z-score was computed against.
    """

    sums: pd.DataFrame
    n_sites: pd.DataFrame
    z: pd.DataFrame
    reference_size: pd.DataFrame


class KinaseActivity(NamedTuple):
    """Substrate-based kinase activity and own-site activation scores (samples x kinases)."""

    substrates: SummedScores
    activation: SummedScores


def _matrix_t(sites: pd.DataFrame) -> tuple[np.ndarray, pd.Index, pd.Index]:
    """A new features x samples float64 array of ``sites``, and its samples and features.

    Non-numbers become missing; labels become strings. The array is C-contiguous (the layout
    :mod:`tumorboard.layers.scoring` works in) and owned by the caller.
    """
    if not isinstance(sites, pd.DataFrame):
        raise TypeError("sites must be a samples x features DataFrame")
    if not all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
               for t in set(sites.dtypes)):
        sites = sites.apply(pd.to_numeric, errors="coerce")
    xt = scoring._copy_features_by_samples(sites)
    return xt, sites.index.astype(str), sites.columns.astype(str)


def _column_medians(values: pd.DataFrame) -> np.ndarray:
    """Median of each column over its non-missing values (NaN for an empty column)."""
    return scoring.nan_median_rows(values.T.to_numpy(dtype="float64", na_value=np.nan))


def _batch_centred(sites: pd.DataFrame, batches: pd.Series | None, *,
                   sample_centres: pd.Series | None = None) -> pd.DataFrame:
    """Samples x features float64 (string labels), median-centred within batches if given.

    ``sample_centres``: the per-sample medians of the whole matrix when ``sites`` is a block
    of its features (:func:`tumorboard.layers.proteome.centre_by_batch`).
    """
    xt, samples, features = _matrix_t(sites)
    if batches is not None:
        from tumorboard.layers.proteome import centre_by_batch_inplace

        # no second copy of the matrix
        centre_by_batch_inplace(xt, samples, batches, sample_centres=sample_centres)
    return pd.DataFrame(xt.T, index=samples, columns=features, copy=False)


def _centre(values: pd.DataFrame) -> pd.DataFrame:
    return values - _column_medians(values)[None, :]


def centre_sites(sites: pd.DataFrame, *, batches: pd.Series | None = None) -> pd.DataFrame:
    """Centre each site across patients: subtract its cohort median (after batch centring).

    With ``batches`` (sample -> batch) each site is first median-centred within its batch by
    :func:`tumorboard.layers.proteome.centre_by_batch`, so that batch offsets do not enter the sums.
    Missing values stay missing.
    """
    return _centre(_batch_centred(sites, batches))


def site_scores(
    sites: pd.DataFrame,
    *,
    batches: pd.Series | None = None,
    groups: pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Leave-one-out z-score and cohort percentile of every site (samples x sites).

    Parameters
    ----------
    sites
        Samples x site features, log2 abundances.
    batches
        Optional sample -> batch; sites are median-centred within batch first.
    groups
        Optional sample -> entity for within-entity percentiles (default: whole cohort).

    Returns
    -------
    z, percentiles, reference_size
        From :func:`tumorboard.layers.scoring.leave_one_out_z` and
        :func:`~tumorboard.layers.scoring.percentile_rank`.
    """
    values = _batch_centred(sites, batches)
    z, reference = scoring.leave_one_out_z(values)
    percentiles = scoring.percentile_rank(values, groups=groups)
    return z, percentiles, reference


def _grouped_sums(centred: pd.DataFrame, members: pd.DataFrame) -> tuple[pd.DataFrame,
                                                                            pd.DataFrame]:
    """Weighted sums of centred values over (feature, group, weight) members, and site counts."""
    members = members.loc[members["feature"].isin(centred.columns)]
    if members.empty:
        empty = pd.DataFrame(index=centred.index, columns=pd.Index([], dtype=object),
                             dtype="float64")
        return empty, empty.astype("int64")
    block = centred.T.loc[members["feature"].to_numpy()]
    block.index = pd.Index(members["group"].to_numpy(), name="group")
    weighted = block.mul(members["weight"].to_numpy(), axis=0)
    sums = weighted.groupby(level=0, sort=False).sum(min_count=1).T
    counts = block.notna().groupby(level=0, sort=False).sum().T.astype("int64")
    sums.index.name = counts.index.name = centred.index.name
    sums.columns.name = counts.columns.name = None
    return sums, counts[sums.columns]


def _summed_scores(centred: pd.DataFrame, members: pd.DataFrame) -> SummedScores:
    sums, counts = _grouped_sums(centred, members)
    if sums.shape[1] == 0:
        return SummedScores(sums, counts, sums.copy(), counts.copy())
    z, reference = scoring.leave_one_out_z(sums)
    return SummedScores(sums, counts, z, reference)


def protein_phosphorylation_scores(
    sites: pd.DataFrame,
    site_genes: pd.Series | pd.DataFrame,
    *,
    batches: pd.Series | None = None,
    site_numbering: Literal["uniprot", "rppa"] = "uniprot",
    catalogue: KinaseCatalogue | None = None,
) -> SummedScores:
    """Protein phosphorylation score per sample and protein: z-score of the summed centred sites.

    For each protein, the centred log2 values (:func:`centre_sites`) of its sites that are measured
    in a sample are summed (missing sites are left out; ``n_sites`` records how many entered), and
    the sums are z-scored leave-one-out across the cohort (TOPAS protein phosphorylation scores;
    DESIGN.md §1). Sites are assigned to the protein they measure (:func:`annotate_sites`: RPPA
    aliases resolve e.g. 'PDK1|PDK1_pS241' to PDPK1; a pan-ERK antibody counts for MAPK1 and MAPK3).

    Example: sites a, b of ERBB2 in patients P1..P3 with log2 values a = (1, 2, 3), b = (0, 0, 3)
    have medians 2 and 0; centred a = (-1, 0, 1), b = (0, 0, 3); sums (-1, 0, 4).
    """
    cat = catalogue if catalogue is not None else kinase_catalogue()
    ann = annotate_sites(site_genes, catalogue=cat, site_numbering=site_numbering)
    return _protein_scores(centre_sites(sites, batches=batches), ann)


def _protein_members(ann: pd.DataFrame, *, groups: list[str] | None = None) -> pd.DataFrame:
    """(feature, group = protein, weight 1) of the protein phosphorylation sums.

    With ``groups`` only the members of those proteins.
    """
    members = (ann.dropna(subset=["target_gene"])
               .drop_duplicates(["feature", "target_gene"])
               .rename(columns={"target_gene": "group"})[["feature", "group"]]
               .assign(weight=1.0))
    if groups is not None:
        members = members.loc[members["group"].isin(groups)]
    return members


def _protein_scores(centred: pd.DataFrame, ann: pd.DataFrame) -> SummedScores:
    return _summed_scores(centred, _protein_members(ann))


def kinase_activity_scores(
    sites: pd.DataFrame,
    site_genes: pd.Series | pd.DataFrame,
    catalogue: KinaseCatalogue | None = None,
    *,
    batches: pd.Series | None = None,
    site_numbering: Literal["uniprot", "rppa"] = "uniprot",
) -> KinaseActivity:
    """Kinase activity from substrate sites, and activation from the kinase's own sites.

    ``substrates``: for each catalogue kinase, the sum of the centred values of its measured
    substrate sites, then the leave-one-out z of the sums (TOPAS substrate phosphorylation scores;
    substrate-centric evidence of INKA, Beekhof et al. 2019). ``activation``: the same over the
    kinase's own activation-loop / autophosphorylation / docking / regulatory sites, inhibitory
    sites entering with weight -1 (kinase-centric evidence). Kinases with no measured site are
    absent from the columns.
    """
    cat = catalogue if catalogue is not None else kinase_catalogue()
    centred = centre_sites(sites, batches=batches)
    ann = annotate_sites(site_genes, catalogue=cat, site_numbering=site_numbering)
    own, subs = _catalogue_members(ann, cat)
    substrate = _summed_scores(centred, subs.rename(columns={"kinase": "group"}))
    activation = _summed_scores(centred, own.rename(columns={"kinase": "group"}))
    return KinaseActivity(substrate, activation)


def _aligned(matrix: pd.DataFrame | None, samples: pd.Index, genes: list[str]) -> np.ndarray:
    if matrix is None:
        return np.full((len(samples), len(genes)), np.nan)
    m = matrix.copy()
    m.columns = m.columns.astype(str)
    m = m.loc[:, ~m.columns.duplicated()]
    return m.reindex(index=samples, columns=genes).to_numpy(dtype="float64", na_value=np.nan)


def rtk_activation_scores(
    expression_z: pd.DataFrame | None,
    protein_z: pd.DataFrame | None,
    phospho_protein_z: pd.DataFrame | None,
    kinase_z: pd.DataFrame | None,
    *,
    activation_z: pd.DataFrame | None = None,
    params: PhosphoParams = PhosphoParams(),
    rtks: list[str] | None = None,
) -> pd.DataFrame:
    """RTK activation score: weighted sum of sub-scores, each the weighted maximum of its members.

    DESIGN.md §1 after the TOPAS RTK scores (``basket_scoring.get_weighted_max``): every member
    z-score is capped at +/- ``params.z_cap`` and multiplied by its member weight; a sub-score is
    the maximum over its present members (:data:`SUBSCORES`):

    - ``expression``: RNA z (``expression_z``) and protein abundance z (``protein_z``) of the RTK;
    - ``phosphorylation``: protein phosphorylation z (``phospho_protein_z``) and own-site
      activation z (``activation_z``);
    - ``kinase_activity``: substrate-based kinase activity z (``kinase_z``).

    The RTK score is ``sum_k W_k s_k / sum_k W_k`` over the sub-scores ``k`` present for that
    sample (weights ``params.weight_*``): missing sub-scores are left out and the weights are
    renormalised over the present ones. A score with no sub-score present is missing.

    Parameters
    ----------
    expression_z, protein_z, phospho_protein_z, kinase_z, activation_z
        Samples x genes z-score matrices (any may be None); genes are matched by column name.
    rtks
        RTKs to score (default: the catalogue's receptor tyrosine kinases).

    Returns
    -------
    pandas.DataFrame
        One row per sample and RTK: ``sample``, ``gene``, ``score``, the three sub-scores,
        ``subscores_present`` (comma-separated names) and ``weight_present``.

    Example: weights 1/1/1, sub-scores expression 3, phosphorylation 1, kinase_activity missing:
    score = (1*3 + 1*1) / (1 + 1) = 2.0.
    """
    genes = [str(g) for g in (rtks if rtks is not None else kinase_catalogue().rtks)]
    mats = {"rna": expression_z, "protein": protein_z,
            "protein_phosphorylation": phospho_protein_z, "activation_sites": activation_z,
            "substrates": kinase_z}
    index = pd.Index([], dtype=object)
    for m in mats.values():
        if m is not None:
            index = index.union(pd.Index(m.index.astype(str)))
    members = params.member_weights()
    sub_weights = params.subscore_weights()
    subs: dict[str, np.ndarray] = {}
    for name, member_names in SUBSCORES.items():
        stacked = []
        for member in member_names:
            m = mats[member]
            if m is not None:
                m = m.copy()
                m.index = m.index.astype(str)
            arr = np.clip(_aligned(m, index, genes), -params.z_cap, params.z_cap)
            stacked.append(members[member] * arr)
        # fmax ignores a missing member unless every member is missing.
        subs[name] = functools.reduce(np.fmax, stacked)
    names = list(SUBSCORES)
    values = np.stack([subs[n] for n in names])  # subscores x samples x rtks
    w = np.array([sub_weights[n] for n in names])[:, None, None]
    present = ~np.isnan(values)
    weight_present = (w * present).sum(axis=0)
    total = np.where(present, w * values, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(weight_present > 0, total / weight_present, np.nan)
    code = sum(present[i].astype(int) << i for i in range(len(names)))
    labels = np.array([",".join(n for i, n in enumerate(names) if c >> i & 1)
                       for c in range(2 ** len(names))], dtype=object)
    n_s, n_g = len(index), len(genes)
    out = pd.DataFrame({
        "sample": np.repeat(index.to_numpy(dtype=object), n_g),
        "gene": np.tile(np.array(genes, dtype=object), n_s),
        "score": score.reshape(-1),
        **{n: subs[n].reshape(-1) for n in names},
        "subscores_present": labels[code.reshape(-1)] if n_s * n_g else [],
        "weight_present": weight_present.reshape(-1),
    })
    return out


# --------------------------------------------------------------------------- findings


def _calls(z: pd.DataFrame, pct: pd.DataFrame, ref: pd.DataFrame,
           params: PhosphoParams) -> pd.DataFrame:
    return scoring.call_outliers(
        z, pct, ref, z_high=params.z_high, pct_high=params.pct_high, z_low=params.z_low,
        pct_low=params.pct_low, min_reference=params.min_reference)


def _stack(frames: dict[str, pd.DataFrame], rows: pd.Index, cols: list[str]) -> pd.DataFrame:
    """Long table (sample, column, one value column per frame) over ``rows`` x ``cols``."""
    data: dict[str, Any] = {
        "sample": np.repeat(rows.to_numpy(dtype=object), len(cols)),
        "key": np.tile(np.array(cols, dtype=object), len(rows)),
    }
    for name, frame in frames.items():
        arr = frame.reindex(index=rows, columns=cols).to_numpy(dtype=object)
        data[name] = arr.reshape(-1)
    return pd.DataFrame(data)


def _float(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def phospho_findings(
    sites: pd.DataFrame,
    *,
    site_genes: pd.Series | pd.DataFrame,
    entities: pd.Series | None,
    patients: pd.Series,
    batches: pd.Series | None = None,
    samples: list[str] | None = None,
    params: PhosphoParams = PhosphoParams(),
    expression_z: pd.DataFrame | None = None,
    protein_z: pd.DataFrame | None = None,
    catalogue: KinaseCatalogue | None = None,
    sample_centres: pd.Series | None = None,
) -> pd.DataFrame:
    """Findings of the phosphoproteome layer for ``samples``, scored against the whole cohort.

    Kinds emitted (layer ``phosphoproteome``):

    - ``phosphosite``: every catalogue site (a kinase's own site or a substrate site) present in
      the matrix, for every reported sample (call high / low / neutral / insufficient_reference /
      not_measured), plus, with ``params.report_site_outliers``, any other site where its call
      is "high". ``value`` = log2 abundance (after batch centring); feature in UniProt numbering
      ('ERBB2 pY1248', 'EGFR pY1092' for the RPPA antibody EGFR_pY1068, named in the provenance).
    - ``activation``: per catalogue kinase with at least one own site in the matrix, the own-site
      activation score (feature 'ERBB2 activation'): call ``activated`` (z >= ``z_high`` and
      percentile >= ``pct_high``), ``not_activated``, ``not_measured`` (none of its sites
      measured in the sample) or ``insufficient_reference`` (fewer than ``min_reference`` other
      patients). ``value`` = summed centred log2 of the own sites.
    - ``kinase_activity``: per catalogue kinase with at least one substrate site in the matrix,
      the substrate-based score (feature 'ERBB2 substrates'); calls as for sites.
    - ``rtk_activation``: per RTK with any sub-score in the cohort, :func:`rtk_activation_scores`
      (``value``) and its leave-one-out z across the cohort (feature 'ERBB2 RTK activation');
      sub-scores and the sub-scores present in the provenance. The call needs phosphoproteomic
      evidence (phosphorylation or kinase-activity sub-score): with expression alone it is
      "not_measured", because an expressed but unphosphorylated RTK is not activated.

    Kinases without any catalogue site in the matrix get no activation / kinase_activity rows;
    absence reads as "not measured".

    Parameters
    ----------
    sites
        Samples x phospho features (log2), the cohort (e.g. ``Workspace.matrix(
        "phosphoproteome")``).
    site_genes
        Feature annotation for :func:`annotate_sites` (Series feature -> gene, or a table with
        ``gene``/``site``, e.g. the store's ``phosphoproteome`` table). Features absent from it
        are scored as sites (label = feature id, no gene) but belong to no protein or kinase.
    entities
        Sample -> OncoTree entity for within-entity percentiles (None: they stay missing).
    patients
        Sample -> patient.
    batches
        Optional sample -> batch for batch-wise median centring
        (:func:`tumorboard.layers.proteome.centre_by_batch`).
    samples
        Samples to report (default: all); scores always use the whole cohort.
    params
        Thresholds and weights (:class:`PhosphoParams`); recorded in every finding's provenance
        with the method and the cohort size.
    expression_z, protein_z
        Samples x genes z-scores of the RNA and proteome layers, for the RTK expression sub-score.
    catalogue
        Kinase catalogue (default: :func:`kinase_catalogue`).
    sample_centres
        With ``batches``, when ``sites`` is a block of the cohort's features (all samples, e.g.
        its :func:`summed_features`): sample -> median over *all* features
        (:func:`tumorboard.layers.proteome.sample_medians` of the whole matrix), subtracted in
        the first step of batch centring instead of the block's own medians. None: the
        medians of ``sites``.

    Raises
    ------
    ValueError
        A requested sample is not a row of ``sites``.
    InputError
        A sample has no entry in ``sample_centres``.
    """
    ctx = _prepare(sites, site_genes=site_genes, entities=entities, patients=patients,
                   batches=batches, samples=samples, params=params, catalogue=catalogue,
                   sample_centres=sample_centres)
    values, report, entities, cat, ann, base = (ctx.values, ctx.report, ctx.entities, ctx.cat,
                                                ctx.ann, ctx.base)
    own, subs, rtk_members = _sum_members(ann, cat)
    # Sums and their z-scores are needed for the catalogue kinases and, per protein, for the
    # RTKs only (the RTK sub-score): centre just the sites they sum over.
    summed = _summed_index(own, subs, rtk_members)
    centred = _centre(values[summed.intersection(values.columns, sort=False)])
    frames: list[pd.DataFrame] = [_site_frame(values, report, entities, ann, own, subs, cat,
                                              params, base)]

    # --- kinase activation (own sites) and substrate activity; kinases without any catalogue
    # site in the cohort get no rows (absence reads as "not measured" downstream).
    kin = {
        "activation": _summed_scores(centred, own.rename(columns={"kinase": "group"})),
        "kinase_activity": _summed_scores(centred, subs.rename(columns={"kinase": "group"})),
    }
    methods = {
        "activation": "sum of centred own activation-loop/autophosphorylation sites, "
                      "leave-one-out z (kinase-centric; TOPAS, INKA)",
        "kinase_activity": "sum of centred substrate sites, leave-one-out z "
                           "(substrate phosphorylation score; TOPAS, INKA)",
    }
    suffix = {"activation": "activation", "kinase_activity": "substrates"}
    for kind, scores in kin.items():
        kinases = [k for k in cat.kinases.index if k in scores.sums.columns]
        frames.append(_kinase_frame(kind, scores, report, kinases, entities, params, base,
                                    methods[kind], suffix[kind], own if kind == "activation"
                                    else subs, ann))

    # --- RTK activation
    protein_scores = _summed_scores(centred, rtk_members)
    # RTK scores are judged against the patients of this (phospho) cohort only.
    expression_z, protein_z = (
        None if m is None else m.rename(index=str).reindex(values.index)
        for m in (expression_z, protein_z))
    rtk = rtk_activation_scores(expression_z, protein_z, protein_scores.z,
                                kin["kinase_activity"].z, activation_z=kin["activation"].z,
                                params=params, rtks=cat.rtks)
    frames.append(_rtk_frame(rtk, report, entities, params, base))
    return _findings_table(frames, ctx.patients)


class _Cohort(NamedTuple):
    """What every findings function derives from its arguments (see :func:`_prepare`)."""

    values: pd.DataFrame  # samples x features, batch-centred, string labels
    report: pd.Index  # samples to report
    entities: pd.Series  # aligned to values.index
    patients: pd.Series
    cat: KinaseCatalogue
    ann: pd.DataFrame  # annotate_sites, restricted to the features of values
    base: dict[str, Any]  # provenance shared by every finding


def _prepare(sites: pd.DataFrame, *, site_genes: pd.Series | pd.DataFrame,
             entities: pd.Series | None, patients: pd.Series, batches: pd.Series | None,
             samples: list[str] | None, params: PhosphoParams,
             catalogue: KinaseCatalogue | None, sample_centres: pd.Series | None) -> _Cohort:
    """Batch-centre, check the reported samples, align labels and annotate the sites."""
    cat = catalogue if catalogue is not None else kinase_catalogue()
    values = _batch_centred(sites, batches, sample_centres=sample_centres)
    report = pd.Index([str(s) for s in (samples if samples is not None else values.index)])
    unknown = report.difference(values.index)
    if len(unknown):
        raise ValueError(f"samples not in the phospho matrix: {', '.join(unknown)}")
    if entities is None:  # no entity labels: within-entity percentiles stay missing
        entities = pd.Series(np.nan, index=values.index, dtype=object)
    entities = pd.Series(entities).rename(index=str).reindex(values.index)
    patients = pd.Series(patients).rename(index=str)
    # cohort_size is the number of samples: the same for every block of features
    base = {"method": "", "thresholds": asdict(params), "cohort_size": len(values)}
    ann = annotate_sites(site_genes, catalogue=cat, site_numbering=params.site_numbering)
    ann = ann.loc[ann["feature"].astype(object).isin(values.columns)]  # object: hashed
    return _Cohort(values, report, entities, patients, cat, ann, base)


def _sum_members(ann: pd.DataFrame, cat: KinaseCatalogue) -> tuple[
        pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Members of every sum: own sites, substrate sites, RTK protein phosphorylation sites.

    Membership of a feature depends on its own annotation rows only (a per-feature merge with
    the catalogue), so the members among a subset of features are the members of the whole
    annotation restricted to that subset.
    """
    own, subs = _catalogue_members(ann, cat)
    return own, subs, _protein_members(ann, groups=cat.rtks)


def _summed_index(own: pd.DataFrame, subs: pd.DataFrame, rtk_members: pd.DataFrame) -> pd.Index:
    """The features entering any sum; they include every catalogue (always reported) site."""
    return pd.Index(pd.unique(pd.concat([own["feature"], subs["feature"],
                                         rtk_members["feature"]]).astype(str)))


def _findings_table(frames: list[pd.DataFrame], patients: pd.Series) -> pd.DataFrame:
    found = [f for f in frames if len(f)]
    if not found:  # e.g. a block without outliers
        return findings_frame()
    out = pd.concat(found, ignore_index=True)
    out["patient"] = out["sample"].map(patients)
    out["layer"] = LAYER
    return findings_frame(out)


def summed_features(
    site_genes: pd.Series | pd.DataFrame,
    *,
    catalogue: KinaseCatalogue | None = None,
    params: PhosphoParams = PhosphoParams(),
    features: list[str] | pd.Index | None = None,
) -> list[str]:
    """The features that the kinase, substrate and RTK scores of :func:`phospho_findings` sum.

    These are the catalogue kinases' own sites, their substrate sites (together the catalogue
    sites, which :func:`phospho_findings` reports as ``phosphosite`` for every sample) and the
    sites of the RTKs' protein phosphorylation sums (TOPAS protein phosphorylation and RTK
    scores, module docstring). Every other site is scored on its own values only, so a cohort
    too large for memory is scored as ``phospho_findings(sites[summed_features(...)])`` plus
    :func:`phospho_site_findings` on blocks of the remaining features, which together equal
    ``phospho_findings(sites)`` (per-feature statistics; :mod:`tumorboard.layers.scoring`).

    Parameters
    ----------
    site_genes
        Feature annotation, as for :func:`phospho_findings`.
    catalogue
        Kinase catalogue (default: :func:`kinase_catalogue`).
    params
        :class:`PhosphoParams`; its ``site_numbering`` decides which features match the
        catalogue.
    features
        Features of the matrix (e.g. the store's columns): only those are returned. Default:
        every feature of ``site_genes``.

    Returns
    -------
    list of str
        Feature ids (strings), each once, in the order the sums meet them.
    """
    cat = catalogue if catalogue is not None else kinase_catalogue()
    ann = annotate_sites(site_genes, catalogue=cat, site_numbering=params.site_numbering)
    if features is not None:
        wanted = pd.Index([str(f) for f in features])
        ann = ann.loc[ann["feature"].astype(object).isin(wanted)]
    return _summed_index(*_sum_members(ann, cat)).tolist()


def phospho_site_findings(
    sites: pd.DataFrame,
    *,
    site_genes: pd.Series | pd.DataFrame,
    entities: pd.Series | None,
    patients: pd.Series,
    batches: pd.Series | None = None,
    samples: list[str] | None = None,
    params: PhosphoParams = PhosphoParams(),
    catalogue: KinaseCatalogue | None = None,
    sample_centres: pd.Series | None = None,
) -> pd.DataFrame:
    """Outlier findings of sites outside every sum, for a block of the cohort's features.

    The ``phosphosite`` rows that ``params.report_site_outliers`` adds to
    :func:`phospho_findings` for sites that are neither catalogue sites nor RTK sites (call
    "high" only; none without ``report_site_outliers``). A site's centring, leave-one-out z,
    percentiles and call depend only on its own values across the cohort
    (:mod:`tumorboard.layers.scoring`; TOPAS-pipeline ``bin/metrics.py``), so scoring the
    non-summed sites block by block gives exactly their rows of the whole matrix; the same code
    (``_site_frame``) builds them in both functions.

    Parameters
    ----------
    sites
        All samples x a block of features that contains no :func:`summed_features`.
    site_genes, entities, patients, batches, samples, params, catalogue
        As for :func:`phospho_findings`.
    sample_centres
        With ``batches``: sample -> median over all features of the cohort
        (:func:`tumorboard.layers.proteome.sample_medians` of the whole matrix), so that batch
        centring of the block equals that of the whole matrix. None: the block's own medians
        (then the result equals the whole matrix's only without batches).

    Returns
    -------
    pandas.DataFrame
        A findings table (:func:`tumorboard.model.findings_frame`) of kind ``phosphosite``.

    Raises
    ------
    InputError
        The block contains summed features (score those with :func:`phospho_findings`), or a
        sample has no entry in ``sample_centres``.
    ValueError
        A requested sample is not a row of ``sites``.
    """
    ctx = _prepare(sites, site_genes=site_genes, entities=entities, patients=patients,
                   batches=batches, samples=samples, params=params, catalogue=catalogue,
                   sample_centres=sample_centres)
    summed = _summed_index(*_sum_members(ctx.ann, ctx.cat))
    if len(summed):
        raise InputError(
            f"the block contains {len(summed)} feature(s) that kinase, substrate or RTK scores "
            f"sum over: {', '.join(summed[:5])}",
            fix="score phospho.summed_features(...) together with phospho_findings and pass "
                "only the other features to phospho_site_findings")
    no_members = pd.DataFrame({"feature": pd.Series([], dtype=object),
                               "kinase": pd.Series([], dtype=object),
                               "weight": pd.Series([], dtype="float64")})
    frames = [_site_frame(ctx.values, ctx.report, ctx.entities, ctx.ann, no_members,
                          no_members, ctx.cat, params, ctx.base)]
    return _findings_table(frames, ctx.patients)


def _site_calls(z: Any, pct: Any, ref: Any, params: PhosphoParams) -> np.ndarray:
    return np.asarray(scoring.call_outliers(
        z, pct, ref, z_high=params.z_high, pct_high=params.pct_high, z_low=params.z_low,
        pct_low=params.pct_low, min_reference=params.min_reference), dtype=object)


def _scored_sites(values: pd.DataFrame, report: pd.Index, entities: pd.Series,
                  catalogue_features: list[str], params: PhosphoParams) -> pd.DataFrame:
    """Scores of the reported sites of the reported samples, in the order of ``report``.

    Only the rows reported are ever built (:func:`tumorboard.layers.scoring.score_matrix`
    with ``keep``), so scoring the whole cohort holds no table of every site and sample.
    """
    is_catalogue = values.columns.isin(catalogue_features)

    def reported(block: scoring.ScoreBlock) -> np.ndarray:
        catalogue = is_catalogue[block.features][:, None]
        if not params.report_site_outliers:
            return np.broadcast_to(catalogue, block.value.shape)
        return catalogue | scoring.outlier_call_mask(
            block.z_score, block.percentile_cohort, block.reference_size, ("high",),
            z_high=params.z_high, pct_high=params.pct_high, z_low=params.z_low,
            pct_low=params.pct_low, min_reference=params.min_reference)

    scored = scoring.score_matrix(values, entities=entities, samples=list(report),
                                  keep=reported)
    # Rows in the order samples were asked for, as the kinase and RTK rows.
    position = report.unique().get_indexer(scored["sample"].astype(object))
    order = np.argsort(position, kind="stable")
    scored = scored.take(order)
    calls = _site_calls(scored["z_score"], scored["percentile_cohort"],
                        scored["reference_size"], params)
    cols = ["sample", "feature", "value", "z_score", "percentile_cohort", "percentile_entity",
            "reference_size"]
    return scored[cols].assign(call=calls)


def _site_frame(values: pd.DataFrame, report: pd.Index, entities: pd.Series,
                ann: pd.DataFrame, own: pd.DataFrame, subs: pd.DataFrame, cat: KinaseCatalogue,
                params: PhosphoParams, base: dict[str, Any]) -> pd.DataFrame:
    """Phosphosite findings: catalogue sites always, other sites where called "high"."""
    catalogue_features = sorted(set(own["feature"]) | set(subs["feature"]))
    scored = _scored_sites(values, report, entities, catalogue_features, params)
    # Catalogue sites without a value in a reported sample: "not_measured" rows.
    cat_values = values.loc[report, catalogue_features]
    r, c = np.nonzero(cat_values.isna().to_numpy())
    if len(r):
        n_values = values[catalogue_features].notna().sum().to_numpy()
        missing = pd.DataFrame({
            "sample": report.to_numpy(dtype=object)[r],
            "feature": np.array(catalogue_features, dtype=object)[c],
            "value": np.nan, "z_score": np.nan, "percentile_cohort": np.nan,
            "percentile_entity": np.nan, "reference_size": n_values[c], "call": "not_measured",
        })
        scored = pd.concat([scored, missing], ignore_index=True)
    if scored.empty:
        return pd.DataFrame()
    keys = scored["feature"].astype(str)
    # Per distinct feature, then spread to the rows (a map of every row is slow on strings).
    row_key, unique_keys = pd.factorize(keys)
    unique_keys = pd.Series(unique_keys)
    first = ann.drop_duplicates("feature").set_index("feature")
    # Features missing from the annotation keep their id as label and have no gene.
    first = first.reindex(first.index.union(pd.Index(unique_keys), sort=False))
    first["label"] = first["label"].fillna(pd.Series(first.index, index=first.index))
    first["numbering"] = first["numbering"].fillna("unannotated")
    used = first.loc[unique_keys]
    roles = _site_roles(ann.loc[ann["feature"].astype(object).isin(used.index)], cat)
    prov = {
        f: {**base, "method": "phosphosite leave-one-out z", "feature_id": f,
            "antibody": None if pd.isna(a) else str(a), "numbering": str(n),
            "catalogue": roles.get(f, [])}
        for f, a, n in zip(used.index, used["antibody"], used["numbering"], strict=True)
    }
    return pd.DataFrame({
        "sample": scored["sample"].astype(object).to_numpy(),
        "gene": unique_keys.map(first["target_gene"]).to_numpy(dtype=object)[row_key],
        "feature": unique_keys.map(first["label"]).to_numpy(dtype=object)[row_key],
        "kind": "phosphosite",
        "value": _float(scored["value"]), "z_score": _float(scored["z_score"]),
        "percentile_cohort": _float(scored["percentile_cohort"]),
        "percentile_entity": _float(scored["percentile_entity"]),
        "reference_size": _float(scored["reference_size"]),
        "call": scored["call"].astype(object).to_numpy(),
        "provenance": unique_keys.map(prov).to_numpy(dtype=object)[row_key],
    })


def _site_roles(ann: pd.DataFrame, cat: KinaseCatalogue) -> dict[str, list[str]]:
    """feature -> ['ERBB2 activation_loop', 'PLCG1 substrate of KDR', ...] for provenance."""
    a = ann.dropna(subset=["target_site"])
    a = a.loc[a["numbering"] != "antibody"]
    own = a.merge(cat.own_sites, left_on=["target_gene", "target_site"],
                  right_on=["kinase", "site"], suffixes=("", "_cat"))
    own_txt = own["kinase"] + " " + own["target_site"] + " " + own["role"]
    subs = a.merge(cat.substrates.rename(columns={"gene": "substrate_gene"}),
                   left_on=["target_gene", "target_site"],
                   right_on=["substrate_gene", "site"], suffixes=("", "_cat"))
    sub_txt = subs["target_gene"] + " " + subs["target_site"] + " substrate of " + subs["kinase"]
    both = pd.concat([pd.DataFrame({"feature": own["feature"], "txt": own_txt}),
                      pd.DataFrame({"feature": subs["feature"], "txt": sub_txt})])
    return both.groupby("feature")["txt"].agg(lambda s: sorted(set(s))).to_dict()


def _kinase_frame(kind: str, scores: SummedScores, report: pd.Index, kinases: list[str],
                  entities: pd.Series, params: PhosphoParams, base: dict[str, Any], method: str,
                  suffix: str, members: pd.DataFrame, ann: pd.DataFrame) -> pd.DataFrame:
    sums = scores.sums.reindex(columns=kinases)
    pct = scoring.percentile_rank(sums)
    pct_e = scoring.percentile_rank(sums, groups=entities)
    z = scores.z.reindex(columns=kinases)
    ref = scores.reference_size.reindex(columns=kinases)
    calls = _calls(z, pct, ref, params)
    n = scores.n_sites.reindex(index=report, columns=kinases).fillna(0).astype("int64")
    long = _stack({"value": sums, "z": z, "pct": pct, "pct_e": pct_e, "ref": ref,
                   "call": calls}, report, kinases)
    long["n"] = n.to_numpy().reshape(-1)
    call = long["call"].astype(object).where(long["n"] > 0, "not_measured")
    if kind == "activation":
        call = call.replace({"high": "activated", "low": "not_activated",
                             "neutral": "not_activated"})
    labels = ann.drop_duplicates("feature").set_index("feature")["label"]
    sites_of = (members.assign(label=members["feature"].map(labels))
                .groupby("kinase")["label"].agg(lambda s: sorted(set(s))).to_dict())
    prov = [
        {**base, "method": method, "n_sites": int(k_n), "sites_in_cohort": sites_of.get(k, [])}
        for k, k_n in zip(long["key"], long["n"], strict=True)
    ]
    return pd.DataFrame({
        "sample": long["sample"], "gene": long["key"], "feature": long["key"] + " " + suffix,
        "kind": kind, "value": _float(long["value"]), "z_score": _float(long["z"]),
        "percentile_cohort": _float(long["pct"]), "percentile_entity": _float(long["pct_e"]),
        "reference_size": _float(long["ref"]), "call": call, "provenance": prov,
    })


def _rtk_frame(rtk: pd.DataFrame, report: pd.Index, entities: pd.Series, params: PhosphoParams,
               base: dict[str, Any]) -> pd.DataFrame:
    measured = rtk.groupby("gene", sort=False)["score"].apply(lambda v: v.notna().any())
    rtk = rtk.loc[rtk["gene"].isin(measured.index[measured.to_numpy(dtype=bool)])]
    if rtk.empty:
        return rtk
    wide = rtk.pivot(index="sample", columns="gene", values="score")
    genes = list(pd.unique(rtk["gene"]))
    wide = wide.reindex(columns=genes)
    z, ref = scoring.leave_one_out_z(wide)
    pct = scoring.percentile_rank(wide)
    pct_e = scoring.percentile_rank(wide, groups=entities.reindex(wide.index))
    calls = _calls(z, pct, ref, params)
    long = _stack({"z": z, "pct": pct, "pct_e": pct_e, "ref": ref, "call": calls}, report, genes)
    detail = rtk.set_index(["sample", "gene"]).reindex(
        pd.MultiIndex.from_arrays([long["sample"], long["key"]]))
    present = detail["subscores_present"].fillna("").to_numpy(dtype=object)
    # An activation call needs phosphoproteomic evidence: expression alone scores but is not
    # called (an expressed, unphosphorylated RTK is the MASTER ERBB2 case).
    phospho_present = ~np.isnan(detail[["phosphorylation", "kinase_activity"]].to_numpy(
        dtype="float64")).all(axis=1)
    call = long["call"].astype(object).where(phospho_present, "not_measured")
    weights = params.subscore_weights()
    prov = [
        {**base, "method": "RTK activation: weighted sum of sub-scores, each the weighted "
                           "maximum of capped member z-scores (DESIGN.md §1; TOPAS)",
         "subscores": {s: (None if np.isnan(v) else float(v)) for s, v in
                       zip(SUBSCORES, vals, strict=True)},
         "subscores_present": p.split(",") if p else [], "weights": weights}
        for p, vals in zip(present, detail[list(SUBSCORES)].to_numpy(dtype="float64"),
                           strict=True)
    ]
    return pd.DataFrame({
        "sample": long["sample"], "gene": long["key"], "feature": long["key"] + " RTK activation",
        "kind": "rtk_activation", "value": detail["score"].to_numpy(dtype="float64"),
        "z_score": _float(long["z"]), "percentile_cohort": _float(long["pct"]),
        "percentile_entity": _float(long["pct_e"]), "reference_size": _float(long["ref"]),
        "call": call, "provenance": prov,
    })
