"""BED and EQD2 of radiotherapy schedules (linear-quadratic model) and alpha/beta per histology.

The biologically effective dose of ``n`` fractions of ``d`` Gy is
``BED = n d (1 + d / (alpha/beta))`` (Fowler, Br J Radiol 1989;62:679-694,
doi:10.1259/0007-1285-62-740-679) and the equivalent dose in 2-Gy fractions is
``EQD2 = BED / (1 + 2 / (alpha/beta))`` (Bentzen et al., Radiother Oncol 2012;105:266-268,
doi:10.1016/j.radonc.2012.10.006). Neither includes an overall-time (repopulation) term, and
the LQ model is least certain at the large doses per fraction of SBRT; both limits are the
model's, stated in those sources.

alpha/beta values come from ``tumorboard/data/alpha_beta.yaml``, one entry per histology with
its value, citation and a note; see :func:`alpha_beta`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from tumorboard import reference
from tumorboard.errors import InputError

__all__ = ["AlphaBeta", "alpha_beta", "alpha_beta_table", "bed", "eqd2", "schedule_table"]

#: Dose per fraction of the reference schedule of EQD2 (Bentzen et al. 2012,
#: doi:10.1016/j.radonc.2012.10.006).
REFERENCE_DOSE_PER_FRACTION_GY = 2.0

_YAML = "alpha_beta.yaml"


@dataclass(frozen=True)
class AlphaBeta:
    """One alpha/beta entry of ``alpha_beta.yaml``.

    Attributes
    ----------
    key
        Entry name in the YAML (``soft_tissue_sarcoma``, ``default``, ...).
    value_gy
        alpha/beta in Gy.
    status
        ``published`` (number reported in ``source``), ``convention`` (planning convention)
        or ``default`` (no histology-specific value; the broader group's value, see ``note``).
    source
        Citation with DOI/PMID.
    note
        How the number was obtained and its limits.
    matched
        What the query resolved through: the OncoTree code whose entry was used, the entry key,
        or ``"default"`` when nothing more specific applied.
    """

    key: str
    value_gy: float
    status: str
    source: str
    note: str
    matched: str

    def __float__(self) -> float:
        return self.value_gy


@cache
def _entries() -> dict[str, dict[str, Any]]:
    text = (resources.files("tumorboard.data") / _YAML).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def alpha_beta_table() -> pd.DataFrame:
    """All alpha/beta entries shipped with tumorboard, one row per entry, with their sources.

    Returns
    -------
    DataFrame
        key, value_gy, status, source, note, oncotree (``;``-separated codes).
    """
    rows = [
        {"key": k, "value_gy": float(e["value_gy"]), "status": e["status"],
         "source": e["source"], "note": e["note"], "oncotree": ";".join(e.get("oncotree", []))}
        for k, e in _entries().items()
    ]
    return pd.DataFrame(rows)


def _record(key: str, matched: str) -> AlphaBeta:
    e = _entries()[key]
    return AlphaBeta(key=key, value_gy=float(e["value_gy"]), status=e["status"],
                     source=e["source"], note=e["note"], matched=matched)


def alpha_beta(histology: str) -> AlphaBeta:
    """alpha/beta (Gy) for a histology given as OncoTree code, OncoTree name or entry key.

    Resolution, in order: an entry key of ``alpha_beta.yaml`` (``soft_tissue_sarcoma``,
    ``late_normal_tissue``, ``default``); an OncoTree code (``MRLS``) or OncoTree name
    (``Myxoid/Round-Cell Liposarcoma``), case-insensitive, walked up its OncoTree lineage to the
    nearest code that has an entry (``DDLS`` -> ``LIPO`` -> soft-tissue sarcoma). A valid
    OncoTree code with no entry anywhere in its lineage (e.g. osteosarcoma, ``OS``) gets the
    ``default`` entry, 10 Gy by the convention of Fowler 1989 (doi:10.1259/0007-1285-62-740-679);
    the returned record says so in ``matched == "default"`` and ``status == "convention"``.
    Values and their sources are in ``tumorboard/data/alpha_beta.yaml``.

    Raises
    ------
    InputError
        If ``histology`` is neither an entry key nor an OncoTree code or name; a typo is not
        silently given the default.
    """
    entries = _entries()
    text = str(histology).strip() if histology is not None else ""
    if not text or text.lower() == "nan":
        raise InputError(
            "no histology given for the alpha/beta lookup",
            column="histology",
            expected="an OncoTree code (e.g. SYNS), an OncoTree name, or one of "
                     + ", ".join(entries),
            fix="fill in the histology, or give alpha_beta_gy explicitly",
        )
    if text.lower() in entries:
        return _record(text.lower(), text.lower())
    tree = reference.oncotree()
    code = text.upper()
    if code not in tree:
        by_name = [c for c, t in tree.items() if t.name.lower() == text.lower()]
        if not by_name:
            reference.tumour_type(text)  # raises InputError with near matches
        code = by_name[0]
    by_code = {c: k for k, e in entries.items() for c in e.get("oncotree", [])}
    for node in reference.lineage(code):
        if node in by_code:
            return _record(by_code[node], node)
    return _record("default", "default")


def _as_array(values: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric, got {values!r}", column=name,
                         fix=f"give {name} as a number or a numeric column") from exc
    return arr


def _check_schedule(d: np.ndarray, n: np.ndarray, ab: np.ndarray) -> None:
    for name, arr in (("dose_per_fraction_gy", d), ("fractions", n), ("alpha_beta_gy", ab)):
        bad = ~(np.isfinite(arr) & (arr > 0))
        if bad.any():
            first = np.flatnonzero(bad.ravel())[0]
            raise InputError(
                f"{name} must be a positive number, got {arr.ravel()[first]!r}"
                + (f" at row {first}" if arr.size > 1 else ""),
                column=name, expected="a finite value > 0",
                fix=f"correct {name}; doses are in Gy per fraction",
            )
    frac = n.ravel()[n.ravel() != np.round(n.ravel())]
    if frac.size:
        raise InputError(f"fractions must be a whole number, got {frac[0]!r}",
                         column="fractions", expected="a positive integer",
                         fix="give the number of fractions delivered, e.g. 25")


def _like(result: np.ndarray, template: Any) -> Any:
    if isinstance(template, pd.Series):
        return pd.Series(result, index=template.index)
    return result.item() if result.ndim == 0 else result


def bed(dose_per_fraction_gy: Any, fractions: Any, alpha_beta_gy: Any) -> Any:
    """Biologically effective dose (Gy) of ``fractions`` x ``dose_per_fraction_gy``.

    ``BED = n d (1 + d / (alpha/beta))`` (Fowler, Br J Radiol 1989;62:679-694,
    doi:10.1259/0007-1285-62-740-679); no repopulation term. Vectorised: scalars, numpy arrays
    and pandas Series broadcast by position (Series are not aligned on their index); a Series
    in returns a Series on the index of ``dose_per_fraction_gy`` (or of ``fractions`` if only
    that is a Series).

    Raises
    ------
    InputError
        Dose or alpha/beta not > 0, fractions not a positive whole number.
    """
    d = _as_array(dose_per_fraction_gy, "dose_per_fraction_gy")
    n = _as_array(fractions, "fractions")
    ab = _as_array(alpha_beta_gy, "alpha_beta_gy")
    _check_schedule(d, n, ab)
    result = n * d * (1.0 + d / ab)
    template = dose_per_fraction_gy if isinstance(dose_per_fraction_gy, pd.Series) else fractions
    return _like(np.asarray(result), template)


def eqd2(dose_per_fraction_gy: Any, fractions: Any, alpha_beta_gy: Any) -> Any:
    """Equivalent dose in 2-Gy fractions (Gy): ``EQD2 = BED / (1 + 2 / (alpha/beta))``.

    Bentzen et al., Radiother Oncol 2012;105:266-268, doi:10.1016/j.radonc.2012.10.006;
    BED as in :func:`bed`. Same broadcasting and validation as :func:`bed`.
    """
    b = bed(dose_per_fraction_gy, fractions, alpha_beta_gy)
    ab = _as_array(alpha_beta_gy, "alpha_beta_gy")
    result = np.asarray(b, dtype=float) / (1.0 + REFERENCE_DOSE_PER_FRACTION_GY / ab)
    template = dose_per_fraction_gy if isinstance(dose_per_fraction_gy, pd.Series) else fractions
    return _like(np.asarray(result), template)


def schedule_table(schedules: pd.DataFrame) -> pd.DataFrame:
    """Schedules with total dose, alpha/beta, BED and EQD2 side by side, for comparison.

    Parameters
    ----------
    schedules
        One row per schedule: ``dose_per_fraction_gy``, ``fractions``, ``histology``
        (OncoTree code/name or entry key, see :func:`alpha_beta`); an optional
        ``alpha_beta_gy`` column overrides the lookup where it is filled in.

    Returns
    -------
    DataFrame
        The input columns plus total_dose_gy, alpha_beta_gy, alpha_beta_source (entry key used,
        or ``"given"``), bed_gy, eqd2_gy. BED after Fowler 1989
        (doi:10.1259/0007-1285-62-740-679), EQD2 after Bentzen 2012
        (doi:10.1016/j.radonc.2012.10.006).

    Raises
    ------
    InputError
        A required column is missing, or a row has an invalid dose, fraction count or
        histology; ``line`` is the 1-based position of the schedule in the table.
    """
    need = ["dose_per_fraction_gy", "fractions"]
    missing = [c for c in need if c not in schedules.columns]
    has_given = "alpha_beta_gy" in schedules.columns
    if "histology" not in schedules.columns and not has_given:
        missing.append("histology")
    if missing:
        raise InputError(f"schedule table lacks column(s) {', '.join(missing)}",
                         expected="dose_per_fraction_gy, fractions, histology",
                         fix="add the missing column(s)")
    out = schedules.copy()
    ab_values: list[float] = []
    ab_sources: list[str] = []
    for row, (_, rec) in enumerate(out.iterrows(), start=1):
        given = rec.get("alpha_beta_gy") if has_given else None
        if given is not None and not pd.isna(given):
            ab_values.append(float(given))
            ab_sources.append("given")
            continue
        try:
            entry = alpha_beta(rec.get("histology"))
        except InputError as exc:
            raise InputError(exc.problem, line=row, column="histology",
                             expected=exc.expected, fix=exc.fix) from exc
        ab_values.append(entry.value_gy)
        ab_sources.append(entry.key)
    d = out["dose_per_fraction_gy"].to_numpy(dtype=float)
    n = out["fractions"].to_numpy(dtype=float)
    ab = np.asarray(ab_values, dtype=float)
    for row in range(len(out)):
        try:
            _check_schedule(d[row:row + 1], n[row:row + 1], ab[row:row + 1])
        except InputError as exc:
            raise InputError(exc.problem.split(" at row")[0], line=row + 1, column=exc.column,
                             expected=exc.expected, fix=exc.fix) from exc
    out["total_dose_gy"] = d * n
    out["alpha_beta_gy"] = ab
    out["alpha_beta_source"] = ab_sources
    out["bed_gy"] = bed(d, n, ab) if len(out) else np.empty(0)
    out["eqd2_gy"] = eqd2(d, n, ab) if len(out) else np.empty(0)
    return out
