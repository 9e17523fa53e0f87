"""Domain exceptions with actionable messages.

The library raises these; only :mod:`tumorboard.cli` turns them into exit codes. Every message
says what is wrong, where (file, line, column, sample) and how to fix it, so that a user can
act on it without reading the code.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class TumorboardError(Exception):
    """Base class of every error tumorboard raises on purpose."""


class InputError(TumorboardError):
    """A file or value given to tumorboard is malformed or inconsistent.

    Parameters
    ----------
    problem
        What is wrong, in the user's words.
    file, line, column, sample
        Where it is wrong; each optional, given whenever known. ``line`` is 1-based as an
        editor shows it.
    expected
        What would have been valid.
    fix
        What the user can do about it.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
        sample: str | None = None,
        expected: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = str(file) if file is not None else None
        self.line = line
        self.column = column
        self.sample = sample
        self.expected = expected
        self.fix = fix
        super().__init__(self.message)

    @property
    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file + (f":{self.line}" if self.line is not None else ""))
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.column:
            parts.append(f"column '{self.column}'")
        if self.sample:
            parts.append(f"sample '{self.sample}'")
        return ", ".join(parts)

    @property
    def message(self) -> str:
        text = f"{self.where}: {self.problem}" if self.where else self.problem
        if self.expected:
            text += f" (expected {self.expected})"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text

    def to_dict(self) -> dict[str, object]:
        return {
            "problem": self.problem,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "sample": self.sample,
            "expected": self.expected,
            "fix": self.fix,
            "message": self.message,
        }


class CaseValidationError(TumorboardError):
    """A case folder failed validation; carries every problem found, not just the first."""

    def __init__(self, case_dir: str | Path, problems: Iterable[InputError]) -> None:
        self.case_dir = str(case_dir)
        self.problems = list(problems)
        lines = [f"case {self.case_dir} is not valid ({len(self.problems)} problem(s)):"]
        lines += [f"  {i}. {p.message}" for i, p in enumerate(self.problems, 1)]
        lines.append("Nothing was written.")
        super().__init__("\n".join(lines))


class RegistryConflictError(TumorboardError):
    """What a case says contradicts what the registry already holds for the same record."""


class ConflictError(TumorboardError):
    """Someone else changed a record since it was read (optimistic locking): nothing was
    written; reload and try again."""


class WorkspaceError(TumorboardError):
    """The workspace is missing, not initialised, or its database is unreachable."""


class NotFoundError(TumorboardError):
    """A patient, sample or assay asked for is not in the registry."""
