"""The sarcoma methylation reference: class table and a simulated stand-in for GSE140686.

The 65 methylation classes of the Heidelberg sarcoma classifier's reference cohort (Koelsche
et al., *Sarcoma classification by DNA methylation profiling*, Nat Commun 2021;12:498,
doi:10.1038/s41467-020-20603-4; GEO GSE140686, 1,077 samples) ship as a derived table,
``tumorboard/data/methylation/gse140686_classes.csv``, with their sizes, families and an
OncoTree mapping (provenance in that folder's README).

:func:`simulate_reference` builds a *simulated* beta matrix with exactly that class structure,
for tests, benchmarks and the demo model. It is not GSE140686: every sample id starts with
``SIMULATED_`` and the frame carries ``attrs['simulated'] = True``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from tumorboard.errors import InputError
from tumorboard.io.methylation import PROBE_FILTERS, probe_filter


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


def _probe_ids(n: int) -> np.ndarray:
    """``n`` CpG-style probe ids that are on none of the DKFZ exclusion lists."""
    excluded = frozenset().union(*(probe_filter(name) for name in PROBE_FILTERS))
    ids: list[str] = []
    i = 0
    while len(ids) < n:
        pid = f"cg{i * 37 + 1:08d}"
        if pid not in excluded:
            ids.append(pid)
        i += 1
    return np.array(ids, dtype=object)


def simulate_reference(
    n_per_class: dict[str, int] | None = None,
    n_probes: int = 20_000,
    seed: int = 0,
    *,
    block_size: int = 60,
    family_block_size: int = 60,
    noise_sd: float = 0.12,
    missing_fraction: float = 0.01,
) -> tuple[pd.DataFrame, pd.Series]:
    """A simulated methylation reference cohort with a given class structure.

    Model (deterministic for a given ``seed``): every probe has a background state, methylated
    (beta around 0.85) or unmethylated (around 0.1), half each. Each family of two or more
    classes flips a block of ``family_block_size`` probes, shared by its classes; each class
    flips its own block of ``block_size`` probes (blocks are disjoint). A sample mixes its
    class profile with the background in proportion to a tumour-cell content drawn from
    U(0.5, 0.95), adds Gaussian noise (``noise_sd``) and is clipped to [0, 1];
    ``missing_fraction`` of its betas are set to NaN (failed detection).

    Parameters
    ----------
    n_per_class
        Class → number of samples; default the GSE140686 class sizes (65 classes, 1,077
        samples, :func:`gse140686_classes`). Families are the class code up to the first hyphen.
    n_probes
        Probes (columns); ids look like Illumina CpG ids and avoid the DKFZ exclusion lists.
    seed
        Seed of the numpy generator.

    Returns
    -------
    betas, labels
        Samples x probes float32 DataFrame (index ``SIMULATED_0001`` …) and the class of each
        sample (Series ``methylation_class``); both have ``attrs['simulated'] = True``.

    Raises
    ------
    InputError
        When the class blocks do not fit into ``n_probes``.
    """
    if n_per_class is None:
        n_per_class = dict(zip(_classes()["class"], _classes()["n_samples"], strict=True))
    classes = list(n_per_class)
    families = {c: c.split("-")[0] for c in classes}
    family_sizes = pd.Series(families).value_counts()
    grouped = [f for f in family_sizes.index if family_sizes[f] > 1]
    needed = len(classes) * block_size + len(grouped) * family_block_size
    if needed > n_probes:
        raise InputError(f"{len(classes)} class blocks of {block_size} probes and "
                         f"{len(grouped)} family blocks need {needed:,} probes, "
                         f"n_probes is {n_probes:,}", fix="raise n_probes or lower block_size")
    rng = np.random.default_rng(seed)
    background = rng.random(n_probes) < 0.5
    order = rng.permutation(n_probes)
    blocks: dict[str, np.ndarray] = {}
    start = 0
    for key, size in [(f"family:{f}", family_block_size) for f in grouped] + [
            (c, block_size) for c in classes]:
        blocks[key] = order[start:start + size]
        start += size

    rows, labels = [], []
    for cls in classes:
        state = background.copy()
        if f"family:{families[cls]}" in blocks:
            idx = blocks[f"family:{families[cls]}"]
            state[idx] = ~state[idx]
        state[blocks[cls]] = ~background[blocks[cls]]
        profile = np.where(state, 0.85, 0.1)
        normal = np.where(background, 0.85, 0.1)
        n = int(n_per_class[cls])
        purity = rng.uniform(0.5, 0.95, size=(n, 1))
        betas = purity * profile + (1 - purity) * normal
        betas = betas + rng.normal(0, noise_sd, size=(n, n_probes))
        rows.append(np.clip(betas, 0, 1).astype(np.float32))
        labels += [cls] * n
    data = np.vstack(rows)
    if missing_fraction > 0:
        data[rng.random(data.shape) < missing_fraction] = np.nan
    index = pd.Index([f"SIMULATED_{i + 1:04d}" for i in range(len(labels))], name="sample")
    betas_df = pd.DataFrame(data, index=index, columns=pd.Index(_probe_ids(n_probes),
                                                                 name="probe_id"))
    label_s = pd.Series(labels, index=index, name="methylation_class")
    betas_df.attrs["simulated"] = True
    label_s.attrs["simulated"] = True
    return betas_df, label_s
