"""The sarcoma methylation reference classes (GSE140686) and their OncoTree mapping.

The 65 methylation classes of the Heidelberg sarcoma classifier's reference cohort (Koelsche
et al., *Sarcoma classification by DNA methylation profiling*, Nat Commun 2021;12:498,
doi:10.1038/s41467-020-20603-4; GEO GSE140686, 1,077 samples) ship as a derived table,
``tumorboard/data/methylation/gse140686_classes.csv``, with their sizes, families and an
OncoTree mapping (provenance in that folder's README).

:func:`tumorboard.simulate.simulate_reference` builds a *simulated* beta matrix with exactly
that class structure, for tests, benchmarks and the demo model.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd


def family_of(cls: str) -> str:
    """Family of a methylation class: its code up to the first hyphen.

    The GSE140686 codes group subclasses by prefix: ``CSA-IDH-A``, ``CSA-MES`` → ``CSA``
    (chondrosarcoma), ``RMS-ALV`` → ``RMS``, ``SBRCT-CIC`` → ``SBRCT``, ``CTRL-BLOOD`` →
    ``CTRL``. A family of one class gives no fallback.
    """
    return str(cls).split("-")[0]


@cache
def _classes() -> pd.DataFrame:
    path = resources.files("tumorboard.data") / "methylation" / "gse140686_classes.csv"
    with path.open(encoding="utf-8") as fh:
        return pd.read_csv(fh, keep_default_na=False, dtype={"n_samples": int})


def gse140686_classes() -> pd.DataFrame:
    """The 65 GSE140686 methylation classes: class, class_name, n_samples, family,
    oncotree_code ('' when none fits), oncotree_mapping (exact/broader/partial/none + note)."""
    return _classes().copy()


def class_families() -> dict[str, str]:
    """Class code → family for the GSE140686 classes (code up to its first hyphen)."""
    table = _classes()
    return dict(zip(table["class"], table["family"], strict=True))


def class_to_oncotree() -> dict[str, str | None]:
    """Class code → OncoTree code, ``None`` where the README marks no clean mapping."""
    table = _classes()
    return {c: (o or None) for c, o in zip(table["class"], table["oncotree_code"], strict=True)}


def class_names() -> dict[str, str]:
    """Class code → readable name ('DSRCT' → 'desmoplastic small round cell tumour')."""
    table = _classes()
    return dict(zip(table["class"], table["class_name"], strict=True))


def family_to_oncotree() -> dict[str, str | None]:
    """Family (code prefix) → the most specific OncoTree code covering all its classes.

    The lowest common ancestor of the member classes' codes in OncoTree, e.g. the six
    chondrosarcoma subgroups (``CHS`` five times, ``MCHS`` once) → ``CHS``; ``None`` when a
    member has no code (the control tissues) or the ancestor is only the tissue root.
    """
    from tumorboard import reference

    out: dict[str, str | None] = {}
    table = _classes()
    for family, rows in table.groupby("family", sort=True):
        codes = list(rows["oncotree_code"])
        if not all(codes):
            out[str(family)] = None
            continue
        paths = [reference.lineage(c) for c in codes]
        common = [c for c in paths[0] if all(c in p for p in paths[1:])]
        out[str(family)] = common[0] if common and common[0] != "TISSUE" else None
    return out
