"""The alteration/target matrix of a cohort and its OncoPrint-style figure.

:func:`alteration_matrix` reads the registry (the latest analysis of each patient) into a
long table, one row per patient and gene; :func:`oncoprint_order` sorts genes and patients as
cBioPortal does; :func:`oncoprint_plot` only draws (DESIGN.md §4: plotting never
recomputes). The figure follows the OncoPrint of cBioPortal (Cerami et al., Cancer Discov
2012;2:401-4, doi:10.1158/2159-8290.CD-12-0095, PMID 22588877; Gao et al., Sci Signal
2013;6:pl1, doi:10.1126/scisignal.2004088, PMID 23550210): genes as rows with the share of
patients altered on the left, patients as columns, one glyph per alteration kind in each
cell, an annotation track (here the entity) on top.

Which findings count as an alteration (:data:`ALTERATION_KINDS`): focal amplification and
deep deletion, not arm-level gains and losses (cBioPortal's OncoPrint likewise draws only
amplification and deep deletion unless asked for more); mutations other than variants of
unknown significance (as cBioPortal with its "hide putative passengers" option); RNA and
protein calls above the cohort (the layers' z ≥ 2 and 90th-percentile rule) and kinase
activation by phosphoproteomics, for target genes only (:data:`EXPRESSION_FINDINGS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.collections import PolyCollection
from matplotlib.patches import Patch
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tumorboard.errors import InputError
from tumorboard.registry.models import Analysis, Diagnosis, Finding, Patient, TargetEvidence
from tumorboard.report.outcome_plots import GROUP_COLOURS, _mark_simulated
from tumorboard.report.plots import STATE_COLOURS, _figure, markup

#: Alteration kinds of the matrix, in the order of the legend, each with the finding
#: (``Finding.kind``, accepted ``Finding.call`` values or None for any) that makes it.
ALTERATION_KINDS: dict[str, tuple[tuple[str, tuple[str, ...] | None], ...]] = {
    "amplification": (("amplification", None),),
    "deletion": (("deletion", None),),
    "fusion": (("fusion", None),),
    # the variant layer's calls other than "vus" (tumorboard.layers.variants)
    "mutation": (("mutation", ("hotspot", "oncogenic_likely")),),
    "overexpression": (("overexpression", None),),
    "protein_high": (("protein_high", None),),
    "activation": (("activation", ("activated",)), ("rtk_activation", ("high",))),
}
KINDS: tuple[str, ...] = tuple(ALTERATION_KINDS)
#: Findings of the expression layers (RNA, protein, phosphoproteome): by default counted only
#: for target genes (antigens and kinases of the target catalogue), because some of
#: thousands of genes lie beyond z 2 in every tumour by chance and would crowd out the
#: recurrent alterations.
EXPRESSION_FINDINGS = frozenset({"overexpression", "protein_high", "activation",
                                 "rtk_activation"})

#: Target states of :class:`TargetEvidence`, strongest first: a patient with several tumour
#: samples shows the strongest state of a gene.
TARGET_STATES = ("activated", "expressed_not_activated", "expressed_activation_unknown",
                 "not_expressed", "unknown")

#: Glyph colours, those of cBioPortal's OncoPrint where it has the kind (amplification red,
#: deep deletion blue, mutation green, fusion purple, mRNA high a red outline, protein high
#: a red bar); activation, which cBioPortal does not draw, in Okabe–Ito orange.
GLYPH_COLOURS: dict[str, str] = {
    "amplification": "#ff0000", "deletion": "#0000ff", "fusion": "#8b00c9",
    "mutation": "#008000", "overexpression": "#ff9999", "protein_high": "#b2182b",
    "activation": "#e69f00",
}
GLYPH_LABELS: dict[str, str] = {
    "amplification": "amplification", "deletion": "deep deletion", "fusion": "fusion",
    "mutation": "mutation (not VUS)", "overexpression": "RNA high",
    "protein_high": "protein high", "activation": "kinase activated (phospho)",
}
UNALTERED = "#d3d3d3"  # cBioPortal's grey of a profiled, unaltered cell
MATRIX_COLUMNS = ["patient", "entity", "gene", *KINDS, "altered", "target_state", "features"]
DENSE_PATIENTS = 150
"""Above this many patients the columns touch and the glyphs are rasterised."""
MAX_PATIENT_LABELS = 80
"""Patient names are written under the columns up to this many patients."""


# --- data -------------------------------------------------------------------------------


def patients_of_entity(session: Session, entity: str) -> list[str]:
    """Pseudonyms of the patients whose current (latest recorded) diagnosis has the OncoTree
    code ``entity`` (case-insensitive); empty when none has."""
    current = (select(func.max(Diagnosis.id).label("id"))
               .group_by(Diagnosis.patient_id).subquery())
    return list(session.scalars(
        select(Patient.pseudonym).join(Diagnosis, Diagnosis.patient_id == Patient.id)
        .where(Diagnosis.id.in_(select(current.c.id)))
        .where(func.upper(Diagnosis.oncotree_code) == entity.strip().upper())
        .order_by(Patient.pseudonym)))


def _profiled(session: Session, patients: Sequence[str] | None, entity: str | None
              ) -> pd.DataFrame:
    """patient_id, patient, entity, analysis_id of the latest analysis of each selected
    patient (one query)."""
    latest = (select(Analysis.patient_id, func.max(Analysis.id).label("analysis_id"))
              .group_by(Analysis.patient_id).subquery())
    current = (select(Diagnosis.patient_id, func.max(Diagnosis.id).label("id"))
               .group_by(Diagnosis.patient_id).subquery())
    stmt = (select(Patient.id, Patient.pseudonym, Diagnosis.oncotree_code,
                   latest.c.analysis_id)
            .join(latest, latest.c.patient_id == Patient.id)
            .outerjoin(current, current.c.patient_id == Patient.id)
            .outerjoin(Diagnosis, Diagnosis.id == current.c.id)
            .order_by(Patient.pseudonym))
    if patients is not None:
        stmt = stmt.where(Patient.pseudonym.in_(list(patients)))
    if entity:
        stmt = stmt.where(func.upper(Diagnosis.oncotree_code) == entity.strip().upper())
    return pd.DataFrame([tuple(r) for r in session.execute(stmt)],
                        columns=["patient_id", "patient", "entity", "analysis_id"])


def _finding_rows(session: Session, who: pd.DataFrame, genes: Sequence[str] | None, *,
                  targets_only: bool) -> pd.DataFrame:
    """patient_id, gene, kind (matrix kind), feature of the counted findings (one query)."""
    wanted = {f for spec in ALTERATION_KINDS.values() for f, _ in spec}
    stmt = (select(Finding.patient_id, Finding.gene, Finding.kind, Finding.call,
                   Finding.feature)
            # patient and kind first: the (patient_id, kind) index finds the rows
            .where(Finding.patient_id.in_([int(x) for x in who["patient_id"]]))
            .where(Finding.analysis_id.in_([int(x) for x in who["analysis_id"]]))
            .where(Finding.kind.in_(sorted(wanted))))
    if targets_only:
        targets = (select(TargetEvidence.gene)
                   .where(or_(TargetEvidence.is_antigen, TargetEvidence.is_kinase))
                   .distinct())
        stmt = stmt.where(or_(Finding.kind.not_in(sorted(EXPRESSION_FINDINGS)),
                              Finding.gene.in_(targets)))
    if genes is not None:
        # A fusion's 3' partner is only in its feature, so fusions are kept unfiltered.
        stmt = stmt.where((Finding.gene.in_(list(genes))) | (Finding.kind == "fusion"))
    raw = pd.DataFrame([tuple(r) for r in session.execute(stmt)],
                       columns=["patient_id", "gene", "finding_kind", "call", "feature"])
    parts = []
    for kind, spec in ALTERATION_KINDS.items():
        for finding_kind, calls in spec:
            keep = raw["finding_kind"] == finding_kind
            if calls is not None:
                keep &= raw["call"].isin(calls)
            part = raw.loc[keep, ["patient_id", "gene", "feature"]].assign(kind=kind)
            if kind == "fusion":  # both partners carry the fusion, as in cBioPortal
                partners = part["feature"].astype(str).str.split("::")
                part = part.assign(gene=partners).explode("gene")
            parts.append(part)
    out = pd.concat(parts, ignore_index=True) if parts else raw.iloc[:0]
    out = out.dropna(subset=["gene"])
    out = out[out["gene"].astype(str).str.len() > 0]
    return out.drop_duplicates(["patient_id", "gene", "kind", "feature"])


def alteration_matrix(session: Session, *, patients: Sequence[str] | None = None,
                      entity: str | None = None, genes: Sequence[str] | None = None,
                      max_genes: int = 30, expression_targets_only: bool = True
                      ) -> pd.DataFrame:
    """The alteration/target matrix of the selected patients: one row per patient and gene.

    Reads the latest analysis of each patient (as :func:`registry.queries.patient_targets`)
    in three queries whatever the number of patients: the patients with their entity, the
    findings that count as an alteration (:data:`ALTERATION_KINDS`), and the target states
    of the chosen genes.

    Parameters
    ----------
    session
        Registry session.
    patients
        Pseudonyms to include (e.g. from :func:`tumorboard.outcomes.cohort.select_patients`);
        None: every patient with an analysis.
    entity
        Keep only patients whose current diagnosis has this OncoTree code.
    genes
        The genes to show, in this order of preference; None: the ``max_genes`` genes
        altered in most patients, ties by gene name.
    max_genes
        At most this many genes (1–200).
    expression_targets_only
        Count RNA high, protein high and activation only for the antigens and kinases of
        the target catalogue (genes with such :class:`TargetEvidence`), see
        :data:`EXPRESSION_FINDINGS`; DNA alterations count for every gene.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`MATRIX_COLUMNS`: patient, entity, gene, one bool per kind of
        :data:`KINDS`, ``altered`` (any kind), ``target_state`` (the strongest
        :class:`TargetEvidence` state over the patient's samples, None without evidence) and
        ``features`` (the findings, ``; ``-joined). Every profiled patient has a row for
        every chosen gene, altered or not, so unaltered patients still make a column.
        Patients without an analysis are not profiled and not in the table. Sorted by
        patient, then gene.

    Raises
    ------
    InputError
        ``max_genes`` out of range.
    """
    if not 1 <= max_genes <= 200:
        raise InputError(f"max_genes {max_genes} is out of range", expected="1 to 200",
                         fix="show at most 200 genes")
    if genes is not None:
        genes = list(dict.fromkeys(g.strip() for g in genes if g and g.strip()))
    who = _profiled(session, patients, entity)
    if who.empty:
        return pd.DataFrame(columns=MATRIX_COLUMNS)
    found = _finding_rows(session, who, genes, targets_only=expression_targets_only)
    if genes is None:
        recurrence = (found.groupby("gene")["patient_id"].nunique()
                      .rename("n").reset_index())
        recurrence = recurrence.sort_values(["n", "gene"], ascending=[False, True])
        chosen = recurrence["gene"].head(max_genes).tolist()
    else:
        chosen = genes[:max_genes]
    found = found[found["gene"].isin(chosen)]
    states = pd.DataFrame([tuple(r) for r in session.execute(
        select(TargetEvidence.patient_id, TargetEvidence.gene, TargetEvidence.state)
        .where(TargetEvidence.analysis_id.in_([int(x) for x in who["analysis_id"]]))
        .where(TargetEvidence.gene.in_(chosen)))] if chosen else [],
        columns=["patient_id", "gene", "state"])
    grid = who[["patient_id", "patient", "entity"]].merge(
        pd.DataFrame({"gene": chosen}), how="cross")
    if grid.empty:
        return pd.DataFrame(columns=MATRIX_COLUMNS)
    flags = (found.assign(flag=True)
             .pivot_table(index=["patient_id", "gene"], columns="kind", values="flag",
                          aggfunc="any", fill_value=False))
    features = (found[["patient_id", "gene", "kind", "feature"]].astype({"feature": str})
                .drop_duplicates(["patient_id", "gene", "feature"])
                .sort_values(["kind", "feature"])
                .groupby(["patient_id", "gene"])["feature"].agg("; ".join).rename("features"))
    grid = grid.merge(flags.reset_index(), on=["patient_id", "gene"], how="left")
    grid = grid.merge(features.reset_index(), on=["patient_id", "gene"], how="left")
    for kind in KINDS:
        grid[kind] = grid[kind].eq(True) if kind in grid else False
    grid["altered"] = grid[list(KINDS)].any(axis=1)
    rank = {s: i for i, s in enumerate(TARGET_STATES)}
    if len(states):
        states = (states.assign(rank=states["state"].map(rank))
                  .sort_values("rank").drop_duplicates(["patient_id", "gene"]))
        grid = grid.merge(states[["patient_id", "gene", "state"]], on=["patient_id", "gene"],
                          how="left")
    else:
        grid["state"] = None
    grid = grid.rename(columns={"state": "target_state"})
    grid["target_state"] = grid["target_state"].astype(object).where(
        grid["target_state"].notna(), None)
    grid["features"] = grid["features"].astype(object).where(grid["features"].notna(), "")
    grid["entity"] = grid["entity"].astype(object).where(grid["entity"].notna(), None)
    return (grid[MATRIX_COLUMNS].sort_values(["patient", "gene"], kind="stable")
            .reset_index(drop=True))


def gene_summary(matrix: pd.DataFrame) -> pd.DataFrame:
    """Per gene: patients altered (n and share of the profiled patients) and per kind, in the
    OncoPrint's row order (most altered first, ties by name)."""
    _check_matrix(matrix)
    n = matrix["patient"].nunique()
    out = matrix.groupby("gene")[["altered", *KINDS]].sum().astype(int).reset_index()
    out.insert(2, "share_altered", out["altered"] / n if n else np.nan)
    out = out.sort_values(["altered", "gene"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)


def oncoprint_order(matrix: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Genes (rows) and patients (columns) in OncoPrint order.

    Genes by the number of patients altered, most first, ties by name. Patients by the
    "memo sort" of cBioPortal's OncoPrint (after the mutual-exclusivity sort of the MEMo
    method, Ciriello et al., Genome Res 2012;22:398-406, doi:10.1101/gr.125567.111):
    lexicographically on their binary alteration pattern over the genes in row order,
    altered before unaltered, so that mutually exclusive alterations form a staircase;
    ties by pseudonym.
    """
    _check_matrix(matrix)
    genes = gene_summary(matrix)["gene"].tolist()
    pattern = matrix.pivot_table(index="patient", columns="gene", values="altered",
                                 aggfunc="any", fill_value=False)
    pattern = pattern.reindex(columns=genes, fill_value=False).astype(bool)
    keys = sorted(pattern.index, key=lambda p: (tuple(not v for v in pattern.loc[p]), p))
    return genes, list(keys)


def _check_matrix(matrix: Any) -> None:
    if not isinstance(matrix, pd.DataFrame):
        raise InputError(f"matrix must be a pandas DataFrame, got {type(matrix).__name__}",
                         fix="pass the table alteration_matrix returns")
    missing = [c for c in ("patient", "gene", "altered", *KINDS) if c not in matrix.columns]
    if missing:
        raise InputError(f"matrix has no column '{missing[0]}'", column=missing[0],
                         expected=", ".join(MATRIX_COLUMNS),
                         fix="pass the table alteration_matrix returns")


# --- plot -------------------------------------------------------------------------------


def _rects(cells: Iterable[tuple[float, float]], *, width: float, height: float,
           dy: float = 0.0) -> np.ndarray:
    """Rectangles (as polygon vertices) of ``width`` × ``height`` centred on the cells,
    shifted by ``dy``."""
    out = [[(x - width / 2, y + dy - height / 2), (x + width / 2, y + dy - height / 2),
            (x + width / 2, y + dy + height / 2), (x - width / 2, y + dy + height / 2)]
           for x, y in cells]
    return np.asarray(out, dtype=float).reshape(-1, 4, 2)


def _entity_colours(entities: Sequence[str]) -> dict[str, str]:
    """Okabe–Ito colours (:data:`GROUP_COLOURS`) for up to eight entities; beyond that
    matplotlib's 20-colour ``tab20`` palette, so that no two entities share a colour."""
    if len(entities) <= len(GROUP_COLOURS):
        return {e: GROUP_COLOURS[i] for i, e in enumerate(entities)}
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps["tab20"]
    return {e: to_hex(cmap(i % 20)) for i, e in enumerate(entities)}


def oncoprint_plot(matrix: pd.DataFrame, *, image: str = "svg", title: str | None = None,
                   simulated: bool = False, show_target_state: bool = True) -> Any:
    """The matrix as an OncoPrint: genes × patients with one glyph per alteration kind.

    Drawn as in cBioPortal (Gao et al. 2013, PMID 23550210): rows in
    :func:`oncoprint_order` with the gene and the percentage of profiled patients altered
    on the left; every cell grey, amplification and deep deletion fill the cell (red,
    blue), a fusion is a purple bar of two thirds of the height, a mutation a green bar of
    one third, RNA high a red outline, protein high a dark-red bar along the top, kinase
    activation an orange bar along the bottom. With ``show_target_state`` a dot in the
    top-right corner gives an expressed target's state (:data:`STATE_COLOURS`; not drawn
    above :data:`DENSE_PATIENTS` patients, where the cells are too narrow). The entity
    of each patient is an annotation track above the genes.

    Parameters
    ----------
    matrix
        The table of :func:`alteration_matrix` (at least patient, gene, the kinds and
        altered; entity and target_state optional).
    image
        ``'svg'``, ``'png'`` or ``'figure'`` (:func:`tumorboard.report.plots.markup`).
    title
        Axes title; default "Alterations and targets, N patients".
    simulated
        Mark the figure "SIMULATED".
    show_target_state
        Draw the target-state dots.

    Raises
    ------
    InputError
        Not a matrix, or an empty one (nothing to draw would be mistaken for a result).
    """
    _check_matrix(matrix)
    if not len(matrix):
        raise InputError("matrix is empty: nothing to plot",
                         expected="at least one patient with an analysis and one gene",
                         fix="check the selection of patients")
    genes, patients = oncoprint_order(matrix)
    n_genes, n_patients = len(genes), len(patients)
    col = {p: i for i, p in enumerate(patients)}
    # Rows top to bottom: entity track at y = 0, genes from y = 1 (axis inverted).
    row = {g: i + 1.25 for i, g in enumerate(genes)}
    m = matrix.assign(x=matrix["patient"].map(col), y=matrix["gene"].map(row))
    width = min(18.0, 3.2 + 0.16 * n_patients)
    fig = _figure(width, 1.9 + 0.26 * (n_genes + 1))
    ax = fig.add_subplot()
    # Many patients: columns touch, each gene row gets one grey band instead of a cell per
    # patient, and the glyphs are rasterised (one image in the SVG, not 10^4 paths); the text
    # stays text.
    dense = n_patients > DENSE_PATIENTS
    cell_w = 1.0 if dense else 0.9
    cell_h = 0.8
    background = ([((n_patients - 1) / 2, y) for y in row.values()] if dense else
                  [(x, y) for x in range(n_patients) for y in row.values()])
    ax.add_collection(PolyCollection(
        _rects(background, width=n_patients if dense else cell_w, height=cell_h),
        facecolors=UNALTERED, edgecolors="none", gid="oncoprint-cells"))
    shapes = {  # kind -> (height fraction, vertical offset fraction, outline only)
        "amplification": (1.0, 0.0, False), "deletion": (1.0, 0.0, False),
        "overexpression": (1.0, 0.0, True), "fusion": (2 / 3, 0.0, False),
        "mutation": (1 / 3, 0.0, False), "protein_high": (1 / 6, -5 / 12, False),
        "activation": (1 / 6, 5 / 12, False)}
    drawn: list[str] = []
    for kind in ("amplification", "deletion", "overexpression", "fusion", "mutation",
                 "protein_high", "activation"):
        cells = m.loc[m[kind], ["x", "y"]].itertuples(index=False, name=None)
        cells = list(cells)
        if not cells:
            continue
        drawn.append(kind)
        frac, off, outline = shapes[kind]
        verts = _rects(cells, width=cell_w * (0.8 if outline else 1.0),
                       height=cell_h * frac * (0.85 if outline else 1.0), dy=off * cell_h)
        ax.add_collection(PolyCollection(
            verts, facecolors="none" if outline else GLYPH_COLOURS[kind],
            edgecolors=GLYPH_COLOURS[kind] if outline else "none",
            linewidths=(0.6 if dense else 1.2) if outline else 0, gid=f"oncoprint-{kind}",
            rasterized=dense))
    states_drawn: list[str] = []
    if show_target_state and not dense and "target_state" in m.columns:
        shown = m[m["target_state"].isin(TARGET_STATES[:3])]
        for state, part in shown.groupby("target_state"):
            ax.scatter(part["x"] + cell_w * 0.3, part["y"] - cell_h * 0.3, s=7,
                       color=STATE_COLOURS[str(state)], edgecolors="#1b1f24", linewidths=0.3,
                       zorder=4)
            states_drawn.append(str(state))
    entities = (m.drop_duplicates("patient").set_index("patient")["entity"]
                if "entity" in m.columns else pd.Series(dtype=object))
    entity_of = [str(entities.get(p) or "unknown") for p in patients]
    order = list(dict.fromkeys(sorted(set(entity_of))))
    colour = _entity_colours(order)
    ax.add_collection(PolyCollection(
        _rects([(x, 0.0) for x in range(n_patients)], width=cell_w, height=0.6),
        facecolors=[colour[e] for e in entity_of], edgecolors="none",
        gid="oncoprint-entity", rasterized=dense))
    summary = gene_summary(matrix).set_index("gene")
    ax.set_yticks([0.0, *row.values()],
                  ["entity", *[f"{g}  {summary.loc[g, 'share_altered']:.0%}" for g in genes]],
                  fontsize=8)
    if n_patients <= MAX_PATIENT_LABELS:
        ax.set_xticks(range(n_patients), patients, rotation=90, fontsize=6)
    else:
        ax.set_xticks([])
        ax.set_xlabel(f"{n_patients} patients", fontsize=8)
    ax.tick_params(length=0)
    ax.set_xlim(-0.6, n_patients - 0.4)
    ax.set_ylim(max(row.values()) + 0.6, -0.5)
    for side in ax.spines.values():
        side.set_visible(False)
    handles: list[Any] = [
        Patch(facecolor="none" if k == "overexpression" else GLYPH_COLOURS[k],
              edgecolor=GLYPH_COLOURS[k] if k == "overexpression" else "none",
              label=GLYPH_LABELS[k]) for k in drawn]
    handles += [Patch(facecolor=STATE_COLOURS[s], label="target " + s.replace("_", " "))
                for s in TARGET_STATES if s in states_drawn]
    handles += [Patch(facecolor=colour[e], label=e) for e in order]
    fig.legend(handles=handles, loc="outside lower center", fontsize=7, frameon=False,
               ncol=max(1, min(len(handles), int(width / 2.4))))
    ax.set_title(title or f"Alterations and targets, {n_patients} patients", fontsize=10,
                 loc="left")
    _mark_simulated(fig, simulated)
    return markup(fig, "oncoprint", image)


__all__ = ["ALTERATION_KINDS", "KINDS", "MATRIX_COLUMNS", "TARGET_STATES",
           "alteration_matrix", "gene_summary", "oncoprint_order", "oncoprint_plot",
           "patients_of_entity"]
