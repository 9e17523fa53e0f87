"""The browser tumour board: the FastAPI application and how errors and logs are handled.

``create_app`` opens the workspace once and mounts the routers of each part (sign-in and
admin, patients, board sessions, follow-up, cohort). Pages are rendered on the server and
work without JavaScript; ``static/`` holds our own stylesheet and a small script that
only enhances them.

Logs carry no patient identifiers: the access log names the route *template*
(``GET /patients/{pseudonym} 200 12 ms``), never the path or query, and unexpected errors
are logged with their type and traceback but not their message.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import traceback
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tumorboard import __version__
from tumorboard.config import Settings
from tumorboard.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    RegistryConflictError,
    TumorboardError,
)
from tumorboard.web.core import (
    CsrfError,
    Forbidden,
    NotAuthenticated,
    login_redirect_url,
    render,
)
from tumorboard.workspace import Workspace

log = logging.getLogger("tumorboard.web")

#: Content-Security-Policy: everything from this origin only, no inline script, no framing.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

_STATUS: list[tuple[type[Exception], int]] = [
    (NotAuthenticated, 401), (Forbidden, 403), (CsrfError, 403), (NotFoundError, 404),
    (ConflictError, 409), (RegistryConflictError, 409), (InputError, 422),
    (TumorboardError, 400)]


def status_of(exc: Exception) -> int:
    return next(code for kind, code in _STATUS if isinstance(exc, kind))


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def error_body(exc: Exception) -> dict[str, Any]:
    body: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, InputError):
        body["detail"] = exc.to_dict()
    return body


class AccessLog:
    """ASGI middleware: one log line per request with the route template, status and time,
    and the security headers every response gets."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = {b"x-content-type-options": b"nosniff", b"x-frame-options": b"DENY",
                         b"referrer-policy": b"no-referrer",
                         b"content-security-policy": CSP.encode()}
                if not scope["path"].startswith("/static/"):
                    extra[b"cache-control"] = b"no-store"  # patient data stays off disks
                headers += [(k, v) for k, v in extra.items() if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or (
                "/static/…" if scope["path"].startswith("/static/") else "(no route)")
            if scope["path"].startswith("/api/") and not template.startswith("/api"):
                template = "/api" + template  # routes of an included router lack its prefix
            log.info("%s %s %d %.0f ms", scope["method"], template, status["code"],
                     (time.perf_counter() - start) * 1000)


def mounted_routers() -> list[tuple[Any, str]]:
    """Every router of the app with its path prefix: the pages, and the API under /api."""
    from tumorboard.web import admin, board, cohort, followup, patients

    return [(router, prefix) for m in (admin, patients, board, followup, cohort)
            for router, prefix in ((m.pages, ""), (m.api, "/api"))]


@contextlib.asynccontextmanager
async def _warm_caches(app: FastAPI) -> AsyncIterator[None]:
    """Server lifespan: compute every assay's QC figures and every patient's analysis view
    in the background at start-up, so that no visitor waits for them on a first visit."""
    from tumorboard.registry.overview import warm_analysis_views, warm_quality_cache
    from tumorboard.web.cohort import warm_cohort

    stop = threading.Event()
    app.state.warming = True

    def warm() -> None:
        try:
            warm_quality_cache(app.state.workspace, stop=stop)
            warm_analysis_views(app.state.workspace, stop=stop)
            if not stop.is_set():
                warm_cohort(app)
        except Exception:  # a cache left cold is slower, not wrong: keep serving
            log.exception("warming the caches failed")
        finally:
            app.state.warming = False

    worker = threading.Thread(target=warm, name="tumorboard-warm-caches", daemon=True)
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join(timeout=10)


def create_app(settings: Settings, *, secure_cookies: bool = False,
               warm_caches: bool = False) -> FastAPI:
    """The web application over one workspace.

    Parameters
    ----------
    secure_cookies
        Mark cookies ``Secure`` (sent over HTTPS only). Turn on whenever the app is served
        through TLS (a reverse proxy); plain HTTP on loopback needs it off.
    warm_caches
        Fill the per-assay QC cache in a background thread at start-up (``serve`` does).
    """
    from tumorboard.web import admin

    app = FastAPI(lifespan=_warm_caches if warm_caches else None,
                  title="tumorboard", version=__version__,
                  description="Molecular tumour board for rare sarcomas: patients, targets, "
                              "recommendations, board decisions, follow-up and cohort "
                              "analyses. Authenticate with `Authorization: Bearer <token>` "
                              "(`tumorboard users token NAME`).",
                  openapi_url="/api/openapi.json", docs_url=None, redoc_url=None)
    app.state.workspace = Workspace.open(settings)
    app.state.secure_cookies = secure_cookies
    app.state.login_throttle = admin.LoginThrottle()
    static = resources.files("tumorboard.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    for router, prefix in mounted_routers():
        app.include_router(router, prefix=prefix)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return RedirectResponse("/static/favicon.svg", status_code=308)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, Any]:
        """Liveness, and whether this process is still filling its caches at start-up."""
        return {"status": "ok", "warming": bool(getattr(app.state, "warming", False))}

    @app.exception_handler(TumorboardError)
    async def domain_error(request: Request, exc: TumorboardError) -> Response:
        status = status_of(exc)
        if isinstance(exc, NotAuthenticated) and not _wants_json(request):
            return RedirectResponse(login_redirect_url(request), status_code=303)
        if _wants_json(request):
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return JSONResponse(error_body(exc), status_code=status, headers=headers)
        return render(request, "error.html", status_code=status, status=status,
                      problem=str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_json(request) and exc.status_code == 400:
            # FastAPI's "error parsing the body" (not UTF-8, not JSON): an input error, 422
            # as every other bad input of the API is, so the OpenAPI description holds
            return JSONResponse({"error": "InputError",
                                 "message": f"the request body cannot be read: {exc.detail}; "
                                            "send UTF-8 JSON"}, status_code=422)
        if _wants_json(request):
            return JSONResponse({"error": "HTTPException", "message": exc.detail},
                                status_code=exc.status_code, headers=exc.headers)
        return render(request, "error.html", status_code=exc.status_code,
                      status=exc.status_code, problem=exc.detail)

    @app.exception_handler(RequestValidationError)
    async def request_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()]
        if _wants_json(request):
            return JSONResponse({"error": "RequestValidationError",
                                 "message": "; ".join(problems),
                                 "detail": jsonable_errors(exc)}, status_code=422)
        return render(request, "error.html", status_code=422, status=422,
                      problem="; ".join(problems))

    @app.exception_handler(IntegrityError)
    async def concurrent_write(request: Request, exc: IntegrityError) -> Response:
        # two requests wrote the same record at once; the transaction was rolled back
        return await domain_error(request, ConflictError(
            "someone changed the same record at the same moment; nothing was saved. Reload "
            "the page and enter it again"))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        route = getattr(request.scope.get("route"), "path", "(no route)")
        # type and traceback only: the message may quote patient data
        log.error("unexpected %s on %s %s\n%s", type(exc).__name__, request.method, route,
                  "".join(traceback.format_tb(exc.__traceback__)))
        if _wants_json(request):
            return JSONResponse({"error": "InternalError",
                                 "message": "unexpected server error; see the server log"},
                                status_code=500)
        return render(request, "error.html", status_code=500, status=500,
                      problem="Unexpected server error; the administrator finds the "
                              "details in the server log.")

    app.add_middleware(AccessLog)
    return app


def jsonable_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [{"loc": [str(x) for x in e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors()]


def app_from_environment() -> FastAPI:
    """The app for ``uvicorn --factory``: workspace and database from the environment
    (``TUMORBOARD_WORKSPACE``, ``TUMORBOARD_DB``, ``TUMORBOARD_SECURE_COOKIES``), as set by
    ``tumorboard serve``."""
    import os

    return create_app(Settings.resolve(),
                      secure_cookies=bool(os.environ.get("TUMORBOARD_SECURE_COOKIES")),
                      warm_caches=True)
