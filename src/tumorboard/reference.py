"""Reference data shipped with tumorboard: OncoTree, the GRCh38 gene table, genome builds.

Everything here is read from ``tumorboard/data`` (see ``data/README.md`` for sources and
licences); nothing is downloaded at run time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd

from tumorboard.errors import InputError

ONCOTREE_VERSION = "oncotree_2025_10_03"

#: Primary-assembly chromosome lengths, used to tell GRCh37 from GRCh38 in VCF headers and
#: to check coordinates. Source: Genome Reference Consortium assembly reports
#: GCF_000001405.25 (GRCh37.p13) and GCF_000001405.26 (GRCh38).
CHROM_LENGTHS: dict[str, dict[str, int]] = {
    "GRCh37": {
        "chr1": 249250621, "chr2": 243199373, "chr3": 198022430, "chr4": 191154276,
        "chr5": 180915260, "chr6": 171115067, "chr7": 159138663, "chr8": 146364022,
        "chr9": 141213431, "chr10": 135534747, "chr11": 135006516, "chr12": 133851895,
        "chr13": 115169878, "chr14": 107349540, "chr15": 102531392, "chr16": 90354753,
        "chr17": 81195210, "chr18": 78077248, "chr19": 59128983, "chr20": 63025520,
        "chr21": 48129895, "chr22": 51304566, "chrX": 155270560, "chrY": 59373566,
    },
    "GRCh38": {
        "chr1": 248956422, "chr2": 242193529, "chr3": 198295559, "chr4": 190214555,
        "chr5": 181538259, "chr6": 170805979, "chr7": 159345973, "chr8": 145138636,
        "chr9": 138394717, "chr10": 133797422, "chr11": 135086622, "chr12": 133275309,
        "chr13": 114364328, "chr14": 107043718, "chr15": 101991189, "chr16": 90338345,
        "chr17": 83257441, "chr18": 80373285, "chr19": 58617616, "chr20": 64444167,
        "chr21": 46709983, "chr22": 50818468, "chrX": 156040895, "chrY": 57227415,
    },
}

#: Spellings of genome builds seen in headers and manifests -> canonical name.
BUILD_ALIASES: dict[str, str] = {
    "grch38": "GRCh38", "hg38": "GRCh38", "grch38.p13": "GRCh38", "grch38.p14": "GRCh38",
    "hs38": "GRCh38", "hs38dh": "GRCh38", "38": "GRCh38", "grch38dh": "GRCh38",
    "grch37": "GRCh37", "hg19": "GRCh37", "b37": "GRCh37", "hs37d5": "GRCh37",
    "grch37.p13": "GRCh37", "37": "GRCh37", "grch37-lite": "GRCh37",
}


def normalise_build(value: str) -> str | None:
    """Canonical build name (``GRCh37``/``GRCh38``) for a spelling, or ``None`` if unknown."""
    return BUILD_ALIASES.get(str(value).strip().lower())


def normalise_chrom(chrom: str) -> str:
    """``1`` / ``chr1`` / ``MT`` -> ``chr1`` / ``chrM`` (GRCh38 UCSC-style names)."""
    c = str(chrom).strip()
    if c.lower().startswith("chr"):
        c = c[3:]
    if c in ("M", "MT"):
        return "chrM"
    return "chr" + c


def build_from_contigs(lengths: dict[str, int]) -> str | None:
    """Tell the build from contig lengths (``{'chr1': 248956422, ...}``), if they say it."""
    votes = dict.fromkeys(CHROM_LENGTHS, 0)
    for name, length in lengths.items():
        chrom = normalise_chrom(name)
        for build, table in CHROM_LENGTHS.items():
            if table.get(chrom) == length:
                votes[build] += 1
    best = max(votes, key=votes.__getitem__)
    others = [v for b, v in votes.items() if b != best]
    return best if votes[best] > 0 and all(votes[best] > v for v in others) else None


@dataclass(frozen=True)
class TumourType:
    """One OncoTree node."""

    code: str
    name: str
    main_type: str | None
    tissue: str | None
    parent: str | None
    level: int


@cache
def oncotree() -> dict[str, TumourType]:
    """All OncoTree nodes by code (OncoTree 2025-10-03, MSK, CC BY 4.0)."""
    path = resources.files("tumorboard.data") / f"{ONCOTREE_VERSION}.json"
    root = json.loads(path.read_text(encoding="utf-8"))
    nodes: dict[str, TumourType] = {}
    stack = list(root.values())
    while stack:
        node = stack.pop()
        nodes[node["code"]] = TumourType(
            code=node["code"],
            name=node["name"],
            main_type=node.get("mainType"),
            tissue=node.get("tissue"),
            parent=node.get("parent"),
            level=int(node.get("level") or 0),
        )
        stack.extend(node.get("children", {}).values())
    return nodes


def tumour_type(code: str) -> TumourType:
    """The OncoTree node for ``code`` (case-insensitive).

    Raises
    ------
    InputError
        If the code is not in the shipped OncoTree version; the message suggests near codes.
    """
    tree = oncotree()
    key = str(code).strip().upper()
    if key in tree:
        return tree[key]
    import difflib

    near = difflib.get_close_matches(key, tree, n=3)
    by_name = [c for c, t in tree.items() if key.lower() in t.name.lower()][:3]
    hint = ", ".join(dict.fromkeys(near + by_name)) or "none close"
    raise InputError(
        f"'{code}' is not an OncoTree code in {ONCOTREE_VERSION}",
        expected="an OncoTree code such as DSRCT, SYNS, ES, DDLS, LMS, GIST",
        fix=f"use the code from oncotree.mskcc.org (near matches: {hint})",
    )


def lineage(code: str) -> list[str]:
    """Codes from ``code`` up to the root, e.g. ``['DSRCT', 'SOFT_TISSUE', 'TISSUE']``."""
    tree = oncotree()
    out = []
    node: TumourType | None = tumour_type(code)
    while node is not None:
        out.append(node.code)
        node = tree.get(node.parent) if node.parent else None
    return out


@cache
def genes() -> pd.DataFrame:
    """GENCODE genes on GRCh38: symbol, chrom, start, end, strand, gene_type (62,703 rows)."""
    path = resources.files("tumorboard.data") / "genes_grch38.tsv.gz"
    with resources.as_file(path) as p:
        table = pd.read_csv(
            p,
            sep="\t",
            dtype={"symbol": "string", "chrom": "string", "strand": "string",
                   "gene_type": "string", "start": "int64", "end": "int64"},
        )
    return table


@cache
def gene_symbols() -> frozenset[str]:
    """All gene symbols of :func:`genes`, for checking symbols at the boundary."""
    return frozenset(genes()["symbol"].dropna())
