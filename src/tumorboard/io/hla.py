"""Readers for HLA typing results (OptiType, arcasHLA) and HLA allele name normalisation.

Alleles are stored at two-field resolution in IPD-IMGT/HLA nomenclature, ``HLA-A*02:01``:
the level that decides eligibility for HLA-restricted therapies such as TCR-T cells
(afamitresgene autoleucel requires HLA-A*02). Nomenclature: Marsh et al., "Nomenclature for
factors of the HLA system, 2010", Tissue Antigens 2010, doi:10.1111/j.1399-0039.2010.01466.x;
https://hla.alleles.org/nomenclature/naming.html.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from tumorboard.errors import InputError
from tumorboard.io._files import read_text
from tumorboard.io.tables import LayerData, conform

__all__ = ["HLA_GENES", "normalise_hla_allele", "read_arcashla", "read_optitype"]

#: HLA genes named in IPD-IMGT/HLA (classical class I and II, non-classical, pseudogenes).
HLA_GENES: frozenset[str] = frozenset({
    "A", "B", "C", "E", "F", "G", "H", "J", "K", "L", "N", "P", "S", "T", "U", "V", "W", "Y",
    "DRA", "DRB1", "DRB2", "DRB3", "DRB4", "DRB5", "DRB6", "DRB7", "DRB8", "DRB9",
    "DQA1", "DQA2", "DQB1", "DQB2", "DPA1", "DPA2", "DPB1", "DPB2",
    "DMA", "DMB", "DOA", "DOB",
})
_GENES_LONGEST_FIRST = sorted(HLA_GENES, key=len, reverse=True)
CLASS_I_GENES = ("A", "B", "C")

#: Fields after the gene: 2-4 digits each, up to four fields, then an optional expression
#: suffix (N null, L low, S secreted, C cytoplasm, A aberrant, Q questionable) and an optional
#: G/P group designation.
_FIELDS = re.compile(
    r"(?P<fields>\d{2,4}(?::\d{2,4}){0,3})(?P<expression>[NLSCAQ])?(?P<group>[GP])?"
)
_EXPECTED = ("an IPD-IMGT/HLA allele name with at least two fields, e.g. 'HLA-A*02:01', "
             "'A*02:01:01:01', 'A*02:01:01G' or 'A02:01'")


def _bad_allele(text: object, reason: str) -> InputError:
    return InputError(
        f"'{text}' is not a usable HLA allele name: {reason}",
        expected=_EXPECTED,
        fix="write the allele in IPD-IMGT/HLA nomenclature with two or more fields",
    )


def _parse_allele(text: str) -> tuple[str, str]:
    """``(gene, allele)`` such as ``('HLA-A', 'HLA-A*02:01')``; raises :class:`InputError`."""
    if not isinstance(text, str) or not text.strip():
        raise _bad_allele(text, "empty")
    s = text.strip().upper()
    if s.startswith(("HLA-", "HLA_")):
        s = s[4:]
    # Polysolver writes 'hla_a_02_01_01_01'.
    if "*" not in s and ":" not in s and "_" in s:
        parts = s.split("_")
        if len(parts) >= 3 and all(p.isdigit() for p in parts[1:]):
            s = parts[0] + "*" + ":".join(parts[1:])
    if "*" in s:
        gene, rest = s.split("*", 1)
    else:  # 'A02:01': the longest gene name that leaves valid fields
        gene = next(
            (g for g in _GENES_LONGEST_FIRST if s.startswith(g) and _FIELDS.fullmatch(s[len(g):])),
            "",
        )
        rest = s[len(gene):]
        if not gene:
            raise _bad_allele(text, "no HLA gene followed by allele fields")
    if gene not in HLA_GENES:
        raise _bad_allele(text, f"unknown HLA gene '{gene}'")
    match = _FIELDS.fullmatch(rest)
    if not match:
        raise _bad_allele(text, f"'{rest}' is not colon-separated numeric fields")
    fields = match.group("fields").split(":")
    if len(fields) < 2:
        if len(fields[0]) >= 4:
            raise _bad_allele(text, "pre-2010 name without colons; write e.g. 'A*02:01' for "
                                    "'A*0201' (Marsh et al. 2010)")
        raise _bad_allele(text, "only the allele group (one field) is given; two fields "
                                "(the protein) are needed")
    # The expression suffix stays: a null allele (N) is not expressed, whatever its fields.
    suffix = match.group("expression") or ""
    return f"HLA-{gene}", f"HLA-{gene}*{fields[0]}:{fields[1]}{suffix}"


def normalise_hla_allele(text: str) -> str:
    """Return an HLA allele name at two-field resolution, e.g. ``'HLA-A*02:01'``.

    Accepts IPD-IMGT/HLA names with or without the ``HLA-`` prefix and the ``*`` separator,
    with two to four fields, G/P group designations and expression suffixes
    ('A*02:01', 'HLA-A*02:01:01:01', 'A*02:01:01G', 'A02:01', 'HLA-A02:01', Polysolver's
    'hla_a_02_01_01_01' all give 'HLA-A*02:01'). Fields beyond the second and G/P group
    letters are dropped; an expression suffix (N, L, S, C, A, Q) is kept, because a null
    allele is not a therapy target. Nomenclature: Marsh et al., Tissue Antigens 2010,
    doi:10.1111/j.1399-0039.2010.01466.x.

    Raises
    ------
    InputError
        For an unknown gene, one-field or pre-2010 (colon-less) names, or other text; the
        message quotes the value and the expected pattern.
    """
    return _parse_allele(text)[1]


# --------------------------------------------------------------------------- file helpers


def _in_file(exc: InputError, path: Path, *, line: int | None, column: str | None) -> InputError:
    return InputError(exc.problem, file=path, line=line, column=column, expected=exc.expected,
                      fix=exc.fix)


def _table(rows: list[tuple[str, str]], path: Path) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["gene", "allele"])
    return conform(df, "hla", source=str(path))


# --------------------------------------------------------------------------- OptiType

_OPTITYPE_COLUMNS = ("A1", "A2", "B1", "B2", "C1", "C2")


def read_optitype(path: str | Path, *, sample: str | None = None) -> LayerData:
    """Read an OptiType ``*_result.tsv`` into the ``hla`` table (class I: A, B, C).

    OptiType (Szolek et al., Bioinformatics 2014, doi:10.1093/bioinformatics/btu548) writes a
    tab-separated table with an unnamed index column, ``A1 A2 B1 B2 C1 C2 Reads Objective``,
    and one row per solution, best first (several only with solution enumeration). The first
    row is read. Homozygous loci carry the same allele in both columns; they give two rows
    with the same allele (one row per allele copy), as arcasHLA genotypes are read. An empty
    cell (locus not typed) gives no row and a note. ``sample`` is ignored: the file holds one
    sample.

    Raises
    ------
    InputError
        Empty/truncated file, missing A1..C2 columns, no result row, a row with too few
        fields, a malformed allele, an allele of another gene than its column.
    """
    path, text, notes = read_text(path)
    lines = text.splitlines()
    header = [c.strip() for c in lines[0].split("\t")]
    missing = [c for c in _OPTITYPE_COLUMNS if c not in header]
    if missing:
        raise InputError(
            f"OptiType result lacks column(s) {', '.join(missing)}",
            file=path,
            line=1,
            expected="the header '\\tA1\\tA2\\tB1\\tB2\\tC1\\tC2\\tReads\\tObjective'",
            fix="give OptiType's *_result.tsv unchanged",
        )
    data = [(n, line) for n, line in enumerate(lines[1:], start=2) if line.strip()]
    if not data:
        raise InputError("OptiType result has a header but no typing row", file=path,
                         fix="check the OptiType run finished without error")
    line_no, line = data[0]
    fields = line.split("\t")
    if len(fields) < len(header):
        raise InputError(
            f"row has {len(fields)} fields, the header {len(header)}",
            file=path, line=line_no, expected="tab-separated fields under each header column",
        )
    record = {name: fields[i].strip() for i, name in enumerate(header)}
    rows: list[tuple[str, str]] = []
    for column in _OPTITYPE_COLUMNS:
        value = record[column]
        if value in ("", "nan", "NaN", "None"):
            notes.append(f"{column} not typed (empty)")
            continue
        try:
            gene, allele = _parse_allele(value)
        except InputError as exc:
            raise _in_file(exc, path, line=line_no, column=column) from exc
        if gene != f"HLA-{column[0]}":
            raise InputError(
                f"allele '{value}' is not of HLA-{column[0]}",
                file=path, line=line_no, column=column,
                expected=f"an HLA-{column[0]} allele in column {column}",
            )
        rows.append((gene, allele))
    for locus in CLASS_I_GENES:
        if record[f"{locus}1"] and record[f"{locus}1"] == record[f"{locus}2"]:
            notes.append(f"HLA-{locus} homozygous ({record[f'{locus}1']}); two rows")
    if record.get("Reads"):
        notes.append(f"OptiType solution explains {record['Reads']} reads "
                     f"(objective {record.get('Objective', 'n/a')})")
    if len(data) > 1:
        notes.append(f"file lists {len(data)} solutions; the first (best) one is used")
    return LayerData(tables={"hla": _table(rows, path)}, tool="OptiType", notes=notes)


# --------------------------------------------------------------------------- arcasHLA


def _line_of(text: str, needle: str, start: int = 0) -> int | None:
    pos = text.find(needle, start)
    return text.count("\n", 0, pos) + 1 if pos >= 0 else None


def read_arcashla(path: str | Path, *, sample: str | None = None) -> LayerData:
    """Read an arcasHLA ``*.genotype.json`` into the ``hla`` table (class I and II).

    arcasHLA (Orenbuch et al., Bioinformatics 2020, doi:10.1093/bioinformatics/btz474) writes
    one JSON object per sample: gene -> list of alleles, e.g. ``{"A": ["A*02:01:01",
    "A*01:01:01"], "DRB1": [...]}``. A homozygous locus lists one allele; like arcasHLA's own
    ``merge`` step it gives two rows with that allele (one row per allele copy). Class II genes
    (DRB1, DQA1, DQB1, ...) are kept. An empty list (locus not typed) gives no row and a
    note. ``sample`` is ignored: the file holds one sample.

    Raises
    ------
    InputError
        Empty/truncated file, invalid JSON (with line), a value that is not a list of allele
        names, more than two alleles for a gene, a malformed allele or one of another gene.
    """
    path, text, notes = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"file is not valid JSON: {exc.msg} (character {exc.colno})",
            file=path, line=exc.lineno,
            expected='an arcasHLA genotype object, e.g. {"A": ["A*02:01:01", "A*01:01:01"]}',
            fix="give arcasHLA's *.genotype.json unchanged",
        ) from exc
    if not isinstance(data, dict) or not data:
        raise InputError(
            "arcasHLA genotype is not a non-empty JSON object of gene -> alleles",
            file=path,
            expected='e.g. {"A": ["A*02:01:01", "A*01:01:01"], "B": [...]}',
        )
    rows: list[tuple[str, str]] = []
    for key, alleles in data.items():
        key_pos = text.find(json.dumps(key))
        key_line = _line_of(text, json.dumps(key))
        locus = key.strip().upper().removeprefix("HLA-")
        if not isinstance(alleles, list) or not all(isinstance(a, str) for a in alleles):
            raise InputError(
                f"gene '{key}' has {type(alleles).__name__} {alleles!r}, not a list of alleles",
                file=path, line=key_line, expected='a list such as ["A*02:01:01", "A*01:01:01"]',
            )
        if not alleles:
            notes.append(f"HLA-{locus} not typed (empty list)")
            continue
        if len(alleles) > 2:
            raise InputError(
                f"gene '{key}' has {len(alleles)} alleles; a diploid genotype has at most two",
                file=path, line=key_line,
            )
        parsed = []
        for value in alleles:
            line = _line_of(text, json.dumps(value), max(key_pos, 0))
            try:
                gene, allele = _parse_allele(value)
            except InputError as exc:
                raise _in_file(exc, path, line=line, column=None) from exc
            if gene != f"HLA-{locus}":
                raise InputError(
                    f"allele '{value}' listed under gene '{key}' is not of HLA-{locus}",
                    file=path, line=line,
                )
            parsed.append((gene, allele))
        if len(parsed) == 1:
            parsed.append(parsed[0])
            notes.append(f"HLA-{locus} homozygous ({alleles[0]}); two rows")
        rows.extend(parsed)
    typed = {gene for gene, _ in rows}
    untyped = [f"HLA-{g}" for g in CLASS_I_GENES if f"HLA-{g}" not in typed]
    if untyped:
        notes.append(f"class I gene(s) not typed: {', '.join(untyped)}")
    return LayerData(tables={"hla": _table(rows, path)}, tool="arcasHLA", notes=notes)
