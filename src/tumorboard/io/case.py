"""The case folder manifest, ``case.yaml``: patient, diagnosis, samples and their layer files.

The full format, with a complete example, is in ``docs/formats.md``. :func:`read_case` parses
and checks the manifest itself (types, vocabularies, OncoTree code, that named files exist);
reading the layer files is the intake's job.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tumorboard import reference
from tumorboard.errors import CaseValidationError, InputError
from tumorboard.io._yaml import line_of, read_yaml_with_lines, strip_lines, validation_problems
from tumorboard.io.formats import FORMATS, LAYERS

CASE_FILE = "case.yaml"
CASE_FORMAT_VERSION = 1

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(
            "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit "
            "(a pseudonymous id, never a name or hospital number)"
        )
    return value


class Patient(_Model):
    id: str
    sex: Literal["female", "male", "other", "unknown"] = "unknown"
    year_of_birth: int | None = Field(default=None, ge=1900, le=2100)

    _id = field_validator("id")(_check_id)


class Diagnosis(_Model):
    histology: str = Field(min_length=1, description="histology as submitted by pathology")
    oncotree_code: str
    date: dt.date | None = None
    stage: Literal["localised", "metastatic", "unknown"] = "unknown"
    metastatic_sites: list[str] = Field(default_factory=list)

    @field_validator("oncotree_code")
    @classmethod
    def _known_code(cls, value: str) -> str:
        try:
            return reference.tumour_type(value).code
        except InputError as exc:
            raise ValueError(exc.message) from exc


class Clinical(_Model):
    ecog: int | None = Field(default=None, ge=0, le=5, description="ECOG performance status")
    prior_therapies: list[str] = Field(default_factory=list)


class HlaTyping(_Model):
    alleles: list[str] = Field(min_length=1)
    sample: str | None = None
    method: str | None = None


class LayerFile(_Model):
    layer: str
    format: str
    path: str
    label: str | None = None
    column: str | None = None
    normal_column: str | None = None
    genome_build: str | None = None
    tool: str | None = None
    tool_version: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("layer")
    @classmethod
    def _known_layer(cls, value: str) -> str:
        if value not in LAYERS:
            raise ValueError(f"unknown layer '{value}'; one of {', '.join(LAYERS)}")
        return value

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in FORMATS:
            raise ValueError(f"unknown format '{value}'; one of {', '.join(FORMATS)}")
        return value

    @field_validator("genome_build")
    @classmethod
    def _known_build(cls, value: str | None) -> str | None:
        if value is None:
            return None
        build = reference.normalise_build(value)
        if build is None:
            raise ValueError(f"unknown genome build '{value}'; GRCh37 or GRCh38")
        return build

    @model_validator(mode="after")
    def _format_fits_layer(self) -> LayerFile:
        fmt = FORMATS[self.format]
        if fmt.layer != self.layer:
            raise ValueError(
                f"format '{self.format}' is a {fmt.layer} format, not {self.layer}"
            )
        return self

    @property
    def assay_label(self) -> str:
        return self.label or self.layer


class Sample(_Model):
    id: str
    type: Literal["tumour", "normal", "plasma"]
    site: str | None = None
    origin: Literal["primary", "metastasis", "recurrence"] | None = None
    collection_date: dt.date | None = None
    tumour_cell_content: Annotated[float, Field(ge=0.0, le=1.0)] | None = Field(
        default=None, description="fraction of tumour cells, 0-1 (pathology estimate)"
    )
    files: list[LayerFile] = Field(default_factory=list)

    _id = field_validator("id")(_check_id)

    @model_validator(mode="after")
    def _labels_unique(self) -> Sample:
        seen: set[tuple[str, str]] = set()
        for f in self.files:
            key = (f.layer, f.assay_label)
            if key in seen:
                raise ValueError(
                    f"two {f.layer} files with label '{f.assay_label}'; give each a distinct "
                    "'label' (e.g. snv / indel)"
                )
            seen.add(key)
        return self


class Case(_Model):
    tumorboard_case: Literal[1] = CASE_FORMAT_VERSION
    genome_build: str | None = Field(
        default=None, description="default genome build of every file of the case"
    )
    patient: Patient
    diagnosis: Diagnosis
    clinical: Clinical = Field(default_factory=Clinical)
    hla: HlaTyping | None = None
    samples: list[Sample] = Field(min_length=1)

    @field_validator("genome_build")
    @classmethod
    def _known_build(cls, value: str | None) -> str | None:
        return LayerFile._known_build(value)

    @model_validator(mode="after")
    def _cross_checks(self) -> Case:
        ids = [s.id for s in self.samples]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(
                f"duplicate sample id(s) {', '.join(dupes)}; sample ids must be unique"
            )
        if self.hla and self.hla.sample and self.hla.sample not in ids:
            raise ValueError(f"hla.sample '{self.hla.sample}' is not one of the samples")
        return self

    def sample(self, sample_id: str) -> Sample:
        return next(s for s in self.samples if s.id == sample_id)

    def build_of(self, f: LayerFile) -> str | None:
        return f.genome_build or self.genome_build

    @property
    def hla_sample(self) -> str:
        """The sample a case-level HLA typing is recorded on: named, else the normal."""
        if self.hla and self.hla.sample:
            return self.hla.sample
        normals = [s.id for s in self.samples if s.type == "normal"]
        return normals[0] if normals else self.samples[0].id


def read_case(case_dir: str | Path, *, file_problems: list[InputError] | None = None) -> Case:
    """Parse and check ``case_dir/case.yaml``.

    Checks the manifest's structure and vocabularies, the OncoTree code, sample ids, and that
    every named file exists inside the case folder. Does not read the layer files.

    Parameters
    ----------
    file_problems
        If given, problems with the named files (missing, outside the folder, no genome build)
        are appended here instead of raised, so that a caller can go on checking the other
        files and report everything at once.

    Raises
    ------
    CaseValidationError
        With every problem found, each naming the line of ``case.yaml`` and how to fix it.
    """
    case_dir = Path(case_dir)
    manifest = case_dir / CASE_FILE
    if not case_dir.is_dir():
        raise CaseValidationError(
            case_dir, [InputError("case folder does not exist", file=case_dir,
                                  fix="give the path of a folder holding case.yaml")]
        )
    if not manifest.is_file():
        raise CaseValidationError(
            case_dir, [InputError("no case.yaml in the case folder", file=manifest,
                                  fix="write case.yaml as described in docs/formats.md")]
        )
    try:
        raw = read_yaml_with_lines(manifest, what="case.yaml")
    except InputError as exc:
        raise CaseValidationError(case_dir, [exc]) from exc
    if not isinstance(raw, dict):
        raise CaseValidationError(
            case_dir, [InputError("case.yaml must be a mapping (key: value)", file=manifest)]
        )
    try:
        case = Case.model_validate(strip_lines(raw))
    except ValidationError as exc:
        problems = validation_problems(exc, raw, manifest, keys_doc="docs/formats.md")
        raise CaseValidationError(case_dir, problems) from exc

    problems = []
    root = case_dir.resolve()
    for si, sample in enumerate(case.samples):
        for fi, f in enumerate(sample.files):
            loc = ("samples", si, "files", fi, "path")
            path = (case_dir / f.path).resolve()
            if not path.is_relative_to(root):
                problems.append(InputError(
                    f"file '{f.path}' lies outside the case folder", file=manifest,
                    line=line_of(raw, loc), sample=sample.id,
                    fix="copy the file into the case folder and give a relative path"))
            elif not path.is_file():
                problems.append(InputError(
                    f"file '{f.path}' named for layer {f.layer} does not exist",
                    file=manifest, line=line_of(raw, loc), sample=sample.id,
                    fix="correct the path (relative to the case folder) or add the file"))
            if FORMATS[f.format].has_genome_coordinates and case.build_of(f) is None:
                problems.append(InputError(
                    f"no genome build for {f.format} file '{f.path}'", file=manifest,
                    line=line_of(raw, loc), sample=sample.id,
                    fix="add 'genome_build: GRCh38' to the file entry or to the case"))
    if file_problems is not None:
        file_problems.extend(problems)
    elif problems:
        raise CaseValidationError(case_dir, problems)
    return case
