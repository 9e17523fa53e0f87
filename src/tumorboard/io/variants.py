"""Readers for small somatic variants: annotated VCF (VEP ``CSQ`` / snpEff ``ANN``) and GDC MAF.

Both readers return the ``variants`` table of :data:`tumorboard.io.tables.TABLES` for one
tumour sample: one row per (record, ALT allele), annotated with one chosen transcript
consequence, and the tumour's read depth, alt-supporting reads and variant allele fraction.

Formats followed
----------------
- VCF 4.2/4.3: *The Variant Call Format Specification*, samtools/hts-specs
  (https://samtools.github.io/hts-specs/VCFv4.2.pdf). Read with cyvcf2 (htslib).
- Ensembl VEP VCF output, ``CSQ`` INFO field whose header Description ends in
  ``Format: Allele|Consequence|IMPACT|...``
  (https://www.ensembl.org/info/docs/tools/vep/vep_formats.html#vcfout). Field positions are
  read from the header, never assumed.
- snpEff ``ANN`` field, *VCF annotation format* v1.0 (Cingolani et al.,
  https://pcingola.github.io/SnpEff/adds/VCFannotationformat_v1.0.pdf): fixed field order
  ``Allele | Annotation | Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID |
  Transcript_BioType | Rank | HGVS.c | HGVS.p | ...``.
- GDC MAF Format v1.0.0 (https://docs.gdc.cancer.gov/Data/File_Formats/MAF_Format/).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from tumorboard.errors import InputError
from tumorboard.io._files import (
    check_file,
    check_gzip_complete,
    choose_sample,
    gzip_error,
    gzip_kind,
    numbered_lines,
    plural,
)
from tumorboard.io.tables import LayerData, conform
from tumorboard.reference import build_from_contigs, normalise_build, normalise_chrom

__all__ = [
    "ANNOTATION_PICKS",
    "CONSEQUENCE_SEVERITY",
    "MAF_REQUIRED_COLUMNS",
    "SNPEFF_ANN_FIELDS",
    "read_maf",
    "read_vcf",
]

#: Sequence Ontology consequence terms, most severe first, in the order of the table
#: "Calculated variant consequences" of Ensembl VEP
#: (https://www.ensembl.org/info/genome/variation/prediction/predicted_data.html, release 110
#: onwards; ``coding_transcript_variant`` from 111). VEP itself ranks consequences this way
#: for ``--pick`` and ``--most_severe``.
CONSEQUENCE_SEVERITY: tuple[str, ...] = (
    "transcript_ablation",
    "splice_acceptor_variant",
    "splice_donor_variant",
    "stop_gained",
    "frameshift_variant",
    "stop_lost",
    "start_lost",
    "transcript_amplification",
    "feature_elongation",
    "feature_truncation",
    "inframe_insertion",
    "inframe_deletion",
    "missense_variant",
    "protein_altering_variant",
    "splice_donor_5th_base_variant",
    "splice_region_variant",
    "splice_donor_region_variant",
    "splice_polypyrimidine_tract_variant",
    "incomplete_terminal_codon_variant",
    "start_retained_variant",
    "stop_retained_variant",
    "synonymous_variant",
    "coding_sequence_variant",
    "mature_miRNA_variant",
    "5_prime_UTR_variant",
    "3_prime_UTR_variant",
    "non_coding_transcript_exon_variant",
    "intron_variant",
    "NMD_transcript_variant",
    "non_coding_transcript_variant",
    "coding_transcript_variant",
    "upstream_gene_variant",
    "downstream_gene_variant",
    "TFBS_ablation",
    "TFBS_amplification",
    "TF_binding_site_variant",
    "regulatory_region_ablation",
    "regulatory_region_amplification",
    "regulatory_region_variant",
    "intergenic_variant",
    "sequence_variant",
)
_SEVERITY_RANK: dict[str, int] = {term: i for i, term in enumerate(CONSEQUENCE_SEVERITY)}
_UNKNOWN_RANK = len(CONSEQUENCE_SEVERITY)
_IMPACT_RANK: dict[str, int] = {"HIGH": 0, "MODERATE": 1, "LOW": 2, "MODIFIER": 3}

#: How :func:`read_vcf` picks one consequence per ALT allele from several transcripts.
ANNOTATION_PICKS: tuple[str, ...] = ("canonical", "most_severe", "first")

#: snpEff ``ANN`` sub-fields in the order fixed by the VCF annotation format v1.0.
SNPEFF_ANN_FIELDS: tuple[str, ...] = (
    "Allele", "Annotation", "Annotation_Impact", "Gene_Name", "Gene_ID", "Feature_Type",
    "Feature_ID", "Transcript_BioType", "Rank", "HGVS.c", "HGVS.p", "cDNA.pos / cDNA.length",
    "CDS.pos / CDS.length", "AA.pos / AA.length", "Distance", "ERRORS / WARNINGS / INFO",
)

#: Columns of a GDC MAF that :func:`read_maf` cannot do without.
MAF_REQUIRED_COLUMNS: tuple[str, ...] = (
    "Hugo_Symbol", "Chromosome", "Start_Position", "Reference_Allele", "Tumor_Seq_Allele2",
    "Tumor_Sample_Barcode", "NCBI_Build",
)

# Variant_Classification -> SO term, used only when a MAF has no Consequence column. The
# classes are those of the GDC MAF spec; 'Splice_Site' covers donor and acceptor, so it maps
# to their SO parent term splice_site_variant (SO:0001629).
_MAF_CLASS_TO_SO: dict[str, str] = {
    "Missense_Mutation": "missense_variant",
    "Nonsense_Mutation": "stop_gained",
    "Silent": "synonymous_variant",
    "Frame_Shift_Del": "frameshift_variant",
    "Frame_Shift_Ins": "frameshift_variant",
    "In_Frame_Del": "inframe_deletion",
    "In_Frame_Ins": "inframe_insertion",
    "Splice_Site": "splice_site_variant",
    "Splice_Region": "splice_region_variant",
    "Translation_Start_Site": "start_lost",
    "Nonstop_Mutation": "stop_lost",
    "3'UTR": "3_prime_UTR_variant",
    "5'UTR": "5_prime_UTR_variant",
    "3'Flank": "downstream_gene_variant",
    "5'Flank": "upstream_gene_variant",
    "Intron": "intron_variant",
    "IGR": "intergenic_variant",
    "RNA": "non_coding_transcript_exon_variant",
}

# Variant callers whose name in ##source / ##GATKCommandLine says which tool made the calls
# (post-processing steps such as FilterMutectCalls also write ##source lines).
_KNOWN_CALLERS: tuple[str, ...] = (
    "Mutect2", "Strelka", "HaplotypeCaller", "DeepVariant", "VarScan", "VarDict", "FreeBayes",
    "LoFreq", "Octopus", "SAGE", "Platypus", "MuSE", "SomaticSniper", "Pindel", "DRAGEN",
    "Sentieon", "ClairS", "Clair3",
)

_HTS_MISSING = -2147483648  # htslib bcf_int32_missing; vector_end is -2147483647

# Build spelled inside a reference FASTA path (##reference=file:///.../hs38DH.fa). GATK
# bundles name GRCh38 'Homo_sapiens_assembly38' and b37 'human_g1k_v37'.
_REFERENCE_BUILD_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"grch38|hg38|hs38|assembly38|gca_000001405\.15", re.I), "GRCh38"),
    (re.compile(r"grch37|hg19|hs37|g1k_v37|(?<![a-z0-9])b37(?![0-9])|gca_000001405\.1(?!\d)",
                re.I), "GRCh37"),
)


# ---------------------------------------------------------------------------------------------
# htslib


@contextlib.contextmanager
def _quiet_htslib() -> Iterator[None]:
    """Silence htslib's stderr messages while reading; our InputErrors say the same better.

    htslib is linked into cyvcf2's extension module; if its log functions cannot be found
    the messages simply stay on.
    """
    lib = None
    try:
        import cyvcf2.cyvcf2 as ext

        lib = ctypes.CDLL(ext.__file__)
        old = lib.hts_get_log_level()
        lib.hts_set_log_level(0)  # HTS_LOG_OFF
    except (OSError, AttributeError, ImportError):
        lib = None
    try:
        yield
    finally:
        if lib is not None:
            lib.hts_set_log_level(old)


# ---------------------------------------------------------------------------------------------
# VCF header


def _meta_value(line: str) -> str:
    return line.split("=", 1)[1].strip() if "=" in line else ""


def _structured(line: str) -> dict[str, str]:
    """Key/value pairs of a structured meta line ``##KEY=<ID=x,Description="...">``."""
    body = line.split("=", 1)[1].strip()
    if body.startswith("<") and body.endswith(">"):
        body = body[1:-1]
    return {m.group(1): m.group(2).strip('"')
            for m in re.finditer(r'([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|[^,]*)', body)}


def _build_from_reference(text: str) -> str | None:
    hits = {build for pattern, build in _REFERENCE_BUILD_PATTERNS if pattern.search(text)}
    return hits.pop() if len(hits) == 1 else None


def _genome_build(meta: list[str]) -> tuple[str | None, list[str]]:
    """Genome build stated by a VCF header, and notes if its sources disagree.

    Sources, most trusted first: ``##contig`` lengths (facts about the reference actually
    used; :func:`tumorboard.reference.build_from_contigs`), the ``##reference`` path,
    ``##contig=<...,assembly=...>``, VEP's ``assembly=`` and snpEff's database name.
    """
    lengths: dict[str, int] = {}
    assemblies: set[str] = set()
    found: list[tuple[str, str]] = []
    for line in meta:
        if line.startswith("##contig="):
            fields = _structured(line)
            if fields.get("length", "").isdigit() and "ID" in fields:
                lengths[fields["ID"]] = int(fields["length"])
            if fields.get("assembly"):
                b = _normalise_build_text(fields["assembly"])
                if b:
                    assemblies.add(b)
    if lengths and (b := build_from_contigs(lengths)):
        found.append(("##contig lengths", b))
    for line in meta:
        if line.startswith("##reference=") and (b := _build_from_reference(_meta_value(line))):
            found.append(("##reference", b))
            break
    if len(assemblies) == 1:
        found.append(("##contig assembly", assemblies.pop()))
    for line in meta:
        if line.startswith("##VEP="):
            m = re.search(r'assembly="?([^"\s]+)', line)
            if m and (b := _normalise_build_text(m.group(1))):
                found.append(("##VEP assembly", b))
        elif line.startswith("##SnpEffCmd="):
            for token in re.split(r"[\s\"]+", _meta_value(line)):
                if (b := _normalise_build_text(token.split(".")[0])) and not token.startswith("-"):
                    found.append(("##SnpEffCmd genome", b))
                    break
    if not found:
        return None, []
    build = found[0][1]
    others = [f"{src} says {b}" for src, b in found if b != build]
    notes = []
    if others:
        notes.append(f"genome build {build} from {found[0][0]}, but {'; '.join(others)}; "
                     "check which reference the calls were made on")
    return build, notes


def _normalise_build_text(text: str) -> str | None:
    t = text.strip().strip('"')
    return normalise_build(re.sub(r"\.p\d+$", "", t, flags=re.I)) or normalise_build(t)


def _tool(meta: list[str], annotation: str | None) -> tuple[str | None, str | None]:
    """Variant caller (or, failing that, annotator) and its version from the header."""
    sources = [_meta_value(line) for line in meta if line.startswith("##source=")]
    gatk = [_structured(line) for line in meta if line.startswith("##GATKCommandLine")]
    source_version = next((_meta_value(line) for line in meta
                           if line.startswith("##source_version=")), None)
    for caller in _KNOWN_CALLERS:
        key = caller.lower()
        in_source = next((s for s in sources if key in s.lower()), None)
        in_gatk = next((g for g in gatk if key == g.get("ID", "").lower()), None)
        if in_source is None and in_gatk is None:
            continue
        version = None
        if in_gatk is not None:
            version = in_gatk.get("Version")
        elif source_version:
            version = source_version
        else:
            m = re.search(r"v?(\d+(?:\.\d+)+\w*)", in_source or "")
            version = m.group(1) if m else None
        name = in_gatk["ID"] if in_gatk is not None and in_source is None else caller
        return name, version
    if sources:
        return sources[0], source_version
    for line in meta:
        if annotation == "CSQ" and line.startswith("##VEP="):
            m = re.match(r'##VEP="?v?([^"\s]+)', line)
            return "VEP", m.group(1) if m else None
        if annotation == "ANN" and line.startswith("##SnpEffVersion="):
            m = re.match(r'##SnpEffVersion="?([^"\s]+)', line)
            return "snpEff", m.group(1) if m else None
    return None, None


def _annotation_fields(meta: list[str], path: Path) -> tuple[str | None, list[str]]:
    """Which annotation INFO tag the file has (``CSQ`` preferred) and its sub-field names."""
    info = {}
    for line in meta:
        if line.startswith("##INFO="):
            fields = _structured(line)
            if fields.get("ID") in ("CSQ", "ANN"):
                info[fields["ID"]] = fields.get("Description", "")
    if "CSQ" in info:
        desc = info["CSQ"]
        if "Format:" not in desc:
            raise InputError(
                "the CSQ INFO header has no 'Format: Allele|Consequence|...' field list",
                file=path, column="CSQ",
                expected="the ##INFO=<ID=CSQ,...> line as Ensembl VEP writes it",
                fix="re-annotate with VEP --vcf, or restore the original header",
            )
        names = [n.strip() for n in desc.split("Format:", 1)[1].strip().strip('"').split("|")]
        missing = [n for n in ("Allele", "Consequence") if n not in names]
        if missing:
            raise InputError(
                f"the CSQ field list lacks {', '.join(missing)}", file=path, column="CSQ",
                expected="Allele|Consequence|IMPACT|SYMBOL|... as VEP writes it",
            )
        return "CSQ", names
    if "ANN" in info:
        return "ANN", list(SNPEFF_ANN_FIELDS)
    return None, []


def _vep_alleles(ref: str, alts: list[str]) -> list[str]:
    """ALT alleles as VEP writes them in ``CSQ`` ``Allele``.

    Follows ensembl-vep ``Bio::EnsEMBL::VEP::Parser::VCF::create_VariationFeatures``: if any
    ALT differs in length from REF (an indel), and REF and all non-``*`` ALTs share their first
    base, that base is removed from every allele and an emptied allele becomes ``-``.
    """
    if not any(len(a) != len(ref) for a in alts):
        return list(alts)
    first = {a[0] for a in [ref, *alts] if a and "*" not in a}
    if len(first) != 1:
        return list(alts)
    return [a if "*" in a else (a[1:] or "-") for a in alts]


# ---------------------------------------------------------------------------------------------
# transcript choice


_SEVERITY_CACHE: dict[str, int] = {}


def _severity(consequence: str) -> int:
    """Rank of the most severe term of an '&'-joined consequence (0 = most severe)."""
    rank = _SEVERITY_CACHE.get(consequence)
    if rank is None:
        rank = min((_SEVERITY_RANK.get(t, _UNKNOWN_RANK) for t in consequence.split("&")),
                   default=_UNKNOWN_RANK)
        if len(_SEVERITY_CACHE) < 10_000:  # combinations are few; bound it anyway
            _SEVERITY_CACHE[consequence] = rank
    return rank


class _Picker:
    """Choose one annotation entry per ALT allele; built once per file for speed.

    The record loop keeps the chosen entry as one string; :class:`_Columns` splits them in
    Arrow, a chunk of rows at a time. Entries are split in Python only to compare several,
    and then only as far as the last field compared (a VEP ``--everything`` entry has ~80
    fields).
    """

    def __init__(self, tag: str, names: list[str], pick: str) -> None:
        idx = {n: i for i, n in enumerate(names)}
        self.tag = tag
        self.pick = pick
        if tag == "CSQ":
            self.i_cons = idx["Consequence"]
            self.i_impact = idx.get("IMPACT")
            self.i_biotype = idx.get("BIOTYPE")
            self.i_canonical = idx.get("CANONICAL")
            self.i_mane = idx.get("MANE_SELECT", idx.get("MANE"))
            self.i_allele_num = idx.get("ALLELE_NUM")
            #: positions of gene, transcript, consequence, impact, HGVSc, HGVSp (None: absent)
            self.wanted = [idx.get("SYMBOL"), idx.get("Feature"), self.i_cons, self.i_impact,
                           idx.get("HGVSc"), idx.get("HGVSp")]
        else:
            self.i_cons, self.i_impact, self.i_biotype = 1, 2, 7
            self.i_canonical = self.i_mane = self.i_allele_num = None
            self.wanted = [3, 6, 1, 2, 9, 10]
        # Fields the sort key reads. Canonical as a tie-breaker only matters for
        # 'most_severe': under 'canonical' the entries compared are all canonical or all not.
        self.key_canonical = self.i_canonical if pick == "most_severe" else None
        self.key_split = max(i for i in (self.i_cons, self.i_impact, self.i_biotype,
                                         self.key_canonical) if i is not None) + 1
        self.value_end = max(i for i in self.wanted if i is not None)
        self.fast_canonical = (pick == "canonical" and tag == "CSQ"
                               and self.i_canonical is not None)
        self.first_only = pick == "first" or (tag == "ANN" and pick == "canonical")

    def _key(self, f: list[str]) -> tuple[int, int, int, int]:
        """Sort key, smallest = chosen: severity, then canonical, protein-coding, impact."""
        impact = _IMPACT_RANK.get(f[self.i_impact], 4) if self.i_impact is not None else 4
        sev = _severity(f[self.i_cons])
        coding = 0 if self.i_biotype is not None and f[self.i_biotype] == "protein_coding" else 1
        canonical = 0 if self.key_canonical is not None and f[self.key_canonical] == "YES" else 1
        if self.tag == "ANN":
            return impact, sev, coding, 0
        return sev, canonical, coding, impact

    def choose_in(self, ann: str) -> str:
        """The chosen entry of a whole INFO value whose entries all belong to one allele.

        May return only the head of the entry, up to the fields :class:`_Columns` reads.
        """
        if "," not in ann:
            return ann
        if self.fast_canonical:
            # 'YES' is the value of the CANONICAL flag. When it occurs once in the string and
            # sits in the CANONICAL field (counted by '|'), that entry is the pick and nothing
            # is split.
            j = ann.find("YES")
            if j > 0:
                end = ann.find(",", j)
                if end < 0:
                    end = len(ann)
                start = ann.rfind(",", 0, j) + 1
                ic = self.i_canonical
                if (ann.find("YES", end) < 0 and ann[j - 1] == "|"
                        and (j + 3 == end or ann[j + 3] == "|")
                        and ann.count("|", start, j) == ic):
                    return ann[start:j] if ic > self.value_end else ann[start:end]
        elif self.first_only:
            return ann[:ann.find(",")]
        return self.choose(ann.split(","))

    def choose(self, entries: list[str]) -> str:
        """The chosen entry of one allele."""
        if len(entries) == 1 or self.first_only:
            # snpEff sorts ANN entries by impact, most severe first (ANN spec v1.0).
            return entries[0]
        if self.pick == "canonical":
            # Substring tests spare splitting entries that cannot match: CANONICAL holds
            # 'YES', MANE_SELECT a RefSeq 'NM_' accession.
            ic, im = self.i_canonical, self.i_mane
            canon = ([e for e in entries if "YES" in e and _field(e, ic) == "YES"]
                     if ic is not None else [])
            if len(canon) == 1:
                return canon[0]
            if canon:
                entries = canon
            elif im is not None:
                mane = [e for e in entries if "NM_" in e and _field(e, im)]
                if len(mane) == 1:
                    return mane[0]
                if mane:
                    entries = mane
        ks = self.key_split
        return min(entries, key=lambda e: self._key(_padded(e.split("|", ks), ks + 1)))


def _field(entry: str, i: int) -> str:
    """Field ``i`` of a '|'-separated entry ('' if the entry is shorter)."""
    f = entry.split("|", i + 1)
    return f[i] if len(f) > i else ""


def _padded(f: list[str], width: int) -> list[str]:
    if len(f) < width:
        f += [""] * (width - len(f))
    return f


# ---------------------------------------------------------------------------------------------
# VCF reader


def _choose_sample(samples: list[str], sample: str | None, meta: list[str],
                   path: Path) -> tuple[str | None, list[str]]:
    """The tumour's column (``None`` for a sites-only VCF) and notes on how it was found."""
    if not samples:
        if sample is not None:
            raise InputError(
                f"sample '{sample}' is not in the file: it is a sites-only VCF (no sample "
                "columns)",
                file=path, sample=sample,
                fix="remove `column:` for this file from case.yaml; depth and VAF then come "
                    "from INFO DP/AF",
            )
        return None, ["sites-only VCF (no sample columns): depth and VAF from INFO DP/AF"]
    if sample is None and len(samples) > 1:
        tumour_meta = next((_meta_value(line) for line in meta
                            if line.startswith("##tumor_sample=")), None)
        if tumour_meta in samples:
            return tumour_meta, [f"tumour sample '{tumour_meta}' taken from ##tumor_sample"]
        if sorted(samples) == ["NORMAL", "TUMOR"]:
            # Strelka2 and the GDC name their columns literally NORMAL and TUMOR.
            return "TUMOR", ["tumour sample is the column named TUMOR"]
    chosen = choose_sample(samples, sample, file=path,
                           name_in_file="the tumour sample's column name")
    return chosen, []


def _depth_mode(format_ids: set[str], info_ids: set[str]) -> str:
    if "AD" in format_ids:
        return "AD"
    if {"AU", "CU", "GU", "TU"} <= format_ids or {"TAR", "TIR"} <= format_ids:
        return "strelka"
    if "AF" in format_ids:
        return "AF"
    if "AF" in info_ids or "DP" in info_ids:
        return "INFO"
    return "none"


def _fmt_int(rec: object, key: str) -> int | None:
    arr = rec.format(key)  # type: ignore[attr-defined]
    if arr is None:
        return None
    v = int(arr[0, 0])
    return v if v >= 0 else None


def _info_number(rec: object, key: str, k: int) -> float | None:
    v = rec.INFO.get(key)  # type: ignore[attr-defined]
    if v is None:
        return None
    if isinstance(v, tuple):
        v = v[k] if k < len(v) else None
    return None if v is None else float(v)


def read_vcf(
    path: str | Path,
    *,
    sample: str | None = None,
    annotation_pick: str = "canonical",
    pass_only: bool = False,
) -> LayerData:
    """Read small variants of one tumour sample from a VEP- or snpEff-annotated VCF.

    Parameters
    ----------
    path
        VCF 4.x, plain, gzip or bgzip (VCF 4.2 spec, samtools/hts-specs).
    sample
        The tumour sample's column. ``None`` works for single-sample VCFs, for Mutect2 VCFs
        (``##tumor_sample=`` names the tumour) and for Strelka2/GDC VCFs (columns ``NORMAL``
        and ``TUMOR``); any other multi-sample VCF needs it.
    annotation_pick
        How one transcript consequence is chosen per ALT allele when the annotation lists
        several: ``"canonical"`` (VEP: the ``CANONICAL=YES`` transcript, else a
        ``MANE_SELECT`` one, else the most severe; several canonical transcripts of
        overlapping genes: the most severe of those. snpEff: the first entry, since snpEff
        sorts entries by impact), ``"most_severe"`` (by the Ensembl consequence severity
        order, :data:`CONSEQUENCE_SEVERITY`; ties go to the canonical transcript, then to
        protein-coding ones, then to file order) or ``"first"`` (the first entry of the allele).
    pass_only
        Drop records whose FILTER is not ``PASS`` (or ``.``); the count goes to ``notes``.

    Returns
    -------
    LayerData
        Table ``variants``: one row per (record, ALT allele); multi-allelic records are split
        and each allele gets its own annotation (matched on the CSQ/ANN ``Allele`` with VEP's
        allele trimming rule, or on VEP's ``ALLELE_NUM`` when present) and its own read counts.
        ``filter`` is ``PASS`` for ``PASS`` and ``.``. ``hgvsc``/``hgvsp`` lose their
        ``ENST…:``/``ENSP…:`` prefix. Tumour reads, first available of: FORMAT ``AD`` (alt =
        that allele's AD, depth = FORMAT ``DP`` else the AD sum, VAF = alt / AD sum); Strelka2
        tier-1 counts (SNVs: ``{REF}U``/``{ALT}U``, indels: ``TAR``/``TIR``; VAF = alt /
        (ref + alt) as in the Strelka2 user guide); FORMAT ``AF`` with ``DP``; INFO ``AF``/``DP``.
        ``genome_build`` from ``##contig`` lengths, ``##reference``, ``##contig assembly=``,
        VEP ``assembly=`` or snpEff's database; ``tool``/``tool_version`` from ``##source``
        or ``##GATKCommandLine`` (the caller), else ``##VEP`` / ``##SnpEffVersion``.

    Raises
    ------
    InputError
        Missing/empty file, no ``##fileformat=VCF`` first line, truncated (b)gzip, unreadable
        header or record (with its line number), unknown or ambiguous tumour sample, unknown
        ``annotation_pick``.
    """
    p = check_file(path)
    if annotation_pick not in ANNOTATION_PICKS:
        raise InputError(
            f"unknown annotation_pick '{annotation_pick}'",
            file=p, expected=" / ".join(ANNOTATION_PICKS),
            fix="use annotation_pick='canonical' unless you need another rule",
        )
    notes: list[str] = []
    kind = gzip_kind(p)
    if kind:
        notes += check_gzip_complete(p, kind)
    _, first = next(numbered_lines(p, gz=kind is not None, encoding="utf-8"), (1, ""))
    if not first.startswith("##fileformat=VCF"):
        raise InputError(
            "not a VCF: no ##fileformat header", file=p, line=1,
            expected="first line '##fileformat=VCFv4.2' (or another VCFv4.x)",
            fix="give the VCF as the caller wrote it, header included",
        )
    version = first.strip().split("=", 1)[1]
    if not re.fullmatch(r"VCFv4\.\d+", version):
        raise InputError(
            f"unsupported VCF version '{version}'", file=p, line=1,
            expected="VCFv4.0 to VCFv4.5",
            fix="convert the file to VCF 4.2 (e.g. bcftools view)",
        )

    import cyvcf2

    with _quiet_htslib():
        try:
            vcf = cyvcf2.VCF(str(p), lazy=True)
        except Exception as exc:  # cyvcf2 raises bare Exception for htslib failures
            raise InputError(
                f"cannot read the VCF header: {exc}", file=p,
                expected="a VCF 4.x header: ## meta lines, then the #CHROM line",
                fix="check the header against the VCF 4.2 specification (samtools/hts-specs)",
            ) from exc
        # The record loop allocates millions of short-lived containers; each automatic
        # collection would walk every object still alive, the growing row list included. The
        # loop creates no reference cycles, so collection is paused until it is done.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            return _read_vcf_records(vcf, p, sample, annotation_pick, pass_only, notes)
        finally:
            if gc_was_enabled:
                gc.enable()
            vcf.close()


def _read_vcf_records(vcf: object, p: Path, sample: str | None, annotation_pick: str,
                      pass_only: bool, notes: list[str]) -> LayerData:
    raw_header: str = vcf.raw_header  # type: ignore[attr-defined]
    header_lines = raw_header.rstrip("\n").split("\n")
    meta = [line for line in header_lines if line.startswith("##")]
    samples: list[str] = list(vcf.samples)  # type: ignore[attr-defined]
    tumour, sample_notes = _choose_sample(samples, sample, meta, p)
    notes += sample_notes
    if tumour is not None:
        vcf.set_samples([tumour])  # type: ignore[attr-defined]

    tag, names = _annotation_fields(meta, p)
    picker = _Picker(tag, names, annotation_pick) if tag else None
    build, build_notes = _genome_build(meta)
    notes += build_notes
    tool, tool_version = _tool(meta, tag)
    if tag is None:
        notes.append("no VEP CSQ or snpEff ANN annotation in the header: gene, transcript, "
                     "consequence and HGVS are empty; annotate with VEP --vcf to fill them")
    else:
        notes.append(f"annotation {'VEP CSQ' if tag == 'CSQ' else 'snpEff ANN'}; one "
                     f"consequence per allele chosen by '{annotation_pick}'")
    format_ids = {_structured(line)["ID"] for line in meta
                  if line.startswith("##FORMAT=") and "ID" in _structured(line)}
    info_ids = {_structured(line)["ID"] for line in meta
                if line.startswith("##INFO=") and "ID" in _structured(line)}
    mode = _depth_mode(format_ids, info_ids) if tumour is not None else (
        "INFO" if {"AF", "DP"} & info_ids else "none")
    if mode == "none":
        notes.append("no read counts (FORMAT AD/DP/AF, Strelka tiers, INFO AF/DP): depth and "
                     "VAF are empty")
    has_fmt_dp = "DP" in format_ids
    is_ad = mode == "AD"

    # _ROW_WIDTH values per output row, flat (cheaper than a tuple per row): 5 locus fields,
    # the chosen annotation entry (split by _Columns), then depth, alt reads, AD sum (-1 =
    # missing; VAF = alt / AD sum, computed at the end) and an explicit VAF (NaN unless from
    # AF/Strelka/INFO).
    rows: list = []
    append = rows.extend
    columns = _Columns(picker)
    flush_at = _CHUNK_ROWS * _ROW_WIDTH
    nan = float("nan")
    n_records = n_non_pass = n_multi = n_no_alt = n_star = n_unmatched = 0
    first_line = len(header_lines) + 1
    pick_in = picker.choose_in if picker else None
    # an entry whose wanted fields are all empty, shared by every row without annotation
    no_entry = "|" * (picker.value_end + 1) if picker else ""
    i_allele_num = picker.i_allele_num if picker else None

    nxt = iter(vcf).__next__  # type: ignore[call-overload]
    while True:
        try:
            rec = nxt()
        except StopIteration:
            break
        except Exception as exc:  # htslib parse failure, raised by cyvcf2 as bare Exception
            raise _record_error(p, first_line + n_records, exc) from exc
        n_records += 1
        if len(rows) >= flush_at:
            columns.add(rows)
            rows = []
            append = rows.extend
        alt_list = rec.ALT
        n_alt = len(alt_list)
        if not n_alt:
            n_no_alt += 1
            continue
        filt = rec.FILTER
        if filt is None:
            filt = "PASS"
        else:
            n_non_pass += 1
            if pass_only:
                continue
        chrom = rec.CHROM
        pos = rec.POS
        ref = rec.REF
        ann = rec.INFO.get(tag) if tag else None

        if is_ad:
            ad = rec.format("AD")
            ad_row = ad.tolist()[0] if ad is not None else None
            dp = -1
            if has_fmt_dp:
                dpa = rec.format("DP")
                if dpa is not None:
                    dp = dpa.item(0)
                    if dp < 0:
                        dp = -1

        if n_alt == 1:
            alt = alt_list[0]
            if alt == "*":
                n_star += 1
                continue
            entry = pick_in(ann) if ann else no_entry
            if is_ad:
                if ad_row is None:
                    append((chrom, pos, ref, alt, filt, entry, dp, -1, -1, nan))
                else:
                    r0 = ad_row[0]
                    a1 = ad_row[1] if len(ad_row) > 1 else -1
                    tot = (r0 if r0 > 0 else 0) + (a1 if a1 > 0 else 0)
                    append((chrom, pos, ref, alt, filt, entry,
                            dp if dp >= 0 else (tot if r0 >= 0 else -1),
                            a1 if a1 >= 0 else -1, tot, nan))
            else:
                append((chrom, pos, ref, alt, filt, entry,
                        *_other_counts(rec, mode, ref, alt_list, 0)))
            continue

        # multi-allelic: one row per ALT, each with its own annotation entry and reads
        n_multi += 1
        by_allele: dict[str, list[str]] = {}
        keys: list[str] = []
        if ann:
            entries = ann.split(",")
            if i_allele_num is not None:
                keys = [str(k + 1) for k in range(n_alt)]
                by_allele = {key: [] for key in keys}
                for e in entries:
                    f = e.split("|")
                    if len(f) > i_allele_num and f[i_allele_num] in by_allele:
                        by_allele[f[i_allele_num]].append(e)
            else:
                # VEP trims indel alleles; snpEff writes the ALT as is (trimmed form tried
                # second, for files from tools that imitate VEP).
                tries = ([_vep_alleles(ref, alt_list)] if tag == "CSQ"
                         else [list(alt_list), _vep_alleles(ref, alt_list)])
                for keys in tries:
                    by_allele = {key: [] for key in keys}
                    for e in entries:
                        a = e.partition("|")[0]
                        if a in by_allele:
                            by_allele[a].append(e)
                    if any(by_allele.values()):
                        break
        if is_ad and ad_row is not None:
            tot = sum(x for x in ad_row if x > 0)
            r0 = ad_row[0]
        for k in range(n_alt):
            alt = alt_list[k]
            if alt == "*":
                n_star += 1
                continue
            if ann:
                mine = by_allele.get(keys[k])
                if mine:
                    entry = pick_in(",".join(mine))
                else:
                    n_unmatched += 1
                    entry = no_entry
            else:
                entry = no_entry
            if is_ad:
                if ad_row is None:
                    counts = (dp, -1, -1, nan)
                else:
                    a = ad_row[k + 1] if k + 1 < len(ad_row) else -1
                    counts = (dp if dp >= 0 else (tot if r0 >= 0 else -1),
                              a if a >= 0 else -1, tot, nan)
            else:
                counts = _other_counts(rec, mode, ref, alt_list, k)
            append((chrom, pos, ref, alt, filt, entry, *counts))

    if n_no_alt:
        notes.append(f"{plural(n_no_alt, 'record')} without an ALT allele skipped")
    if n_star:
        notes.append(f"{plural(n_star, 'allele')} '*' (overlapping deletion) skipped")
    if n_multi:
        notes.append(f"{plural(n_multi, 'multi-allelic record')} split into one row per ALT "
                     "allele")
    if n_non_pass:
        if pass_only:
            notes.append(f"{plural(n_non_pass, 'record')} with FILTER != PASS dropped "
                         "(pass_only)")
        else:
            notes.append(f"{plural(n_non_pass, 'record')} with FILTER != PASS kept, flagged in "
                         "column 'filter'")
    if n_unmatched:
        notes.append(f"{plural(n_unmatched, 'allele')} without a {tag} entry for that allele; "
                     "their gene and consequence are empty")
    if n_records == 0:
        notes.append("the VCF has no variant records")
    columns.add(rows)

    return LayerData(
        tables={"variants": conform(columns.frame(), "variants", source=str(p))},
        samples_in_file=samples,
        genome_build=build,
        tool=tool,
        tool_version=tool_version,
        notes=notes,
    )


_ROW_WIDTH = 10
#: rows collected in Python before they are moved into Arrow/numpy columns
_CHUNK_ROWS = 1 << 17


class _Columns:
    """Columns of the ``variants`` table, filled chunk by chunk from the record loop's rows.

    Moving each chunk of Python values into Arrow/numpy as soon as it is full keeps memory
    small and lets both allocators reuse the pages of the previous chunk; the chosen
    annotation entries are split into their fields in Arrow, a chunk at a time.
    """

    def __init__(self, picker: _Picker | None) -> None:
        self.picker = picker
        self.chrom_map: dict[str, str] = {}
        self.text: list[list] = [[] for _ in range(10)]  # chrom ref alt filter + 6 annotation
        self.numbers: list[list[np.ndarray]] = [[] for _ in range(5)]  # pos depth alt tot vaf
        self.n = 0

    def add(self, rows: list) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        n = len(rows) // _ROW_WIDTH
        if not n:
            return
        self.n += n
        cols = [rows[j::_ROW_WIDTH] for j in range(_ROW_WIDTH)]
        string = pa.string()
        chrom_map = self.chrom_map
        for c in set(cols[0]) - chrom_map.keys():
            chrom_map[c] = normalise_chrom(c)
        texts = [pa.array([chrom_map[c] for c in cols[0]], type=string),
                 pa.array(cols[2], type=string), pa.array(cols[3], type=string),
                 pa.array(cols[4], type=string)]
        picker = self.picker
        if picker is None:
            texts += [pa.nulls(n, string)] * 6
        else:
            last = picker.value_end
            entries = pa.array(cols[5], type=string)
            parts = pc.split_pattern(entries, pattern="|", max_splits=last + 1)
            if pc.min(pc.list_value_length(parts)).as_py() < last + 1:
                # an entry shorter than the header says: pad with '|' so every field exists
                entries = pc.binary_join_element_wise(entries, "|" * (last + 1), "")
                parts = pc.split_pattern(entries, pattern="|", max_splits=last + 1)
            texts += [pc.list_element(parts, i) if i is not None else pa.nulls(n, string)
                      for i in picker.wanted]
        for store, arr in zip(self.text, texts, strict=True):
            store.append(arr)
        for store, j, dtype in zip(self.numbers, (1, 6, 7, 8, 9),
                                   (np.int64, np.int64, np.int64, np.int64, np.float64),
                                   strict=True):
            store.append(np.fromiter(cols[j], dtype=dtype, count=n))

    def frame(self) -> pd.DataFrame:
        """The ``variants`` frame (Arrow-backed strings, nullable counts)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        null = pa.scalar(None, pa.string())

        def text(k: int, *, empty_is_na: bool = False,
                 hgvs: bool = False) -> pd.api.extensions.ExtensionArray:
            arr = pa.chunked_array(self.text[k], type=pa.string())
            if empty_is_na:
                arr = pc.if_else(pc.equal(arr, ""), null, arr)
            if hgvs:
                # 'ENST00000269305.9:c.817C>T' -> 'c.817C>T'; VEP percent-encodes '='
                # (p.Leu10%3D) and other VCF-reserved characters in the VCF it writes.
                arr = pc.replace_substring_regex(arr, pattern=r"^[^:]*:", replacement="")
                if pc.any(pc.match_substring(arr, "%")).as_py():
                    for code, char in (("%3D", "="), ("%3B", ";"), ("%2C", ","), ("%20", " ")):
                        arr = pc.replace_substring(arr, pattern=code, replacement=char)
            return pd.array(arr, dtype="string")

        def number(k: int, dtype: type) -> np.ndarray:
            parts = self.numbers[k]
            return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)

        pos = number(0, np.int64)
        depth, alt_n, tot = (number(k, np.int64) for k in (1, 2, 3))
        vaf = number(4, np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            from_ad = np.where((tot > 0) & (alt_n >= 0), alt_n / np.maximum(tot, 1), np.nan)
        vaf = np.where(np.isnan(vaf), from_ad, vaf)
        return pd.DataFrame({
            "chrom": text(0),
            "pos": pos,
            "ref": text(1),
            "alt": text(2),
            "filter": text(3),
            "gene": text(4, empty_is_na=True),
            "transcript_id": text(5, empty_is_na=True),
            "consequence": text(6, empty_is_na=True),
            "impact": text(7, empty_is_na=True),
            "hgvsc": text(8, empty_is_na=True, hgvs=True),
            "hgvsp": text(9, empty_is_na=True, hgvs=True),
            "depth": pd.arrays.IntegerArray(depth, depth < 0),
            "alt_depth": pd.arrays.IntegerArray(alt_n, alt_n < 0),
            "vaf": vaf,
        })


def _other_counts(rec: object, mode: str, ref: str, alts: list[str],
                  k: int) -> tuple[int, int, int, float]:
    """(depth, alt reads, -1, VAF) of ALT ``k`` when the file has no FORMAT AD."""
    nan = float("nan")
    if mode == "strelka":
        dp = _fmt_int(rec, "DP")
        counts = _strelka_counts(rec, ref, alts)
        depth = dp if dp is not None else -1
        if counts is None or k + 1 >= len(counts) or counts[0] < 0 or counts[k + 1] < 0:
            return depth, -1, -1, nan
        alt_n = counts[k + 1]
        ref_alt = counts[0] + alt_n
        return depth, alt_n, -1, (alt_n / ref_alt if ref_alt > 0 else nan)
    if mode == "AF":
        dp = _fmt_int(rec, "DP")
        depth = dp if dp is not None else -1
        af = rec.format("AF")  # type: ignore[attr-defined]
        vaf = float(af[0, k]) if af is not None and k < af.shape[1] else nan
        if not 0.0 <= vaf <= 1.0:
            vaf = nan
        alt_n = round(vaf * depth) if depth >= 0 and vaf == vaf else -1
        return depth, alt_n, -1, vaf
    if mode == "INFO":
        d = _info_number(rec, "DP", 0)
        v = _info_number(rec, "AF", k)
        vaf = v if v is not None and 0.0 <= v <= 1.0 else nan
        return (int(d) if d is not None else -1), -1, -1, vaf
    dp = _fmt_int(rec, "DP") if mode != "none" else None
    return (dp if dp is not None else -1), -1, -1, nan


def _strelka_counts(rec: object, ref: str, alts: list[str]) -> list[int] | None:
    """[ref, alt1, ...] tier-1 read counts from Strelka2 FORMAT fields, or None.

    Strelka2 user guide, "Somatic variant allele frequencies": SNVs use ``{REF}U`` and
    ``{ALT}U`` (tier 1), indels ``TAR`` (ref) and ``TIR`` (alt) tier 1.
    """
    if len(ref) == 1 and all(len(a) == 1 for a in alts):
        counts = []
        for base in [ref, *alts]:
            if base not in "ACGT":
                return None
            arr = rec.format(base + "U")  # type: ignore[attr-defined]
            if arr is None:
                return None
            counts.append(int(arr[0, 0]))
        return counts
    tar = rec.format("TAR")  # type: ignore[attr-defined]
    tir = rec.format("TIR")  # type: ignore[attr-defined]
    if tar is None or tir is None:
        return None
    return [int(tar[0, 0]), int(tir[0, 0])]


def _record_error(p: Path, line: int, exc: Exception) -> InputError:
    """An InputError for an unreadable record, quoting the line and saying what is wrong."""
    text = ""
    try:
        for i, raw in numbered_lines(p, encoding="utf-8"):
            if i == line:
                text = raw
                break
    except InputError:  # the file cannot be re-read: report the record without its text
        pass
    fields = text.split("\t") if text else []
    column = None
    if text and len(fields) < 8:
        problem = f"record has {len(fields)} tab-separated fields, VCF needs at least 8"
    elif fields and not fields[1].isdigit():
        problem, column = f"POS '{fields[1]}' is not a whole number", "POS"
    else:
        problem = f"record cannot be parsed ({exc})"
    if text:
        problem += f": {text[:120]}"
    return InputError(
        problem, file=p, line=line, column=column,
        expected="CHROM POS ID REF ALT QUAL FILTER INFO [FORMAT samples...], tab-separated, "
                 "matching the header's ##INFO/##FORMAT definitions",
        fix="repair or re-export the record (bcftools view reports the same problem)",
    )


# ---------------------------------------------------------------------------------------------
# MAF reader


def read_maf(path: str | Path, *, sample: str | None = None) -> LayerData:
    """Read small variants of one tumour sample from a GDC MAF.

    Follows GDC MAF Format v1.0.0 (https://docs.gdc.cancer.gov/Data/File_Formats/MAF_Format/):
    tab-separated, leading ``#version gdc-1.0.0`` comment lines, one row per variant and tumour
    aliquot with the single most affected transcript already chosen by the GDC.

    Parameters
    ----------
    path
        ``.maf`` or ``.maf.gz``.
    sample
        Tumour_Sample_Barcode to read; may be ``None`` when the file holds one tumour.

    Returns
    -------
    LayerData
        Table ``variants``. Positions and alleles stay as the MAF writes them: SNVs/MNVs equal
        their VCF form, but indels keep MAF's ``-`` alleles with ``Start_Position`` (for a
        deletion the first deleted base, for an insertion the base before it); turning them into
        VCF's anchored form needs the reference sequence, which a MAF does not carry. ``alt`` is
        ``Tumor_Seq_Allele2``, or ``Tumor_Seq_Allele1`` when Allele2 equals the reference.
        ``consequence`` from ``Consequence`` ('&'-joined), else mapped from
        ``Variant_Classification``; ``hgvsp`` from ``HGVSp`` (3-letter), else ``HGVSp_Short``;
        ``depth`` from ``t_depth`` (else ``t_ref_count`` + ``t_alt_count``), ``alt_depth`` from
        ``t_alt_count``, VAF = ``t_alt_count / (t_ref_count + t_alt_count)`` as for VCF AD (else
        ``t_alt_count / t_depth``); ``filter`` from ``FILTER`` (',' turned into ';').
        ``genome_build`` from ``NCBI_Build``.

    Raises
    ------
    InputError
        Missing/empty/truncated file, missing required column (named), non-numeric
        position or count (line and column), several genome builds in one file, unknown
        build, unknown or ambiguous sample.
    """
    p = check_file(path)
    kind = gzip_kind(p)
    if kind:
        check_gzip_complete(p, kind)
    n_comment = 0
    header: str | None = None
    for _, line in numbered_lines(p, gz=kind is not None, encoding="utf-8"):
        if line.startswith("#"):
            n_comment += 1
            continue
        header = line
        break
    header_line = n_comment + 1
    if header is None or not header.strip():
        raise InputError(
            "no column header line", file=p, line=header_line,
            expected="a tab-separated header starting 'Hugo_Symbol\\tEntrez_Gene_Id\\t...'",
            fix="give the MAF as the GDC distributes it",
        )
    columns = header.split("\t")
    missing = [c for c in MAF_REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InputError(
            f"MAF lacks required column(s) {', '.join(missing)}", file=p, line=header_line,
            column=missing[0],
            expected="GDC MAF columns " + ", ".join(MAF_REQUIRED_COLUMNS),
            fix="export the MAF with its standard GDC column names",
        )
    try:
        raw = pd.read_csv(
            p, sep="\t", skiprows=n_comment, dtype=str, keep_default_na=False,
            na_filter=False, skip_blank_lines=False, quoting=3,
            compression="gzip" if kind else None, low_memory=False,
        ).fillna("")
    except pd.errors.ParserError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise InputError(
            f"rows do not have the header's {len(columns)} columns ({exc})", file=p,
            line=int(m.group(1)) + n_comment if m else None,
            expected="tab-separated rows with one value per header column",
            fix="repair the row or re-export the MAF",
        ) from exc
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise gzip_error(p, str(exc)) from exc
    blank = (raw == "").all(axis=1)
    raw["_line"] = np.arange(len(raw)) + header_line + 1
    raw = raw.loc[~blank]
    notes: list[str] = []

    barcodes = raw["Tumor_Sample_Barcode"]
    samples_in_file = list(dict.fromkeys(barcodes[barcodes != ""]))
    chosen = None
    if samples_in_file or sample is not None:
        chosen = choose_sample(samples_in_file, sample, file=p, column="Tumor_Sample_Barcode",
                               noun="tumour sample",
                               name_in_file="the tumour's Tumor_Sample_Barcode")

    build = _maf_build(raw, p)
    rows = raw.loc[barcodes == chosen] if chosen is not None else raw.iloc[0:0]

    def col(name: str) -> pd.Series | None:
        return rows[name] if name in rows.columns else None

    def blank_to_na(s: pd.Series) -> pd.Series:
        s = s.str.strip()
        return s.mask(s.isin(["", ".", "NA", "N/A", "NaN", "nan", "__UNKNOWN__"]))

    for c in ("Chromosome", "Reference_Allele", "Tumor_Seq_Allele2"):
        empty = rows[c].str.strip() == ""
        if empty.any():
            first = rows.loc[empty].iloc[0]
            raise InputError(
                f"empty {c}", file=p, line=int(first["_line"]), column=c,
                sample=chosen, fix=f"fill in {c} or remove the row",
            )
    pos = _maf_integer(rows, "Start_Position", p, required=True)
    ref = rows["Reference_Allele"].str.strip()
    a2 = rows["Tumor_Seq_Allele2"].str.strip()
    a1 = col("Tumor_Seq_Allele1")
    alt = a2
    if a1 is not None:
        a1 = a1.str.strip()
        use_a1 = (a2 == ref) & (a1 != ref) & (a1 != "")
        alt = a2.where(~use_a1, a1)

    gene = blank_to_na(rows["Hugo_Symbol"])
    gene = gene.mask(gene == "Unknown")  # MAF's symbol for variants outside genes
    if (cons := col("Consequence")) is not None:
        consequence = blank_to_na(cons).str.replace(r"[,;]", "&", regex=True)
    elif (vc := col("Variant_Classification")) is not None:
        consequence = vc.str.strip().map(_MAF_CLASS_TO_SO)
        notes.append("no Consequence column: consequence mapped from Variant_Classification")
    else:
        consequence = pd.Series(pd.NA, index=rows.index, dtype=object)
    impact = blank_to_na(c) if (c := col("IMPACT")) is not None else None
    hgvsc = blank_to_na(c) if (c := col("HGVSc")) is not None else None
    if (c := col("HGVSp")) is not None:
        hgvsp = blank_to_na(c)
    elif (c := col("HGVSp_Short")) is not None:
        hgvsp = blank_to_na(c)
        notes.append("no HGVSp column: hgvsp from HGVSp_Short (one-letter amino acids)")
    else:
        hgvsp = None
    tx = blank_to_na(c) if (c := col("Transcript_ID")) is not None else None
    alt_count = _maf_integer(rows, "t_alt_count", p)
    ref_count = _maf_integer(rows, "t_ref_count", p)
    depth = _maf_integer(rows, "t_depth", p)
    # VAF over ref + alt reads, as for VCF AD; t_depth may also count other alleles.
    reads = ref_count + alt_count if ref_count is not None and alt_count is not None else depth
    if depth is None:
        depth = reads
    if reads is not None and alt_count is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            vaf = (alt_count.astype("float64") / reads.astype("float64")).to_numpy(
                dtype="float64", na_value=np.nan, copy=True)
        vaf[~np.isfinite(vaf) | (vaf < 0) | (vaf > 1)] = np.nan
    else:
        vaf = np.full(len(rows), np.nan)
        notes.append("no t_depth/t_alt_count columns: depth and VAF are empty")
    if (c := col("FILTER")) is not None:
        filt = blank_to_na(c).str.replace(",", ";", regex=False).fillna("PASS")
    else:
        filt = pd.Series("PASS", index=rows.index)
        notes.append("no FILTER column: every row taken as PASS")
    n_non_pass = int((filt != "PASS").sum())
    if n_non_pass:
        notes.append(f"{plural(n_non_pass, 'row')} with FILTER != PASS kept, flagged in column "
                     "'filter'")
    n_indel = int(((ref == "-") | (alt == "-")).sum())
    if n_indel:
        notes.append(f"{plural(n_indel, 'indel')} kept in MAF form ('-' allele, MAF "
                     "Start_Position), not VCF's anchored form")

    chrom = rows["Chromosome"].str.strip()
    chrom_map = {c: normalise_chrom(c) for c in chrom.unique()}
    na = pd.Series(pd.NA, index=rows.index, dtype=object)
    df = pd.DataFrame({
        "chrom": chrom.map(chrom_map),
        "pos": pos,
        "ref": ref,
        "alt": alt,
        "filter": filt,
        "gene": gene,
        "transcript_id": tx if tx is not None else na,
        "consequence": consequence,
        "impact": impact if impact is not None else na,
        "hgvsc": _strip_hgvs_column(hgvsc) if hgvsc is not None else na,
        "hgvsp": _strip_hgvs_column(hgvsp) if hgvsp is not None else na,
        "depth": depth if depth is not None else pd.Series(pd.NA, index=rows.index,
                                                           dtype="Int64"),
        "alt_depth": alt_count if alt_count is not None else pd.Series(
            pd.NA, index=rows.index, dtype="Int64"),
        "vaf": vaf,
    })
    return LayerData(
        tables={"variants": conform(df, "variants", source=str(p))},
        samples_in_file=samples_in_file,
        genome_build=build,
        tool=None,
        tool_version=None,
        notes=notes,
    )


def _strip_hgvs_column(s: pd.Series) -> pd.Series:
    """Drop an ``ENST…:``/``ENSP…:`` prefix, decode ``%3D``."""
    return s.str.replace(r"^[^:]*:", "", regex=True).str.replace("%3D", "=", regex=False)


def _maf_integer(rows: pd.DataFrame, name: str, p: Path, *,
                 required: bool = False) -> pd.Series | None:
    """Column ``name`` as Int64; a value that is not a whole number raises with its line."""
    if name not in rows.columns:
        return None
    s = rows[name].str.strip()
    empty = s.isin(["", ".", "NA", "N/A"])
    num = pd.to_numeric(s.mask(empty), errors="coerce")
    bad = (num.isna() & ~empty) | (num.notna() & (num % 1 != 0))
    if required:
        bad |= empty
    if bad.any():
        first = rows.loc[bad].iloc[0]
        raise InputError(
            f"{name} '{first[name]}' is not a whole number", file=p, line=int(first["_line"]),
            column=name, expected="a non-negative whole number",
            fix=f"correct {name} in that row or re-export the MAF",
        )
    return num.astype("Int64")


def _maf_build(raw: pd.DataFrame, p: Path) -> str | None:
    values = raw["NCBI_Build"].str.strip()
    values = values[values != ""]
    if values.empty:
        return None
    uniq = list(dict.fromkeys(values))
    builds = {}
    for v in uniq:
        b = _normalise_build_text(v)
        if b is None:
            first = raw.loc[values.index[values == v][0]]
            raise InputError(
                f"NCBI_Build '{v}' is not a genome build tumorboard knows", file=p,
                line=int(first["_line"]), column="NCBI_Build",
                expected="GRCh38 or GRCh37 (also 38, 37, hg38, hg19)",
                fix="lift the variants over to GRCh38 or GRCh37",
            )
        builds[v] = b
    distinct = list(dict.fromkeys(builds.values()))
    if len(distinct) > 1:
        second = next(v for v in uniq if builds[v] == distinct[1])
        first = raw.loc[values.index[values == second][0]]
        raise InputError(
            f"MAF mixes genome builds ({', '.join(distinct)})", file=p,
            line=int(first["_line"]), column="NCBI_Build",
            expected="one NCBI_Build for the whole file",
            fix="split the file by build or lift all rows to one build",
        )
    return distinct[0]
