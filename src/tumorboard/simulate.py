"""Seeded simulator of realistic multi-omics sarcoma cohorts, with ground truth.

:func:`simulate_cohort` writes one case folder per patient (``case.yaml`` plus one file per
molecular layer, each in the format the real tool writes) and ``truth.json`` with what was
put into the data. :func:`write_large_case` writes one whole-genome-scale case for
benchmarks. :func:`simulate_outcomes` writes therapy histories, RECIST measurements, plasma
ctDNA reads and follow-up of a simulated cohort as outcomes-template CSVs;
:func:`simulate_lat_registry` writes a simulated multicentre registry of local ablative
therapy in metastatic soft-tissue sarcoma. Everything is a pure function of the seed: the
same seed gives byte-identical files.

What is encoded, and where it comes from
----------------------------------------
* **DSRCT** (desmoplastic small round cell tumour): EWSR1::WT1 fusion, t(11;22)(p13;q12);
  young men, male:female about 4:1, median age about 22 (Gerald et al., J Clin Oncol 1998,
  doi:10.1200/JCO.1998.16.9.3028); few mutations besides the fusion. Targets follow the
  NCT/DKFZ MASTER DSRCT study (Renner, Oleś et al., Nat Commun 2026): ERBB2 *expressed*
  in most tumours but *without* phosphorylation of its activation sites (the rationale
  for the antibody-drug conjugate trastuzumab deruxtecan), CLDN6 high in about a third,
  SSTR2/3/5 expressed in many, KDR activation (its Y1175/Y1214 sites and substrate sites)
  in one or two, TYRO3 high in a few.
* **Other entities**, each with its defining lesion: synovial sarcoma SS18::SSX1/SSX2
  (Clark et al., Nat Genet 1994, doi:10.1038/ng0994-502) with TLE1 expression (Terry et
  al., Am J Surg Pathol 2007, doi:10.1097/01.pas.0000213394.34489.3c); Ewing sarcoma
  EWSR1::FLI1 (Delattre et al., Nature 1992, doi:10.1038/359162a0) with NKX2-2 and NR0B1
  expression (Yoshida et al., Am J Surg Pathol 2012, doi:10.1097/PAS.0b013e31824a9cd9)
  and the recurrent gains of chromosomes 8, 12 and 1q and STAG2 loss (Tirode et al.,
  Cancer Discov 2014, doi:10.1158/2159-8290.CD-14-0622); dedifferentiated liposarcoma
  12q13-15 amplification of CDK4 and MDM2 (Sirvent et al., Am J Surg Pathol 2007,
  doi:10.1097/PAS.0b013e3180335cca, who also show DDLS misread as undifferentiated
  pleomorphic sarcoma); leiomyosarcoma TP53 and RB1 loss (Cancer Genome Atlas Research
  Network, Cell 2017, doi:10.1016/j.cell.2017.10.014); GIST KIT exon 11 mutations
  (Hirota et al., Science 1998, doi:10.1126/science.279.5350.577) with DOG1/ANO1 (West
  et al., Am J Pathol 2004, doi:10.1016/S0002-9440(10)63279-8); inflammatory
  myofibroblastic tumour TPM3::ALK / EML4::ALK (Lawrence et al., Am J Pathol 2000,
  doi:10.1016/S0002-9440(10)64980-3); alveolar soft part sarcoma ASPSCR1::TFE3 with MET
  up-regulation (Ladanyi et al., Oncogene 2001, doi:10.1038/sj.onc.1204089; Tsuda et al.,
  Cancer Res 2007, doi:10.1158/0008-5472.CAN-06-3393).
* **HLA**: HLA-A*02:01 has an allele frequency of roughly 0.25-0.29 in European
  populations (allelefrequencies.net; Gonzalez-Galarza et al., Nucleic Acids Res 2020,
  doi:10.1093/nar/gkz1029); drawn per allele at 0.25, about 44 % of patients carry it.
* **Tumour mutational burden** (TMB) is the number of PASS non-synonymous coding somatic
  variants per megabase of an assumed 35 Mb coding territory (the definition used for
  whole-exome TMB; Merino et al., J Immunother Cancer 2020, doi:10.1136/jitc-2019-000147).
* **Phosphoproteome**: phosphosites are about 86 % serine, 12 % threonine, 2 % tyrosine
  (Olsen et al., Cell 2006, doi:10.1016/j.cell.2006.09.026); VEGFR2 pY1175 recruits
  PLCγ1 and pY1214 signals to p38 MAPK (Takahashi et al., EMBO J 2001,
  doi:10.1093/emboj/20.11.2768; Koch & Claesson-Welsh, Cold Spring Harb Perspect Med 2012,
  doi:10.1101/cshperspect.a006502), which gives the KDR substrate sites used here.
* **Drug screens** on patient-derived organoids (``screens=`` share of the patients, 75 %
  by default): a 12-drug panel (:data:`SCREEN_DRUGS`) as raw CellTiter-Glo 3D luminescence
  with DMSO and benzethonium chloride controls on 384-well plates, curves drawn from a
  4-parameter log-logistic model (Sebaugh, Pharm Stat 2011, doi:10.1002/pst.426) with
  biomarker-driven sensitivities (trastuzumab deruxtecan graded by ERBB2 expression in
  DSRCT, as in the MASTER study; imatinib in KIT-mutant GIST, Demetri et al. 2002,
  doi:10.1056/NEJMoa020461; palbociclib in CDK4-amplified DDLS, Dickson et al. 2013,
  doi:10.1200/JCO.2012.46.5476; and others, :data:`_SCREEN_BIOMARKERS`) and planted flat,
  partial, noisy and poor-control cases; the truth of every curve is in ``truth.json``.

File formats, as the tools write them
-------------------------------------
VCF 4.2 (samtools/hts-specs ``VCFv4.2.pdf``) from GATK Mutect2 + FilterMutectCalls, annotated
by Ensembl VEP 110 (CSQ field list of ``--everything``), bgzip-compressed (BGZF, SAM/BAM
specification section 4.1, written here because no bgzip binary or pysam is available);
GDC somatic MAF v1.0.0 (docs.gdc.cancer.gov/Data/File_Formats/MAF_Format, columns 1-120);
IGV SEG (software.broadinstitute.org/software/igv/SEG), optionally with ASCAT's nMajor /
nMinor; Arriba 2.4 ``fusions.tsv`` (arriba.readthedocs.io, output files); STAR-Fusion
``star-fusion.fusion_predictions.abridged.tsv``; salmon 1.10 ``quant.genes.sf``; RSEM 1.3
``*.genes.results``; Illumina EPIC / EPICv2 beta matrices (EPICv2 probe names carry a
``_TC21``-style suffix: strand, converted/opposite, Infinium type, replicate; Peters et al.,
BMC Genomics 2024, doi:10.1186/s12864-024-10027-5); MaxQuant ``proteinGroups.txt`` and
``Phospho (STY)Sites.txt`` (cox-labs.github.io/coxdocs/output_tables.html; tables labelled
MaxQuant 2.4 start with a UTF-8 byte-order mark, as users of 2.4 output report, so readers
meet both); OptiType ``*_result.tsv``; arcasHLA ``*.genotype.json``; drug screens in
tumorboard's long ``drug_screen`` table (docs/formats.md), one row per well as a plate
reader exports it. The Mutect2 FORMAT field order is the tool's own, ``GT:AD:AF:DP``.

What is synthetic
-----------------
Positions of passenger variants are random positions inside real GENCODE genes, and their
REF bases and HGVS strings are made up (no reference FASTA is shipped); the hotspot driver
variants (TP53, KIT) use their real GRCh38 coordinates and HGVS. Ensembl ids are real for a
curated set of genes (:data:`ENSEMBL_GENE_IDS`); for every other gene they are drawn from a
range Ensembl does not use (``ENSG9…``, ``ENST9…``), so they can never be mistaken for real
ids. UniProt accessions are real for the target and marker proteins and ``SIM…`` otherwise.
Phosphosite sequence windows and fusion transcripts are random sequences.
"""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import json
import re
import struct
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from tumorboard import reference
from tumorboard.diagnosis.reference import family_of
from tumorboard.errors import InputError
from tumorboard.io.formats import LAYERS

__all__ = [
    "ENSEMBL_GENE_IDS",
    "ENTITIES",
    "FUSIONS",
    "KDR_SUBSTRATE_SITES",
    "SCREEN_DRUGS",
    "SCREEN_FRACTION",
    "CohortTruth",
    "PatientTruth",
    "ScreenDrug",
    "simulate_cohort",
    "simulate_lat_registry",
    "simulate_outcomes",
    "write_large_case",
]

#: Fixed seed of the "biology" shared by every cohort (gene baselines, methylation class
#: patterns, probe ids, protein and site universes), so that cohorts simulated with
#: different seeds are different patients of the same world: a classifier trained on one
#: applies to another.
UNIVERSE_SEED = 20_261_122

#: Assumed coding territory for TMB, in megabases (see module docstring).
TMB_TERRITORY_MB = 35.0

GENOME_BUILD = "GRCh38"
_CHROMS = [f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY"]
_CHROM_ORDER = {c: i for i, c in enumerate([*_CHROMS, "chrM"])}

# --- identifiers ----------------------------------------------------------------------

#: Real Ensembl gene ids (GRCh38) of the genes whose ids a reader or test may look at.
ENSEMBL_GENE_IDS: dict[str, str] = {
    "ALK": "ENSG00000171094",
    "ASPSCR1": "ENSG00000169696",
    "CDK4": "ENSG00000135446",
    "EML4": "ENSG00000143924",
    "ERBB2": "ENSG00000141736",
    "EWSR1": "ENSG00000182944",
    "FLI1": "ENSG00000151702",
    "KIT": "ENSG00000157404",
    "MDM2": "ENSG00000135679",
    "RB1": "ENSG00000139687",
    "SS18": "ENSG00000141380",
    "SSX1": "ENSG00000126752",
    "SSX2": "ENSG00000241476",
    "TFE3": "ENSG00000068323",
    "TP53": "ENSG00000141510",
    "TPM3": "ENSG00000143549",
    "WT1": "ENSG00000184937",
}

#: MANE Select transcripts of the driver genes: (Ensembl transcript, protein, RefSeq, HGNC id).
_MANE: dict[str, tuple[str, str, str, str]] = {
    "TP53": ("ENST00000269305.9", "ENSP00000269305.4", "NM_000546.6", "HGNC:11998"),
    "KIT": ("ENST00000288135.6", "ENSP00000288135.5", "NM_000222.3", "HGNC:6342"),
    "RB1": ("ENST00000267163.6", "ENSP00000267163.4", "NM_000321.3", "HGNC:9884"),
    "STAG2": ("ENST00000371145.8", "ENSP00000360187.3", "NM_001042749.2", "HGNC:11355"),
}

#: Real UniProt accessions and canonical lengths of the target and marker proteins.
_UNIPROT: dict[str, tuple[str, int]] = {
    "ERBB2": ("P04626", 1255),
    "EGFR": ("P00533", 1210),
    "KDR": ("P35968", 1356),
    "TYRO3": ("Q06418", 890),
    "CLDN6": ("P56747", 220),
    "SSTR2": ("P30874", 369),
    "SSTR3": ("P32745", 418),
    "SSTR5": ("P35346", 364),
    "WT1": ("P19544", 449),
    "EWSR1": ("Q01844", 656),
    "KIT": ("P10721", 976),
    "MDM2": ("Q00987", 491),
    "CDK4": ("P11802", 303),
    "ALK": ("Q9UM73", 1620),
    "TP53": ("P04637", 393),
    "RB1": ("P06400", 928),
    "ACTB": ("P60709", 375),
    "GAPDH": ("P04406", 335),
    "PLCG1": ("P19174", 1290),
    "MAPK14": ("Q16539", 360),
    "CDH5": ("P33151", 784),
    "MAPK1": ("P28482", 360),
    "MAPK3": ("P27361", 379),
    "AKT1": ("P31749", 480),
    "SRC": ("P12931", 536),
    "PTK2": ("Q05397", 1052),
    "MET": ("P08581", 1390),
    "DES": ("P17661", 470),
}

# --- the entities -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Fusion:
    gene5: str
    gene3: str
    breakpoint5: int  # GRCh38, inside gene5
    breakpoint3: int  # GRCh38, inside gene3

    @property
    def name(self) -> str:
        return f"{self.gene5}::{self.gene3}"


#: Defining fusions with plausible GRCh38 breakpoints inside both genes (exon boundaries
#: of the common junction types; ALK exon 20 and EML4 exon 13 are the published ones).
FUSIONS: dict[str, _Fusion] = {
    f.name: f
    for f in [
        _Fusion("EWSR1", "WT1", 29_287_134, 32_396_339),
        _Fusion("EWSR1", "FLI1", 29_287_134, 128_785_170),
        _Fusion("SS18", "SSX1", 26_034_021, 48_264_930),
        _Fusion("SS18", "SSX2", 26_034_021, 52_699_120),
        _Fusion("TPM3", "ALK", 154_170_402, 29_223_528),
        _Fusion("EML4", "ALK", 42_295_519, 29_223_528),
        _Fusion("ASPSCR1", "TFE3", 82_009_912, 49_036_021),
    ]
}


@dataclass(frozen=True)
class _Entity:
    code: str
    name: str
    histology: str  # as pathology writes it when it is right
    fusions: tuple[str, ...]
    age: tuple[int, int]
    male_fraction: float
    sites: tuple[str, ...]
    metastatic_sites: tuple[str, ...]
    therapies: tuple[str, ...]
    tmb: tuple[float, float]
    markers: dict[str, float]  # log2 fold change of the tumour compartment
    breaks_per_chrom: float
    altered_fraction: float
    metastatic_fraction: float


#: The simulated entities (OncoTree codes) and their biology.
ENTITIES: dict[str, _Entity] = {
    e.code: e
    for e in [
        _Entity(
            "DSRCT",
            "desmoplastic small round cell tumour",
            "Desmoplastic small round cell tumour",
            ("EWSR1::WT1",),
            (15, 35),
            0.8,
            ("peritoneum", "omentum", "pelvis", "retroperitoneum"),
            ("liver", "peritoneum", "lung", "lymph nodes"),
            (
                "VDC/IE chemotherapy (P6 protocol)",
                "cytoreductive surgery and HIPEC",
                "whole abdominopelvic radiotherapy",
                "temozolomide + irinotecan",
            ),
            (0.5, 1.0),
            {"WT1": 6.0, "DES": 3.0, "KRT8": 2.0},
            0.3,
            0.10,
            0.85,
        ),
        _Entity(
            "SYNS",
            "synovial sarcoma",
            "Synovial sarcoma",
            ("SS18::SSX1", "SS18::SSX2"),
            (15, 45),
            0.5,
            ("thigh", "knee", "foot", "chest wall"),
            ("lung", "pleura", "bone"),
            ("doxorubicin + ifosfamide", "trabectedin", "pazopanib"),
            (0.4, 1.0),
            # MAGE-A4 and NY-ESO-1 (CTAG1B): the targets of the TCR-T therapies in synovial
            # sarcoma (D'Angelo et al., Lancet 2024, doi:10.1016/S0140-6736(24)00319-2)
            {"TLE1": 4.0, "MAGEA4": 9.0, "CTAG1B": 8.5},
            0.3,
            0.10,
            0.6,
        ),
        _Entity(
            "ES",
            "Ewing sarcoma",
            "Ewing sarcoma",
            ("EWSR1::FLI1",),
            (10, 28),
            0.6,
            ("femur", "pelvis", "rib", "tibia"),
            ("lung", "bone", "bone marrow"),
            ("VIDE induction (Euro-Ewing)", "VAI consolidation", "high-dose busulfan-melphalan"),
            (0.3, 0.8),
            # GD2 synthase: GD2 is on the surface of Ewing sarcoma cells (Kailayangiri et al.,
            # Br J Cancer 2012, doi:10.1038/bjc.2012.57)
            {"NKX2-2": 6.0, "NR0B1": 5.0, "CD99": 3.0, "B4GALNT1": 5.0},
            0.5,
            0.15,
            0.5,
        ),
        _Entity(
            "DDLS",
            "dedifferentiated liposarcoma",
            "Dedifferentiated liposarcoma",
            (),
            (50, 75),
            0.6,
            ("retroperitoneum", "thigh", "spermatic cord"),
            ("liver", "lung", "peritoneum"),
            ("surgery", "doxorubicin", "eribulin"),
            (0.8, 2.0),
            {"MDM2": 5.0, "CDK4": 4.5, "HMGA2": 3.0},
            1.0,
            0.25,
            0.5,
        ),
        _Entity(
            "LMS",
            "leiomyosarcoma",
            "Leiomyosarcoma",
            (),
            (40, 70),
            0.3,
            ("uterus", "retroperitoneum", "inferior vena cava", "thigh"),
            ("lung", "liver", "bone"),
            ("doxorubicin + dacarbazine", "gemcitabine + docetaxel", "trabectedin"),
            (1.0, 3.0),
            {"ACTA2": 3.0, "DES": 3.0, "MYOCD": 4.0, "CNN1": 3.0},
            3.0,
            0.5,
            0.7,
        ),
        _Entity(
            "GIST",
            "gastrointestinal stromal tumour",
            "Gastrointestinal stromal tumour",
            (),
            (50, 75),
            0.5,
            ("stomach", "small intestine"),
            ("liver", "peritoneum"),
            ("imatinib 400 mg", "sunitinib"),
            (0.4, 1.0),
            {"KIT": 6.0, "ANO1": 6.0},
            0.5,
            0.20,
            0.5,
        ),
        _Entity(
            "IMT",
            "inflammatory myofibroblastic tumour",
            "Inflammatory myofibroblastic tumour",
            ("TPM3::ALK", "EML4::ALK"),
            (8, 40),
            0.5,
            ("lung", "mesentery", "bladder"),
            ("peritoneum", "lung"),
            ("surgery", "crizotinib"),
            (0.3, 0.9),
            {"ALK": 6.0},
            0.2,
            0.05,
            0.3,
        ),
        _Entity(
            "ASPS",
            "alveolar soft part sarcoma",
            "Alveolar soft part sarcoma",
            ("ASPSCR1::TFE3",),
            (15, 35),
            0.4,
            ("thigh", "buttock", "tongue"),
            ("lung", "brain", "bone"),
            ("surgery", "pazopanib", "atezolizumab"),
            (0.3, 0.7),
            {"GPNMB": 4.0, "MET": 3.0, "TFE3": 2.0},
            0.3,
            0.10,
            0.7,
        ),
    ]
}

_DEFAULT_OTHERS: dict[str, int] = {
    "SYNS": 3,
    "ES": 3,
    "DDLS": 3,
    "LMS": 3,
    "GIST": 2,
    "IMT": 2,
    "ASPS": 2,
}

#: Submitted diagnoses that contradict the molecular truth: (entity, 0-based index within
#: the entity, histology text as submitted, OncoTree code as submitted).
_CONTRADICTIONS: tuple[tuple[str, int, str, str], ...] = (
    ("DSRCT", 1, "Ewing sarcoma", "ES"),
    ("DSRCT", 6, "Small round cell sarcoma, NOS", "RCSNOS"),
    ("DSRCT", 14, "Extraskeletal Ewing sarcoma", "ES"),
    ("DSRCT", 22, "Round cell sarcoma, NOS", "RCSNOS"),
    ("ES", 1, "Desmoplastic small round cell tumour", "DSRCT"),
    ("SYNS", 2, "Spindle cell sarcoma, high grade, NOS", "MFH"),
    ("DDLS", 1, "Undifferentiated pleomorphic sarcoma", "MFH"),
)

#: Phosphosites of the kinases the target layer looks at: gene -> sites.
_KINASE_SITES: dict[str, tuple[str, ...]] = {
    "ERBB2": ("Y1248", "Y1221", "Y1222", "Y877", "Y1139", "Y1196"),
    "EGFR": ("Y1068", "Y1173", "Y1148", "Y1086", "Y998"),
    "KDR": ("Y1175", "Y1214", "Y1059", "Y951"),
    "TYRO3": ("Y681", "Y685", "Y686"),
    "KIT": ("Y703", "Y721", "Y823", "Y568", "Y570"),
    "ALK": ("Y1278", "Y1282", "Y1283", "Y1604"),
    "MET": ("Y1234", "Y1235", "Y1349"),
    "PLCG1": ("Y783", "Y771", "Y1253"),
    "MAPK14": ("T180", "Y182"),
    "CDH5": ("Y685", "Y658"),
    "MAPK1": ("T185", "Y187"),
    "MAPK3": ("T202", "Y204"),
    "AKT1": ("S473", "T308"),
    "SRC": ("Y419",),
    "PTK2": ("Y397", "Y576"),
}
#: Substrate sites of KDR (VEGFR2) raised together with its own sites when activated.
KDR_SUBSTRATE_SITES: tuple[str, ...] = (
    "PLCG1_Y783",
    "PLCG1_Y771",
    "MAPK14_T180",
    "MAPK14_Y182",
    "CDH5_Y685",
)
#: Sites raised when a kinase is activated (its activation/autophosphorylation sites).
_ACTIVATION_SITES: dict[str, tuple[str, ...]] = {
    "KDR": ("KDR_Y1175", "KDR_Y1214", "KDR_Y1059"),
    "TYRO3": ("TYRO3_Y681", "TYRO3_Y685", "TYRO3_Y686"),
    "KIT": ("KIT_Y703", "KIT_Y721", "KIT_Y823", "KIT_Y568", "KIT_Y570"),
    "ALK": ("ALK_Y1278", "ALK_Y1282", "ALK_Y1283", "ALK_Y1604"),
}

#: Approximate European HLA class I allele frequencies (allelefrequencies.net; see module
#: docstring). Only the ratios matter: each locus is renormalised.
_HLA_FREQ: dict[str, dict[str, float]] = {
    "A": {
        "A*02:01": 0.25,
        "A*01:01": 0.15,
        "A*03:01": 0.13,
        "A*24:02": 0.09,
        "A*11:01": 0.06,
        "A*68:01": 0.04,
        "A*26:01": 0.03,
        "A*32:01": 0.03,
        "A*31:01": 0.025,
        "A*29:02": 0.03,
        "A*23:01": 0.02,
        "A*25:01": 0.02,
    },
    "B": {
        "B*07:02": 0.12,
        "B*08:01": 0.10,
        "B*44:02": 0.08,
        "B*35:01": 0.06,
        "B*51:01": 0.06,
        "B*15:01": 0.06,
        "B*18:01": 0.05,
        "B*40:01": 0.05,
        "B*44:03": 0.05,
        "B*57:01": 0.04,
        "B*27:05": 0.04,
        "B*14:02": 0.03,
        "B*13:02": 0.03,
    },
    "C": {
        "C*07:01": 0.15,
        "C*07:02": 0.13,
        "C*04:01": 0.11,
        "C*06:02": 0.09,
        "C*03:04": 0.08,
        "C*05:01": 0.08,
        "C*12:03": 0.06,
        "C*02:02": 0.05,
        "C*03:03": 0.05,
        "C*08:02": 0.04,
        "C*15:02": 0.03,
        "C*16:01": 0.04,
        "C*01:02": 0.04,
    },
}
_HLA_CLASS2 = {
    "DRB1": ("DRB1*15:01", "DRB1*03:01", "DRB1*07:01", "DRB1*04:01", "DRB1*01:01"),
    "DQB1": ("DQB1*06:02", "DQB1*02:01", "DQB1*03:01", "DQB1*05:01"),
    "DPB1": ("DPB1*04:01", "DPB1*02:01", "DPB1*04:02"),
}

#: Dimensions of a cohort by ``size``: genes (None: all protein-coding genes), CpG probes,
#: proteins, phosphosites, non-coding passenger variants per tumour.
COHORT_SIZES: dict[str, dict[str, int | None]] = {
    "demo": {"genes": None, "probes": 5_000, "proteins": 2_000, "sites": 3_000, "noncoding": 200},
    "small": {"genes": 2_000, "probes": 1_000, "proteins": 300, "sites": 400, "noncoding": 40},
}

# --- ground truth --------------------------------------------------------------------


@dataclass
class PatientTruth:
    """What the simulator put into one patient's data.

    Attributes
    ----------
    patient_id, entity, entity_name
        Pseudonymous id, true OncoTree code and its name.
    submitted_histology, submitted_code
        The diagnosis written into ``case.yaml`` (as pathology submitted it).
    histology_contradicts
        True when the submitted code is not the true entity.
    defining_fusion
        ``GENE5::GENE3`` or None; ``fusion_breakpoints`` its GRCh38 breakpoints.
    driver_alterations
        Human-readable driver events, e.g. ``TP53 p.Arg273His``, ``MDM2 amplification``.
    activated_kinases
        Kinases whose activation sites (and substrates) are raised in the phosphoproteome.
    erbb2_expressed, erbb2_activated, cldn6_high, sstr2_high, sstr3_high, sstr5_high,
    kdr_activated, tyro3_high, tyro3_activated
        Target states (RNA and protein for "expressed"/"high"; phosphosites for
        "activated").
    tmb
        PASS non-synonymous coding variants per Mb (:data:`TMB_TERRITORY_MB`).
    drug_screen
        None without a screened organoid; else the screen's truth: ``model``, ``model_type``,
        ``path``, ``replicates``, ``n_concentrations``, ``concentration_unit``, ``plates``
        (``plate``, true ``negative_rlu`` / ``positive_rlu``, ``control_cv``, realised
        ``z_prime`` and ``qc``) and ``drugs``: canonical drug -> ``top``, ``bottom``,
        ``hill``, ``log10_ec50`` (µM) of the true curve, planted ``label``, ``plate``,
        ``drug_as_given``, ``cmin_um``, ``cmax_um``, ``concentrations_um``, ``noise_cv``.
    """

    patient_id: str
    entity: str
    entity_name: str
    submitted_histology: str
    submitted_code: str
    histology_contradicts: bool
    defining_fusion: str | None
    fusion_breakpoints: list[str]
    driver_alterations: list[str]
    activated_kinases: list[str]
    erbb2_expressed: bool
    erbb2_activated: bool
    cldn6_high: bool
    sstr2_high: bool
    sstr3_high: bool
    sstr5_high: bool
    kdr_activated: bool
    tyro3_high: bool
    tyro3_activated: bool
    tmb: float
    sex: str
    age_at_diagnosis: int
    tumour_sample: str
    normal_sample: str
    tumour_cell_content: float
    hla_alleles: list[str]
    hla_source: str  # optitype / arcashla / case.yaml
    formats: dict[str, str]
    files: dict[str, str]  # layer -> path relative to the case folder
    file_samples: dict[str, str]  # layer -> tumour sample name inside the file
    expression_batch: int
    proteome_batch: int
    methylation_platform: str
    copy_number_events: list[dict[str, Any]] = field(default_factory=list)
    drug_screen: dict[str, Any] | None = None


@dataclass
class CohortTruth:
    """Ground truth of a simulated cohort, also written as ``truth.json``."""

    seed: int
    size: str
    patients: list[PatientTruth]
    tmb_territory_mb: float = TMB_TERRITORY_MB
    kdr_substrate_sites: list[str] = field(default_factory=lambda: list(KDR_SUBSTRATE_SITES))

    def patient(self, patient_id: str) -> PatientTruth:
        """The truth of one patient, by id."""
        for p in self.patients:
            if p.patient_id == patient_id:
                return p
        raise KeyError(patient_id)

    @property
    def entities(self) -> list[str]:
        """True entities present, in first-seen order."""
        return list(dict.fromkeys(p.entity for p in self.patients))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        # Unscreened patients carry no drug_screen key: truth.json of a cohort simulated
        # with screens=0 stays what it was before screens existed.
        for p in data["patients"]:
            if p.get("drug_screen") is None:
                p.pop("drug_screen", None)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, path: str | Path) -> CohortTruth:
        """Read a ``truth.json`` written by :func:`simulate_cohort`."""
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        patients = [PatientTruth(**p) for p in raw.pop("patients")]
        return cls(patients=patients, **raw)


# --- deterministic compressed writers ------------------------------------------------

_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_BGZF_BLOCK_INPUT = 0xFF00  # bgzip's input block size; keeps every block under 64 KiB


def _bgzf_block(data: bytes, level: int) -> bytes:
    comp = zlib.compressobj(level, zlib.DEFLATED, -15)
    deflated = comp.compress(data) + comp.flush()
    if len(deflated) + 26 > 65536:  # incompressible: store
        comp = zlib.compressobj(0, zlib.DEFLATED, -15)
        deflated = comp.compress(data) + comp.flush()
    bsize = len(deflated) + 25
    header = struct.pack("<BBBBIBBHBBHH", 31, 139, 8, 4, 0, 0, 255, 6, 66, 67, 2, bsize)
    return header + deflated + struct.pack("<II", zlib.crc32(data), len(data))


def _write_bgzf(path: Path, text: str, *, level: int = 6) -> None:
    """Write ``text`` BGZF-compressed (SAM/BAM spec 4.1), readable by tabix and cyvcf2."""
    data = text.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        for start in range(0, len(data), _BGZF_BLOCK_INPUT):
            fh.write(_bgzf_block(data[start : start + _BGZF_BLOCK_INPUT], level))
        fh.write(_BGZF_EOF)


def _write_text(path: Path, text: str, *, bom: bool = False) -> None:
    """Write UTF-8 text; ``.gz`` paths as plain gzip with a fixed header (mtime 0)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    if path.suffix == ".gz":
        with (
            open(path, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
        ):
            gz.write(data)
    else:
        path.write_bytes(data)


class _NoAliasDumper(yaml.SafeDumper):
    """SafeDumper that writes repeated values out instead of YAML anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _yaml(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=100)


def _table(header: Sequence[str], columns: Sequence[Sequence[str]]) -> str:
    """Tab-separated text from a header and string columns."""
    lines = ["\t".join(header)]
    lines.extend("\t".join(row) for row in zip(*columns, strict=True))
    return "\n".join(lines) + "\n"


def _rows(columns: list[list[str]], keep: np.ndarray) -> list[list[str]]:
    """The rows of string columns where ``keep`` is true."""
    idx = np.flatnonzero(keep)
    return [[col[i] for i in idx] for col in columns]


def _fmt(values: Iterable[float], spec: str) -> list[str]:
    return [format(v, spec) for v in values]


def _fmt_int(values: Iterable[float]) -> list[str]:
    return [str(int(v)) for v in values]


def _check_count(
    name: str, value: object, *, minimum: int = 0, maximum: int | None = None, why: str = ""
) -> None:
    """Refuse an argument that is not a whole number in ``[minimum, maximum]``.

    ``why`` says where the maximum comes from and what to do about it.
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        number = int(value)
        if number >= minimum and (maximum is None or number <= maximum):
            return
    allowed = f"a whole number >= {minimum:,}"
    if maximum is not None:
        allowed = f"a whole number from {minimum:,} to {maximum:,}"
    raise InputError(f"{name} is {value!r}", expected=allowed, fix=why or f"pass {allowed}")


def _check_share(name: str, value: object, *, why: str) -> None:
    """Refuse an argument that is not a real number from 0 to 1."""
    if (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            and 0.0 <= float(value) <= 1.0):
        return
    raise InputError(f"{name} is {value!r}", expected="a share from 0 to 1", fix=why)


# --- the shared world ---------------------------------------------------------------


def _rng(*key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(list(key))))


def _name_key(name: str) -> int:
    return zlib.crc32(name.encode("ascii"))


def _universe_rng(name: str) -> np.random.Generator:
    return _rng(UNIVERSE_SEED, _name_key(name))


class _World:
    """Gene, probe, protein and site universes with their baselines (seed-independent)."""

    def __init__(self, size: str) -> None:
        dims = COHORT_SIZES[size]
        table = reference.genes()
        self.gene_table = table
        symbols_all = table["symbol"].to_numpy(dtype=object)
        pc = table[
            (table["gene_type"] == "protein_coding") & ~table["symbol"].duplicated(keep="first")
        ]
        pc_idx = pc.index.to_numpy()
        # Symbol -> row of the gene table, protein-coding rows winning over namesakes.
        self.gene_index = {s: i for i, s in reversed(list(enumerate(symbols_all)))}
        self.gene_index.update({symbols_all[i]: int(i) for i in pc_idx})
        n_all = len(pc_idx)
        rng = _universe_rng("genes")
        # Transcript lengths (salmon "Length" is a transcript length, not the gene span).
        length = np.clip(rng.lognormal(7.8, 0.6, n_all), 300, 20_000)
        on = rng.random(n_all) < 0.72
        mu = np.where(on, rng.normal(3.0, 2.0, n_all), rng.normal(-3.0, 1.5, n_all))
        batch = rng.normal(0.0, 0.25, n_all)
        order = rng.permutation(n_all)
        if dims["genes"] is not None:
            must = {g for e in ENTITIES.values() for g in e.markers}
            must |= {
                "ERBB2",
                "CLDN6",
                "SSTR2",
                "SSTR3",
                "SSTR5",
                "KDR",
                "TYRO3",
                "EGFR",
                "GAPDH",
                "ACTB",
                "MAGEA4",
                "CTAG1B",
                "PRAME",
                "FOLR1",
                "MSLN",
                "DLL3",
                "NECTIN4",
                "GPC3",
                "TACSTD2",
                "B4GALNT1",
                *_UNIPROT,
                *_KINASE_SITES,
            }
            sym = pc["symbol"].to_numpy(dtype=object)
            keep = np.array([s in must for s in sym])
            rest = [i for i in order if not keep[i]][: int(dims["genes"]) - int(keep.sum())]
            sel = np.sort(np.concatenate([np.flatnonzero(keep), np.array(rest, dtype=int)]))
        else:
            sel = np.arange(n_all)
        self.genes = pc["symbol"].to_numpy(dtype=object)[sel]
        self.gene_rows = pc_idx[sel]
        self.gene_pos = {g: i for i, g in enumerate(self.genes)}
        self.length = length[sel]
        self.eff_length = np.maximum(self.length - 180.0, 20.0)
        base = mu[sel]
        # Baselines of the target genes in tumour and stroma (log2 TPM).
        for gene, value in {
            "ERBB2": 1.5,
            "CLDN6": -2.0,
            "SSTR2": 0.5,
            "SSTR3": -0.5,
            "SSTR5": -1.0,
            "KDR": 3.0,
            "TYRO3": 2.0,
            "WT1": -1.0,
            "GAPDH": 10.0,
            "ACTB": 10.5,
            "EGFR": 3.0,
            "KIT": 1.0,
            "ALK": -2.0,
            "NKX2-2": -2.5,
            "TLE1": 2.0,
            "MDM2": 3.5,
            "CDK4": 4.0,
            # cancer/testis antigens: silent outside testis and the tumours that re-express
            # them (Simpson et al., Nat Rev Cancer 2005, doi:10.1038/nrc1615)
            "MAGEA4": -3.0,
            "CTAG1B": -3.0,
            "PRAME": -2.0,
            # antigens of ADCs / CAR-T developed in carcinomas, neuroendocrine tumours and
            # neuroblastoma, low in most sarcomas (Human Protein Atlas, Uhlén et al., Science
            # 2015, doi:10.1126/science.1260419)
            "FOLR1": -1.5,
            "MSLN": -1.5,
            "DLL3": -2.0,
            "NECTIN4": -1.0,
            "GPC3": -1.5,
            "TACSTD2": 0.0,
            "B4GALNT1": -1.0,
        }.items():
            if gene in self.gene_pos:
                base[self.gene_pos[gene]] = value
        self.base = base
        self.batch = batch[sel]
        self.pc_symbols = pc["symbol"].to_numpy(dtype=object)
        # GENCODE genes without a name carry their Ensembl id as symbol; VEP, MaxQuant and
        # fusion callers would show no symbol for them, so they get no variants or proteins.
        self.pc_named = ~pc["symbol"].str.startswith("ENSG").to_numpy(dtype=bool)
        self.pc_rows = pc_idx
        self.pc_starts = pc["start"].to_numpy(dtype=np.int64)
        self.pc_ends = pc["end"].to_numpy(dtype=np.int64)
        self.pc_chroms = pc["chrom"].to_numpy(dtype=object)
        self.pc_strands = pc["strand"].to_numpy(dtype=object)
        self.n_probes = int(dims["probes"])  # type: ignore[arg-type]
        self.n_proteins = int(dims["proteins"])  # type: ignore[arg-type]
        self.n_sites = int(dims["sites"])  # type: ignore[arg-type]
        self.n_noncoding = int(dims["noncoding"])  # type: ignore[arg-type]
        self._proteins: pd.DataFrame | None = None
        self._sites: pd.DataFrame | None = None
        self._probes: dict[str, np.ndarray] | None = None
        self._profiles: dict[str, np.ndarray] = {}

    # genes -------------------------------------------------------------------------
    def gene_id(self, symbol: str) -> str:
        if symbol in ENSEMBL_GENE_IDS:
            return ENSEMBL_GENE_IDS[symbol]
        return f"ENSG9{self.gene_index.get(symbol, 0):010d}"

    def gene(self, symbol: str) -> tuple[str, int, int, str]:
        row = self.gene_table.iloc[self.gene_index[symbol]]
        return str(row["chrom"]), int(row["start"]), int(row["end"]), str(row["strand"])

    # proteins ----------------------------------------------------------------------
    @property
    def proteins(self) -> pd.DataFrame:
        if self._proteins is None:
            self._proteins = _protein_universe(self, self.n_proteins)
        return self._proteins

    @property
    def sites(self) -> pd.DataFrame:
        if self._sites is None:
            self._sites = _site_universe(self.proteins, self.n_sites)
        return self._sites

    @property
    def probes(self) -> dict[str, np.ndarray]:
        if self._probes is None:
            self._probes = _probe_universe(self.n_probes)
        return self._probes

    def methylation_profile(self, cls: str) -> np.ndarray:
        if cls not in self._profiles:
            self._profiles[cls] = methylation_class_profile(cls, self.probes["base"])
        return self._profiles[cls]


def _protein_universe(world: _World, n: int) -> pd.DataFrame:
    """Proteins quantified by the MS runs: targets/markers plus abundant others."""
    rng = _universe_rng("proteins")
    genes = world.genes
    must = [
        g
        for g in [*_UNIPROT, *_KINASE_SITES, "CLDN6", "SSTR2", "SSTR3", "SSTR5"]
        if g in world.gene_pos
    ]
    must = list(dict.fromkeys(must))[:n]
    weight = np.exp2(np.clip(world.base, -4, 12) * 0.6)
    weight[np.char.startswith(genes.astype(str), "ENSG")] = 0
    weight[[world.gene_pos[g] for g in must]] = 0
    n_rest = max(0, min(n - len(must), int((weight > 0).sum())))
    rest = rng.choice(len(genes), size=n_rest, replace=False, p=weight / weight.sum())
    idx = np.array(sorted({world.gene_pos[g] for g in must} | set(rest.tolist())))
    symbols = genes[idx]
    lengths = np.clip(rng.lognormal(6.1, 0.55, len(idx)), 80, 5000).astype(int)
    acc = []
    for k, (s, i) in enumerate(zip(symbols, idx, strict=True)):
        if s in _UNIPROT:
            acc.append(_UNIPROT[s][0])
            lengths[k] = _UNIPROT[s][1]
        else:
            acc.append(f"SIM{int(world.gene_rows[i]):05d}")
    # Protein abundance follows RNA loosely (Spearman ~0.5 across genes).
    base = 21.0 + 0.9 * np.clip(world.base[idx], -4, 12) + rng.normal(0, 1.3, len(idx))
    # Membrane targets are harder to see by MS than their RNA suggests.
    fixed = {
        "ERBB2": 23.0,
        "KDR": 22.5,
        "EGFR": 23.0,
        "TYRO3": 22.0,
        "CLDN6": 21.0,
        "SSTR2": 20.5,
        "SSTR3": 20.0,
        "SSTR5": 20.0,
    }
    for k, s in enumerate(symbols):
        if s in fixed:
            base[k] = fixed[s]
    return pd.DataFrame(
        {
            "gene": symbols.astype(object),
            "gene_pos": idx,
            "accession": acc,
            "length": lengths,
            "base": base,
            "n_isoforms": rng.integers(1, 4, len(idx)),
            "multi_gene": rng.random(len(idx)) < 0.02,
        }
    )


def _site_universe(proteins: pd.DataFrame, n: int) -> pd.DataFrame:
    """Phosphosites: the kinase/substrate sites plus random S/T/Y sites on the proteome."""
    rng = _universe_rng("sites")
    rows: list[tuple[str, str, int, str]] = []
    present = set(proteins["gene"])
    for gene, sites in _KINASE_SITES.items():
        if gene in present:
            rows.extend((gene, s[0], int(s[1:]), "key") for s in sites)
    seen = {(g, a + str(p)) for g, a, p, _ in rows}
    lengths = dict(zip(proteins["gene"], proteins["length"], strict=True))
    genes = proteins["gene"].to_numpy(dtype=object)
    while len(rows) < n:
        k = n - len(rows)
        g = genes[rng.integers(0, len(genes), k)]
        aa = rng.choice(np.array(["S", "T", "Y"]), size=k, p=[0.86, 0.12, 0.02])
        pos = (rng.random(k) * np.array([lengths[x] for x in g])).astype(int) + 1
        for gi, ai, pi in zip(g, aa, pos, strict=True):
            key = (gi, f"{ai}{pi}")
            if key not in seen:
                seen.add(key)
                rows.append((gi, ai, int(pi), "random"))
    rows = rows[:n]
    df = pd.DataFrame(rows, columns=["gene", "aa", "position", "kind"])
    df["site"] = df["aa"] + df["position"].astype(str)
    df["feature"] = df["gene"] + "_" + df["site"]
    m = len(df)
    df["base"] = rng.normal(22.5, 2.2, m)
    key = df["kind"] == "key"
    df.loc[key, "base"] = rng.normal(24.5, 0.8, int(key.sum()))  # well observed
    df["loc_prob"] = np.where(key, rng.uniform(0.93, 1.0, m), rng.beta(8, 1.2, m))
    df["loc_prob"] = df["loc_prob"].round(6)
    aas = np.array(list("ACDEFGHIKLMNPQRSTVWY"))
    windows = rng.choice(aas, size=(m, 31))
    windows[:, 15] = df["aa"].to_numpy()
    df["window"] = ["".join(w) for w in windows]
    return df


#: CpG probes of the Illumina EPIC array, about 850,000 (the probe universe's size).
_N_PROBES = 850_000


def _probe_universe(n: int) -> dict[str, np.ndarray]:
    """CpG probes: ids, base beta and EPIC v2 suffix (first ``n`` of 850,000)."""
    total = _N_PROBES
    n = min(n, total)
    # 'cg' + 8 digits from a bijection of the probe index (unique, deterministic).
    num = (np.arange(n, dtype=np.int64) * 7_368_787 + 1_234_567) % 100_000_000
    ids = np.array([f"cg{v:08d}" for v in num], dtype=object)
    rng = _universe_rng("probes")
    u = rng.random(total)[:n]
    low = rng.beta(2, 20, total)[:n]
    high = rng.beta(20, 3, total)[:n]
    mid = rng.uniform(0.25, 0.75, total)[:n]
    base = np.where(u < 0.45, low, np.where(u < 0.85, high, mid))
    strand = rng.random(total)[:n] < 0.5
    conv = rng.random(total)[:n] < 0.5
    itype = rng.random(total)[:n] < 0.3
    suffix = np.array(
        [
            f"_{'T' if s else 'B'}{'C' if c else 'O'}{'1' if t else '2'}1"
            for s, c, t in zip(strand, conv, itype, strict=True)
        ],
        dtype=object,
    )
    return {"ids": ids, "base": base, "suffix": suffix}


#: Share of the CpGs whose state a methylation class flips against the background, and the
#: share its family (classes sharing a code prefix, e.g. the chondrosarcoma subgroups) flips
#: in common: ~4 % class-specific and ~3 % family-specific probes, a simulation choice that
#: makes the classes separable on the demo's 5,000 probes (not a published figure).
CLASS_FRACTION, FAMILY_FRACTION = 0.04, 0.03

#: Methylation class (GSE140686 code) of each simulated entity's tumours.
METHYLATION_CLASS = {"DSRCT": "DSRCT", "SYNS": "SYSA", "ES": "EWS", "DDLS": "WDLS-DDLS",
                     "LMS": "LMS", "GIST": "GIST", "IMT": "IMT", "ASPS": "ASPS"}


def _flips(name: str, n: int, fraction: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A class's (or family's) flipped CpGs among the first ``n``, and the unmethylated /
    methylated targets. Each quantity has its own stream, so the first ``n`` values do not
    depend on ``n``; a lower ``fraction`` keeps a subset of the CpGs of a higher one."""
    u = _universe_rng(f"{name}:rank").random(n)
    to_low = _universe_rng(f"{name}:low").beta(2, 18, n)
    to_high = _universe_rng(f"{name}:high").beta(18, 3, n)
    return u < fraction, to_low, to_high


def methylation_class_profile(cls: str, base: np.ndarray, *,
                              class_fraction: float = CLASS_FRACTION,
                              family_fraction: float = FAMILY_FRACTION) -> np.ndarray:
    """Mean beta of a pure tumour of methylation class ``cls`` over the probe universe.

    The background ``base`` with the family's CpGs flipped (when ``cls`` has a family prefix,
    ``CSA-IDH-A`` -> ``CSA``) and then the class's own: a flipped methylated CpG drops to
    Beta(2, 18), an unmethylated one rises to Beta(18, 3).
    """
    n = len(base)
    profile = np.asarray(base, dtype=float).copy()
    family = family_of(cls)
    layers = [(f"methylation-class-{cls}", class_fraction)]
    if family != cls:
        layers.insert(0, (f"methylation-family-{family}", family_fraction))
    for name, fraction in layers:
        member, to_low, to_high = _flips(name, n, fraction)
        profile = np.where(member, np.where(base > 0.5, to_low, to_high), profile)
    return profile


def simulate_reference(
    n_per_class: dict[str, int] | None = None,
    n_probes: int = 20_000,
    seed: int = 0,
    *,
    class_fraction: float = CLASS_FRACTION,
    family_fraction: float = FAMILY_FRACTION,
    concentration: float = 40.0,
    purity: tuple[float, float] = (0.5, 0.95),
    missing_fraction: float = 0.01,
) -> tuple[pd.DataFrame, pd.Series]:
    """A *simulated* methylation reference cohort with a given class structure.

    Its probes and class profiles are those of the simulated cohorts
    (:func:`methylation_class_profile` over the first ``n_probes`` CpGs of the probe universe),
    so a classifier trained on it recognises the tumours of :func:`simulate_cohort`. A sample
    of class *c* with tumour-cell content *p* ~ U(``purity``) has betas drawn from
    Beta(mu k, (1 - mu) k), mu = p * profile_c + (1 - p) * background, k = ``concentration``
    (lower: noisier); ``missing_fraction`` of the betas are NaN (failed detection). It is not
    GSE140686: every sample id starts with ``SIMULATED_`` and both returned objects carry
    ``attrs['simulated'] = True``.

    Parameters
    ----------
    n_per_class
        Class -> number of samples; default the GSE140686 class sizes (65 classes, 1,077
        samples, :func:`tumorboard.diagnosis.reference.gse140686_classes`).
    n_probes
        Probes (columns), the first ``n_probes`` of the 850,000-probe universe.
    seed
        Seed of the samples (the class profiles do not depend on it).
    class_fraction, family_fraction
        Shares of CpGs a class and a family flip (lower: classes harder to tell apart).

    Raises
    ------
    InputError
        For fewer than 100 probes, an empty class or a purity range outside (0, 1].
    """
    from tumorboard.diagnosis.reference import gse140686_classes

    if n_per_class is None:
        table = gse140686_classes()
        n_per_class = dict(zip(table["class"], table["n_samples"], strict=True))
    if n_probes < 100:
        raise InputError(f"n_probes is {n_probes}; a reference needs at least 100 probes")
    if not 0 < purity[0] <= purity[1] <= 1:
        raise InputError(f"purity range {purity} is not within (0, 1]")
    empty = [c for c, k in n_per_class.items() if int(k) < 1]
    if empty:
        raise InputError(f"class(es) {', '.join(empty)} have no samples")
    probes = _probe_universe(n_probes)
    base = probes["base"]
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for cls, k in n_per_class.items():
        profile = methylation_class_profile(cls, base, class_fraction=class_fraction,
                                            family_fraction=family_fraction)
        p = rng.uniform(purity[0], purity[1], size=(int(k), 1))
        mu = np.clip(p * profile + (1 - p) * base, 0.01, 0.99)
        rows.append(rng.beta(mu * concentration, (1 - mu) * concentration).astype(np.float32))
        labels += [cls] * int(k)
    data = np.vstack(rows)
    if missing_fraction > 0:
        data[rng.random(data.shape) < missing_fraction] = np.nan
    index = pd.Index([f"SIMULATED_{i + 1:04d}" for i in range(len(labels))], name="sample")
    betas = pd.DataFrame(data, index=index,
                         columns=pd.Index(probes["ids"].astype(str), name="probe_id"))
    label_s = pd.Series(labels, index=index, name="methylation_class")
    betas.attrs["simulated"] = True
    label_s.attrs["simulated"] = True
    return betas, label_s


# --- per-patient plan -------------------------------------------------------------------


@dataclass
class _Plan:
    pid: str
    entity: _Entity
    ent_no: int
    idx: int  # index within the entity
    order: int  # index within the cohort
    seed: int
    sex: str = "male"
    age: int = 30
    diagnosis_date: dt.date = dt.date(2020, 1, 1)
    collection_date: dt.date = dt.date(2020, 2, 1)
    purity: float = 0.6
    fusion: _Fusion | None = None
    submitted: tuple[str, str] = ("", "")
    targets: dict[str, bool] = field(default_factory=dict)
    tmb_target: float = 0.5
    stage: str = "metastatic"
    site: str = ""
    origin: str = "primary"
    metastatic_sites: list[str] = field(default_factory=list)
    ecog: int = 1
    prior: list[str] = field(default_factory=list)
    expression_batch: int = 1
    proteome_batch: int = 1
    proteome_name: str = ""
    hla: list[str] = field(default_factory=list)

    def rng(self, layer: str) -> np.random.Generator:
        return _rng(self.seed, self.ent_no, self.idx, _name_key(layer))

    @property
    def tumour(self) -> str:
        return f"{self.pid}-T1"

    @property
    def normal(self) -> str:
        return f"{self.pid}-N"


def _counts(n: int, fraction: float, minimum: int = 0) -> int:
    return min(n, max(minimum, round(fraction * n)))


def _plan_cohort(seed: int, n_dsrct: int, others: dict[str, int]) -> list[_Plan]:
    plans: list[_Plan] = []
    counts = {"DSRCT": n_dsrct, **others}
    for code in ENTITIES:
        n = counts.get(code, 0)
        entity = ENTITIES[code]
        ent_no = list(ENTITIES).index(code) + 1
        crng = _rng(seed, ent_no, 0xC0)
        n_male = _counts(n, entity.male_fraction)
        male = np.zeros(n, bool)
        male[crng.permutation(n)[:n_male]] = True
        # Target states of DSRCT are assigned in exact proportions (MASTER DSRCT study).
        states: dict[str, np.ndarray] = {}
        spec = {
            "erbb2": (0.8, 1),
            "cldn6": (1 / 3, 1),
            "sstr2": (0.6, 1),
            "sstr3": (0.5, 0),
            "sstr5": (0.4, 0),
            "tyro3": (0.1, 1),
        }
        for name, (frac, minimum) in spec.items():
            arr = np.zeros(n, bool)
            if code == "DSRCT" and n:
                arr[crng.permutation(n)[: _counts(n, frac, minimum)]] = True
            states[name] = arr
        kdr = np.zeros(n, bool)
        if code == "DSRCT" and n:
            kdr[crng.permutation(n)[: 2 if n >= 20 else 1]] = True
        tyro3_act = np.zeros(n, bool)
        if code == "DSRCT" and states["tyro3"].any():
            tyro3_act[np.flatnonzero(states["tyro3"])[0]] = True
        for i in range(n):
            p = _Plan(
                pid=f"{code}-{i + 1:03d}",
                entity=entity,
                ent_no=ent_no,
                idx=i,
                order=len(plans),
                seed=seed,
            )
            r = p.rng("clinical")
            p.sex = "male" if male[i] else "female"
            lo, hi = entity.age
            p.age = int(r.integers(lo, hi + 1))
            p.diagnosis_date = dt.date(2017, 1, 2) + dt.timedelta(days=int(r.integers(0, 2500)))
            p.collection_date = p.diagnosis_date + dt.timedelta(days=int(r.integers(10, 540)))
            p.purity = round(float(r.uniform(0.3, 0.9)), 2)
            if entity.fusions:
                p.fusion = FUSIONS[entity.fusions[int(r.integers(0, len(entity.fusions)))]]
            p.submitted = (entity.histology, code)
            for c_code, c_idx, text, sub_code in _CONTRADICTIONS:
                if c_code == code and c_idx == i:
                    p.submitted = (text, sub_code)
            p.targets = {k: bool(v[i]) for k, v in states.items()}
            p.targets["kdr_activated"] = bool(kdr[i])
            p.targets["tyro3_activated"] = bool(tyro3_act[i])
            p.tmb_target = float(r.uniform(*entity.tmb))
            p.stage = "metastatic" if r.random() < entity.metastatic_fraction else "localised"
            p.site = str(r.choice(entity.sites))
            if p.stage == "metastatic":
                k = int(r.integers(1, 3))
                p.metastatic_sites = sorted(
                    str(s) for s in r.choice(entity.metastatic_sites, size=k, replace=False)
                )
                p.origin = "metastasis" if r.random() < 0.4 else "primary"
                if p.origin == "metastasis":
                    p.site = p.metastatic_sites[0]
            p.ecog = int(r.choice([0, 1, 1, 2]))
            k = int(r.integers(1, len(entity.therapies) + 1))
            p.prior = [str(t) for t in entity.therapies[:k]]
            p.expression_batch = 1 + int(r.random() < 0.4)
            p.hla = _draw_hla(p.rng("hla"))
            plans.append(p)
    for p in plans:
        p.proteome_batch = 1 + p.order // 2
        p.proteome_name = f"MQ{p.proteome_batch:02d}_{1 + p.order % 2}"
    return plans


def _draw_hla(r: np.random.Generator) -> list[str]:
    alleles = []
    for freq in _HLA_FREQ.values():
        names = list(freq)
        prob = np.array(list(freq.values()))
        prob = prob / prob.sum()
        pick = sorted(str(a) for a in r.choice(names, size=2, p=prob))
        alleles.extend(f"HLA-{a}" for a in pick)
    return alleles


# --- variants ----------------------------------------------------------------------

_AA3 = np.array(
    [
        "Ala",
        "Arg",
        "Asn",
        "Asp",
        "Cys",
        "Gln",
        "Glu",
        "Gly",
        "His",
        "Ile",
        "Leu",
        "Lys",
        "Met",
        "Phe",
        "Pro",
        "Ser",
        "Thr",
        "Trp",
        "Tyr",
        "Val",
    ]
)
_AA1 = np.array(list("ARNDCQEGHILKMFPSTWYV"))
_COMPLEMENT = str.maketrans("ACGT", "TGCA")
_IMPACT = {
    "missense_variant": "MODERATE",
    "synonymous_variant": "LOW",
    "stop_gained": "HIGH",
    "frameshift_variant": "HIGH",
    "inframe_deletion": "MODERATE",
    "splice_donor_variant": "HIGH",
    "splice_acceptor_variant": "HIGH",
    "intron_variant": "MODIFIER",
    "3_prime_UTR_variant": "MODIFIER",
    "5_prime_UTR_variant": "MODIFIER",
    "downstream_gene_variant": "MODIFIER",
}
#: Non-synonymous coding consequences (the ones TMB counts), in the order of
#: :data:`_NONSYN_CUTS`.
_NONSYN_CONSEQUENCES = (
    "missense_variant",
    "stop_gained",
    "frameshift_variant",
    "inframe_deletion",
    "splice_donor_variant",
    "splice_acceptor_variant",
)
_NONSYN = set(_NONSYN_CONSEQUENCES)
#: Cumulative probabilities of the non-synonymous consequences of a coding passenger.
_NONSYN_CUTS = (0.78, 0.86, 0.94, 0.97, 0.985)
_MAF_CLASS = {
    "missense_variant": "Missense_Mutation",
    "synonymous_variant": "Silent",
    "stop_gained": "Nonsense_Mutation",
    "inframe_deletion": "In_Frame_Del",
    "splice_donor_variant": "Splice_Site",
    "splice_acceptor_variant": "Splice_Site",
    "intron_variant": "Intron",
    "3_prime_UTR_variant": "3'UTR",
    "5_prime_UTR_variant": "5'UTR",
    "downstream_gene_variant": "3'Flank",
}
_FILTERS = np.array(
    [
        "weak_evidence",
        "strand_bias",
        "germline",
        "normal_artifact",
        "panel_of_normals",
        "clustered_events",
        "weak_evidence;strand_bias",
        "germline;normal_artifact",
    ]
)

#: Driver variants with their real GRCh38 coordinates and HGVS (TP53 hotspots per
#: cancerhotspots.org, Chang et al., Cancer Discov 2018, doi:10.1158/2159-8290.CD-17-0321;
#: KIT exon 11 per Hirota 1998). RB1/STAG2 truncations: plausible positions in the gene.
_DRIVERS: dict[str, dict[str, Any]] = {
    "TP53_R273H": {
        "gene": "TP53",
        "chrom": "chr17",
        "pos": 7_673_802,
        "ref": "C",
        "alt": "T",
        "csq": "missense_variant",
        "c": "c.818G>A",
        "p": "p.Arg273His",
        "aa": "R/H",
        "codons": "cGt/cAt",
        "prot": 273,
        "exon": "8/11",
    },
    "TP53_R248Q": {
        "gene": "TP53",
        "chrom": "chr17",
        "pos": 7_674_220,
        "ref": "C",
        "alt": "T",
        "csq": "missense_variant",
        "c": "c.743G>A",
        "p": "p.Arg248Gln",
        "aa": "R/Q",
        "codons": "cGg/cAg",
        "prot": 248,
        "exon": "7/11",
    },
    "TP53_R213*": {
        "gene": "TP53",
        "chrom": "chr17",
        "pos": 7_674_894,
        "ref": "G",
        "alt": "A",
        "csq": "stop_gained",
        "c": "c.637C>T",
        "p": "p.Arg213Ter",
        "aa": "R/*",
        "codons": "Cga/Tga",
        "prot": 213,
        "exon": "6/11",
    },
    "TP53_R175H": {
        "gene": "TP53",
        "chrom": "chr17",
        "pos": 7_675_088,
        "ref": "C",
        "alt": "T",
        "csq": "missense_variant",
        "c": "c.524G>A",
        "p": "p.Arg175His",
        "aa": "R/H",
        "codons": "cGc/cAc",
        "prot": 175,
        "exon": "5/11",
    },
    "KIT_W557_K558del": {
        "gene": "KIT",
        "chrom": "chr4",
        "pos": 54_727_435,
        "ref": "GTGGAAG",
        "alt": "G",
        "csq": "inframe_deletion",
        "c": "c.1669_1674del",
        "p": "p.Trp557_Lys558del",
        "aa": "WK/-",
        "codons": "TGGAAG/-",
        "prot": 557,
        "exon": "11/21",
    },
    "KIT_V560D": {
        "gene": "KIT",
        "chrom": "chr4",
        "pos": 54_727_446,
        "ref": "T",
        "alt": "A",
        "csq": "missense_variant",
        "c": "c.1679T>A",
        "p": "p.Val560Asp",
        "aa": "V/D",
        "codons": "gTt/gAt",
        "prot": 560,
        "exon": "11/21",
    },
    "RB1_R358*": {
        "gene": "RB1",
        "chrom": "chr13",
        "pos": 48_367_512,
        "ref": "C",
        "alt": "T",
        "csq": "stop_gained",
        "c": "c.1072C>T",
        "p": "p.Arg358Ter",
        "aa": "R/*",
        "codons": "Cga/Tga",
        "prot": 358,
        "exon": "11/27",
    },
    "STAG2_R216*": {
        "gene": "STAG2",
        "chrom": "chrX",
        "pos": 124_044_023,
        "ref": "C",
        "alt": "T",
        "csq": "stop_gained",
        "c": "c.646C>T",
        "p": "p.Arg216Ter",
        "aa": "R/*",
        "codons": "Cga/Tga",
        "prot": 216,
        "exon": "8/35",
    },
}


def _short_hgvsp(p: str) -> str:
    out = p
    for three, one in zip(_AA3, _AA1, strict=True):
        out = out.replace(three, one)
    return out.replace("Ter", "*")


def _categorical(u: np.ndarray, cuts: Sequence[float], labels: Sequence[str]) -> np.ndarray:
    """``labels[i]`` where ``cuts[i - 1] <= u < cuts[i]``: uniforms ``u`` to categories by
    cumulative probabilities."""
    return np.asarray(labels, dtype=object)[np.searchsorted(cuts, u, side="right")]


def _passengers(
    world: _World, r: np.random.Generator, n_coding: int, n_syn: int, n_noncoding: int
) -> pd.DataFrame:
    """Random somatic passengers inside protein-coding genes (vectorised)."""
    n = n_coding + n_syn + n_noncoding
    if n == 0:
        return pd.DataFrame()
    spans = (world.pc_ends - world.pc_starts + 1).astype(float)
    auto = np.isin(world.pc_chroms, _CHROMS)
    w = np.where(auto & world.pc_named, spans, 0.0)
    gi = r.choice(len(spans), size=n, p=w / w.sum())
    pos = world.pc_starts[gi] + (r.random(n) * spans[gi]).astype(np.int64)
    chrom = world.pc_chroms[gi]
    strand = world.pc_strands[gi]
    genes = world.pc_symbols[gi]
    kind = np.array(["coding"] * n_coding + ["syn"] * n_syn + ["noncoding"] * n_noncoding)
    u = r.random(n)
    csq = np.empty(n, dtype=object)
    cod = kind == "coding"
    csq[cod] = _categorical(u[cod], _NONSYN_CUTS, _NONSYN_CONSEQUENCES)
    csq[kind == "syn"] = "synonymous_variant"
    nc = kind == "noncoding"
    csq[nc] = _categorical(
        u[nc],
        [0.8, 0.92, 0.97],
        [
            "intron_variant",
            "3_prime_UTR_variant",
            "5_prime_UTR_variant",
            "downstream_gene_variant",
        ],
    )
    bases = np.array(list("ACGT"))
    b = r.integers(0, 4, n)
    ref_b = bases[b]
    # Transitions (A<->G, C<->T) twice as likely as transversions.
    transition = np.array([2, 3, 0, 1])[b]
    transversion = (b + np.where(r.random(n) < 0.5, 1, 3)) % 4
    alt_b = bases[np.where(r.random(n) < 0.67, transition, transversion)]
    ref = ref_b.astype(object)
    alt = alt_b.astype(object)
    fs = csq == "frameshift_variant"
    ins = fs & (r.random(n) < 0.4)
    dele = (fs & ~ins) | (csq == "inframe_deletion")
    del_len = np.where(csq == "inframe_deletion", 3, r.integers(1, 3, n))
    ins_len = r.integers(1, 3, n)
    for i in np.flatnonzero(dele):
        ref[i] = ref_b[i] + "".join(bases[r.integers(0, 4, int(del_len[i]))])
        alt[i] = ref_b[i]
    for i in np.flatnonzero(ins):
        alt[i] = ref_b[i] + "".join(bases[r.integers(0, 4, int(ins_len[i]))])
    prot = r.integers(10, 900, n)
    cds = prot * 3 - r.integers(0, 3, n)
    a_ref = r.integers(0, 20, n)
    a_alt = (a_ref + r.integers(1, 20, n)) % 20
    c_ref = np.where(strand == "-", [b.translate(_COMPLEMENT) for b in ref_b], ref_b)
    c_alt = np.where(strand == "-", [b.translate(_COMPLEMENT) for b in alt_b], alt_b)
    hgvsc = np.empty(n, dtype=object)
    hgvsp = np.empty(n, dtype=object)
    aa_col = np.empty(n, dtype=object)
    codons = np.empty(n, dtype=object)
    for i in range(n):
        c, k = csq[i], int(prot[i])
        r3, a3 = _AA3[a_ref[i]], _AA3[a_alt[i]]
        r1, a1 = _AA1[a_ref[i]], _AA1[a_alt[i]]
        codon_ref = f"{c_ref[i].lower()}{c_ref[i]}{c_ref[i].lower()}"
        if c == "missense_variant":
            hgvsc[i] = f"c.{cds[i]}{c_ref[i]}>{c_alt[i]}"
            hgvsp[i] = f"p.{r3}{k}{a3}"
            aa_col[i] = f"{r1}/{a1}"
            codons[i] = f"{codon_ref}/{codon_ref[0]}{c_alt[i]}{codon_ref[2]}"
        elif c == "synonymous_variant":
            hgvsc[i] = f"c.{cds[i]}{c_ref[i]}>{c_alt[i]}"
            hgvsp[i] = f"p.{r3}{k}%3D"  # VEP escapes '=' in VCF output
            aa_col[i] = r1
            codons[i] = f"{codon_ref}/{codon_ref[0]}{codon_ref[1]}{c_alt[i]}"
        elif c == "stop_gained":
            hgvsc[i] = f"c.{cds[i]}{c_ref[i]}>{c_alt[i]}"
            hgvsp[i] = f"p.{r3}{k}Ter"
            aa_col[i] = f"{r1}/*"
            codons[i] = f"{codon_ref}/{c_alt[i]}ga"
        elif c == "frameshift_variant":
            if ins[i]:
                hgvsc[i] = f"c.{cds[i]}_{cds[i] + 1}ins{str(alt[i])[1:]}"
            else:
                dl = len(str(ref[i])) - 1
                hgvsc[i] = f"c.{cds[i]}del" if dl == 1 else f"c.{cds[i]}_{cds[i] + dl - 1}del"
            hgvsp[i] = f"p.{r3}{k}{a3}fsTer{int(prot[i]) % 40 + 3}"
            aa_col[i] = f"{r1}/X"
            codons[i] = "-"
        elif c == "inframe_deletion":
            hgvsc[i] = f"c.{cds[i]}_{cds[i] + 2}del"
            hgvsp[i] = f"p.{r3}{k}del"
            aa_col[i] = f"{r1}/-"
            codons[i] = f"{str(ref[i])[1:].lower()}/-"
        elif c in ("splice_donor_variant", "splice_acceptor_variant"):
            sign = "+" if c == "splice_donor_variant" else "-"
            hgvsc[i] = f"c.{cds[i]}{sign}{1 + int(u[i] * 10) % 2}{c_ref[i]}>{c_alt[i]}"
            hgvsp[i] = ""
            aa_col[i] = ""
            codons[i] = ""
        elif c == "intron_variant":
            hgvsc[i] = f"c.{cds[i]}+{20 + int(u[i] * 5000)}{c_ref[i]}>{c_alt[i]}"
            hgvsp[i] = aa_col[i] = codons[i] = ""
        elif c == "3_prime_UTR_variant":
            hgvsc[i] = f"c.*{10 + int(u[i] * 2000)}{c_ref[i]}>{c_alt[i]}"
            hgvsp[i] = aa_col[i] = codons[i] = ""
        elif c == "5_prime_UTR_variant":
            hgvsc[i] = f"c.-{5 + int(u[i] * 200)}{c_ref[i]}>{c_alt[i]}"
            hgvsp[i] = aa_col[i] = codons[i] = ""
        else:
            hgvsc[i] = hgvsp[i] = aa_col[i] = codons[i] = ""
    coding = np.isin(csq, list(_NONSYN | {"synonymous_variant"}))
    n_exons = r.integers(3, 30, n)
    ex = np.minimum(r.integers(1, 30, n), n_exons)
    rows = world.pc_rows[gi]
    return pd.DataFrame(
        {
            "chrom": chrom,
            "pos": pos,
            "ref": ref,
            "alt": alt,
            "gene": genes,
            "gene_id": [world.gene_id(g) for g in genes],
            "transcript": [f"ENST9{int(x):010d}.1" for x in rows],
            "alt_transcript": [f"ENST8{int(x):010d}.1" for x in rows],
            "protein_id": [
                f"ENSP9{int(x):010d}.1" if c else "" for x, c in zip(rows, coding, strict=True)
            ],
            "mane": "",
            "hgnc": "",
            "strand": np.where(strand == "-", "-1", "1"),
            "consequence": csq,
            "hgvsc": hgvsc,
            "hgvsp": hgvsp,
            "amino_acids": aa_col,
            "codons": codons,
            "protein_position": np.where(coding, prot.astype(str), ""),
            "cds_position": np.where(coding, cds.astype(str), ""),
            "exon": np.where(
                csq == "intron_variant", "", [f"{a}/{b}" for a, b in zip(ex, n_exons, strict=True)]
            ),
            "intron": np.where(
                csq == "intron_variant",
                [f"{max(1, a - 1)}/{b - 1}" for a, b in zip(ex, n_exons, strict=True)],
                "",
            ),
            "driver": False,
        }
    )


def _driver_rows(world: _World, keys: Sequence[str]) -> pd.DataFrame:
    rows = []
    for key in keys:
        d = _DRIVERS[key]
        tx, prot_id, mane, hgnc = _MANE[d["gene"]]
        rows.append(
            {
                "chrom": d["chrom"],
                "pos": d["pos"],
                "ref": d["ref"],
                "alt": d["alt"],
                "gene": d["gene"],
                "gene_id": world.gene_id(d["gene"]),
                "transcript": tx,
                "alt_transcript": f"ENST8{world.gene_index[d['gene']]:010d}.1",
                "protein_id": prot_id,
                "mane": mane,
                "hgnc": hgnc,
                "strand": "-1" if world.gene(d["gene"])[3] == "-" else "1",
                "consequence": d["csq"],
                "hgvsc": d["c"],
                "hgvsp": d["p"],
                "amino_acids": d["aa"],
                "codons": d["codons"],
                "protein_position": str(d["prot"]),
                "cds_position": re.search(r"c\.(\d+)", d["c"]).group(1),  # type: ignore[union-attr]
                "exon": d["exon"],
                "intron": "",
                "driver": True,
            }
        )
    return pd.DataFrame(rows)


def _variant_table(
    world: _World, plan: _Plan, driver_keys: Sequence[str], cn_at: Any, *, n_noncoding: int
) -> pd.DataFrame:
    """All somatic calls of one tumour with depths, VAFs, filters and annotations."""
    r = plan.rng("variants")
    # About 12 % of calls fail a filter; aim above the target so PASS calls hit it.
    n_nonsyn = max(0, round(plan.tmb_target * TMB_TERRITORY_MB / 0.88) - len(driver_keys))
    n_syn = round(n_nonsyn * 0.35)
    pas = _passengers(world, r, n_nonsyn, n_syn, n_noncoding)
    drv = _driver_rows(world, driver_keys) if driver_keys else pd.DataFrame()
    df = pd.concat([d for d in (pas, drv) if len(d)], ignore_index=True)
    df = df.drop_duplicates(subset=["chrom", "pos"], keep="last").reset_index(drop=True)
    n = len(df)
    p = plan.purity
    depth = r.poisson(75, n) + 15
    # Clonal heterozygous variants; drivers in a one-copy region are on every copy (LOH).
    cn = np.array([cn_at(c, int(x)) for c, x in zip(df["chrom"], df["pos"], strict=True)])
    mut_copies = 1
    ccf = np.where(
        df["driver"].to_numpy(), 1.0, np.where(r.random(n) < 0.7, 1.0, r.uniform(0.2, 0.8, n))
    )
    vaf = ccf * p * mut_copies / (p * np.maximum(cn, 1) + 2 * (1 - p))
    alt_depth = np.maximum(r.binomial(depth, np.clip(vaf, 0.01, 0.99)), 3)
    filt = np.where(r.random(n) < 0.12, _FILTERS[r.integers(0, len(_FILTERS), n)], "PASS")
    filt = np.where(df["driver"].to_numpy(), "PASS", filt)
    weak = filt == "weak_evidence"
    alt_depth = np.where(weak, np.minimum(alt_depth, r.integers(2, 5, n)), alt_depth)
    df["filter"] = filt
    df["t_depth"] = depth
    df["t_alt"] = alt_depth
    df["n_depth"] = r.poisson(40, n) + 10
    df["n_alt"] = np.where(
        np.isin(filt, ["germline", "normal_artifact", "germline;normal_artifact"]),
        r.integers(1, 6, n),
        0,
    )
    df["tlod"] = np.round(alt_depth * 2.9 + r.normal(0, 2, n), 2)
    df["nlod"] = np.round(df["n_depth"] * 0.28 + r.normal(0, 0.5, n), 2)
    df["popaf"] = np.where(
        np.isin(filt, ["germline", "germline;normal_artifact"]),
        np.round(r.uniform(1.0, 3.0, n), 2),
        6.0,
    )
    df["germq"] = np.where(df["popaf"] < 6, r.integers(1, 20, n), r.integers(60, 94, n))
    df["impact"] = df["consequence"].map(_IMPACT)
    df["order"] = df["chrom"].map(_CHROM_ORDER)
    df = df.sort_values(["order", "pos"], kind="stable").reset_index(drop=True)
    return df


_VEP_FIELDS = (
    "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|HGVSc|"
    "HGVSp|cDNA_position|CDS_position|Protein_position|Amino_acids|Codons|Existing_variation|"
    "DISTANCE|STRAND|FLAGS|VARIANT_CLASS|SYMBOL_SOURCE|HGNC_ID|CANONICAL|MANE_SELECT|"
    "MANE_PLUS_CLINICAL|TSL|APPRIS|CCDS|ENSP|SWISSPROT|TREMBL|UNIPARC|UNIPROT_ISOFORM|"
    "GENE_PHENO|SIFT|PolyPhen|DOMAINS|miRNA|HGVS_OFFSET|AF|AFR_AF|AMR_AF|EAS_AF|EUR_AF|"
    "SAS_AF|gnomADe_AF|gnomADe_AFR_AF|gnomADe_AMR_AF|gnomADe_ASJ_AF|gnomADe_EAS_AF|"
    "gnomADe_FIN_AF|gnomADe_NFE_AF|gnomADe_OTH_AF|gnomADe_SAS_AF|gnomADg_AF|gnomADg_AFR_AF|"
    "gnomADg_AMI_AF|gnomADg_AMR_AF|gnomADg_ASJ_AF|gnomADg_EAS_AF|gnomADg_FIN_AF|"
    "gnomADg_MID_AF|gnomADg_NFE_AF|gnomADg_OTH_AF|gnomADg_SAS_AF|MAX_AF|MAX_AF_POPS|"
    "CLIN_SIG|SOMATIC|PHENO|PUBMED|MOTIF_NAME|MOTIF_POS|HIGH_INF_POS|MOTIF_SCORE_CHANGE|"
    "TRANSCRIPTION_FACTORS"
)
_N_VEP = len(_VEP_FIELDS.split("|"))
_VEP_INDEX = {name: i for i, name in enumerate(_VEP_FIELDS.split("|"))}


def _csq_allele(ref: str, alt: str) -> str:
    """VEP's Allele: the alt without the shared anchor base ('-' for a deletion)."""
    if len(ref) == len(alt):
        return alt
    trimmed = alt[1:] if alt[:1] == ref[:1] else alt
    return trimmed or "-"


def _variant_class(ref: str, alt: str) -> str:
    if len(ref) == len(alt) == 1:
        return "SNV"
    return "deletion" if len(ref) > len(alt) else "insertion"


def _csq_entry(**values: str) -> str:
    """One VEP CSQ entry: the named fields of :data:`_VEP_FIELDS` set, the others empty."""
    fields = [""] * _N_VEP
    for name, value in values.items():
        fields[_VEP_INDEX[name]] = value
    return "|".join(fields)


def _csq_strings(df: pd.DataFrame) -> list[str]:
    """The CSQ INFO value per record: canonical transcript, plus an alternative one."""
    out = []
    for row in df.itertuples(index=False):
        gene = {
            "Allele": _csq_allele(row.ref, row.alt),
            "SYMBOL": row.gene,
            "Gene": row.gene_id,
            "Feature_type": "Transcript",
            "BIOTYPE": "protein_coding",
            "STRAND": row.strand,
            "VARIANT_CLASS": _variant_class(row.ref, row.alt),
            "SYMBOL_SOURCE": "HGNC",
            "HGNC_ID": row.hgnc,
        }
        entries = [
            _csq_entry(
                **gene,
                Consequence=row.consequence,
                IMPACT=row.impact,
                Feature=row.transcript,
                EXON=row.exon,
                INTRON=row.intron,
                HGVSc=f"{row.transcript}:{row.hgvsc}" if row.hgvsc else "",
                HGVSp=f"{row.protein_id}:{row.hgvsp}" if row.hgvsp else "",
                cDNA_position=row.cds_position,
                CDS_position=row.cds_position,
                Protein_position=row.protein_position,
                Amino_acids=row.amino_acids,
                Codons=row.codons,
                CANONICAL="YES",
                MANE_SELECT=row.mane,
                ENSP=row.protein_id.split(".")[0] if row.protein_position else "",
            )
        ]
        # A non-canonical transcript of the same gene (position-seeded, deterministic).
        if row.pos % 3 == 0:
            entries.append(
                _csq_entry(
                    **gene,
                    Consequence="intron_variant",
                    IMPACT="MODIFIER",
                    Feature=row.alt_transcript,
                    INTRON="2/9",
                )
            )
        out.append(",".join(entries))
    return out


def _vcf_text(
    df: pd.DataFrame, *, tumour: str, normal: str, normal_first: bool, run_date: dt.date
) -> str:
    """A Mutect2 + FilterMutectCalls VCF 4.2, annotated by VEP 110."""
    contigs = "".join(
        f"##contig=<ID={c},length={n}>\n" for c, n in reference.CHROM_LENGTHS[GENOME_BUILD].items()
    )
    stamp = f"{run_date.isoformat()}T10:{run_date.day:02d}:17.512Z"
    header = (
        "##fileformat=VCFv4.2\n"
        '##FILTER=<ID=PASS,Description="All filters passed">\n'
        '##FILTER=<ID=base_qual,Description="alt median base quality">\n'
        '##FILTER=<ID=clustered_events,Description="Clustered events observed in the tumor">\n'
        '##FILTER=<ID=contamination,Description="contamination">\n'
        '##FILTER=<ID=germline,Description="Evidence indicates this site is germline, '
        'not somatic">\n'
        '##FILTER=<ID=haplotype,Description="Variant near filtered variant on same '
        'haplotype.">\n'
        '##FILTER=<ID=map_qual,Description="ref - alt median mapping quality">\n'
        '##FILTER=<ID=normal_artifact,Description="artifact_in_normal">\n'
        '##FILTER=<ID=panel_of_normals,Description="Blacklisted site in panel of normals">\n'
        '##FILTER=<ID=slippage,Description="Site filtered due to contraction of short '
        'tandem repeat region">\n'
        '##FILTER=<ID=strand_bias,Description="Evidence indicates this site is a strand '
        'artifact">\n'
        '##FILTER=<ID=weak_evidence,Description="Mutation does not meet likelihood '
        'threshold">\n'
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths for the ref and '
        'alt alleles in the order listed">\n'
        '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fractions of alternate '
        'alleles in the tumor">\n'
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth (reads '
        'with MQ=255 or with bad mates are filtered)">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        f'##GATKCommandLine=<ID=FilterMutectCalls,CommandLine="FilterMutectCalls '
        f"--output {tumour}.filtered.vcf.gz --variant {tumour}.unfiltered.vcf.gz "
        f'--reference Homo_sapiens_assembly38.fasta",Version="4.4.0.0",Date="{stamp}">\n'
        f'##GATKCommandLine=<ID=Mutect2,CommandLine="Mutect2 --tumor-sample {tumour} '
        f"--normal-sample {normal} --germline-resource af-only-gnomad.hg38.vcf.gz "
        f"--panel-of-normals 1000g_pon.hg38.vcf.gz --output {tumour}.unfiltered.vcf.gz "
        f'--reference Homo_sapiens_assembly38.fasta",Version="4.4.0.0",Date="{stamp}">\n'
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth; some '
        'reads may have been filtered">\n'
        '##INFO=<ID=ECNT,Number=1,Type=Integer,Description="Number of events in this '
        'haplotype">\n'
        '##INFO=<ID=GERMQ,Number=1,Type=Integer,Description="Phred-scaled quality that alt '
        'alleles are not germline variants">\n'
        '##INFO=<ID=NLOD,Number=A,Type=Float,Description="Normal log 10 likelihood ratio of '
        'diploid het or hom alt genotypes">\n'
        '##INFO=<ID=POPAF,Number=A,Type=Float,Description="negative log 10 population '
        'allele frequencies of alt alleles">\n'
        '##INFO=<ID=TLOD,Number=A,Type=Float,Description="Log 10 likelihood ratio score of '
        'variant existing versus not existing">\n'
        "##MutectVersion=2.2\n"
        f"{contigs}"
        f"##normal_sample={normal}\n"
        "##reference=file:///references/GRCh38/Homo_sapiens_assembly38.fasta\n"
        "##source=FilterMutectCalls\n"
        "##source=Mutect2\n"
        f"##tumor_sample={tumour}\n"
        f'##VEP="v110" time="{run_date.isoformat()} 14:02:11" '
        'cache="/opt/vep/.vep/homo_sapiens/110_GRCh38" ensembl-variation=110.d34d25e '
        "ensembl=110.584a8f3 ensembl-io=110.b1a0a2d ensembl-funcgen=110.24e2fc1 "
        '1000genomes="phase3" COSMIC="97" ClinVar="202301" HGMD-PUBLIC="20204" '
        'assembly="GRCh38.p14" dbSNP="154" gencode="GENCODE 44" genebuild="2014-07" '
        'gnomADe="r2.1.1" gnomADg="v3.1.2" polyphen="2.2.3" regbuild="1.0" sift="sift5.2.2"\n'
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from '
        f'Ensembl VEP. Format: {_VEP_FIELDS}">\n'
    )
    samples = [normal, tumour] if normal_first else [tumour, normal]
    cols = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]
    csq = _csq_strings(df)
    lines = [header + "\t".join(cols)]
    t_ref = (df["t_depth"] - df["t_alt"]).to_numpy()
    for i, row in enumerate(df.itertuples(index=False)):
        info = (
            f"DP={row.t_depth + row.n_depth};ECNT=1;GERMQ={row.germq};"
            f"NLOD={row.nlod:.2f};POPAF={row.popaf:.2f};TLOD={row.tlod:.2f};CSQ={csq[i]}"
        )
        af_t = (row.t_alt + 1) / (row.t_depth + 2)
        tum = f"0/1:{t_ref[i]},{row.t_alt}:{af_t:.3f}:{row.t_depth}"
        af_n = (row.n_alt + 1) / (row.n_depth + 2)
        nor = f"0/0:{row.n_depth - row.n_alt},{row.n_alt}:{af_n:.3f}:{row.n_depth}"
        pair = (nor, tum) if normal_first else (tum, nor)
        lines.append(
            f"{row.chrom}\t{row.pos}\t.\t{row.ref}\t{row.alt}\t.\t{row.filter}\t"
            f"{info}\tGT:AD:AF:DP\t{pair[0]}\t{pair[1]}"
        )
    return "\n".join(lines) + "\n"


#: GDC somatic MAF v1.0.0: the protected MAF's columns 1-120 (the last six are dropped).
MAF_COLUMNS: tuple[str, ...] = (
    "Hugo_Symbol",
    "Entrez_Gene_Id",
    "Center",
    "NCBI_Build",
    "Chromosome",
    "Start_Position",
    "End_Position",
    "Strand",
    "Variant_Classification",
    "Variant_Type",
    "Reference_Allele",
    "Tumor_Seq_Allele1",
    "Tumor_Seq_Allele2",
    "dbSNP_RS",
    "dbSNP_Val_Status",
    "Tumor_Sample_Barcode",
    "Matched_Norm_Sample_Barcode",
    "Match_Norm_Seq_Allele1",
    "Match_Norm_Seq_Allele2",
    "Tumor_Validation_Allele1",
    "Tumor_Validation_Allele2",
    "Match_Norm_Validation_Allele1",
    "Match_Norm_Validation_Allele2",
    "Verification_Status",
    "Validation_Status",
    "Mutation_Status",
    "Sequencing_Phase",
    "Sequence_Source",
    "Validation_Method",
    "Score",
    "BAM_File",
    "Sequencer",
    "Tumor_Sample_UUID",
    "Matched_Norm_Sample_UUID",
    "HGVSc",
    "HGVSp",
    "HGVSp_Short",
    "Transcript_ID",
    "Exon_Number",
    "t_depth",
    "t_ref_count",
    "t_alt_count",
    "n_depth",
    "n_ref_count",
    "n_alt_count",
    "all_effects",
    "Allele",
    "Gene",
    "Feature",
    "Feature_type",
    "One_Consequence",
    "Consequence",
    "cDNA_position",
    "CDS_position",
    "Protein_position",
    "Amino_acids",
    "Codons",
    "Existing_variation",
    "ALLELE_NUM",
    "DISTANCE",
    "TRANSCRIPT_STRAND",
    "SYMBOL",
    "SYMBOL_SOURCE",
    "HGNC_ID",
    "BIOTYPE",
    "CANONICAL",
    "CCDS",
    "ENSP",
    "SWISSPROT",
    "TREMBL",
    "UNIPARC",
    "RefSeq",
    "SIFT",
    "PolyPhen",
    "EXON",
    "INTRON",
    "DOMAINS",
    "GMAF",
    "AFR_MAF",
    "AMR_MAF",
    "ASN_MAF",
    "EAS_MAF",
    "EUR_MAF",
    "SAS_MAF",
    "AA_MAF",
    "EA_MAF",
    "CLIN_SIG",
    "SOMATIC",
    "PUBMED",
    "MOTIF_NAME",
    "MOTIF_POS",
    "HIGH_INF_POS",
    "MOTIF_SCORE_CHANGE",
    "IMPACT",
    "PICK",
    "VARIANT_CLASS",
    "TSL",
    "HGVS_OFFSET",
    "PHENO",
    "MINIMISED",
    "ExAC_AF",
    "ExAC_AF_Adj",
    "ExAC_AF_AFR",
    "ExAC_AF_AMR",
    "ExAC_AF_EAS",
    "ExAC_AF_FIN",
    "ExAC_AF_NFE",
    "ExAC_AF_OTH",
    "ExAC_AF_SAS",
    "GENE_PHENO",
    "FILTER",
    "CONTEXT",
    "src_vcf_id",
    "tumor_bam_uuid",
    "normal_bam_uuid",
    "case_id",
    "GDC_FILTER",
    "COSMIC",
    "MC3_Overlap",
    "GDC_Validation_Status",
)


def _uuid(r: np.random.Generator) -> str:
    h = "".join(f"{x:02x}" for x in r.integers(0, 256, 16))
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _maf_text(df: pd.DataFrame, *, tumour: str, normal: str, r: np.random.Generator) -> str:
    """GDC somatic MAF: PASS calls plus panel-of-normals ones, as GDC's masking keeps."""
    keep = df[df["filter"].isin(["PASS", "panel_of_normals"])]
    t_uuid, n_uuid, case_uuid = _uuid(r), _uuid(r), _uuid(r)
    lines = ["#version gdc-1.0.0", "#annotation.spec gdc-1.0.1-public", "\t".join(MAF_COLUMNS)]
    index = {c: i for i, c in enumerate(MAF_COLUMNS)}
    for row in keep.itertuples(index=False):
        rec = [""] * len(MAF_COLUMNS)
        ref, alt, pos = row.ref, row.alt, int(row.pos)
        if len(ref) > len(alt):  # deletion: drop the anchor base
            m_ref, m_alt, start, end, vtype = ref[1:], "-", pos + 1, pos + len(ref) - 1, "DEL"
        elif len(alt) > len(ref):
            m_ref, m_alt, start, end, vtype = "-", alt[1:], pos, pos + 1, "INS"
        else:
            m_ref, m_alt, start, end, vtype = ref, alt, pos, pos, "SNP"
        csq = row.consequence
        vclass = _MAF_CLASS.get(csq, "")
        if csq == "frameshift_variant":
            vclass = "Frame_Shift_Del" if vtype == "DEL" else "Frame_Shift_Ins"
        hgvsp = row.hgvsp.replace("%3D", "=")
        short = _short_hgvsp(hgvsp) if hgvsp else ""
        values = {
            "Hugo_Symbol": row.gene,
            "Entrez_Gene_Id": "0",
            "Center": "tumorboard-sim",
            "NCBI_Build": "GRCh38",
            "Chromosome": row.chrom,
            "Start_Position": str(start),
            "End_Position": str(end),
            "Strand": "+",
            "Variant_Classification": vclass,
            "Variant_Type": vtype,
            "Reference_Allele": m_ref,
            "Tumor_Seq_Allele1": m_ref,
            "Tumor_Seq_Allele2": m_alt,
            "dbSNP_RS": "novel",
            "Tumor_Sample_Barcode": tumour,
            "Matched_Norm_Sample_Barcode": normal,
            "Mutation_Status": "Somatic",
            "Sequence_Source": "WGS",
            "Sequencer": "Illumina NovaSeq 6000",
            "Tumor_Sample_UUID": t_uuid,
            "Matched_Norm_Sample_UUID": n_uuid,
            "HGVSc": row.hgvsc,
            "HGVSp": hgvsp,
            "HGVSp_Short": short,
            "Transcript_ID": row.transcript.split(".")[0],
            "Exon_Number": row.exon,
            "t_depth": str(row.t_depth),
            "t_ref_count": str(row.t_depth - row.t_alt),
            "t_alt_count": str(row.t_alt),
            "n_depth": str(row.n_depth),
            "all_effects": f"{row.gene},{csq},{short},{row.transcript.split('.')[0]},,"
            f"{row.hgvsc},{row.impact},YES,,,{row.strand}",
            "Allele": m_alt,
            "Gene": row.gene_id,
            "Feature": row.transcript.split(".")[0],
            "Feature_type": "Transcript",
            "One_Consequence": csq,
            "Consequence": csq,
            "CDS_position": row.cds_position,
            "Protein_position": row.protein_position,
            "Amino_acids": row.amino_acids,
            "Codons": row.codons,
            "ALLELE_NUM": "1",
            "TRANSCRIPT_STRAND": row.strand,
            "SYMBOL": row.gene,
            "SYMBOL_SOURCE": "HGNC",
            "HGNC_ID": row.hgnc,
            "BIOTYPE": "protein_coding",
            "CANONICAL": "YES",
            "ENSP": row.protein_id.split(".")[0],
            "RefSeq": row.mane,
            "EXON": row.exon,
            "INTRON": row.intron,
            "IMPACT": row.impact,
            "PICK": "1",
            "VARIANT_CLASS": _variant_class(ref, alt),
            "FILTER": row.filter,
            "src_vcf_id": _uuid(r),
            "case_id": case_uuid,
            "MC3_Overlap": "False",
            "GDC_Validation_Status": "Unknown",
        }
        for k, v in values.items():
            rec[index[k]] = v
        lines.append("\t".join(rec))
    return "\n".join(lines) + "\n"


# --- copy number ------------------------------------------------------------------


def _copy_number(plan: _Plan) -> tuple[list[tuple[str, int, int, int, int]], list[dict]]:
    """Whole-genome segments (chrom, start, end, total CN, minor CN) and forced events."""
    r = plan.rng("copy_number")
    e = plan.entity
    lengths = reference.CHROM_LENGTHS[GENOME_BUILD]
    chroms = _CHROMS if plan.sex == "male" else _CHROMS[:-1]
    segs: dict[str, list[list[int]]] = {}
    for c in chroms:
        normal_cn = 1 if plan.sex == "male" and c in ("chrX", "chrY") else 2
        n_breaks = r.poisson(e.breaks_per_chrom)
        cuts = sorted({int(x) for x in r.uniform(1e6, lengths[c] - 1e6, n_breaks)})
        bounds = [1, *cuts, lengths[c]]
        rows = []
        for a, b in itertools.pairwise(bounds):
            cn, minor = normal_cn, normal_cn // 2
            if normal_cn == 2 and r.random() < e.altered_fraction:
                state = r.choice(4, p=[0.45, 0.3, 0.12, 0.13])
                cn, minor = [(1, 0), (3, 1), (4, 1), (2, 0)][int(state)]
            rows.append([a if a == 1 else a + 1, b, cn, minor])
        segs[c] = rows
    events: list[dict] = []

    def paint(chrom: str, start: int, end: int, cn: int, minor: int, label: str) -> None:
        out = []
        for a, b, c0, m0 in segs[chrom]:
            if b < start or a > end:
                out.append([a, b, c0, m0])
                continue
            if a < start:
                out.append([a, start - 1, c0, m0])
            out.append([max(a, start), min(b, end), cn, minor])
            if b > end:
                out.append([end + 1, b, c0, m0])
        segs[chrom] = out
        events.append(
            {
                "chrom": chrom,
                "start": start,
                "end": end,
                "total_cn": cn,
                "minor_cn": minor,
                "event": label,
            }
        )

    code, i = e.code, plan.idx
    if code == "DDLS":
        p = plan.purity
        for label, (a, b) in {
            "CDK4 amplification": (57_400_000, 58_300_000),
            "MDM2 amplification": (65_600_000, 69_700_000),
        }.items():
            target = float(r.uniform(2.4, 3.8))  # log2 ratio of the amplicon
            cn = max(8, round((2 * 2**target - 2 * (1 - p)) / p))
            paint("chr12", a, b, cn, 1, label)
    elif code == "LMS":
        paint("chr17", 1, 22_000_000, 1, 0, "TP53 deletion (17p loss)")
        paint("chr13", 40_000_000, 62_000_000, 1, 0, "RB1 deletion (13q loss)")
        if i % 2 == 0:
            paint("chr13", 48_100_000, 48_700_000, 0, 0, "RB1 homozygous deletion")
    elif code == "ES":
        if i % 2 == 0:
            paint("chr8", 1, lengths["chr8"], 3, 1, "chromosome 8 gain")
        else:
            paint("chr1", 145_000_000, lengths["chr1"], 3, 1, "1q gain")
    elif code == "GIST":
        paint("chr14", 20_000_000, lengths["chr14"], 1, 0, "14q loss")
    flat = [(c, a, b, cn, m) for c in chroms for a, b, cn, m in segs[c]]
    return flat, events


def _seg_text(
    segs: list[tuple[str, int, int, int, int]],
    *,
    name: str,
    purity: float,
    sex: str,
    r: np.random.Generator,
    allele_specific: bool,
    chr_prefix: bool,
) -> str:
    header = ["ID", "chrom", "loc.start", "loc.end", "num.mark", "seg.mean"]
    if allele_specific:
        header += ["nMajor", "nMinor"]
    lines = ["\t".join(header)]
    for c, a, b, cn, minor in segs:
        ref_cn = 1 if sex == "male" and c in ("chrX", "chrY") else 2
        ratio = (purity * cn + (1 - purity) * ref_cn) / ref_cn
        log2 = float(np.log2(max(ratio, 1e-3))) + float(r.normal(0, 0.04))
        marks = max(8, int((b - a) / 2500 * r.uniform(0.8, 1.2)))
        chrom = c if chr_prefix else c[3:]
        row = [name, chrom, str(a), str(b), str(marks), f"{log2:.4f}"]
        if allele_specific:
            row += [str(cn - minor), str(minor)]
        lines.append("\t".join(row))
    return "\n".join(lines) + "\n"


# --- fusions ----------------------------------------------------------------------

ARRIBA_COLUMNS: tuple[str, ...] = (
    "#gene1",
    "gene2",
    "strand1(gene/fusion)",
    "strand2(gene/fusion)",
    "breakpoint1",
    "breakpoint2",
    "site1",
    "site2",
    "type",
    "split_reads1",
    "split_reads2",
    "discordant_mates",
    "coverage1",
    "coverage2",
    "confidence",
    "reading_frame",
    "tags",
    "retained_protein_domains",
    "closest_genomic_breakpoint1",
    "closest_genomic_breakpoint2",
    "gene_id1",
    "gene_id2",
    "transcript_id1",
    "transcript_id2",
    "direction1",
    "direction2",
    "filters",
    "fusion_transcript",
    "peptide_sequence",
    "read_identifiers",
)
STAR_FUSION_COLUMNS: tuple[str, ...] = (
    "#FusionName",
    "JunctionReadCount",
    "SpanningFragCount",
    "est_J",
    "est_S",
    "SpliceType",
    "LeftGene",
    "LeftBreakpoint",
    "RightGene",
    "RightBreakpoint",
    "LargeAnchorSupport",
    "FFPM",
    "LeftBreakDinuc",
    "LeftBreakEntropy",
    "RightBreakDinuc",
    "RightBreakEntropy",
    "annots",
)


@dataclass
class _FusionCall:
    gene5: str
    gene3: str
    bp5: int
    bp3: int
    split1: int
    split2: int
    discordant: int
    confidence: str
    frame: str
    kind: str  # defining / reciprocal / artefact


def _fusion_calls(world: _World, plan: _Plan) -> list[_FusionCall]:
    r = plan.rng("fusions")
    calls = []
    if plan.fusion is not None:
        f = plan.fusion
        calls.append(
            _FusionCall(
                f.gene5,
                f.gene3,
                f.breakpoint5,
                f.breakpoint3,
                int(r.integers(15, 80)),
                int(r.integers(10, 60)),
                int(r.integers(8, 50)),
                "high",
                "in-frame",
                "defining",
            )
        )
        if world.gene(f.gene5)[0] != world.gene(f.gene3)[0] and r.random() < 0.5:
            calls.append(
                _FusionCall(
                    f.gene3,
                    f.gene5,
                    f.breakpoint3 + 1,
                    f.breakpoint5 + 1,
                    int(r.integers(1, 6)),
                    int(r.integers(0, 4)),
                    int(r.integers(0, 5)),
                    "medium",
                    "out-of-frame",
                    "reciprocal",
                )
            )
    # Artefacts: read-through of neighbouring genes and a low-support translocation.
    for _ in range(int(r.integers(1, 4))):
        k = int(r.integers(0, len(world.pc_symbols) - 1))
        same = (
            world.pc_chroms[k] == world.pc_chroms[k + 1]
            and world.pc_strands[k] == world.pc_strands[k + 1] == "+"
            and world.pc_symbols[k] != world.pc_symbols[k + 1]
            and world.pc_named[k]
            and world.pc_named[k + 1]
        )
        if not same:
            continue
        a, b = world.pc_symbols[k], world.pc_symbols[k + 1]
        calls.append(
            _FusionCall(
                a,
                b,
                int(world.pc_ends[k]) - 50,
                int(world.pc_starts[k + 1]) + 80,
                int(r.integers(1, 5)),
                int(r.integers(0, 3)),
                int(r.integers(0, 3)),
                "low",
                ".",
                "artefact",
            )
        )
    k1, k2 = (int(x) for x in r.integers(0, len(world.pc_symbols), 2))
    if (
        world.pc_chroms[k1] != world.pc_chroms[k2]
        and world.pc_chroms[k1] in _CHROMS
        and world.pc_chroms[k2] in _CHROMS
        and world.pc_named[k1]
        and world.pc_named[k2]
    ):
        mid1 = int((world.pc_starts[k1] + world.pc_ends[k1]) // 2)
        mid2 = int((world.pc_starts[k2] + world.pc_ends[k2]) // 2)
        calls.append(
            _FusionCall(
                world.pc_symbols[k1],
                world.pc_symbols[k2],
                mid1,
                mid2,
                0,
                1,
                int(r.integers(2, 4)),
                "low",
                ".",
                "artefact",
            )
        )
    return calls


def _direction(strand: str, five_prime: bool) -> str:
    # 5' partner keeps the part upstream of its breakpoint; 3' partner the part downstream.
    if five_prime:
        return "downstream" if strand == "+" else "upstream"
    return "upstream" if strand == "+" else "downstream"


def _random_seq(r: np.random.Generator, alphabet: str, n: int) -> str:
    return "".join(np.array(list(alphabet))[r.integers(0, len(alphabet), n)])


def _arriba_text(world: _World, calls: list[_FusionCall], r: np.random.Generator) -> str:
    rows = []
    for c in calls:
        ch5, _, _, s5 = world.gene(c.gene5)
        ch3, _, _, s3 = world.gene(c.gene3)
        if ch5 != ch3:
            kind = "translocation"
        elif c.kind == "artefact":
            kind = "deletion/read-through"
        else:
            kind = "inversion" if s5 != s3 else "deletion"
        site = "CDS/splice-site" if c.kind != "artefact" else "intron"
        if c.frame == "in-frame":
            transcript = _random_seq(r, "ACGT", 60) + "|" + _random_seq(r, "ACGT", 60)
            peptide = (
                _random_seq(r, "ACDEFGHIKLMNPQRSTVWY", 20)
                + "|"
                + _random_seq(r, "ACDEFGHIKLMNPQRSTVWY", 20)
            )
            domains = "."
        else:
            transcript, peptide, domains = ".", ".", "."
        rows.append(
            [
                c.gene5,
                c.gene3,
                f"{s5}/{s5}",
                f"{s3}/{s3}",
                f"{ch5}:{c.bp5}",
                f"{ch3}:{c.bp3}",
                site,
                site,
                kind,
                str(c.split1),
                str(c.split2),
                str(c.discordant),
                str(int(r.integers(60, 400))),
                str(int(r.integers(40, 300))),
                c.confidence,
                c.frame,
                ".",
                domains,
                ".",
                ".",
                world.gene_id(c.gene5),
                world.gene_id(c.gene3),
                f"ENST9{world.gene_index[c.gene5]:010d}.1",
                f"ENST9{world.gene_index[c.gene3]:010d}.1",
                _direction(s5, True),
                _direction(s3, False),
                f"duplicates({int(r.integers(0, 20))})"
                if c.kind != "artefact"
                else "mismatches(1),low_entropy(1)",
                transcript,
                peptide,
                ".",
            ]
        )
    return (
        _table(ARRIBA_COLUMNS, list(zip(*rows, strict=True)))
        if rows
        else "\t".join(ARRIBA_COLUMNS) + "\n"
    )


#: Columns STAR-Fusion adds with ``--examine_coding_effect``.
STAR_FUSION_CODING_COLUMNS: tuple[str, ...] = (
    "CDS_LEFT_ID",
    "CDS_LEFT_RANGE",
    "CDS_RIGHT_ID",
    "CDS_RIGHT_RANGE",
    "PROT_FUSION_TYPE",
    "FUSION_MODEL",
    "FUSION_CDS",
    "FUSION_TRANSL",
    "PFAM_LEFT",
    "PFAM_RIGHT",
)


def _star_fusion_text(
    world: _World,
    calls: list[_FusionCall],
    r: np.random.Generator,
    total_frags: float,
    *,
    coding_effect: bool = False,
) -> str:
    header = list(STAR_FUSION_COLUMNS)
    if coding_effect:
        header += STAR_FUSION_CODING_COLUMNS
    rows = []
    for c in calls:
        ch5, _, _, s5 = world.gene(c.gene5)
        ch3, _, _, s3 = world.gene(c.gene3)
        junction = c.split1 + c.split2
        spanning = c.discordant
        ffpm = (junction + spanning) / total_frags * 1e6
        annots = ['"Mitelman"', '"ChimerKB"'] if c.kind == "defining" else []
        annots.append(
            f'"INTERCHROMOSOMAL[{ch5}--{ch3}]"'
            if ch5 != ch3
            else '"NEIGHBORS[1000]"'
            if c.kind == "artefact"
            else f'"INTRACHROMOSOMAL[{ch5}:{abs(c.bp3 - c.bp5) / 1e6:.2f}Mb]"'
        )
        rows.append(
            [
                f"{c.gene5}--{c.gene3}",
                str(junction),
                str(spanning),
                f"{junction:.2f}",
                f"{spanning:.2f}",
                "ONLY_REF_SPLICE" if c.kind != "artefact" else "INCL_NON_REF_SPLICE",
                f"{c.gene5}^{world.gene_id(c.gene5)}",
                f"{ch5}:{c.bp5}:{s5}",
                f"{c.gene3}^{world.gene_id(c.gene3)}",
                f"{ch3}:{c.bp3}:{s3}",
                "YES_LDAS" if junction >= 5 else "NO_LDAS",
                f"{ffpm:.4f}",
                "GT",
                f"{r.uniform(1.7, 2.0):.4f}",
                "AG",
                f"{r.uniform(1.7, 2.0):.4f}",
                "[" + ",".join(annots) + "]",
            ]
        )
        if coding_effect:
            kind = {"in-frame": "INFRAME", "out-of-frame": "FRAMESHIFT"}.get(c.frame, ".")
            if kind == ".":
                rows[-1] += ["."] * len(STAR_FUSION_CODING_COLUMNS)
            else:
                left = f"ENST9{world.gene_index[c.gene5]:010d}.1"
                right = f"ENST9{world.gene_index[c.gene3]:010d}.1"
                cds = _random_seq(r, "acgt", 30) + _random_seq(r, "ACGT", 30)
                rows[-1] += [
                    left,
                    "1-831",
                    right,
                    "1012-1470",
                    kind,
                    f"{ch5}|{s5}|[0]{c.bp5 - 120}-{c.bp5}[2]<==>"
                    f"{ch3}|{s3}|[2]{c.bp3}-{c.bp3 + 150}[0]",
                    cds,
                    _random_seq(r, "ACDEFGHIKLMNPQRSTVWY", 20),
                    ".",
                    ".",
                ]
    return _table(header, list(zip(*rows, strict=True))) if rows else "\t".join(header) + "\n"


# --- expression --------------------------------------------------------------------

_TARGET_LEVELS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    # target state -> (log2 TPM range when on, when off) of the tumour compartment
    "erbb2": ((5.5, 7.5), (0.0, 2.0)),
    "cldn6": ((6.0, 8.5), (-2.0, 1.0)),
    "sstr2": ((4.5, 6.5), (-1.5, 1.5)),
    "sstr3": ((4.5, 6.5), (-1.5, 1.0)),
    "sstr5": ((4.5, 6.0), (-2.0, 0.5)),
    "tyro3": ((5.0, 6.5), (1.5, 3.0)),
}


def _tumour_expression(world: _World, plan: _Plan) -> tuple[np.ndarray, np.ndarray]:
    """log2 TPM of the tumour compartment and the mixed bulk TPM (sums to 1e6)."""
    r = plan.rng("expression")
    n = len(world.genes)
    tumour = world.base + r.normal(0, 0.45, n)
    for gene, fold in plan.entity.markers.items():
        if gene in world.gene_pos:
            tumour[world.gene_pos[gene]] += fold
    for state, (on, off) in _TARGET_LEVELS.items():
        gene = state.upper()
        if gene in world.gene_pos:
            lo, hi = on if plan.targets.get(state) else off
            tumour[world.gene_pos[gene]] = r.uniform(lo, hi)
    if plan.targets.get("kdr_activated"):
        tumour[world.gene_pos["KDR"]] += 1.0
    lin = plan.purity * np.exp2(tumour) + (1 - plan.purity) * np.exp2(world.base)
    log_bulk = np.log2(lin) + r.normal(0, 0.15, n)
    if plan.expression_batch == 2:
        log_bulk += world.batch
    tpm = np.exp2(log_bulk)
    tpm = tpm / tpm.sum() * 1e6
    return tumour, tpm


def _salmon_text(world: _World, tpm: np.ndarray, reads: np.ndarray) -> str:
    return _table(
        ["Name", "Length", "EffectiveLength", "TPM", "NumReads"],
        [
            list(world.genes),
            _fmt(world.length, ".3f"),
            _fmt(world.eff_length, ".3f"),
            _fmt(tpm, ".6f"),
            _fmt(reads, ".3f"),
        ],
    )


def _rsem_text(world: _World, tpm: np.ndarray, reads: np.ndarray, total: float) -> str:
    fpkm = reads / (world.eff_length / 1e3) / (total / 1e6)
    tx = [f"{g}-201" if k % 3 else f"{g}-201,{g}-202" for k, g in enumerate(world.genes)]
    return _table(
        [
            "gene_id",
            "transcript_id(s)",
            "length",
            "effective_length",
            "expected_count",
            "TPM",
            "FPKM",
        ],
        [
            list(world.genes),
            tx,
            _fmt(world.length, ".2f"),
            _fmt(world.eff_length, ".2f"),
            _fmt(reads, ".2f"),
            _fmt(tpm, ".2f"),
            _fmt(fpkm, ".2f"),
        ],
    )


# --- methylation ---------------------------------------------------------------------


def _betas(world: _World, plan: _Plan) -> np.ndarray:
    r = plan.rng("methylation")
    base = world.probes["base"]
    profile = world.methylation_profile(METHYLATION_CLASS[plan.entity.code])
    mu = plan.purity * profile + (1 - plan.purity) * base
    mu = np.clip(mu, 0.01, 0.99)
    k = 40.0
    beta = r.beta(mu * k, (1 - mu) * k)
    beta[r.random(len(beta)) < 0.002] = np.nan  # detection p-value failures
    return beta


def _beta_text(ids: np.ndarray, beta: np.ndarray, column: str) -> str:
    order = np.argsort(ids, kind="stable")
    values = ["NA" if np.isnan(v) else format(v, ".5f") for v in beta[order]]
    return _table(["ID_REF", column], [list(ids[order]), values])


# --- proteome and phosphoproteome -------------------------------------------------------


@dataclass
class _MsSample:
    name: str
    protein_log2: np.ndarray  # NaN = not quantified
    site_log2: np.ndarray
    lfq_factor: float


def _missing_not_at_random(
    values: np.ndarray, midpoint: float, r: np.random.Generator
) -> np.ndarray:
    """Blank (NaN) values missing not at random: the less abundant, the more often not
    quantified (probability a logistic in log2 intensity, 0.5 at ``midpoint``)."""
    p_missing = 1 / (1 + np.exp((values - midpoint) / 0.7))
    return np.where(r.random(len(values)) < p_missing, np.nan, values)


def _ms_sample(
    world: _World, plan: _Plan, tumour_log2: np.ndarray, *, missing: bool = True
) -> _MsSample:
    """Protein and site log2 intensities of one tumour in the world's universes.

    ``missing=False`` leaves nothing unquantified: for a run of one sample, whose tables list
    only what that sample identified (the universes are then what it identified).
    """
    r = plan.rng("proteome")
    prot = world.proteins
    pos = prot["gene_pos"].to_numpy()
    rna_dev = tumour_log2[pos] - world.base[pos]
    batch_offset = float(_rng(plan.seed, 0xBA7C, plan.proteome_batch).normal(0, 0.4))
    values = (
        prot["base"].to_numpy()
        + 0.7 * plan.purity * rna_dev
        + batch_offset
        + r.normal(0, 0.35, len(prot))
    )
    if missing:
        values = _missing_not_at_random(values, 22.0, r)
    sites = world.sites
    gene_dev = dict(zip(prot["gene"], 0.2 * plan.purity * rna_dev, strict=True))
    coupling = np.array([0.0 if g == "ERBB2" else gene_dev.get(g, 0.0) for g in sites["gene"]])
    svals = sites["base"].to_numpy() + coupling + batch_offset + r.normal(0, 0.45, len(sites))
    feature = sites["feature"].to_numpy()
    for kinase in _activated_kinases(plan):
        bump = np.isin(feature, _ACTIVATION_SITES[kinase])
        svals = np.where(bump, svals + 4.0 * plan.purity + 2.0, svals)
        if kinase == "KDR":
            svals = np.where(
                np.isin(feature, KDR_SUBSTRATE_SITES), svals + 2.5 * plan.purity + 0.8, svals
            )
    if missing:
        svals = _missing_not_at_random(svals, 21.0, r)
    return _MsSample(plan.proteome_name, values, svals, float(r.uniform(0.8, 1.25)))


def _activated_kinases(plan: _Plan) -> list[str]:
    """Kinases whose activation sites the plan raises (see :data:`_ACTIVATION_SITES`)."""
    out = []
    if plan.targets.get("kdr_activated"):
        out.append("KDR")
    if plan.targets.get("tyro3_activated"):
        out.append("TYRO3")
    if plan.entity.code == "GIST":
        out.append("KIT")
    if plan.entity.code == "IMT":
        out.append("ALK")
    return out


def _intensity(log2: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(log2), 0.0, np.round(np.exp2(np.nan_to_num(log2))))


def _protein_groups_text(
    world: _World,
    samples: list[_MsSample],
    r: np.random.Generator,
    *,
    only_site: np.ndarray | None = None,
) -> str:
    """MaxQuant proteinGroups.txt for the samples of one MaxQuant run.

    ``only_site`` marks the groups of ``world.proteins`` flagged 'Only identified by site';
    by default about 1 % at random.
    """
    prot = world.proteins
    n = len(prot)
    n_rev, n_con = max(3, n // 100), 6
    con = [
        ("P02768", "ALB", "Albumin"),
        ("P04264", "KRT1", "Keratin, type II cytoskeletal 1"),
        ("P35908", "KRT2", "Keratin, type II cytoskeletal 2 epidermal"),
        ("P13645", "KRT10", "Keratin, type I cytoskeletal 10"),
        ("P35527", "KRT9", "Keratin, type I cytoskeletal 9"),
        ("P00761", "", "Trypsin"),
    ]
    acc = prot["accession"].tolist()
    genes = prot["gene"].tolist()
    iso = prot["n_isoforms"].to_numpy()
    ids, majority, gene_names, names, fasta = [], [], [], [], []
    for a, g, k, multi in zip(acc, genes, iso, prot["multi_gene"], strict=True):
        group = [a] + [f"{a}-{j}" for j in range(2, int(k) + 1)]
        ids.append(";".join(group))
        majority.append(";".join(group[:2]))
        gene_names.append(f"{g};{g}P1" if multi else g)
        names.append(f"{g} protein")
        fasta.append(f"sp|{a}|{g}_HUMAN {g} protein OS=Homo sapiens OX=9606 GN={g}")
    for j in range(n_rev):
        a = acc[(j * 37) % n]
        ids.append(f"REV__{a}")
        majority.append(f"REV__{a}")
        gene_names.append("")
        names.append("")
        fasta.append("")
    for a, g, nm in con[:n_con]:
        ids.append(f"CON__{a}")
        majority.append(f"CON__{a}")
        gene_names.append(g)
        names.append(nm)
        fasta.append("")
    m = len(ids)
    lengths = np.concatenate([prot["length"].to_numpy(), np.full(n_rev, 400), np.full(n_con, 600)])
    if only_site is None:
        only_site = r.random(n) < 0.01
    only_site = np.concatenate([only_site, np.zeros(n_rev + n_con, bool)])
    reverse = np.concatenate([np.zeros(n, bool), np.ones(n_rev, bool), np.zeros(n_con, bool)])
    contaminant = np.concatenate([np.zeros(n + n_rev, bool), np.ones(n_con, bool)])
    per_sample = []
    for s in samples:
        log2 = np.concatenate(
            [s.protein_log2, r.normal(20.5, 1.0, n_rev), r.normal(28.0, 1.5, n_con)]
        )
        log2 = np.where(reverse & (r.random(m) < 0.5), np.nan, log2)
        inten = _intensity(log2)
        lfq = np.round(inten * s.lfq_factor)
        peptides = np.where(inten > 0, np.clip((np.nan_to_num(log2) - 19) * 1.6, 1, 80), 0)
        per_sample.append((s.name, inten, lfq, peptides.astype(int)))
    total_int = np.sum([x[1] for x in per_sample], axis=0)
    peptides_all = np.max([x[3] for x in per_sample], axis=0)
    peptides_all = np.maximum(peptides_all, 1)
    unique = np.maximum(peptides_all - r.integers(0, 3, m), 1)
    coverage = np.clip(peptides_all * 12 / np.sqrt(lengths) * 10, 0.5, 95)
    score = np.round(peptides_all * 9.7 + r.uniform(0, 5, m), 3)
    pep_str = [str(int(x)) for x in peptides_all]
    header = [
        "Protein IDs",
        "Majority protein IDs",
        "Peptide counts (all)",
        "Peptide counts (razor+unique)",
        "Peptide counts (unique)",
        "Protein names",
        "Gene names",
        "Fasta headers",
        "Number of proteins",
        "Peptides",
        "Razor + unique peptides",
        "Unique peptides",
    ]
    cols: list[list[str]] = [
        ids,
        majority,
        pep_str,
        pep_str,
        [str(int(x)) for x in unique],
        names,
        gene_names,
        fasta,
        [str(x.count(";") + 1) for x in ids],
        pep_str,
        pep_str,
        [str(int(x)) for x in unique],
    ]
    for name, _, _, pep in per_sample:
        header.append(f"Peptides {name}")
        cols.append(_fmt_int(pep))
    header += [
        "Sequence coverage [%]",
        "Unique + razor sequence coverage [%]",
        "Unique sequence coverage [%]",
        "Mol. weight [kDa]",
        "Sequence length",
        "Sequence lengths",
        "Q-value",
        "Score",
    ]
    cols += [
        _fmt(coverage, ".1f"),
        _fmt(coverage, ".1f"),
        _fmt(coverage * 0.9, ".1f"),
        _fmt(lengths * 0.1105, ".3f"),
        _fmt_int(lengths),
        _fmt_int(lengths),
        ["0"] * m,
        _fmt(score, ".3f"),
    ]
    for name, inten, _, _ in per_sample:
        header.append(f"Identification type {name}")
        cols.append(["By MS/MS" if x > 0 else "" for x in inten])
    header.append("Intensity")
    cols.append(_fmt_int(total_int))
    for name, inten, _, _ in per_sample:
        header.append(f"Intensity {name}")
        cols.append(_fmt_int(inten))
    for name, _, lfq, _ in per_sample:
        header.append(f"LFQ intensity {name}")
        cols.append(_fmt_int(lfq))
    for name, _, _, pep in per_sample:
        header.append(f"MS/MS count {name}")
        cols.append(_fmt_int(pep * 2))
    header += [
        "MS/MS count",
        "Only identified by site",
        "Reverse",
        "Potential contaminant",
        "id",
        "Peptide IDs",
        "Peptide is razor",
        "Mod. peptide IDs",
        "Evidence IDs",
        "MS/MS IDs",
        "Best MS/MS",
    ]
    ident = np.arange(m)
    cols += [
        _fmt_int(peptides_all * 2),
        ["+" if x else "" for x in only_site],
        ["+" if x else "" for x in reverse],
        ["+" if x else "" for x in contaminant],
        _fmt_int(ident),
        [f"{3 * k};{3 * k + 1}" for k in ident],
        ["True;False"] * m,
        [f"{3 * k};{3 * k + 1}" for k in ident],
        [f"{7 * k};{7 * k + 2}" for k in ident],
        [f"{9 * k};{9 * k + 4}" for k in ident],
        [str(9 * k) for k in ident],
    ]
    # Only groups identified in at least one sample of the run are listed.
    return _table(header, _rows(cols, total_int > 0))


def _phospho_sites_text(world: _World, samples: list[_MsSample], r: np.random.Generator) -> str:
    """MaxQuant ``Phospho (STY)Sites.txt`` for the samples of one MaxQuant run."""
    sites = world.sites
    prot = world.proteins
    acc = dict(zip(prot["gene"], prot["accession"], strict=True))
    pg_id = dict(zip(prot["gene"], range(len(prot)), strict=True))
    n_real = len(sites)
    n_rev = max(2, n_real // 100)
    rev_src = np.arange(n_rev) * 7 % n_real
    # Decoy (reverse) hits, as MaxQuant lists them with '+' in 'Reverse'.
    genes = sites["gene"].tolist() + [""] * n_rev
    position = np.concatenate([sites["position"].to_numpy(), sites["position"].to_numpy()[rev_src]])
    aa = sites["aa"].tolist() + [sites["aa"].iloc[k] for k in rev_src]
    windows = sites["window"].tolist() + [sites["window"].iloc[k][::-1] for k in rev_src]
    loc = np.concatenate([sites["loc_prob"].to_numpy(), r.uniform(0.5, 0.9, n_rev).round(6)])
    reverse = np.concatenate([np.zeros(n_real, bool), np.ones(n_rev, bool)])
    m = n_real + n_rev
    per_sample = []
    for s in samples:
        log2 = np.concatenate([s.site_log2, r.normal(20.5, 1.0, n_rev)])
        total = _intensity(log2)
        frac1 = r.uniform(0.65, 0.95, m)
        i1 = np.round(total * frac1)
        i2 = np.round((total - i1) * 0.8)
        i3 = total - i1 - i2
        per_sample.append(
            (
                s.name,
                total,
                i1,
                i2,
                i3,
                np.where(total > 0, np.minimum(1.0, loc + r.uniform(-0.05, 0.05, m)), np.nan),
            )
        )
    proteins = [acc[g] for g in sites["gene"]] + [
        "REV__" + acc[sites["gene"].iloc[k]] for k in rev_src
    ]
    peptide = [w[9:22] + "K" for w in windows]
    probs = [f"{p[:6]}{p[6]}({lp:.3f}){p[7:]}" for p, lp in zip(peptide, loc, strict=True)]
    header = [
        "Proteins",
        "Positions within proteins",
        "Leading proteins",
        "Protein",
        "Protein names",
        "Gene names",
        "Fasta headers",
        "Localization prob",
        "Score diff",
        "PEP",
        "Score",
        "Delta score",
        "Score for localization",
    ]
    score = np.round(r.uniform(40, 220, m), 2)
    cols: list[list[str]] = [
        proteins,
        _fmt_int(position),
        proteins,
        proteins,
        [f"{g} protein" if g else "" for g in genes],
        genes,
        [f"sp|{acc[g]}|{g}_HUMAN" if g else "" for g in genes],
        _fmt(loc, ".6f"),
        _fmt(r.uniform(5, 60, m), ".4f"),
        _fmt(r.uniform(1e-9, 1e-3, m), ".3g"),
        _fmt(score, ".2f"),
        _fmt(score * 0.8, ".2f"),
        _fmt(score * 0.9, ".2f"),
    ]
    for name, *_, lp in per_sample:
        header.append(f"Localization prob {name}")
        cols.append(["" if np.isnan(x) else f"{x:.6f}" for x in lp])
    header += [
        "Diagnostic peak",
        "Number of Phospho (STY)",
        "Amino acid",
        "Sequence window",
        "Modification window",
        "Peptide window coverage",
        "Phospho (STY) Probabilities",
        "Phospho (STY) Score diffs",
        "Position in peptide",
        "Charge",
        "Mass error [ppm]",
    ]
    cols += [
        [""] * m,
        ["1"] * m,
        aa,
        windows,
        [""] * m,
        [""] * m,
        probs,
        [""] * m,
        ["7"] * m,
        _fmt_int(r.integers(2, 4, m)),
        _fmt(r.normal(0, 0.8, m), ".4f"),
    ]
    for name, total, *_ in per_sample:
        header.append(f"Identification type {name}")
        cols.append(["By MS/MS" if x > 0 else "" for x in total])
    all_total = np.sum([x[1] for x in per_sample], axis=0)
    header += ["Intensity", "Intensity___1", "Intensity___2", "Intensity___3", "Ratio mod/base"]
    cols += [
        _fmt_int(all_total),
        _fmt_int(np.sum([x[2] for x in per_sample], axis=0)),
        _fmt_int(np.sum([x[3] for x in per_sample], axis=0)),
        _fmt_int(np.sum([x[4] for x in per_sample], axis=0)),
        ["NaN"] * m,
    ]
    for name, total, i1, i2, i3, _ in per_sample:
        header += [
            f"Intensity {name}",
            f"Intensity {name}___1",
            f"Intensity {name}___2",
            f"Intensity {name}___3",
        ]
        cols += [_fmt_int(total), _fmt_int(i1), _fmt_int(i2), _fmt_int(i3)]
    ident = np.arange(m)
    header += [
        "Reverse",
        "Potential contaminant",
        "id",
        "Protein group IDs",
        "Positions",
        "Position",
        "Peptide IDs",
        "Mod. peptide IDs",
        "Evidence IDs",
        "MS/MS IDs",
        "Best localization evidence ID",
        "Best localization MS/MS ID",
        "Best localization raw file",
        "Best localization scan number",
    ]
    raw = [f"{samples[k % len(samples)].name}_01" for k in range(m)]
    cols += [
        ["+" if x else "" for x in reverse],
        [""] * m,
        _fmt_int(ident),
        [str(pg_id.get(g, len(pg_id))) for g in genes],
        _fmt_int(position),
        _fmt_int(position),
        [str(2 * k) for k in ident],
        [str(2 * k) for k in ident],
        [str(5 * k) for k in ident],
        [str(6 * k) for k in ident],
        [str(5 * k) for k in ident],
        [str(6 * k) for k in ident],
        raw,
        _fmt_int(r.integers(2000, 90000, m)),
    ]
    return _table(header, _rows(cols, all_total > 0))


# --- HLA ------------------------------------------------------------------------------


def _optitype_text(alleles: list[str], r: np.random.Generator) -> str:
    bare = [a.removeprefix("HLA-") for a in alleles]
    reads = float(r.integers(800, 4000))
    return (
        "\tA1\tA2\tB1\tB2\tC1\tC2\tReads\tObjective\n"
        f"0\t{bare[0]}\t{bare[1]}\t{bare[2]}\t{bare[3]}\t{bare[4]}\t{bare[5]}\t"
        f"{reads:.1f}\t{reads * 0.97:.3f}\n"
    )


def _arcashla_text(alleles: list[str], r: np.random.Generator) -> str:
    out: dict[str, list[str]] = {}
    for a in alleles:
        bare = a.removeprefix("HLA-")
        out.setdefault(bare.split("*")[0], []).append(f"{bare}:01")
    for locus, options in _HLA_CLASS2.items():
        out[locus] = sorted(f"{options[int(k)]}:01" for k in r.integers(0, len(options), 2))
    return json.dumps(out, indent=4) + "\n"


# --- drug screens on patient-derived organoids ---------------------------------------------

#: Default share of patients whose tumour gave a patient-derived organoid (PDO) with a drug
#: screen. tumorboard's own simulation choice: real establishment rates are lower and differ
#: by entity; 75 % gives every drug a cohort reference of at least 10 other models in the
#: demo cohort (the minimum the drug-screen layer scores against).
SCREEN_FRACTION = 0.75

#: CellTiter-Glo 3D readout of a 384-well organoid plate: mean luminescence (RLU) of the
#: DMSO wells and of the benzethonium chloride (dead-cell) wells, and the multiplicative
#: well-to-well noise (coefficient of variation). Simulation choices of the order seen with
#: the assay (Promega Technical Manual TM412, CellTiter-Glo 3D Cell Viability Assay, at
#: promega.com); with these levels a plate's Z'-factor is about 0.75.
SCREEN_NEGATIVE_RLU = 50_000.0
SCREEN_POSITIVE_RLU = 800.0
SCREEN_NOISE_CV = 0.08
#: Well noise of the one planted noisy model (treatment wells; its controls are ordinary).
SCREEN_NOISY_CV = 0.25
#: Well noise of the one planted plate with poor controls: Z' about 1 - 3 * 0.35 < 0.5
#: (the Z'-factor threshold of Zhang, Chung & Oldenburg, J Biomol Screen 1999,
#: doi:10.1177/108705719900400206).
SCREEN_QC_FAIL_CV = 0.35
#: Control wells per plate (one full 16-well column each), and log10 units spanned by the
#: tested concentrations of every drug.
SCREEN_CONTROL_WELLS = 16
SCREEN_LOG_RANGE = 4.0

_PLATE_ROWS = "ABCDEFGHIJKLMNOP"
_PLATE_COLUMNS = 24


@dataclass(frozen=True)
class ScreenDrug:
    """One drug of the simulated screening panel.

    ``names`` are the names the two simulated compound libraries give it (brand names,
    development codes, salts), so that readers and layers must canonicalise
    (:func:`tumorboard.knowledge.drugs.canonical_drug`); ``cmax_um`` is the top tested
    concentration, ``log10_ec50`` the cohort-typical EC50 (log10 µM) and ``bottom`` the
    range of the lower plateau (% viability) across the cohort.
    """

    inn: str
    names: tuple[str, str]
    cmax_um: float
    log10_ec50: float
    bottom: tuple[float, float] = (20.0, 60.0)


#: The screening panel. Tested ranges and cohort-typical EC50s are simulation choices of the
#: order of published in vitro potencies (nanomolar for trabectedin, eribulin, gemcitabine
#: and the antibody-drug conjugate; sub-micromolar for doxorubicin; micromolar for the
#: kinase inhibitors outside their target; around 100 µM for temozolomide), not fitted to
#: any data set. Trastuzumab deruxtecan (about 150 kDa) is dosed in µM like the others.
#: Lower plateaus: 5-30 % for the cytotoxic drugs (they kill most cells of a sensitive
#: model), 20-60 % for the targeted and cytostatic ones (CDK4/6, PARP and kinase
#: inhibitors leave many cells alive): together the 5-60 % of the cohort.
SCREEN_DRUGS: tuple[ScreenDrug, ...] = (
    ScreenDrug("doxorubicin", ("Doxorubicin hydrochloride", "Adriamycin"), 10.0, -1.5,
               (5.0, 30.0)),
    ScreenDrug("trabectedin", ("Trabectedin", "Yondelis"), 0.1, -3.0, (5.0, 30.0)),
    ScreenDrug("pazopanib", ("Votrient", "Pazopanib hydrochloride"), 30.0, 0.9),
    ScreenDrug("regorafenib", ("Regorafenib", "BAY 73-4506"), 30.0, 0.8),
    ScreenDrug("cabozantinib", ("Cabozantinib S-malate", "XL184"), 30.0, 0.7),
    ScreenDrug("palbociclib", ("PD-0332991", "Ibrance"), 10.0, 0.2),
    ScreenDrug("olaparib", ("Olaparib", "AZD2281"), 30.0, 1.0),
    ScreenDrug("imatinib", ("Imatinib mesylate", "Gleevec"), 30.0, 1.0),
    ScreenDrug("gemcitabine", ("Gemcitabine HCl", "Gemzar"), 1.0, -2.2, (5.0, 30.0)),
    ScreenDrug("eribulin", ("Eribulin mesylate", "E7389"), 0.1, -3.0, (5.0, 30.0)),
    ScreenDrug("temozolomide", ("Temozolomide", "Temodal"), 300.0, 2.0),
    ScreenDrug("trastuzumab deruxtecan", ("T-DXd", "DS-8201a"), 1.0, 0.8, (5.0, 30.0)),
)

#: Planted biomarker-driven sensitivities: (entity or target state, drug) -> log10 EC50 (µM).
#: Each follows a published rationale: KIT-mutant GIST and imatinib (Demetri et al., N Engl
#: J Med 2002, doi:10.1056/NEJMoa020461); CDK4-amplified dedifferentiated liposarcoma and
#: palbociclib (Dickson et al., J Clin Oncol 2013, doi:10.1200/JCO.2012.46.5476); the
#: MET up-regulation of ASPSCR1::TFE3 tumours and the MET/VEGFR inhibitor cabozantinib
#: (Tsuda et al., Cancer Res 2007, doi:10.1158/0008-5472.CAN-06-3393); EWSR1::FLI1 Ewing
#: sarcoma and the PARP inhibitor olaparib (Garnett et al., Nature 2012,
#: doi:10.1038/nature11003); KDR (VEGFR2) activation and the VEGFR inhibitor pazopanib
#: (van der Graaf et al., Lancet 2012, doi:10.1016/S0140-6736(12)60651-5). The EC50 values
#: are simulation choices about 1.5-2.5 log units below the cohort-typical ones.
_SCREEN_BIOMARKERS: dict[tuple[str, str], float] = {
    ("GIST", "imatinib"): -1.7,
    ("DDLS", "palbociclib"): -1.3,
    ("ASPS", "cabozantinib"): -1.0,
    ("ES", "olaparib"): -0.7,
    ("kdr_activated", "pazopanib"): -0.8,
}
#: Drugs active in most models (EC50 well inside the tested range), so that a flat curve is
#: a resistance worth flagging.
_SCREEN_USUALLY_ACTIVE = ("doxorubicin", "gemcitabine", "eribulin", "trabectedin")


@dataclass
class _ScreenPlan:
    """Cohort-level choices about one screened model (the planted oddities)."""

    model: str
    noisy: bool = False
    qc_fail: bool = False  # the model's second plate has poor controls
    partial: str | None = None  # drug (INN) whose EC50 lies above the top concentration
    resistant: list[str] = field(default_factory=list)  # drugs with a flat curve


def _biomarker_drugs(plan: _Plan) -> dict[str, float]:
    """Drugs planted as sensitive for a patient's molecular profile -> log10 EC50 (µM).

    Trastuzumab deruxtecan for ERBB2-expressing tumours is graded by the expression level
    and set in :func:`_screen_curves`; it is listed here with NaN.
    """
    drugs = {drug: ec50 for (key, drug), ec50 in _SCREEN_BIOMARKERS.items()
             if key == plan.entity.code or plan.targets.get(key)}
    if plan.targets.get("erbb2"):
        drugs["trastuzumab deruxtecan"] = float("nan")
    return drugs


def _plan_screens(seed: int, plans: list[_Plan], fraction: float) -> dict[str, _ScreenPlan]:
    """Which patients have a screened organoid, and where the oddities are planted.

    Per entity, ``floor(fraction * n + 0.5)`` patients are chosen by a seeded permutation
    (so that every entity with two or more patients is represented at the default 75 %).
    Among the screened models without a biomarker-driven sensitivity, one is noisy and one
    has a second plate with poor controls; among the others, one model gets a partial curve
    of a usually active drug (:data:`_SCREEN_USUALLY_ACTIVE`) and two models are flat
    (resistant) to one.
    """
    screened: list[_Plan] = []
    for ent_no, code in enumerate(ENTITIES, 1):
        members = [p for p in plans if p.entity.code == code]
        k = int(np.floor(fraction * len(members) + 0.5))
        if not k:
            continue
        chosen = _rng(seed, ent_no, _name_key("drug-screen")).permutation(len(members))[:k]
        screened.extend(members[int(i)] for i in chosen)
    screened.sort(key=lambda p: p.order)
    out = {p.pid: _ScreenPlan(model=f"PDO-{p.pid}") for p in screened}
    r = _rng(seed, _name_key("drug-screen-plants"))
    plain = [p.pid for p in screened if not _biomarker_drugs(p)]
    picks = [plain[int(i)] for i in r.permutation(len(plain))]
    if picks:
        out[picks[0]].noisy = True
    if len(picks) > 1:
        out[picks[1]].qc_fail = True
    others = [p for p in screened if p.pid not in picks[:2]]
    order = [others[int(i)] for i in r.permutation(len(others))]
    if order:
        # a partial curve of a drug that is potent in most models is an outlier worth seeing
        out[order[0].pid].partial = _SCREEN_USUALLY_ACTIVE[
            int(r.integers(len(_SCREEN_USUALLY_ACTIVE)))]
    for p in order[1:3]:
        out[p.pid].resistant.append(
            _SCREEN_USUALLY_ACTIVE[int(r.integers(len(_SCREEN_USUALLY_ACTIVE)))])
    return out


def _four_pl(
    log10_conc: np.ndarray | float, *, top: float, bottom: float, hill: float,
    log10_ec50: float,
) -> np.ndarray:
    """Viability (%) of a 4-parameter log-logistic dose-response curve.

    ``bottom + (top - bottom) / (1 + 10**(hill * (log10_conc - log10_ec50)))``: viability
    falls from ``top`` to ``bottom`` with a Hill slope ``hill`` > 0 around the inflection
    point ``log10_ec50`` (the 4PL model; Sebaugh, Pharm Stat 2011, doi:10.1002/pst.426).
    This is the curve the simulated screens are drawn from.
    """
    x = np.asarray(log10_conc, dtype=float)
    return bottom + (top - bottom) / (1.0 + np.power(10.0, hill * (x - log10_ec50)))


def _screen_curves(plan: _Plan, screen: _ScreenPlan, erbb2_log2: float,
                   r: np.random.Generator) -> dict[str, dict[str, Any]]:
    """True curve parameters and planted label of every drug for one model.

    Cohort distribution (simulation choices): log10 EC50 ~ N(drug-typical, 0.5), Hill slope
    U(0.8, 2.5), bottom uniform in the drug's range (:data:`SCREEN_DRUGS`, within 5-60 %),
    top N(100, 3) %. Labels: ``sensitive`` (biomarker-
    driven, :data:`_SCREEN_BIOMARKERS`; trastuzumab deruxtecan in ERBB2-expressing tumours,
    EC50 falling 0.9 log units per log2 TPM of ERBB2 above 5.5, following the MASTER DSRCT
    rationale, Renner, Oleś et al., Nat Commun 2026), ``flat`` (trastuzumab deruxtecan
    without ERBB2 expression: no effect in range), ``resistant`` (flat curve of a usually
    active drug), ``partial`` (EC50 0.4 log units above the top concentration), ``noisy``
    and ``qc_fail`` (set by the writer), else ``typical``.
    """
    n = len(SCREEN_DRUGS)
    shift = r.standard_normal(n)
    hill = r.uniform(0.8, 2.5, n)
    u_bottom = r.random(n)
    bottom = np.array([lo + (hi - lo) * u for (lo, hi), u in
                       zip((d.bottom for d in SCREEN_DRUGS), u_bottom, strict=True)])
    top = r.normal(100.0, 3.0, n)
    planted = _biomarker_drugs(plan)
    curves: dict[str, dict[str, Any]] = {}
    for i, drug in enumerate(SCREEN_DRUGS):
        c = {"top": float(top[i]), "bottom": float(bottom[i]), "hill": float(hill[i]),
             "log10_ec50": float(drug.log10_ec50 + 0.5 * shift[i]), "label": "typical"}
        if drug.inn == "trastuzumab deruxtecan":
            if drug.inn in planted:
                # a world without the ERBB2 gene (never the shipped ones): mid-range level
                level = erbb2_log2 if np.isfinite(erbb2_log2) else 6.5
                c["log10_ec50"] = float(-1.0 - 0.9 * (level - 5.5) + 0.2 * shift[i])
                c["bottom"] = float(5.0 + 0.5 * (bottom[i] - 5.0))
                c["label"] = "sensitive"
            else:
                c["bottom"], c["label"] = c["top"], "flat"
        elif drug.inn in planted:
            c["log10_ec50"] = float(planted[drug.inn] + 0.3 * shift[i])
            c["bottom"] = float(5.0 + 15.0 * u_bottom[i])
            c["label"] = "sensitive"
        elif drug.inn == screen.partial:
            c["log10_ec50"] = float(np.log10(drug.cmax_um) + 0.4)
            c["hill"] = float(max(hill[i], 1.2))
            c["label"] = "partial"
        elif drug.inn in screen.resistant:
            c["bottom"], c["label"] = c["top"], "resistant"
        curves[drug.inn] = c
    return curves


def _lognormal_noise(r: np.random.Generator, cv: float, n: int) -> np.ndarray:
    """Mean-one multiplicative noise with coefficient of variation ``cv`` (log-normal)."""
    sigma = np.sqrt(np.log1p(cv * cv))
    return np.exp(sigma * r.standard_normal(n) - sigma * sigma / 2)


def _z_prime(negative: np.ndarray, positive: np.ndarray) -> float:
    """Z'-factor 1 - 3 (sd_p + sd_n) / |mean_p - mean_n| (Zhang et al. 1999, sample SDs)."""
    spread = 3 * (np.std(positive, ddof=1) + np.std(negative, ddof=1))
    return float(1 - spread / abs(np.mean(positive) - np.mean(negative)))


def _drug_screen(plan: _Plan, screen: _ScreenPlan,
                 erbb2_log2: float) -> tuple[str, dict[str, Any]]:
    """A model's ``drug_screen.csv`` (raw CellTiter-Glo 3D luminescence) and its truth.

    Layout per model (drawn from the model's own random stream): one or two 384-well plates
    (drugs alternate between them), 2-3 replicates, 5-7 concentrations spanning
    :data:`SCREEN_LOG_RANGE` log units down from each drug's top concentration; per plate
    a column of 16 DMSO wells (column 1) and one of 16 benzethonium chloride wells (column
    24), treatments at randomised positions in columns 2-23 (randomised plate maps limit
    edge effects). Signal = positive + (negative - positive) * viability / 100, times
    log-normal noise. Even patients' files give ``concentration_um`` and the standard role
    words; odd ones give ``concentration`` in nM with a ``unit`` column, the other
    library's drug names and the short role words (``sample``, ``negative``, ``positive``).
    """
    r = plan.rng("drug_screen")
    curves = _screen_curves(plan, screen, erbb2_log2, r)
    n_plates = 2 if screen.qc_fail else 1 + int(r.random() < 0.5)
    replicates = int(r.integers(2, 4))
    n_conc = int(r.integers(5, 8))
    style = plan.order % 2
    plates = [f"{screen.model}-P{k}" for k in range(1, n_plates + 1)]
    roles = (("treatment", "negative_control", "positive_control"),
             ("sample", "negative", "positive"))[style]
    header = ["model", "plate", "well", "drug"]
    header += ["concentration_um"] if style == 0 else ["concentration", "unit"]
    header += ["role", "replicate", "signal"]
    slots = [(row, col) for col in range(2, _PLATE_COLUMNS) for row in range(len(_PLATE_ROWS))]
    lines: list[tuple[int, int, int, list[str]]] = []
    plate_truth = []
    for k, plate in enumerate(plates):
        bad = screen.qc_fail and k == 1
        control_cv = SCREEN_QC_FAIL_CV if bad else SCREEN_NOISE_CV
        well_cv = SCREEN_QC_FAIL_CV if bad else (
            SCREEN_NOISY_CV if screen.noisy else SCREEN_NOISE_CV)
        neg = SCREEN_NEGATIVE_RLU * float(np.exp(r.normal(0.0, 0.1)))
        pos = SCREEN_POSITIVE_RLU * float(np.exp(r.normal(0.0, 0.1)))
        neg_wells = np.rint(neg * _lognormal_noise(r, control_cv, SCREEN_CONTROL_WELLS))
        pos_wells = np.rint(pos * _lognormal_noise(r, control_cv, SCREEN_CONTROL_WELLS))
        for row in range(SCREEN_CONTROL_WELLS):
            for col, drug, role, value in ((1, "DMSO", roles[1], neg_wells[row]),
                                           (24, "Benzethonium chloride", roles[2],
                                            pos_wells[row])):
                conc = [""] if style == 0 else ["", ""]
                lines.append((k, row, col, [drug, *conc, role, "", str(int(value))]))
        treatments = []
        for i, drug in enumerate(SCREEN_DRUGS):
            if i % n_plates != k:
                continue
            c = curves[drug.inn]
            c["plate"] = plate
            c["drug_as_given"] = drug.names[style]
            c["cmax_um"] = drug.cmax_um
            c["cmin_um"] = drug.cmax_um / 10**SCREEN_LOG_RANGE
            c["noise_cv"] = well_cv
            if bad:
                c["label"] = "qc_fail"
            elif screen.noisy:
                c["label"] = "noisy"
            log_c = np.log10(drug.cmax_um) - SCREEN_LOG_RANGE * np.arange(n_conc) / (n_conc - 1)
            c["concentrations_um"] = [float(f"{10**x:.6g}") for x in log_c]
            for conc in c["concentrations_um"]:
                for rep in range(1, replicates + 1):
                    treatments.append((drug, conc, rep))
        expected = []
        for drug, conc, _rep in treatments:
            c = curves[drug.inn]
            v = float(_four_pl(np.log10(conc), top=c["top"], bottom=c["bottom"],
                                              hill=c["hill"], log10_ec50=c["log10_ec50"]))
            expected.append(pos + (neg - pos) * v / 100.0)
        values = np.rint(np.asarray(expected) * _lognormal_noise(r, well_cv, len(expected)))
        where = r.permutation(len(slots))[: len(treatments)]
        for (drug, conc, rep), value, slot in zip(treatments, values, where, strict=True):
            row, col = slots[int(slot)]
            given = [format(conc, ".6g")] if style == 0 else [format(conc * 1000, ".6g"), "nM"]
            lines.append((k, row, col, [drug.names[style], *given, roles[0], str(rep),
                                        str(int(value))]))
        z = _z_prime(neg_wells, pos_wells)
        plate_truth.append({"plate": plate, "negative_rlu": neg, "positive_rlu": pos,
                            "control_cv": control_cv, "z_prime": z,
                            "qc": "pass" if z >= 0.5 else "fail"})
    lines.sort(key=lambda item: item[:3])
    rows = [",".join([screen.model, plates[k], f"{_PLATE_ROWS[row]}{col:02d}", *cells])
            for k, row, col, cells in lines]
    text = "\n".join([",".join(header), *rows]) + "\n"
    truth = {"model": screen.model, "model_type": "organoid", "path": "drug_screen.csv",
             "assay": "CellTiter-Glo 3D", "replicates": replicates, "n_concentrations": n_conc,
             "concentration_unit": "uM" if style == 0 else "nM", "plates": plate_truth,
             "drugs": curves}
    return text, truth



# --- one patient -------------------------------------------------------------------------


def _formats_for(order: int) -> dict[str, Any]:
    return {
        "variants": "maf" if order % 7 == 3 else "vcf",
        "allele_specific": order % 4 == 1,
        "fusions": "star_fusion" if order % 4 == 2 else "arriba",
        "expression": "rsem" if order % 5 == 4 else "salmon",
        "epic_v2": order % 6 == 5,
        "hla": ("optitype", "arcashla", "case.yaml")[order % 3],
        "expression_gz": order % 3 == 1,
        "methylation_gz": order % 3 == 2,
    }


def _driver_keys(plan: _Plan) -> list[str]:
    code, i = plan.entity.code, plan.idx
    if code == "LMS":
        keys = [("TP53_R273H", "TP53_R248Q", "TP53_R213*", "TP53_R175H")[i % 4]]
        if i % 2 == 1:
            keys.append("RB1_R358*")
        return keys
    if code == "GIST":
        return [("KIT_W557_K558del", "KIT_V560D")[i % 2]]
    if code == "ES" and i % 3 == 2:
        return ["STAG2_R216*"]
    return []


@dataclass
class _PatientOutput:
    plan: _Plan
    hla: dict[str, Any] | None  # the case.yaml hla block, when no HLA file is given
    files: dict[str, tuple[str, dict[str, Any]]]  # layer -> (path, LayerFile fields)
    ms: _MsSample
    truth: PatientTruth
    # log2 TPM of ERBB2 in the tumour compartment: grades the planted T-DXd sensitivity
    erbb2_log2: float = float("nan")


def _simulate_patient(world: _World, plan: _Plan, out_dir: Path) -> _PatientOutput:
    fm = _formats_for(plan.order)
    case_dir = out_dir / plan.pid
    case_dir.mkdir(parents=True, exist_ok=True)
    tumour, normal = plan.tumour, plan.normal
    lab = plan.pid.replace("-", "")
    # Even patients: file sample names are the sample ids; odd: lab names (needs column:).
    lab_names = plan.order % 2 == 1
    in_file_tumour = f"{lab}_T1_WGS" if lab_names else tumour
    in_file_normal = f"{lab}_N_WGS" if lab_names else normal
    files: dict[str, tuple[str, dict[str, Any]]] = {}
    file_samples: dict[str, str] = {}

    def add(
        layer: str,
        path: str,
        fmt: str,
        tool: str,
        version: str,
        column: str | None,
        *,
        sample: str = "tumour",
    ) -> None:
        entry = _file_entry(layer, fmt, path, tool, version)
        if column is not None and column != (tumour if sample == "tumour" else normal):
            entry["column"] = column
        files[layer] = (sample, entry)
        file_samples[layer] = column or ""

    # copy number first: the VAFs depend on it
    segs, events = _copy_number(plan)

    def cn_at(chrom: str, pos: int) -> int:
        for c, a, b, cn, _ in segs:
            if c == chrom and a <= pos <= b:
                return cn
        return 2

    drivers = _driver_keys(plan)
    variants = _variant_table(world, plan, drivers, cn_at, n_noncoding=world.n_noncoding)
    run_date = plan.collection_date + dt.timedelta(days=30)
    if fm["variants"] == "vcf":
        path = f"dna/{tumour}.mutect2.filtered.vep.vcf.gz"
        text = _vcf_text(
            variants,
            tumour=in_file_tumour,
            normal=in_file_normal,
            normal_first=plan.order % 4 == 1,
            run_date=run_date,
        )
        _write_bgzf(case_dir / path, text)
        add("variants", path, "vcf", "GATK Mutect2 + Ensembl VEP", "4.4.0.0 / 110", in_file_tumour)
        if in_file_normal != normal:
            files["variants"][1]["normal_column"] = in_file_normal
    else:
        path = f"dna/{tumour}.somatic.maf"
        text = _maf_text(variants, tumour=in_file_tumour, normal=in_file_normal, r=plan.rng("maf"))
        _write_text(case_dir / path, text)
        add(
            "variants",
            path,
            "maf",
            "GDC DNA-Seq somatic workflow (MuTect2)",
            "gdc-1.0.0",
            in_file_tumour,
        )
    pass_nonsyn = variants[
        (variants["filter"] == "PASS") & variants["consequence"].isin(list(_NONSYN))
    ]
    tmb = round(len(pass_nonsyn) / TMB_TERRITORY_MB, 3)

    seg_name = in_file_tumour
    allele_specific = bool(fm["allele_specific"])
    path = f"dna/{tumour}.{'ascat' if allele_specific else 'cnvkit'}.seg"
    _write_text(
        case_dir / path,
        _seg_text(
            segs,
            name=seg_name,
            purity=plan.purity,
            sex=plan.sex,
            r=plan.rng("seg"),
            allele_specific=allele_specific,
            chr_prefix=plan.order % 2 == 0,
        ),
    )
    add(
        "copy_number",
        path,
        "seg",
        "ASCAT" if allele_specific else "CNVkit",
        "3.1.2" if allele_specific else "0.9.10",
        seg_name,
    )

    tumour_log2, tpm = _tumour_expression(world, plan)
    r = plan.rng("counts")
    total = float(r.integers(25_000_000, 45_000_000))
    reads = tpm * world.eff_length
    reads = reads / reads.sum() * total
    gz = ".gz" if fm["expression_gz"] else ""
    if fm["expression"] == "salmon":
        path = f"rna/{tumour}.quant.genes.sf{gz}"
        _write_text(case_dir / path, _salmon_text(world, tpm, reads))
        add("expression", path, "salmon", "salmon", "1.10.1", None)
    else:
        path = f"rna/{tumour}.genes.results{gz}"
        _write_text(case_dir / path, _rsem_text(world, tpm, reads, total))
        add("expression", path, "rsem", "RSEM", "1.3.3", None)

    calls = _fusion_calls(world, plan)
    if fm["fusions"] == "arriba":
        path = f"rna/{tumour}.arriba.fusions.tsv"
        _write_text(case_dir / path, _arriba_text(world, calls, plan.rng("arriba")))
        add("fusions", path, "arriba", "Arriba", "2.4.0", None)
    else:
        path = f"rna/{tumour}.star-fusion.fusion_predictions.abridged.tsv"
        _write_text(
            case_dir / path,
            _star_fusion_text(
                world, calls, plan.rng("starfusion"), total / 2, coding_effect=plan.order % 8 == 6
            ),
        )
        add("fusions", path, "star_fusion", "STAR-Fusion", "1.12.0", None)

    beta = _betas(world, plan)
    ids = world.probes["ids"]
    platform = "EPICv2" if fm["epic_v2"] else "EPIC"
    if fm["epic_v2"]:
        ids = ids + world.probes["suffix"]
    sentrix = f"2064{67010000 + 37 * plan.order:08d}_R0{1 + plan.order % 8}C01"
    column = sentrix if plan.order % 2 == 1 else tumour
    gz = ".gz" if fm["methylation_gz"] else ""
    path = f"methylation/{tumour}.{platform.lower()}.betas.tsv{gz}"
    _write_text(case_dir / path, _beta_text(ids, beta, column))
    add("methylation", path, "beta_matrix", "minfi (preprocessNoob)", "1.48.0", column)

    ms = _ms_sample(world, plan, tumour_log2)

    hla_mode = str(fm["hla"])
    hla_block = None
    if hla_mode == "optitype":
        path = f"dna/{normal}.optitype_result.tsv"
        _write_text(case_dir / path, _optitype_text(plan.hla, plan.rng("optitype")))
        add("hla", path, "optitype", "OptiType", "1.3.5", None, sample="normal")
    elif hla_mode == "arcashla":
        path = f"rna/{tumour}.genotype.json"
        _write_text(case_dir / path, _arcashla_text(plan.hla, plan.rng("arcashla")))
        add("hla", path, "arcashla", "arcasHLA", "0.6.0", None)
    else:
        hla_block = {
            "alleles": list(plan.hla),
            "sample": normal,
            "method": "PCR-SSO (clinical HLA laboratory)",
        }

    driver_text = [f"{plan.fusion.name} fusion"] if plan.fusion else []
    driver_text += [f"{_DRIVERS[k]['gene']} {_DRIVERS[k]['p']}" for k in drivers]
    driver_text += [
        e["event"] for e in events if "gain" not in e["event"] and "14q" not in e["event"]
    ]
    submitted_text, submitted_code = plan.submitted
    truth = PatientTruth(
        patient_id=plan.pid,
        entity=plan.entity.code,
        entity_name=plan.entity.name,
        submitted_histology=submitted_text,
        submitted_code=submitted_code,
        histology_contradicts=submitted_code != plan.entity.code,
        defining_fusion=plan.fusion.name if plan.fusion else None,
        fusion_breakpoints=(
            [
                f"{world.gene(plan.fusion.gene5)[0]}:{plan.fusion.breakpoint5}",
                f"{world.gene(plan.fusion.gene3)[0]}:{plan.fusion.breakpoint3}",
            ]
            if plan.fusion
            else []
        ),
        driver_alterations=driver_text,
        activated_kinases=_activated_kinases(plan),
        erbb2_expressed=plan.targets["erbb2"],
        erbb2_activated=False,
        cldn6_high=plan.targets["cldn6"],
        sstr2_high=plan.targets["sstr2"],
        sstr3_high=plan.targets["sstr3"],
        sstr5_high=plan.targets["sstr5"],
        kdr_activated=plan.targets["kdr_activated"],
        tyro3_high=plan.targets["tyro3"],
        tyro3_activated=plan.targets["tyro3_activated"],
        tmb=tmb,
        sex=plan.sex,
        age_at_diagnosis=plan.age,
        tumour_sample=tumour,
        normal_sample=normal,
        tumour_cell_content=plan.purity,
        hla_alleles=list(plan.hla),
        hla_source=hla_mode,
        formats={},
        files={},
        file_samples=file_samples,
        expression_batch=plan.expression_batch,
        proteome_batch=plan.proteome_batch,
        methylation_platform=platform,
        copy_number_events=events,
    )
    erbb2 = world.gene_pos.get("ERBB2")
    erbb2_log2 = float(tumour_log2[erbb2]) if erbb2 is not None else float("nan")
    return _PatientOutput(plan, hla_block, files, ms, truth, erbb2_log2)


def _file_entry(layer: str, fmt: str, path: str, tool: str, version: str) -> dict[str, Any]:
    """One ``files:`` entry of a sample in case.yaml."""
    return {"layer": layer, "format": fmt, "path": path, "tool": tool, "tool_version": version}


def _case_text(
    plan: _Plan,
    tumour_files: list[dict[str, Any]],
    normal_files: list[dict[str, Any]],
    *,
    title: str,
    hla: dict[str, Any] | None = None,
) -> str:
    """case.yaml of a planned patient: diagnosis as submitted, tumour and blood samples."""
    histology, code = plan.submitted
    case: dict[str, Any] = {
        "tumorboard_case": 1,
        "genome_build": GENOME_BUILD,
        "patient": {
            "id": plan.pid,
            "sex": plan.sex,
            "year_of_birth": plan.diagnosis_date.year - plan.age,
        },
        "diagnosis": {
            "histology": histology,
            "oncotree_code": code,
            "date": plan.diagnosis_date,
            "stage": plan.stage,
            "metastatic_sites": list(plan.metastatic_sites),
        },
        "clinical": {"ecog": plan.ecog, "prior_therapies": list(plan.prior)},
    }
    if hla:
        case["hla"] = hla
    normal: dict[str, Any] = {
        "id": plan.normal,
        "type": "normal",
        "site": "blood",
        "collection_date": plan.collection_date,
    }
    if normal_files:
        normal["files"] = normal_files
    case["samples"] = [
        {
            "id": plan.tumour,
            "type": "tumour",
            "site": plan.site,
            "origin": plan.origin,
            "collection_date": plan.collection_date,
            "tumour_cell_content": plan.purity,
            "files": sorted(tumour_files, key=lambda e: LAYERS.index(e["layer"])),
        },
        normal,
    ]
    return f"# {title}\n" + _yaml(case)


def _finish_case(out: _PatientOutput, out_dir: Path) -> None:
    """Write case.yaml once the batch-level (MS) files are in place."""
    plan = out.plan
    for layer in LAYERS:
        if layer in out.files:
            out.truth.formats[layer] = out.files[layer][1]["format"]
            out.truth.files[layer] = out.files[layer][1]["path"]
    text = _case_text(
        plan,
        [e for s, e in out.files.values() if s == "tumour"],
        [e for s, e in out.files.values() if s == "normal"],
        title=f"Simulated case (tumorboard.simulate, seed {plan.seed}); not a real patient.",
        hla=out.hla,
    )
    _write_text(out_dir / plan.pid / "case.yaml", text)


def _add_drug_screen(out: _PatientOutput, screen: _ScreenPlan, out_dir: Path) -> None:
    """Write a patient's ``drug_screen.csv``, list it under the tumour, record its truth."""
    text, truth = _drug_screen(out.plan, screen, out.erbb2_log2)
    _write_text(out_dir / out.plan.pid / truth["path"], text)
    entry = {"layer": "drug_screen", "format": "drug_screen", "path": truth["path"],
             "tool": "CellTiter-Glo 3D",
             "options": {"model": screen.model, "model_type": "organoid"}}
    out.files["drug_screen"] = ("tumour", entry)
    out.truth.file_samples["drug_screen"] = screen.model
    out.truth.drug_screen = truth


def _write_ms_batches(
    world: _World, outputs: list[_PatientOutput], out_dir: Path, seed: int
) -> None:
    batches: dict[int, list[_PatientOutput]] = {}
    for o in outputs:
        batches.setdefault(o.plan.proteome_batch, []).append(o)
    for batch, members in sorted(batches.items()):
        r = _rng(seed, 0x5A5A, batch)
        samples = [o.ms for o in members]
        # Files labelled MaxQuant 2.4 start with a UTF-8 byte-order mark, 1.6 ones do not.
        new_mq = batch % 2 == 0
        version = "2.4.2.0" if new_mq else "1.6.17.0"
        pg = _protein_groups_text(world, samples, r)
        ph = _phospho_sites_text(world, samples, r)
        gz = ".gz" if batch % 3 == 0 else ""
        for o in members:
            pg_path = f"proteome/MQ{batch:02d}/proteinGroups.txt{gz}"
            ph_path = f"proteome/MQ{batch:02d}/Phospho (STY)Sites.txt{gz}"
            _write_text(out_dir / o.plan.pid / pg_path, pg, bom=new_mq)
            _write_text(out_dir / o.plan.pid / ph_path, ph, bom=new_mq)
            for layer, path, fmt in (
                ("proteome", pg_path, "maxquant_proteingroups"),
                ("phosphoproteome", ph_path, "maxquant_phosphosites"),
            ):
                entry = _file_entry(layer, fmt, path, "MaxQuant", version)
                o.files[layer] = ("tumour", {**entry, "column": o.ms.name})
                o.truth.file_samples[layer] = o.ms.name


def simulate_cohort(
    out_dir: str | Path,
    *,
    seed: int = 20261122,
    n_dsrct: int = 30,
    others: dict[str, int] | None = None,
    size: str = "demo",
    screens: float = SCREEN_FRACTION,
) -> CohortTruth:
    """Write a simulated multi-omics sarcoma cohort, one case folder per patient.

    Parameters
    ----------
    out_dir
        Folder to write into (created if missing); gets ``<patient_id>/case.yaml`` with the
        layer files beside it, and ``truth.json``.
    seed
        Seed of every random choice about the patients; the same seed gives byte-identical
        files.
    n_dsrct
        Number of DSRCT patients.
    others
        Other entities: OncoTree code -> number of patients. Default: 3 SYNS, 3 ES,
        3 DDLS, 3 LMS, 2 GIST, 2 IMT, 2 ASPS. Codes must be keys of :data:`ENTITIES`.
    size
        ``"demo"`` (all ~20,000 protein-coding genes, 5,000 CpG probes, 2,000 proteins,
        3,000 phosphosites) or ``"small"`` (2,000 genes, 1,000 probes, 300 proteins, 400
        sites) for quick tests.
    screens
        Share of patients (0-1, per entity, rounded half up) with a drug screen of a
        patient-derived organoid ``PDO-<patient>``: ``drug_screen.csv`` beside case.yaml,
        listed under the tumour sample (:data:`SCREEN_DRUGS`, :func:`_drug_screen`). 0
        writes none, and then every file is what it was before screens existed. Screens
        use random streams of their own: the other files do not depend on ``screens``.

    Returns
    -------
    CohortTruth
        What was put into the data (also written to ``out_dir/truth.json``).

    Raises
    ------
    InputError
        For an unknown ``size`` or entity code, a seed or patient count that is not a
        whole number >= 0, or a ``screens`` share outside 0-1; the message lists what is
        allowed.

    Notes
    -----
    Formats cycle over the patients so that every reader is exercised: VCF (most) or GDC
    MAF, SEG with or without allele-specific columns and with or without ``chr``, Arriba or
    STAR-Fusion (some with ``--examine_coding_effect`` columns), salmon or RSEM, EPIC or
    EPICv2, OptiType, arcasHLA or HLA alleles in ``case.yaml``; some files are gzipped.
    Tumour samples of two consecutive patients share one MaxQuant run (a copy of the run's
    tables sits in each case folder; ``column:`` names the patient's experiment). The
    biology and its sources are in the module docstring.
    """
    if size not in COHORT_SIZES:
        raise InputError(
            f"unknown cohort size {size!r}",
            expected=" or ".join(repr(k) for k in COHORT_SIZES),
            fix="use size='demo' (all protein-coding genes) or size='small' (quick tests)",
        )
    others = dict(_DEFAULT_OTHERS if others is None else others)
    allowed = ", ".join(c for c in ENTITIES if c != "DSRCT")
    unknown = sorted(str(c) for c in set(others) - set(ENTITIES))
    if unknown or "DSRCT" in others:
        raise InputError(
            f"unknown entity code(s) in others: {', '.join(unknown) or 'DSRCT'}",
            expected=f"OncoTree codes among {allowed}",
            fix="give DSRCT patients with n_dsrct, the other entities by their code in others",
        )
    _check_count("seed", seed)
    _check_count("n_dsrct", n_dsrct)
    for code, count in others.items():
        _check_count(f"others[{code!r}]", count)
    _check_share("screens", screens,
                 why="give the share of patients with a screened organoid, e.g. 0.75; 0 for "
                     "none")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    world = _World(size)
    plans = _plan_cohort(seed, n_dsrct, others)
    screen_plans = _plan_screens(seed, plans, float(screens))
    outputs = [_simulate_patient(world, p, out) for p in plans]
    _write_ms_batches(world, outputs, out, seed)
    for o in outputs:
        if o.plan.pid in screen_plans:
            _add_drug_screen(o, screen_plans[o.plan.pid], out)
        _finish_case(o, out)
    truth = CohortTruth(seed=seed, size=size, patients=[o.truth for o in outputs])
    _write_text(out / "truth.json", truth.to_json())
    return truth


# --- one whole-genome-scale case --------------------------------------------------------


def write_large_case(
    out_dir: str | Path,
    *,
    seed: int = 20261122,
    n_variants: int = 1_000_000,
    n_genes: int = 60_000,
    n_cpgs: int = 850_000,
    n_proteins: int = 10_000,
    n_sites: int = 40_000,
) -> Path:
    """Write one DSRCT case at whole-genome scale, for benchmarks of the readers.

    Parameters
    ----------
    out_dir
        The case folder to write (created if missing): ``case.yaml`` and the layer files,
        side by side, for patient ``LARGE-001``.
    seed
        Seed of the random choices (same seed, same bytes).
    n_variants
        Somatic calls in the bgzipped Mutect2/VEP VCF (a whole genome has millions of
        germline and hundreds of thousands of somatic candidates before filtering).
    n_genes
        Genes in the salmon table (all GENCODE gene types, unique symbols; at most 61,217).
    n_cpgs
        CpG probes in the beta matrix (EPIC has about 850,000).
    n_proteins, n_sites
        Protein groups and phosphosites in the MaxQuant tables that a reader keeps: besides
        them the tables hold decoy (reverse) and contaminant rows and, in
        ``proteinGroups.txt``, 1 % more groups 'Only identified by site'.

    Returns
    -------
    Path
        The case folder (holding ``case.yaml``).

    Raises
    ------
    InputError
        For a seed that is not a whole number >= 0 or a count that is not a whole number
        from 1 to what the references allow (61,217 genes, 850,000 probes, the named
        protein-coding genes as proteins, one phosphosite per 10 residues of the proteins);
        the message gives the allowed range.
    """
    world = _World("demo")
    _check_count("seed", seed)
    _check_count("n_variants", n_variants, minimum=1)
    table = world.gene_table.drop_duplicates("symbol")
    _check_count("n_genes", n_genes, minimum=1, maximum=len(table))
    _check_count("n_cpgs", n_cpgs, minimum=1, maximum=_N_PROBES)
    n_named = int(world.pc_named.sum())
    _check_count(
        "n_proteins",
        n_proteins,
        minimum=1,
        maximum=n_named,
        why="there is one protein group per named protein-coding gene; lower n_proteins",
    )
    # A one-sample MaxQuant run lists only the groups and sites that sample identified, so
    # the universes are what it identified; the groups only identified by a modification
    # site come on top of n_proteins (the readers remove them).
    n_site_only = min(n_proteins // 100, n_named - n_proteins)
    world.n_proteins, world.n_sites = n_proteins + n_site_only, n_sites
    residues = int(world.proteins["length"].sum())
    _check_count(
        "n_sites",
        n_sites,
        minimum=1,
        maximum=residues // 10,
        why=f"at most one site per 10 residues of the {n_proteins:,} proteins: raise "
        "n_proteins or lower n_sites",
    )

    plan = _plan_cohort(seed, 1, {})[0]
    plan.pid = "LARGE-001"
    plan.targets.update(erbb2=True, cldn6=True, sstr2=True)
    dsrct = ENTITIES["DSRCT"]
    plan.submitted = (dsrct.histology, dsrct.code)
    plan.stage, plan.metastatic_sites = "metastatic", ["liver", "peritoneum"]
    plan.site, plan.origin = "peritoneum", "primary"
    plan.ecog, plan.prior = 1, [dsrct.therapies[0]]
    case_dir = Path(out_dir)
    case_dir.mkdir(parents=True, exist_ok=True)
    r = plan.rng("large")
    tumour, normal = plan.tumour, plan.normal

    # Variants: n_variants passengers and nothing else (DSRCT has no SNV drivers).
    n_coding = max(0, min(n_variants // 100, 20_000))
    # Draw a few extra so that exactly n_variants remain after dropping position clashes.
    extra = n_variants // 100 + 10
    pas = _passengers(world, r, n_coding, 0, max(0, n_variants - n_coding) + extra)
    pas = pas.drop_duplicates(subset=["chrom", "pos"]).iloc[:n_variants].reset_index(drop=True)
    n = len(pas)
    pas["filter"] = np.where(r.random(n) < 0.3, _FILTERS[r.integers(0, len(_FILTERS), n)], "PASS")
    pas["t_depth"] = r.poisson(60, n) + 10
    pas["t_alt"] = np.maximum(r.binomial(pas["t_depth"], 0.25), 2)
    pas["n_depth"] = r.poisson(35, n) + 8
    pas["n_alt"] = 0
    pas["tlod"] = np.round(pas["t_alt"] * 2.9, 2)
    pas["nlod"] = np.round(pas["n_depth"] * 0.28, 2)
    pas["popaf"] = 6.0
    pas["germq"] = 93
    pas["impact"] = pas["consequence"].map(_IMPACT)
    pas["order"] = pas["chrom"].map(_CHROM_ORDER)
    pas = pas.sort_values(["order", "pos"], kind="stable").reset_index(drop=True)
    vcf_path = f"{tumour}.mutect2.filtered.vep.vcf.gz"
    _write_bgzf(
        case_dir / vcf_path,
        _vcf_text(
            pas, tumour=tumour, normal=normal, normal_first=False, run_date=plan.collection_date
        ),
    )

    # Expression over all gene types.
    symbols = table["symbol"].to_numpy(dtype=object)[:n_genes]
    length = np.clip(r.lognormal(7.5, 0.7, n_genes), 200, 30_000)
    eff = np.maximum(length - 180.0, 20.0)
    tpm = np.exp2(r.normal(0, 3, n_genes))
    tpm = tpm / tpm.sum() * 1e6
    reads = tpm * eff
    reads = reads / reads.sum() * 40e6
    expr_path = f"{tumour}.quant.genes.sf"
    _write_text(
        case_dir / expr_path,
        _table(
            ["Name", "Length", "EffectiveLength", "TPM", "NumReads"],
            [
                list(symbols),
                _fmt(length, ".3f"),
                _fmt(eff, ".3f"),
                _fmt(tpm, ".6f"),
                _fmt(reads, ".3f"),
            ],
        ),
    )

    # Methylation.
    probes = _probe_universe(n_cpgs)
    profile = methylation_class_profile("DSRCT", probes["base"])
    mu = np.clip(0.7 * profile + 0.3 * probes["base"], 0.01, 0.99)
    beta = r.beta(mu * 40, (1 - mu) * 40)
    beta[r.random(len(beta)) < 0.002] = np.nan
    meth_path = f"{tumour}.epic.betas.tsv"
    _write_text(case_dir / meth_path, _beta_text(probes["ids"], beta, tumour))

    # Proteome and phosphoproteome.
    tumour_log2 = world.base + r.normal(0, 0.5, len(world.genes))
    plan.proteome_name = tumour
    ms = _ms_sample(world, plan, tumour_log2, missing=False)
    # Site-only groups among the SIM proteins, never a target or marker protein.
    only_site = np.zeros(len(world.proteins), bool)
    candidates = np.flatnonzero(world.proteins["accession"].str.startswith("SIM").to_numpy())
    only_site[r.choice(candidates, size=n_site_only, replace=False)] = True
    pg_path = "proteinGroups.txt"
    ph_path = "Phospho (STY)Sites.txt"
    _write_text(case_dir / pg_path, _protein_groups_text(world, [ms], r, only_site=only_site))
    _write_text(case_dir / ph_path, _phospho_sites_text(world, [ms], r))

    # Copy number, fusions, HLA.
    segs, _ = _copy_number(plan)
    seg_path = f"{tumour}.cnvkit.seg"
    _write_text(
        case_dir / seg_path,
        _seg_text(
            segs,
            name=tumour,
            purity=plan.purity,
            sex=plan.sex,
            r=r,
            allele_specific=False,
            chr_prefix=True,
        ),
    )
    fus_path = f"{tumour}.arriba.fusions.tsv"
    _write_text(case_dir / fus_path, _arriba_text(world, _fusion_calls(world, plan), r))
    hla_path = f"{normal}.optitype_result.tsv"
    _write_text(case_dir / hla_path, _optitype_text(plan.hla, r))

    tumour_files = [
        _file_entry("variants", "vcf", vcf_path, "GATK Mutect2 + Ensembl VEP", "4.4.0.0 / 110"),
        _file_entry("copy_number", "seg", seg_path, "CNVkit", "0.9.10"),
        _file_entry("fusions", "arriba", fus_path, "Arriba", "2.4.0"),
        _file_entry("expression", "salmon", expr_path, "salmon", "1.10.1"),
        _file_entry("methylation", "beta_matrix", meth_path, "minfi (preprocessNoob)", "1.48.0"),
        _file_entry("proteome", "maxquant_proteingroups", pg_path, "MaxQuant", "1.6.17.0"),
        _file_entry("phosphoproteome", "maxquant_phosphosites", ph_path, "MaxQuant", "1.6.17.0"),
    ]
    normal_files = [_file_entry("hla", "optitype", hla_path, "OptiType", "1.3.5")]
    text = _case_text(
        plan,
        tumour_files,
        normal_files,
        title="Simulated whole-genome-scale case (tumorboard.simulate.write_large_case).",
    )
    _write_text(case_dir / "case.yaml", text)
    return case_dir


# =====================================================================================
# Outcome records: therapy histories, RECIST, plasma ctDNA, and a simulated LAT registry
# =====================================================================================
#
# Everything below writes the outcomes template of :mod:`tumorboard.io.outcomes` (one CSV
# per table) as a pure function of a seed. Durations, response rates and effect sizes are
# SIMULATION choices made to look like sarcoma care; each regimen cites where it comes from.

#: Date up to which the demo cohort's histories are followed (the simulated data cut).
OUTCOMES_DATA_CUT = dt.date(2026, 9, 30)
#: Data cut of the simulated LAT registry (a simulation choice, 2.5 years after the last LAT).
LAT_DATA_CUT = dt.date(2024, 6, 30)
#: Days between two RECIST restaging scans: 8-12 weeks, the usual restaging interval in
#: sarcoma trials (RECIST 1.1, Eisenhauer et al., Eur J Cancer 2009;45:228-247,
#: doi:10.1016/j.ejca.2008.10.026, section 4.6, asks for protocol-defined intervals and
#: names 6-8 weeks as typical; 8-12 weeks is the simulation's choice for palliative lines).
RECIST_INTERVAL_DAYS = (56, 84)
#: Tracked variants per plasma sample and target depth of the tumour-informed panel
#: (simulation choices; the defaults of :func:`tumorboard.outcomes.ctdna.simulate_plasma`).
PLASMA_VARIANTS = 16
PLASMA_DEPTH = 20_000
#: Background error per base of error-suppressed deep sequencing, ~1e-4 (Newman et al., Nat
#: Biotechnol 2016;34:547-555, doi:10.1038/nbt.3520; Wan et al., Sci Transl Med
#: 2020;12:eaaz8084, doi:10.1126/scitranslmed.aaz8084).
PLASMA_ERROR_RATE = 1e-4
#: Days by which the plasma tumour fraction starts rising before radiological progression
#: (simulation choice, 3-10 weeks; ctDNA detects progression weeks to months before imaging,
#: e.g. Reinert et al., JAMA Oncol 2019;5:1124-1131, doi:10.1001/jamaoncol.2019.0528).
CTDNA_LEAD_DAYS = (21, 70)

_P6 = ("P6 protocol (VDC/IE)", "vincristine;doxorubicin;cyclophosphamide;ifosfamide;etoposide",
       "chemotherapy")

#: Standard lines per entity: (first line, intent, second line, a later unguided line) as
#: (regimen, agents, modality). Sources: P6 for DSRCT (Kushner et al., J Clin Oncol
#: 1996;14:1526-1531); VDC/IE for Ewing sarcoma (Grier et al., N Engl J Med 2003;348:694-701,
#: doi:10.1056/NEJMoa020890); irinotecan + temozolomide at relapse of DSRCT and Ewing sarcoma
#: (Wagner et al., Pediatr Blood Cancer 2007;48:132-139); doxorubicin +/- ifosfamide (Judson
#: et al., Lancet Oncol 2014;15:415-423, doi:10.1016/S1470-2045(14)70063-4); pazopanib
#: (PALETTE, van der Graaf et al., Lancet 2012;379:1879-1886,
#: doi:10.1016/S0140-6736(12)60651-5); trabectedin (Demetri et al., J Clin Oncol
#: 2016;34:786-793, doi:10.1200/JCO.2015.62.4734); eribulin (Schöffski et al., Lancet
#: 2016;387:1629-1637, doi:10.1016/S0140-6736(15)01283-0); imatinib then sunitinib for GIST
#: (Demetri et al., Lancet 2006;368:1329-1338, doi:10.1016/S0140-6736(06)69446-4);
#: crizotinib for ALK-rearranged IMT (Schöffski et al., Lancet Respir Med 2018;6:431-441,
#: doi:10.1016/S2213-2600(18)30116-4); atezolizumab for ASPS (Chen et al., N Engl J Med
#: 2023;389:911-921, doi:10.1056/NEJMoa2303383).
_ENTITY_LINES: dict[str, tuple[tuple[str, str, str], str, tuple[str, str, str],
                               tuple[str, str, str]]] = {
    "DSRCT": (_P6, "curative",
              ("irinotecan + temozolomide", "irinotecan;temozolomide", "chemotherapy"),
              ("high-dose ifosfamide", "ifosfamide", "chemotherapy")),
    "SYNS": (("doxorubicin + ifosfamide", "doxorubicin;ifosfamide", "chemotherapy"),
             "palliative", ("pazopanib", "pazopanib", "targeted_therapy"),
             ("trabectedin", "trabectedin", "chemotherapy")),
    "ES": (("VDC/IE", "vincristine;doxorubicin;cyclophosphamide;ifosfamide;etoposide",
            "chemotherapy"), "curative",
           ("irinotecan + temozolomide", "irinotecan;temozolomide", "chemotherapy"),
           ("high-dose ifosfamide", "ifosfamide", "chemotherapy")),
    "LMS": (("doxorubicin", "doxorubicin", "chemotherapy"), "palliative",
            ("trabectedin", "trabectedin", "chemotherapy"),
            ("gemcitabine + docetaxel", "gemcitabine;docetaxel", "chemotherapy")),
    "GIST": (("imatinib", "imatinib", "targeted_therapy"), "palliative",
             ("sunitinib", "sunitinib", "targeted_therapy"),
             ("regorafenib", "regorafenib", "targeted_therapy")),
    "DDLS": (("doxorubicin", "doxorubicin", "chemotherapy"), "palliative",
             ("eribulin", "eribulin", "chemotherapy"),
             ("trabectedin", "trabectedin", "chemotherapy")),
    "IMT": (("crizotinib", "crizotinib", "targeted_therapy"), "palliative",
            ("methotrexate + vinblastine", "methotrexate;vinblastine", "chemotherapy"),
            ("doxorubicin", "doxorubicin", "chemotherapy")),
    "ASPS": (("sunitinib", "sunitinib", "targeted_therapy"), "palliative",
             ("atezolizumab", "atezolizumab", "immunotherapy"),
             ("pazopanib", "pazopanib", "targeted_therapy")),
}

#: Median first-line PFS per entity in days (simulation choices in the range reported for
#: the regimens above; drawn log-normally around them).
_FIRST_LINE_PFS_DAYS = {"DSRCT": 420, "SYNS": 240, "ES": 480, "LMS": 190, "GIST": 720,
                        "DDLS": 160, "IMT": 540, "ASPS": 600}

#: Designed PFS-ratio classes of the MTB-guided lines, and the verdict
#: :func:`tumorboard.outcomes.pfsr.pfs_ratio` must give them (threshold 1.3, Von Hoff et al.,
#: J Clin Oncol 2010;28:4877-4883, doi:10.1200/JCO.2009.26.5983).
PFSR_CLASSES = {
    "benefit": "benefit",                  # PFS2 observed, PFS2/PFS1 in [1.7, 3.5]
    "no_benefit": "no_benefit",            # PFS2 observed, PFS2/PFS1 in [0.35, 1.0]
    "ongoing_benefit": "benefit",          # still on it, already >= 1.6 x PFS1
    "ongoing_early": "not_evaluable",      # still on it, below 1.3 x PFS1 (too early)
}


@dataclass
class _History:
    """The outcome rows of one patient, built in time order."""

    patient: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    lat: list[dict[str, Any]] = field(default_factory=list)
    recist: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    plasma: list[dict[str, Any]] = field(default_factory=list)
    death: dt.date | None = None
    last_followup: dt.date | None = None

    def line(self, regimen: str, agents: str, modality: str, intent: str, start: dt.date,
             stop: dt.date | None, stop_reason: str | None, progression: dt.date | None,
             *, guided: bool = False) -> int:
        number = len(self.lines) + 1
        self.lines.append({"patient": self.patient, "line": number, "regimen": regimen,
                           "agents": agents, "modality": modality, "intent": intent,
                           "start": start, "stop": stop, "stop_reason": stop_reason,
                           "progression": progression, "recommendation_id": None,
                           "mtb_guided": guided})
        if progression is not None:
            self.events.append({"patient": self.patient, "date": progression,
                                "kind": "progression",
                                "detail": f"radiological progression on line {number}"})
        return number

    def dates(self) -> list[dt.date]:
        out: list[dt.date] = []
        for row in self.lines:
            out += [d for d in (row["start"], row["stop"], row["progression"]) if d]
        out += [r["date"] for r in self.lat] + [r["assessment_date"] for r in self.recist]
        out += [r["collected"] for r in self.plasma] + [r["date"] for r in self.events]
        return out


def _days(d: dt.date, n: float) -> dt.date:
    return d + dt.timedelta(days=round(n))


def _uniform_days(r: np.random.Generator, lo: float, hi: float) -> int:
    return int(r.integers(int(lo), int(hi) + 1))


def _lognormal_days(r: np.random.Generator, median: float, sigma: float = 0.35,
                    lo: float = 45) -> float:
    return max(lo, float(median * np.exp(sigma * r.standard_normal())))


def _scan_dates(r: np.random.Generator, baseline: dt.date, end: dt.date, *,
                event: bool) -> list[dt.date]:
    """Restaging scans after ``baseline``: every 8-12 weeks, the last one on ``end`` when it
    is a progression (RECIST PD is dated by the scan that shows it), else up to ``end``."""
    span = (end - baseline).days
    lo, hi = RECIST_INTERVAL_DAYS
    if event:
        n = max(1, round(span / ((lo + hi) / 2)))
        while n > 1 and span / n < lo:
            n -= 1
        step = span / n
        scans = [_days(baseline, step * k + (r.integers(-4, 5) if k < n else 0))
                 for k in range(1, n + 1)]
        return sorted({d for d in scans if baseline < d <= end} | {end})
    out: list[dt.date] = []
    d = baseline
    while True:
        d = _days(d, _uniform_days(r, lo, hi))
        if d > end:
            return out
        out.append(d)


def _recist_line(h: _History, r: np.random.Generator, *, line: int, baseline: dt.date,
                 scans: list[dt.date], response: str, progression: dt.date | None,
                 sites: Sequence[str]) -> None:
    """Lesion measurements of one line: baseline and follow-up scans (RECIST 1.1).

    ``response`` is ``PR`` (at least 30 % below baseline from the first scan, so a PR is
    confirmed by the next scan >= 4 weeks later; section 4.6.1), ``SD`` (-25 % to +10 %) or
    ``PD`` (progression at the first scan). A scan on ``progression`` shows PD: the sum
    >= 20 % and >= 5 mm above the nadir (section 4.3.1), or an unequivocal new lesion.
    """
    # at most two targets per organ (RECIST 1.1 section 3.3)
    slots = [s for s in sites for _ in range(2)]
    n_targets = min(int(r.integers(1, 4)), len(slots))
    organs = [slots[i] for i in r.permutation(len(slots))[:n_targets]]
    base = np.round(r.uniform(14, 60, n_targets))
    non_target = r.random() < 0.5
    new_lesion = progression is not None and r.random() < 0.3

    def add(date: dt.date, sizes: np.ndarray | None, *, new: bool = False) -> None:
        for j in range(n_targets):
            h.recist.append({"patient": h.patient, "assessment_date": date,
                             "lesion_id": f"T{j + 1}", "kind": "target", "site": organs[j],
                             "lymph_node": False,
                             "diameter_mm": float(base[j] if sizes is None else sizes[j]),
                             "status": None, "line": line})
        if non_target:
            h.recist.append({"patient": h.patient, "assessment_date": date,
                             "lesion_id": "NT1", "kind": "non_target", "site": sites[-1],
                             "lymph_node": False, "diameter_mm": None, "status": "present",
                             "line": line})
        if new:
            h.recist.append({"patient": h.patient, "assessment_date": date,
                             "lesion_id": "N1", "kind": "new", "site": "liver",
                             "lymph_node": False, "diameter_mm": None, "status": "new",
                             "line": line})

    add(baseline, None)
    nadir = float(base.sum())
    level = {"PR": r.uniform(0.35, 0.62), "SD": r.uniform(0.78, 1.0),
             "PD": r.uniform(0.92, 1.0)}[response]
    for k, date in enumerate(scans):
        if progression is not None and date == progression:
            if new_lesion:
                sizes = np.maximum(np.round(base * max(level, 0.3) * r.uniform(0.97, 1.03)), 0)
                sizes = np.minimum(sizes, np.floor(base * 1.0))
                # stay below the PD threshold of the targets: the new lesion makes the PD
                limit = min(nadir * 1.19, nadir + 4.0)
                while sizes.sum() > limit:
                    sizes[int(np.argmax(sizes))] -= 1
                add(date, sizes, new=True)
            else:
                grow = max(1.25 * nadir, nadir + 6.0) * r.uniform(1.0, 1.25)
                sizes = np.ceil(base * grow / base.sum())
                add(date, sizes)
            return
        f = level if response != "SD" or k else r.uniform(0.85, 1.0)
        if response == "PR" and k == 0:
            f = min(f, 0.66)
        sizes = np.round(base * f * r.uniform(0.97, 1.03, n_targets))
        if response == "PR":
            while sizes.sum() > 0.69 * base.sum():
                sizes[int(np.argmax(sizes))] -= 1
        # never a PD before the progression date: stay under 1.2 x nadir and nadir + 5 mm
        while sizes.sum() >= min(1.2 * nadir, nadir + 5.0) - 1e-9 and sizes.sum() > nadir:
            sizes[int(np.argmax(sizes))] -= 1
        sizes = np.maximum(sizes, 0)
        add(date, sizes)
        nadir = min(nadir, float(sizes.sum()))
        level = f


def _tf_curve(r: np.random.Generator, start: dt.date, progression: dt.date | None, *,
              responder: bool) -> tuple[float, Any]:
    """Tumour fraction over time on one line: falls on response, rises before progression.

    Log-linear fall from the start to a nadir at 6 weeks (100-300-fold for responders,
    2-5-fold otherwise), flat, then a log-linear rise that begins a lead time
    (:data:`CTDNA_LEAD_DAYS`) before radiological progression and reaches about the
    pre-treatment level on the progression date (simulation choices).
    """
    tf0 = 10 ** r.uniform(-2.0, -0.9)
    nadir = tf0 * 10 ** (r.uniform(-2.5, -2.0) if responder else r.uniform(-0.7, -0.3))
    lead = _uniform_days(r, *CTDNA_LEAD_DAYS)
    peak = tf0 * 10 ** r.uniform(-0.2, 0.2)

    def tf(day: dt.date) -> float:
        t = (day - start).days
        if t <= 0:
            return tf0
        log0, logn = np.log10(tf0), np.log10(nadir)
        value = log0 + (logn - log0) * min(t, 42) / 42
        if progression is not None:
            rise_from = (progression - start).days - lead
            if t > rise_from:
                ceiling = np.log10(peak)
                rise = (ceiling - logn) * (t - rise_from) / lead
                value = max(value, logn + rise)
        return float(min(10 ** value, 0.9))

    return float(lead), tf


def _plasma_series(h: _History, r: np.random.Generator, *, start: dt.date,
                   progression: dt.date | None, end: dt.date, responder: bool) -> dict:
    """2-5 plasma samples of one line with 16 tracked variants each (ctDNA model of
    :mod:`tumorboard.outcomes.ctdna`: alt ~ Binomial(depth, e + (1 - e) TF w))."""
    lead, tf = _tf_curve(r, start, progression, responder=responder)
    chroms = r.choice([f"chr{i}" for i in range(1, 23)], size=PLASMA_VARIANTS)
    variants = []
    for c in chroms:
        ref = str(r.choice(list("ACGT")))
        alt = str(r.choice([b for b in "ACGT" if b != ref]))
        variants.append(f"{c}:{int(r.integers(1_000_000, 45_000_000))}:{ref}>{alt}")
    vaf = np.round(r.uniform(0.2, 0.5, PLASMA_VARIANTS), 3)
    error = PLASMA_ERROR_RATE * np.exp(0.3 * r.standard_normal(PLASMA_VARIANTS))
    days = [_days(start, -_uniform_days(r, 0, 7)), _days(start, _uniform_days(r, 21, 42))]
    optional = []
    if progression is not None:
        # at least half-way into the rise, so that it shows before the scan does
        optional.append(_days(progression, -_uniform_days(r, 7, max(8, lead // 2))))
        optional.append(progression)
    optional.append(_days(start, _uniform_days(r, 70, 120)))
    n = int(r.integers(2, 6))
    days += optional[: n - 2]
    days = sorted({d for d in days if d <= end and (h.death is None or d <= h.death)})
    for k, day in enumerate(days, start=1):
        depth = np.maximum(5_000, np.round(r.normal(PLASMA_DEPTH, 2_000, PLASMA_VARIANTS)))
        depth = depth.astype(np.int64)
        mutant = r.binomial(depth, tf(day) * vaf)
        alt = mutant + r.binomial(depth - mutant, error)
        for j in range(PLASMA_VARIANTS):
            h.plasma.append({"patient": h.patient, "sample": f"{h.patient}-PL{k}",
                             "collected": day, "variant": variants[j],
                             "alt_reads": int(alt[j]), "depth": int(depth[j]),
                             "tumour_vaf": float(vaf[j]), "background_error": None})
    return {"patient": h.patient, "samples": len(days), "lead_time_days": lead,
            "progression": progression.isoformat() if progression else None}


def _guided_choice(p: PatientTruth, r: np.random.Generator, had: set[str]
                   ) -> tuple[str, str, str, str]:
    """The MTB-guided therapy chosen from the patient's molecular truth.

    KDR (VEGFR2) activation → a VEGFR inhibitor (pazopanib, PALETTE, doi:10.1016/
    S0140-6736(12)60651-5; regorafenib, REGOSARC, Mir et al., Lancet Oncol 2016;17:1732-1742,
    doi:10.1016/S1470-2045(16)30507-1); ERBB2 expressed → trastuzumab deruxtecan and SSTR2
    high → 177Lu-DOTATATE (the MASTER DSRCT rationale, Renner, Oleś et al., Nat Commun 2026;
    NETTER-1, Strosberg et al., N Engl J Med 2017;376:125-135, doi:10.1056/NEJMoa1607427);
    ALK fusion → alectinib; CDK4 amplification → palbociclib (Dickson et al., J Clin Oncol
    2013;31:2024-2028, doi:10.1200/JCO.2012.46.5476); KIT mutation → ripretinib (INVICTUS,
    Blay et al., Lancet Oncol 2020;21:923-934, doi:10.1016/S1470-2045(20)30168-6); synovial
    sarcoma with HLA-A*02 (MAGE-A4 is simulated high) → afamitresgene autoleucel
    (SPEARHEAD-1, D'Angelo et al., Lancet 2024, doi:10.1016/S0140-6736(24)00319-2); else a
    checkpoint-inhibitor trial (nivolumab + ipilimumab, D'Angelo et al., Lancet Oncol
    2018;19:416-426, doi:10.1016/S1470-2045(18)30006-8). Returns regimen, agents, modality
    and the target that justified it.
    """
    drivers = " ".join(p.driver_alterations)
    if p.kdr_activated:
        drug = "regorafenib" if "pazopanib" in had else "pazopanib"
        return drug, drug, "targeted_therapy", "KDR activated"
    options = []
    if p.erbb2_expressed:
        options.append(("trastuzumab deruxtecan", "trastuzumab deruxtecan",
                        "antibody_drug_conjugate", "ERBB2 expressed"))
    if p.sstr2_high:
        options.append(("177Lu-DOTATATE", "lutetium Lu 177 dotatate", "radionuclide_therapy",
                        "SSTR2 high"))
    if options:
        # the board ranks ERBB2 first more often (simulation choice, 70 %)
        if len(options) == 2 and r.random() < 0.3:
            return options[1]
        return options[0]
    fusion = p.defining_fusion or ""
    if "ALK" in fusion:
        return "alectinib", "alectinib", "targeted_therapy", f"{fusion} fusion"
    if "CDK4" in drivers:
        return "palbociclib", "palbociclib", "targeted_therapy", "CDK4 amplification"
    if "KIT" in drivers:
        return "ripretinib", "ripretinib", "targeted_therapy", "KIT mutation"
    if p.entity == "SYNS" and any(a.startswith("HLA-A*02") for a in p.hla_alleles):
        return ("afamitresgene autoleucel (afami-cel)", "afamitresgene autoleucel",
                "cellular_therapy", "MAGE-A4 with HLA-A*02")
    return ("nivolumab + ipilimumab (trial)", "nivolumab;ipilimumab", "immunotherapy",
            "no matched target: checkpoint-inhibitor trial")


def _patient_plans(truth: CohortTruth) -> dict[str, _Plan]:
    """Re-plan the cohort from its seed to recover diagnosis and sample dates.

    Raises
    ------
    InputError
        When a patient of ``truth`` is not what :func:`simulate_cohort` planned for its seed.
    """
    counts: dict[str, int] = {}
    for p in truth.patients:
        counts[p.entity] = counts.get(p.entity, 0) + 1
    plans = {pl.pid: pl for pl in _plan_cohort(truth.seed, counts.pop("DSRCT", 0), counts)}
    for p in truth.patients:
        pl = plans.get(p.patient_id)
        if pl is None or pl.sex != p.sex or pl.age != p.age_at_diagnosis:
            raise InputError(
                f"patient {p.patient_id} of the truth is not one simulate_cohort planned for "
                f"seed {truth.seed}",
                expected="the CohortTruth returned by simulate_cohort (or its truth.json)",
                fix="pass the truth of the simulated cohort whose patients get the outcomes")
    return plans


def _cut(h: _History, cut: dt.date) -> None:
    """Administrative censoring at the data cut: nothing after it is known."""
    for row in h.lines:
        if row["stop"] is not None and row["stop"] > cut:
            row["stop"], row["stop_reason"] = None, None
        if row["progression"] is not None and row["progression"] > cut:
            row["progression"] = None
    h.lines = [row for row in h.lines if row["start"] <= cut]
    h.lat = [row for row in h.lat if row["date"] <= cut]
    h.recist = [row for row in h.recist if row["assessment_date"] <= cut]
    h.plasma = [row for row in h.plasma if row["collected"] <= cut]
    h.events = [row for row in h.events if row["date"] <= cut]
    if h.death is not None and h.death > cut:
        h.death = None
        h.last_followup = cut
    if h.last_followup is not None and h.last_followup > cut:
        h.last_followup = cut
    # lines numbered past the cut are gone; recist rows refer to remaining lines only
    kept = {row["line"] for row in h.lines}
    h.recist = [row for row in h.recist if row["line"] in kept]


def _write_csv(path: Path, columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
    """CSV with ``\\n`` line ends, ISO dates, yes/no booleans and empty missing cells."""
    import csv
    import io

    def cell(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, bool | np.bool_):
            return "yes" if v else "no"
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, float):
            return format(v, ".10g") if not v.is_integer() else str(int(v))
        return str(v)

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    _write_text(path, buf.getvalue())


def _template_columns(name: str) -> list[str]:
    from tumorboard.io.outcomes import TEMPLATE

    return [c.name for c in TEMPLATE[name]]


def _write_tables(out: Path, tables: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    keys = {"patients": ("patient",), "lines": ("patient", "line"),
            "local_therapies": ("patient", "date", "modality", "site"),
            "recist": ("patient", "assessment_date", "line", "kind", "lesion_id"),
            "events": ("patient", "date", "kind"),
            "plasma": ("patient", "collected", "sample", "variant")}
    counts = {}
    for name, rows in tables.items():
        rows = sorted(rows, key=lambda row: tuple(row[k] for k in keys[name]))
        _write_csv(out / f"{name}.csv", _template_columns(name), rows)
        counts[name] = len(rows)
    return counts


def simulate_outcomes(
    out_dir: str | Path,
    truth: CohortTruth,
    *,
    seed: int = 20261122,
    start: dt.date = dt.date(2019, 1, 1),
    data_cut: dt.date = OUTCOMES_DATA_CUT,
) -> dict[str, Any]:
    """Write simulated therapy histories of a simulated cohort as outcomes-template CSVs.

    Writes ``lines.csv``, ``local_therapies.csv``, ``recist.csv``, ``events.csv`` and
    ``plasma.csv`` (the tables of :data:`tumorboard.io.outcomes.TEMPLATE`) for the patients
    of ``truth``, who are expected to be in the registry already (no ``patients.csv``).
    Histories start at each patient's diagnosis date (re-planned from ``truth.seed`` as
    :func:`simulate_cohort` drew it):

    * **DSRCT**: P6 (VDC/IE, curative; Kushner et al., J Clin Oncol 1996;14:1526-1531),
      cytoreductive surgery with cisplatin HIPEC for 60 % (Hayes-Jordan et al., Ann Surg
      Oncol 2018;25:872-877, doi:10.1245/s10434-018-6333-9), whole-abdominopelvic
      radiotherapy 30 Gy for half of those (Desai et al., Int J Radiat Oncol Biol Phys
      2013;85:e67-e72, doi:10.1016/j.ijrobp.2012.09.005; 20 fractions of 1.5 Gy is the
      simulation's schedule), maintenance
      vinorelbine + oral cyclophosphamide for half (Bisogno et al., Lancet Oncol
      2019;20:1566-1575, doi:10.1016/S1470-2045(19)30617-5), irinotecan + temozolomide or
      pazopanib at progression. Other entities follow :data:`_ENTITY_LINES`.
    * **MTB-guided line** (``mtb_guided`` yes) for about two thirds of the patients, after
      the second line, chosen from the truth (:func:`_guided_choice`); it starts after the
      tumour sample was profiled (collection + 4-8 weeks) and not before ``start``, the
      opening of the molecular tumour board. Its PFS is designed against the PFS of the line
      before (PFS1) in the classes :data:`PFSR_CLASSES` (observed ratio >= 1.3, observed
      ratio < 1.3, ongoing already >= 1.3 x PFS1, ongoing below it), cycled over the guided
      patients as benefit, no benefit, ongoing benefit, ongoing early, benefit, no benefit;
      a class the data cut cannot accommodate falls back to an ongoing one.
    * One patient has a line stopped for toxicity after 3-6 weeks, one a zero-length line
      (stopped on its first day), one a very short last line ended by death; some patients
      die (nothing is recorded after a death), the living have a last follow-up event.
    * RECIST 1.1 lesion measurements per systemic line (:func:`_recist_line`): 1-3 targets,
      scans every 8-12 weeks, PR confirmed for responders, PD on the line's progression date.
    * Plasma for about half the patients: 2-5 samples around the guided (else the second)
      line, 16 tracked variants (synthetic ids ``chrN:pos:REF>ALT``, not the case's VCF
      variants), depth ~20,000, tumour fraction falling on response and rising a lead time
      before progression (:func:`_tf_curve`), background errors ~1e-4 (not written: the
      registry does not know them).
    * Lung or liver metastases are treated with local ablative therapy (SBRT, metastasectomy
      or microwave ablation) at first progression for some patients.

    Parameters
    ----------
    out_dir
        Folder for the CSV files (created).
    truth
        The :class:`CohortTruth` of :func:`simulate_cohort` (or read from its truth.json).
    seed
        Seed of every random choice; the same seed and truth give byte-identical files.
    start
        Opening of the molecular tumour board programme: no guided line starts earlier.
    data_cut
        Nothing after this date is written (:data:`OUTCOMES_DATA_CUT`).

    Returns
    -------
    dict
        ``rows`` (rows per table), ``patients``, ``deaths``, ``guided`` (one dict per guided
        line: patient, line, regimen, target, designed_class, expected_verdict, pfs1_days,
        pfs2_days, pfs2_event), ``toxicity``, ``zero_length``, ``short_before_death``
        (patient, line), ``plasma`` (patient, samples, lead_time_days), ``data_cut``.

    Raises
    ------
    InputError
        A seed that is not a whole number >= 0, or a truth that is not a simulated cohort.
    """
    _check_count("seed", seed)
    plans = _patient_plans(truth)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    patients = [p.patient_id for p in truth.patients]
    n = len(patients)
    cr = _rng(seed, _name_key("outcomes-cohort"))
    order = [patients[i] for i in cr.permutation(n)]
    guided_ids = order[: round(2 * n / 3)]
    # every class among the first four guided patients; then observed outcomes twice as
    # often as ongoing ones (simulation choice)
    cycle = ("benefit", "no_benefit", "ongoing_benefit", "ongoing_early", "benefit",
             "no_benefit")
    classes = {pid: cycle[k % len(cycle)] for k, pid in enumerate(guided_ids)}
    unguided = order[len(guided_ids):]
    special = unguided + guided_ids[::-1]
    toxicity_id = special[0] if special else None
    zero_id = special[1] if len(special) > 1 else None
    plasma_ids = set(order[::2])
    summary: dict[str, Any] = {"guided": [], "toxicity": [], "zero_length": [],
                               "short_before_death": [], "plasma": []}
    tables: dict[str, list[dict[str, Any]]] = {k: [] for k in
                                               ("lines", "local_therapies", "recist",
                                                "events", "plasma")}
    deaths = 0
    short_death_done = False
    for p in truth.patients:
        pid = p.patient_id
        plan = plans[pid]
        r = _rng(seed, _name_key(pid), _name_key("outcomes"))
        h = _History(pid)
        first, intent, second, third = _ENTITY_LINES.get(p.entity, _ENTITY_LINES["LMS"])
        sites = list(plan.metastatic_sites) or [plan.site]
        lesion_sites = sorted({*sites, plan.site})
        d0 = plan.diagnosis_date
        # --- first line (block) -----------------------------------------------------
        s1 = _days(d0, _uniform_days(r, 14, 35))
        pfs_first = _lognormal_days(r, _FIRST_LINE_PFS_DAYS.get(p.entity, 240), lo=120)
        is_dsrct = p.entity == "DSRCT"
        chemo_days = _uniform_days(r, 147, 190) if intent == "curative" else \
            _uniform_days(r, 84, 126)
        if p.entity in ("GIST", "IMT", "ASPS"):
            chemo_days = None  # continuous kinase or checkpoint inhibition until progression
        block_end = s1 if chemo_days is None else _days(s1, chemo_days)
        local: list[tuple[str, str, str, str, int, int]] = []
        if is_dsrct and r.random() < 0.6:
            local.append(("cytoreductive surgery + HIPEC (cisplatin)", "cisplatin",
                          "cytoreductive_surgery_hipec", "curative", 21, 0))
            if r.random() < 0.5:
                local.append(("whole-abdominopelvic radiotherapy 30 Gy / 20 fx", "",
                              "whole_abdominopelvic_radiotherapy", "consolidation", 35, 27))
        elif p.entity == "ES" and r.random() < 0.6:
            local.append(("local control surgery", "", "surgery", "curative", 14, 0))
        maintenance = is_dsrct and r.random() < 0.5
        p1 = _days(s1, max(pfs_first, (block_end - s1).days + 60 * (1 + len(local))
                           + (90 if maintenance else 0)))
        if chemo_days is None:
            h.line(first[0], first[1], first[2], intent, s1, p1, "progression", p1)
            recist_line, recist_start, recist_end = 1, s1, p1
        else:
            last = len(local) == 0 and not maintenance
            h.line(first[0], first[1], first[2], intent, s1, block_end, "completed",
                   p1 if last else None)
            recist_line, recist_start, recist_end = 1, s1, (p1 if last else block_end)
        t = block_end
        for k, (reg, agents, modality, lintent, gap, length) in enumerate(local):
            ls = _days(t, gap + _uniform_days(r, 0, 14))
            le = _days(ls, length)
            last = k == len(local) - 1 and not maintenance
            h.line(reg, agents, modality, lintent, ls, le, "completed", p1 if last else None)
            t = le
        if maintenance:
            ms = _days(t, _uniform_days(r, 21, 35))
            me = min(p1, _days(ms, 365))
            h.line("vinorelbine + oral cyclophosphamide", "vinorelbine;cyclophosphamide",
                   "maintenance", "maintenance", ms, me,
                   "progression" if me == p1 else "completed", p1)
        responder = r.random() < (0.75 if is_dsrct else 0.4)
        base = _days(recist_start, -_uniform_days(r, 3, 14))
        scans = _scan_dates(r, base, recist_end, event=recist_end == p1)
        _recist_line(h, r, line=recist_line, baseline=base, scans=scans,
                     response="PR" if responder else "SD",
                     progression=p1 if recist_end == p1 else None, sites=lesion_sites)
        prev_prog = p1
        # --- local ablative therapy at first progression ---------------------------------
        next_start = _days(p1, _uniform_days(r, 14, 28))
        lat_sites = [s for s in sites if s in ("lung", "liver")]
        if lat_sites and r.random() < 0.4:
            organ = lat_sites[0]
            when = _days(p1, _uniform_days(r, 14, 35))
            if organ == "lung":
                modality, technique, dose, fx = (("radiotherapy", "SBRT", 15.0, 3)
                                                 if r.random() < 0.6 else
                                                 ("surgery", "metastasectomy", None, None))
            else:
                modality, technique, dose, fx = (("thermal_ablation", "microwave ablation",
                                                  None, None) if r.random() < 0.5 else
                                                 ("radiotherapy", "SBRT", 7.0, 5))
            h.lat.append({"patient": pid, "date": when, "modality": modality,
                          "technique": technique,
                          "site": "lung" if organ == "lung" else "extrapulmonary",
                          "organ": organ, "lesion_count": int(r.integers(1, 4)),
                          "largest_diameter_mm": float(r.integers(8, 31)),
                          "dose_per_fraction_gy": dose, "fractions": fx,
                          "with_systemic": False})
            next_start = _days(when, _uniform_days(r, 14, 28))
        # --- second line ---------------------------------------------------------------
        guided_choice = _guided_choice(p, r, set()) if pid in classes else None
        reg2 = second
        if is_dsrct and r.random() < 0.3 and not (guided_choice and "pazopanib"
                                                  in guided_choice[1]):
            reg2 = ("pazopanib", "pazopanib", "targeted_therapy")
        s2 = next_start
        pfs2nd = _lognormal_days(r, 150, lo=56)
        p2 = _days(s2, pfs2nd)
        line2 = h.line(reg2[0], reg2[1], reg2[2], "palliative", s2, p2, "progression", p2)
        base = _days(s2, -_uniform_days(r, 1, min(10, (s2 - prev_prog).days - 1)))
        resp2 = "PR" if r.random() < 0.25 else "SD"
        _recist_line(h, r, line=line2, baseline=base,
                     scans=_scan_dates(r, base, p2, event=True), response=resp2,
                     progression=p2, sites=lesion_sites)
        pfs1 = float((p2 - s2).days)
        prev_prog, t = p2, p2
        ongoing_until: dt.date | None = None
        plasma_line: tuple[dt.date, dt.date | None, dt.date, bool] = (s2, p2, p2, resp2 == "PR")
        had = {reg2[1]}
        # --- the MTB-guided line -------------------------------------------------------
        if guided_choice is not None:
            regimen, agents, modality, target = _guided_choice(p, r, had)
            ready = _days(plan.collection_date, _uniform_days(r, 28, 56))
            g = max(_days(p2, _uniform_days(r, 14, 35)), ready, start)
            room = (data_cut - g).days
            cls = classes[pid]
            if cls == "benefit" and room < 1.7 * pfs1 + 45:
                cls = "ongoing_benefit"
            if cls == "no_benefit" and room < 1.0 * pfs1 + 45:
                cls = "ongoing_early"
            if cls == "ongoing_benefit" and room < 1.6 * pfs1 + 10:
                cls = "ongoing_early"
            if room < 60:
                cls = None
            if cls is not None:
                if cls == "benefit":
                    ratio = r.uniform(1.7, min(3.5, (room - 45) / pfs1))
                elif cls == "no_benefit":
                    ratio = r.uniform(0.35, min(1.0, (room - 45) / pfs1))
                elif cls == "ongoing_benefit":
                    ratio = r.uniform(1.6, min(2.8, (room - 10) / pfs1))
                else:
                    ratio = r.uniform(0.3, 0.9)
                end = _days(g, max(1.0, ratio * pfs1))
                observed = not cls.startswith("ongoing")
                number = h.line(regimen, agents, modality, "palliative", g,
                                end if observed else None,
                                "progression" if observed else None,
                                end if observed else None, guided=True)
                base = _days(g, -_uniform_days(r, 1, min(10, (g - prev_prog).days - 1)))
                good = cls in ("benefit", "ongoing_benefit")
                _recist_line(h, r, line=number, baseline=base,
                             scans=_scan_dates(r, base, end, event=observed),
                             response="PR" if good else ("SD" if observed and r.random() < 0.6
                                                         else "PD" if observed else "SD"),
                             progression=end if observed else None, sites=lesion_sites)
                summary["guided"].append({
                    "patient": pid, "line": number, "regimen": regimen, "target": target,
                    "designed_class": cls, "expected_verdict": PFSR_CLASSES[cls],
                    "pfs1_days": pfs1, "pfs2_days": float((end - g).days),
                    "pfs2_event": observed})
                plasma_line = (g, end if observed else None, end, good)
                had.add(agents)
                if observed:
                    prev_prog, t = end, end
                else:
                    ongoing_until = end
        # --- later lines: toxicity, zero-length, and the end of the story ------------------
        if ongoing_until is None:
            if pid == toxicity_id:
                ts = _days(t, _uniform_days(r, 14, 28))
                te = _days(ts, _uniform_days(r, 21, 42))
                number = h.line("pazopanib" if "pazopanib" not in had else "cabozantinib",
                                "pazopanib" if "pazopanib" not in had else "cabozantinib",
                                "targeted_therapy", "palliative", ts, te, "toxicity", None)
                summary["toxicity"].append({"patient": pid, "line": number})
                t = te
            if pid == zero_id:
                zs = _days(t, _uniform_days(r, 14, 28))
                number = h.line("gemcitabine + docetaxel", "gemcitabine;docetaxel",
                                "chemotherapy", "palliative", zs, zs, "patient_choice", None)
                summary["zero_length"].append({"patient": pid, "line": number})
                t = zs
            if pid in (toxicity_id, zero_id) or r.random() < 0.4:
                s3 = _days(t, _uniform_days(r, 14, 28))
                p3 = _days(s3, _lognormal_days(r, 110, lo=50))
                number = h.line(third[0], third[1], third[2], "palliative", s3, p3,
                                "progression", p3)
                base = _days(s3, -_uniform_days(r, 1, min(10, (s3 - t).days - 1)))
                _recist_line(h, r, line=number, baseline=base,
                             scans=_scan_dates(r, base, p3, event=True), response="SD",
                             progression=p3, sites=lesion_sites)
                t = p3
            dies = r.random() < 0.55 or classes.get(pid) == "no_benefit"
            if dies and not short_death_done and pid not in (toxicity_id, zero_id):
                ss = _days(t, _uniform_days(r, 14, 21))
                h.death = _days(ss, _uniform_days(r, 5, 20))
                number = h.line("best available chemotherapy (cyclophosphamide, oral)",
                                "cyclophosphamide", "chemotherapy", "palliative", ss,
                                h.death, "death", None)
                summary["short_before_death"].append({"patient": pid, "line": number})
                short_death_done = True
            elif dies:
                h.death = _days(t, _uniform_days(r, 30, 270))
            else:
                h.last_followup = _days(t, _uniform_days(r, 30, 200))
        else:
            h.last_followup = ongoing_until
        if pid in plasma_ids:
            s, prog, end, good = plasma_line
            summary["plasma"].append(_plasma_series(h, r, start=s, progression=prog,
                                                    end=end, responder=good))
        if h.death is not None:
            h.events.append({"patient": pid, "date": h.death, "kind": "death",
                             "detail": "died of progressive disease"})
        _cut(h, data_cut)
        if h.death is None:
            h.last_followup = max([h.last_followup or data_cut, *h.dates()])
            h.events = [e for e in h.events if e["kind"] != "last_followup"]
            h.events.append({"patient": pid, "date": h.last_followup, "kind": "last_followup",
                             "detail": "alive at last contact"})
        else:
            deaths += 1
        for name in tables:
            tables[name] += getattr(h, "lat" if name == "local_therapies" else name)
    kept = {(row["patient"], row["line"]) for row in tables["lines"]}
    summary["guided"] = [g for g in summary["guided"] if (g["patient"], g["line"]) in kept]
    counts = _write_tables(out, tables)
    summary.update(rows=counts, patients=n, deaths=deaths, data_cut=data_cut.isoformat())
    return summary


#: Histologies of the simulated LAT registry: (OncoTree code, histology text, share).
#: Shares are SIMULATION choices resembling metastatic soft-tissue sarcoma series
#: (leiomyosarcoma most common, then undifferentiated pleomorphic sarcoma, synovial sarcoma
#: and liposarcomas); every code below "rare" is a rare histology of the model.
LAT_HISTOLOGIES: tuple[tuple[str, str, float], ...] = (
    ("LMS", "Leiomyosarcoma", 0.30),
    ("MFH", "Undifferentiated pleomorphic sarcoma", 0.15),
    ("SYNS", "Synovial sarcoma", 0.12),
    ("MRLS", "Myxoid liposarcoma", 0.07),
    ("DDLS", "Dedifferentiated liposarcoma", 0.06),
    ("LIPO", "Liposarcoma, NOS", 0.04),
    # rare
    ("ANGS", "Angiosarcoma", 0.035),
    ("MPNST", "Malignant peripheral nerve sheath tumour", 0.035),
    ("SFT", "Solitary fibrous tumour, malignant", 0.03),
    ("ASPS", "Alveolar soft part sarcoma", 0.025),
    ("EMCHS", "Extraskeletal myxoid chondrosarcoma", 0.02),
    ("CCS", "Clear cell sarcoma", 0.02),
    ("EPIS", "Epithelioid sarcoma", 0.02),
    ("ESS", "Endometrial stromal sarcoma, high grade", 0.02),
    ("PLRMS", "Pleomorphic rhabdomyosarcoma", 0.015),
    ("LGFMS", "Low-grade fibromyxoid sarcoma", 0.015),
    ("SARCNOS", "Sarcoma, NOS", 0.02),
)
_LAT_COMMON = frozenset({"LMS", "MFH", "SYNS", "MRLS", "DDLS", "LIPO"})

#: True log hazard ratios of the simulated LAT registry (SIMULATION choices, not published
#: figures; only their directions follow the study group's findings, see
#: :func:`simulate_lat_registry`). ``systemic_young_many``: systemic therapy with LAT in
#: patients aged <= 60 with >= 4 lesions; ``systemic_young_many_large``: the additional
#: effect there when the largest lesion is > 20 mm.
LAT_COEFFICIENTS: dict[str, dict[str, float]] = {
    "pfs": {"tfi_ge_12_months": -0.6, "extrapulmonary": -0.5, "rare_histology": 0.5,
            "other_modality": 0.5, "lesions_per_lesion": 0.08, "systemic_young_many": -0.5,
            "systemic_young_many_large": -0.4, "age_per_decade_over_55": 0.0},
    "os": {"tfi_ge_12_months": -0.6, "extrapulmonary": -0.5, "rare_histology": 0.6,
           "other_modality": 0.4, "lesions_per_lesion": 0.08, "systemic_young_many": -0.2,
           "systemic_young_many_large": -0.2, "age_per_decade_over_55": 0.15},
}
#: Weibull baselines ``h0(t) = lam * k * t**(k - 1)`` (t in days) of the LAT registry:
#: median 15 months (PFS) and 9 years (OS) at all covariates 0 (simulation choices that
#: give a cohort median OS above 5 years).
LAT_WEIBULL = {"pfs": {"shape": 1.0, "median_days": 15 * 30.4375},
               "os": {"shape": 1.3, "median_days": 9 * 365.25}}


def _weibull_times(r: np.random.Generator, linear: np.ndarray, *, shape: float,
                   median_days: float) -> np.ndarray:
    """Event times of a Weibull proportional-hazards model by inversion.

    ``T = (-log U / (lam exp(x'b)))**(1/k)`` with ``lam = log 2 / median**k`` (Bender,
    Augustin & Blettner, Stat Med 2005;24:1713-1723, doi:10.1002/sim.2059).
    """
    lam = np.log(2) / median_days**shape
    u = r.random(len(linear))
    return (-np.log(u) / (lam * np.exp(linear))) ** (1 / shape)


def simulate_lat_registry(
    out_dir: str | Path,
    *,
    n_patients: int = 246,
    seed: int = 2024,
    start: dt.date = dt.date(2017, 1, 1),
    data_cut: dt.date = LAT_DATA_CUT,
) -> dict[str, Any]:
    """Write a SIMULATED multicentre registry of local ablative therapy (LAT) in sarcoma.

    Mimics the design of the sarcoma study group's retrospective multicentre cohort:
    patients with metastatic soft-tissue sarcoma given LAT (surgery, radiotherapy, thermal
    ablation) of their metastases on a tumour board's advice between ``start`` and five
    years later, followed to a data cut (:data:`LAT_DATA_CUT`, 2024-06-30), with a median OS
    above 5 years (Eur J Surg Oncol, 08/2024; reference not verified here, as in
    :func:`tumorboard.outcomes.survival.subgroup_analyses`). None of the patients is real.

    Writes ``patients.csv`` (``SIM-LAT-001`` …; histologies :data:`LAT_HISTOLOGIES`),
    ``local_therapies.csv`` (one LAT per patient at time zero, and a repeat LAT at
    progression for some; SBRT 3 x 15 Gy or 5 x 7 Gy, or conventional 10 x 3 Gy),
    ``lines.csv`` (0-3 systemic lines before the LAT, which set the treatment-free interval,
    and the systemic line given with the LAT when ``with_systemic`` is yes) and
    ``events.csv`` (progression, death, last follow-up).

    Model (all numbers are SIMULATION choices, not published figures; only the directions
    follow the study group's findings): PFS and OS from Weibull proportional-hazards models
    (:func:`_weibull_times`, Bender et al. 2005, doi:10.1002/sim.2059) with the log hazard
    ratios :data:`LAT_COEFFICIENTS` and baselines :data:`LAT_WEIBULL`: a treatment-free
    interval >= 12 months is better (PFS and OS log HR -0.6), extrapulmonary LAT better
    (-0.5), rare histologies worse (+0.5 / +0.6), LAT other than surgery or radiotherapy
    worse (+0.5 / +0.4), every lesion adds +0.08, systemic therapy with the LAT improves PFS
    of patients aged <= 60 with >= 4 lesions (-0.5), more so when the largest lesion is
    > 2 cm (another -0.4), and age adds +0.15 per decade over 55 to the OS hazard.
    Progression is recorded when it comes before death and censoring; censoring is
    administrative at the data cut, or loss to follow-up (10 % of patients, uniform 6-60
    months after LAT). Covariates: age ~ N(55, 12) in [18, 85]; site lung 60 %; modality
    surgery 45 %, radiotherapy 40 %, thermal ablation 15 %; lesions 1-8 (decreasing
    frequencies); largest diameter log-normal, median 18 mm; systemic with LAT 35 %;
    treatment-free interval log-normal, median 12 months.

    Returns
    -------
    dict
        ``coefficients`` (the true log HRs, :data:`LAT_COEFFICIENTS`), ``weibull``,
        ``rows`` (rows per table), ``events`` (PFS and OS events), ``patients``,
        ``data_cut``.

    Raises
    ------
    InputError
        A patient count or seed that is not a whole number (patients 1-999).
    """
    _check_count("n_patients", n_patients, minimum=1, maximum=999,
                 why="ids are SIM-LAT-001 to SIM-LAT-999")
    _check_count("seed", seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    r = _rng(seed, _name_key("lat-registry"))
    n = n_patients
    codes = [c for c, _, _ in LAT_HISTOLOGIES]
    shares = np.array([w for _, _, w in LAT_HISTOLOGIES])
    histology = r.choice(len(codes), size=n, p=shares / shares.sum())
    age = np.clip(np.round(r.normal(55, 12, n)), 18, 85)
    sex = np.where(r.random(n) < 0.5, "female", "male")
    lat_day = r.integers(0, (dt.date(start.year + 5, start.month, start.day) - start).days, n)
    extrapulmonary = r.random(n) >= 0.6
    modality = r.choice(["surgery", "radiotherapy", "thermal_ablation"], size=n,
                        p=[0.45, 0.40, 0.15])
    lesions = r.choice(np.arange(1, 9), size=n,
                       p=np.array([35, 20, 12, 10, 8, 6, 5, 4]) / 100)
    diameter = np.clip(np.round(18 * np.exp(0.5 * r.standard_normal(n))), 5, 80)
    systemic = r.random(n) < 0.35
    tfi = np.clip(12 * 30.4375 * np.exp(0.8 * r.standard_normal(n)), 45, 8 * 365.25)
    n_prior = r.choice([0, 1, 2, 3], size=n, p=[0.25, 0.45, 0.2, 0.1])
    rare = np.array([codes[i] not in _LAT_COMMON for i in histology])
    other = modality == "thermal_ablation"
    young_many = (age <= 60) & (lesions >= 4)
    large = diameter > 20
    x = {"tfi_ge_12_months": (tfi >= 12 * 30.4375).astype(float),
         "extrapulmonary": extrapulmonary.astype(float), "rare_histology": rare.astype(float),
         "other_modality": other.astype(float), "lesions_per_lesion": lesions.astype(float),
         "systemic_young_many": (systemic & young_many).astype(float),
         "systemic_young_many_large": (systemic & young_many & large).astype(float),
         "age_per_decade_over_55": (age - 55) / 10}
    times = {}
    for endpoint, coef in LAT_COEFFICIENTS.items():
        linear = sum(coef[k] * x[k] for k in coef)
        times[endpoint] = np.maximum(1.0, _weibull_times(r, linear, **LAT_WEIBULL[endpoint]))
    lost = r.random(n) < 0.10
    lost_after = r.uniform(6, 60, n) * 30.4375
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in
                                             ("patients", "local_therapies", "lines", "events")}
    n_pfs = n_os = 0
    for i in range(n):
        pid = f"SIM-LAT-{i + 1:03d}"
        pr = _rng(seed, _name_key(pid))
        t0 = _days(start, lat_day[i])
        admin = (data_cut - t0).days
        censor = min(admin, lost_after[i]) if lost[i] else admin
        death_day = times["os"][i] if times["os"][i] <= censor else None
        end = death_day if death_day is not None else censor
        prog_day = times["pfs"][i] if times["pfs"][i] < end else None
        death = _days(t0, death_day) if death_day is not None else None
        last = _days(t0, end)
        n_os += death is not None
        n_pfs += prog_day is not None or death is not None
        # prior lines: the last one stops a treatment-free interval before the LAT
        line_rows = []
        prior_stop = _days(t0, -tfi[i])
        spans = []
        stop = prior_stop
        for _ in range(int(n_prior[i])):
            begin = _days(stop, -_uniform_days(pr, 63, 180))
            spans.append((begin, stop))
            stop = _days(begin, -_uniform_days(pr, 60, 400))
        spans.reverse()
        first_treatment = spans[0][0] if spans else t0
        # without prior lines the interval runs from the diagnosis (the registry's rule)
        diagnosis = (_days(first_treatment, -_uniform_days(pr, 20, 120)) if spans
                     else prior_stop)
        code = codes[histology[i]]
        regimens = [("doxorubicin", "doxorubicin"), ("doxorubicin + ifosfamide",
                                                     "doxorubicin;ifosfamide"),
                    ("gemcitabine + docetaxel", "gemcitabine;docetaxel"),
                    ("trabectedin", "trabectedin"), ("pazopanib", "pazopanib")]
        for k, (begin, stop) in enumerate(spans):
            reg, agents = regimens[min(k, len(regimens) - 1)]
            line_rows.append({"regimen": reg, "agents": agents,
                              "modality": "targeted_therapy" if reg == "pazopanib"
                              else "chemotherapy", "intent": "palliative", "start": begin,
                              "stop": stop, "stop_reason": "completed", "progression": None})
        if spans:
            # the line before the LAT stopped at progression (that is why LAT came up)
            line_rows[-1]["stop_reason"] = "progression"
            line_rows[-1]["progression"] = spans[-1][1]
        progression = _days(t0, prog_day) if prog_day is not None else None
        if systemic[i]:
            # started within six weeks of the LAT, and before any progression or death
            s = min(d for d in (_days(t0, _uniform_days(pr, 7, 42)), progression, death)
                    if d is not None)
            planned = _days(s, _uniform_days(pr, 84, 150))
            stops = [d for d in (planned, progression, death) if d is not None]
            stop = min(stops)
            reason = ("progression" if stop == progression else
                      "death" if stop == death else "completed")
            if stop > last:
                stop, reason = None, None
            line_rows.append({"regimen": "doxorubicin (with LAT)", "agents": "doxorubicin",
                              "modality": "chemotherapy", "intent": "adjuvant", "start": s,
                              "stop": stop, "stop_reason": reason, "progression": progression})
        for k, row in enumerate(line_rows, start=1):
            rows["lines"].append({"patient": pid, "line": k, "recommendation_id": None,
                                  "mtb_guided": False, **row})
        organ = (str(pr.choice(["liver", "bone", "soft tissue", "adrenal gland", "lymph node"]))
                 if extrapulmonary[i] else "lung")
        technique, dose, fx = {
            "surgery": ("metastasectomy", None, None),
            "thermal_ablation": (str(pr.choice(["radiofrequency ablation",
                                                "microwave ablation", "cryoablation"])),
                                 None, None),
        }.get(str(modality[i]), (None, None, None))
        if modality[i] == "radiotherapy":
            technique, dose, fx = [("SBRT", 15.0, 3), ("SBRT", 7.0, 5),
                                   ("conventional", 3.0, 10)][int(pr.choice(3, p=[.45, .4, .15]))]
        rows["local_therapies"].append({
            "patient": pid, "date": t0, "modality": str(modality[i]), "technique": technique,
            "site": "extrapulmonary" if extrapulmonary[i] else "lung", "organ": organ,
            "lesion_count": int(lesions[i]), "largest_diameter_mm": float(diameter[i]),
            "dose_per_fraction_gy": dose, "fractions": fx, "with_systemic": bool(systemic[i])})
        if progression is not None:
            rows["events"].append({"patient": pid, "date": progression, "kind": "progression",
                                   "detail": "radiological progression"})
            repeat = _days(progression, _uniform_days(pr, 21, 60))
            if pr.random() < 0.25 and repeat < last:
                rows["local_therapies"].append({
                    "patient": pid, "date": repeat, "modality": "radiotherapy",
                    "technique": "SBRT", "site": "extrapulmonary" if extrapulmonary[i]
                    else "lung", "organ": organ, "lesion_count": 1,
                    "largest_diameter_mm": float(pr.integers(8, 30)),
                    "dose_per_fraction_gy": 7.0, "fractions": 5, "with_systemic": False})
        if death is not None:
            rows["events"].append({"patient": pid, "date": death, "kind": "death",
                                   "detail": "death"})
        else:
            rows["events"].append({"patient": pid, "date": last, "kind": "last_followup",
                                   "detail": "lost to follow-up" if lost[i] and censor < admin
                                   else "alive at data cut"})
        rows["patients"].append({"patient": pid, "sex": str(sex[i]),
                                 "year_of_birth": int(t0.year - age[i]),
                                 "histology": LAT_HISTOLOGIES[histology[i]][1],
                                 "oncotree_code": code, "diagnosis_date": diagnosis})
    counts = _write_tables(out, rows)
    return {"patients": n, "coefficients": {k: dict(v) for k, v in LAT_COEFFICIENTS.items()},
            "weibull": {k: dict(v) for k, v in LAT_WEIBULL.items()}, "rows": counts,
            "events": {"pfs": int(n_pfs), "os": int(n_os)}, "data_cut": data_cut.isoformat()}
