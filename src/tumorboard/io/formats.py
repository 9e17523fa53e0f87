"""The file formats a case may name, the layer each belongs to and the reader for each.

``case.yaml`` names a file's ``format``; this table says which reader reads it, which
molecular layer it feeds and which store tables it may produce. Readers are imported lazily so
that importing :mod:`tumorboard.io` stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from tumorboard.io.tables import LayerData

#: The molecular layers, in the order a report lists them.
LAYERS: tuple[str, ...] = (
    "variants",
    "copy_number",
    "fusions",
    "expression",
    "methylation",
    "proteome",
    "phosphoproteome",
    "hla",
    "drug_screen",
)


@dataclass(frozen=True)
class FileFormat:
    """One file format a case may name."""

    name: str
    layer: str
    reader: str  # 'module:function' under tumorboard.io
    tables: tuple[str, ...]
    description: str
    has_genome_coordinates: bool = False
    multi_sample: bool = False  # the file may hold several samples (a column per sample)
    # the reader is told the case's sample id even for a one-sample file: a drug screen
    # without a model column names its one model after the sample
    takes_sample_id: bool = False

    def load_reader(self) -> Callable[..., LayerData]:
        module, func = self.reader.split(":")
        return getattr(import_module(f"tumorboard.io.{module}"), func)


FORMATS: dict[str, FileFormat] = {
    f.name: f
    for f in [
        FileFormat("vcf", "variants", "variants:read_vcf", ("variants",),
                   "VCF 4.x, plain or bgzipped, VEP CSQ or snpEff ANN annotation",
                   has_genome_coordinates=True, multi_sample=True),
        FileFormat("maf", "variants", "variants:read_maf", ("variants",),
                   "GDC/TCGA Mutation Annotation Format",
                   has_genome_coordinates=True, multi_sample=True),
        FileFormat("seg", "copy_number", "copynumber:read_seg",
                   ("segments", "gene_copy_number"),
                   "SEG segments (ID chrom loc.start loc.end num.mark seg.mean), optionally "
                   "allele-specific (nMajor nMinor)",
                   has_genome_coordinates=True, multi_sample=True),
        FileFormat("gene_cn", "copy_number", "copynumber:read_gene_copy_number",
                   ("gene_copy_number",), "gene-level copy-number table",
                   multi_sample=True),
        FileFormat("arriba", "fusions", "fusions:read_arriba", ("fusions",),
                   "Arriba fusions.tsv", has_genome_coordinates=True),
        FileFormat("star_fusion", "fusions", "fusions:read_star_fusion", ("fusions",),
                   "STAR-Fusion star-fusion.fusion_predictions(.abridged).tsv",
                   has_genome_coordinates=True),
        FileFormat("fusion_tsv", "fusions", "fusions:read_fusion_table", ("fusions",),
                   "generic fusion TSV (gene5, gene3, breakpoints, supporting reads)",
                   has_genome_coordinates=True),
        FileFormat("expression_matrix", "expression", "expression:read_expression_matrix",
                   ("expression",),
                   "gene x sample TPM (and count) matrix: TSV, CSV or Parquet",
                   multi_sample=True),
        FileFormat("salmon", "expression", "expression:read_salmon", ("expression",),
                   "salmon quant.sf / quant.genes.sf"),
        FileFormat("rsem", "expression", "expression:read_rsem", ("expression",),
                   "RSEM *.genes.results"),
        FileFormat("beta_matrix", "methylation", "methylation:read_beta_matrix",
                   ("methylation",), "probe x sample beta values: TSV, CSV or Parquet",
                   multi_sample=True),
        FileFormat("idat", "methylation", "idat:read_idat_sample", ("methylation",),
                   "Illumina IDAT pair (path: the _Grn file; options manifest:, red:), raw "
                   "betas"),
        FileFormat("protein_table", "proteome", "proteome:read_protein_table",
                   ("proteome",), "generic protein abundance table, long or wide",
                   multi_sample=True),
        FileFormat("maxquant_proteingroups", "proteome", "proteome:read_maxquant_proteingroups",
                   ("proteome",), "MaxQuant proteinGroups.txt", multi_sample=True),
        FileFormat("rppa", "proteome", "proteome:read_rppa", ("proteome", "phosphoproteome"),
                   "reverse-phase protein array matrix (antibody x sample, TCGA style)",
                   multi_sample=True),
        FileFormat("phospho_table", "phosphoproteome", "proteome:read_phospho_table",
                   ("phosphoproteome",), "generic phosphosite table, long or wide",
                   multi_sample=True),
        FileFormat("maxquant_phosphosites", "phosphoproteome",
                   "proteome:read_maxquant_phosphosites", ("phosphoproteome",),
                   "MaxQuant Phospho (STY)Sites.txt", multi_sample=True),
        FileFormat("optitype", "hla", "hla:read_optitype", ("hla",),
                   "OptiType *_result.tsv"),
        FileFormat("arcashla", "hla", "hla:read_arcashla", ("hla",),
                   "arcasHLA *.genotype.json"),
        FileFormat("drug_screen", "drug_screen", "drugscreen:read_drug_screen",
                   ("drug_screen",),
                   "drug screen on a patient-derived model: long table (CSV, TSV, .gz, "
                   ".xlsx), one row per well, raw signal with plate controls or viability",
                   takes_sample_id=True),
    ]
}
