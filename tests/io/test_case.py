"""case.yaml: structure, vocabularies and the line numbers in error messages."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tumorboard.errors import CaseValidationError
from tumorboard.io.case import read_case

GOOD = """\
tumorboard_case: 1
genome_build: GRCh38
patient:
  id: DSRCT-001
  sex: male
  year_of_birth: 1999
diagnosis:
  histology: Desmoplastic small round cell tumour
  oncotree_code: dsrct
  date: 2024-03-01
  stage: metastatic
  metastatic_sites: [peritoneum, liver]
clinical:
  ecog: 1
  prior_therapies: ["VDC/IE 2024"]
hla:
  alleles: ["A*02:01", "A*24:02"]
samples:
  - id: DSRCT-001-T1
    type: tumour
    origin: primary
    tumour_cell_content: 0.7
    files:
      - layer: variants
        format: vcf
        path: somatic.vcf
        column: TUMOR
        normal_column: NORMAL
  - id: DSRCT-001-N
    type: normal
"""


def _case(tmp_path: Path, text: str, files: tuple[str, ...] = ("somatic.vcf",)) -> Path:
    (tmp_path / "case.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    for f in files:
        (tmp_path / f).write_text("##fileformat=VCFv4.2\n")
    return tmp_path


def _problems(tmp_path: Path) -> list[str]:
    with pytest.raises(CaseValidationError) as info:
        read_case(tmp_path)
    assert "Nothing was written." in str(info.value)
    return [p.message for p in info.value.problems]


def test_good_case_parses(tmp_path: Path) -> None:
    case = read_case(_case(tmp_path, GOOD))
    assert case.patient.id == "DSRCT-001"
    assert case.diagnosis.oncotree_code == "DSRCT"  # normalised to upper case
    assert case.samples[0].files[0].assay_label == "variants"
    assert case.build_of(case.samples[0].files[0]) == "GRCh38"
    assert case.hla_sample == "DSRCT-001-N"
    assert str(case.diagnosis.date) == "2024-03-01"


def test_unknown_oncotree_code_names_line_and_near_codes(tmp_path: Path) -> None:
    [msg] = _problems(_case(tmp_path, GOOD.replace("oncotree_code: dsrct", "oncotree_code: DSRTC")))
    assert "case.yaml:9" in msg and "'DSRTC' is not an OncoTree code" in msg and "DSRCT" in msg


def test_duplicate_sample_ids(tmp_path: Path) -> None:
    [msg] = _problems(_case(tmp_path, GOOD.replace("id: DSRCT-001-N", "id: DSRCT-001-T1")))
    assert "duplicate sample id(s) DSRCT-001-T1" in msg


def test_missing_file_is_named_with_its_line(tmp_path: Path) -> None:
    [msg] = _problems(_case(tmp_path, GOOD, files=()))
    assert "case.yaml:26" in msg and "file 'somatic.vcf'" in msg and "does not exist" in msg
    assert "sample 'DSRCT-001-T1'" in msg


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    text = (GOOD.replace("tumour_cell_content: 0.7", "tumour_cell_content: 70")
            .replace("format: vcf", "format: vcf\n        colour: red")
            .replace("sex: male", "sex: m"))
    msgs = _problems(_case(tmp_path, text))
    assert len(msgs) == 3
    assert any("patient.sex" in m and "case.yaml:5" in m for m in msgs)
    assert any("tumour_cell_content" in m and "less than or equal to 1" in m for m in msgs)
    assert any("colour: unknown key" in m for m in msgs)


def test_format_must_fit_layer_and_build_must_be_known(tmp_path: Path) -> None:
    text = GOOD.replace("layer: variants", "layer: expression").replace(
        "genome_build: GRCh38", "genome_build: hg42")
    msgs = _problems(_case(tmp_path, text))
    assert any("format 'vcf' is a variants format, not expression" in m for m in msgs)
    assert any("unknown genome build 'hg42'" in m for m in msgs)


def test_coordinate_formats_need_a_build(tmp_path: Path) -> None:
    [msg] = _problems(_case(tmp_path, GOOD.replace("genome_build: GRCh38\n", "")))
    assert "no genome build for vcf file 'somatic.vcf'" in msg


def test_path_outside_case_folder_is_refused(tmp_path: Path) -> None:
    case_dir = tmp_path / "case"
    case_dir.mkdir()
    (tmp_path / "elsewhere.vcf").write_text("x")
    [msg] = _problems(_case(case_dir, GOOD.replace("path: somatic.vcf", "path: ../elsewhere.vcf"),
                            files=()))
    assert "outside the case folder" in msg


def test_invalid_yaml_and_missing_manifest(tmp_path: Path) -> None:
    (tmp_path / "case.yaml").write_text("patient:\n  id: [unclosed\n")
    [msg] = _problems(tmp_path)
    assert "not valid YAML" in msg
    empty = tmp_path / "empty"
    empty.mkdir()
    [msg] = _problems(empty)
    assert "no case.yaml" in msg


def test_pseudonymous_ids_only(tmp_path: Path) -> None:
    [msg] = _problems(_case(tmp_path, GOOD.replace("id: DSRCT-001\n", "id: Jane Doe\n")))
    assert "patient.id" in msg and "pseudonymous" in msg
