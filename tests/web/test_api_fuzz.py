"""Fuzz every operation of the JSON API (``/api/openapi.json``) with schemathesis.

The ASGI app runs in-process over a private copy of the analysed cohort; requests carry an
admin's bearer API token, so the writes (board sessions, decisions, follow-up entries) are
exercised too. Checks: no server error (5xx), a status code the operation declares, and a
body that matches the declared response schema. Generation is derandomised (a fixed
Hypothesis database-free run), so CI sees the same inputs every time.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    ServerError,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.web.conftest import _with_users, copy_registry
from tumorboard import accounts
from tumorboard.config import Settings
from tumorboard.registry import db
from tumorboard.web import create_app
from tumorboard.workspace import Workspace

#: Subtests (operation [generation mode]) that fail the checks because of a known bug in the
#: route, with the reason; they are expected to fail (xfail, not strict). Remove an entry once
#: its route is fixed. Found by this file on 2026-12-01.
_INPUT_ERROR_422 = ("422 InputError body {error, message, detail{...}} does not match the "
                    "declared FastAPI HTTPValidationError schema (declare 422 as ErrorOut)")
_BODY_400 = ("a body that is not UTF-8 JSON gets FastAPI's 400 'There was an error parsing "
             "the body', a status the operation does not declare")
KNOWN_BUGS: dict[str, str] = {
    **{f"GET /api/cohort/{name} [{m}]": _INPUT_ERROR_422
       for name in ("survival", "matrix", "pfsr") for m in ("positive", "negative")},
    **{f"POST /api/{path} [negative]": _BODY_400 for path in (
        "board-sessions", "board-sessions/{board_date}/agenda",
        "recommendations/{recommendation_id}/decisions", "patients/{pseudonym}/lines",
        "patients/{pseudonym}/recist", "patients/{pseudonym}/plasma",
        "patients/{pseudonym}/events")},
}

MAX_EXAMPLES = 15
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_workspace(analysed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One private copy of the analysed workspace (SQLite) for the whole module."""
    source, _truth = analysed
    root = tmp_path_factory.mktemp("fuzz") / "ws"
    shutil.copytree(source.root, root, ignore=shutil.ignore_patterns("registry.sqlite*"))
    url = f"sqlite:///{root / 'registry.sqlite'}"
    copy_registry(source, url)
    yield from _with_users(Settings(workspace=root, database_url=url))


@pytest.fixture(scope="module")
def admin_token(fuzz_workspace: Workspace) -> str:
    with db.transaction(fuzz_workspace.engine) as s:
        return accounts.issue_api_token(s, "admin")


@pytest.fixture(scope="module")
def api_schema(fuzz_workspace: Workspace):
    app = create_app(fuzz_workspace.settings)
    return schemathesis.openapi.from_asgi("/api/openapi.json", app)


def _fuzz_operation(operation, mode: GenerationMode, token: str) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink])
    def fuzz(case) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    fuzz()


def test_api_operations(api_schema, admin_token: str, subtests) -> None:
    """Every operation, valid and invalid input: 2xx/4xx only, status codes as declared,
    bodies matching the declared schema. One subtest per operation and generation mode."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20, [op.label for op in operations]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            name = f"{operation.label} [{mode.value}]"
            with subtests.test(msg=name):
                try:
                    _fuzz_operation(operation, mode, admin_token)
                except Unsatisfiable:
                    if mode is GenerationMode.NEGATIVE:
                        pytest.skip("no parameter or body to make invalid")
                    raise
                except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup
                    server_errors = [e for e in getattr(exc, "exceptions", [exc])
                                     if isinstance(e, ServerError)]
                    if name in KNOWN_BUGS and not server_errors:  # a 5xx is never "known"
                        pytest.xfail(f"{KNOWN_BUGS[name]} ({type(exc).__name__})")
                    raise
