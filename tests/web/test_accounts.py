"""Sign-in, sessions, lockout, CSRF on the sign-in form, and the admin pages."""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, audit_count, csrf_of, sign_in
from tumorboard import accounts


def test_pages_redirect_to_sign_in_and_api_says_401(app) -> None:
    client = TestClient(app, follow_redirects=False)
    r = client.get("/admin/users?entity=DSRCT")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fadmin%2Fusers%3Fentity%3DDSRCT"
    r = client.get("/api/me")
    assert r.status_code == 401
    assert r.json()["error"] == "NotAuthenticated"
    assert r.headers["www-authenticate"] == "Bearer"


def test_sign_in_sets_a_hardened_cookie_and_sign_out_ends_the_session(app) -> None:
    client = TestClient(app, follow_redirects=False)
    page = client.get("/login")
    r = client.post("/login", data={"username": "viewer", "password": PASSWORD,
                                    "csrf_token": csrf_of(page.text), "next": "//evil.test/x"})
    assert r.status_code == 303
    assert r.headers["location"] == "/"  # never redirect off-site after sign-in
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("tb_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    me = client.get("/api/me").json()
    assert me["role"] == "viewer"
    r = client.post("/logout", data={"csrf_token": me["csrf_token"]})
    assert r.status_code == 303
    client.cookies.set("tb_session", re.search(r"tb_session=([^;]+)", cookie).group(1))
    assert client.get("/api/me").status_code == 401  # the old cookie is dead server-side


def test_sign_in_form_needs_its_csrf_token(app) -> None:
    client = TestClient(app, follow_redirects=False)
    client.get("/login")
    r = client.post("/login", data={"username": "viewer", "password": PASSWORD,
                                    "csrf_token": "forged"})
    assert r.status_code == 403
    assert "expired" in r.text
    assert client.get("/api/me").status_code == 401


def test_wrong_passwords_lock_the_account(app, web_workspace) -> None:
    client = TestClient(app, follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    for _ in range(accounts.MAX_FAILED_LOGINS):
        r = client.post("/login", data={"username": "admin", "password": "not-the-password",
                                        "csrf_token": token})
        assert r.status_code == 401
        assert "Wrong user name or password" in r.text
    r = client.post("/login", data={"username": "admin", "password": PASSWORD,
                                    "csrf_token": token})
    assert r.status_code == 429  # right password, but locked
    assert "locked until" in r.text
    assert client.get("/api/me").status_code == 401


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(app) -> None:
    client = TestClient(app, follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"username": "nobody", "password": "whatever-it-is",
                                    "csrf_token": token})
    assert r.status_code == 401
    assert "Wrong user name or password" in r.text


def test_login_attempts_are_rate_limited_per_address(app) -> None:
    from tumorboard.web import admin

    app.state.login_throttle = admin.LoginThrottle(limit=3, window_s=60)
    client = TestClient(app, follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    codes = [client.post("/login", data={"username": f"user{i}", "password": "x" * 12,
                                         "csrf_token": token}).status_code for i in range(4)]
    assert codes == [401, 401, 401, 429]


def test_api_token_authenticates_scripts_without_csrf(app, web_workspace) -> None:
    from tumorboard.registry.db import transaction

    with transaction(web_workspace.engine) as s:
        token = accounts.issue_api_token(s, "board_member")
    client = TestClient(app)
    r = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert r.json()["authenticated_by"] == "token"
    assert client.get("/api/me", headers={"Authorization": "Bearer tb_wrong"}).status_code == 401


def test_admin_adds_a_user_and_the_audit_log_shows_it(app, client_as, web_workspace
                                                      ) -> None:
    admin = client_as("admin")
    before = audit_count(web_workspace)
    r = admin.post("/admin/users", data={"username": "nurse.k", "password": "short",
                                         "role": "board_member", "csrf_token": admin.csrf})
    assert r.status_code == 422
    assert "needs at least 10" in r.text
    assert audit_count(web_workspace) == before  # nothing written
    r = admin.post("/admin/users", data={"username": "nurse.k", "password": "long enough pass",
                                         "role": "board_member", "display_name": "K. Nurse",
                                         "csrf_token": admin.csrf})
    assert r.status_code == 303
    log = admin.get("/api/audit", params={"action": "user.add"}).json()
    entry = log["entries"][0]
    assert entry["actor"] == "web:admin"
    assert entry["after"]["username"] == "nurse.k"
    assert "password" not in str(entry)
    nurse = sign_in(TestClient(app, follow_redirects=False), "nurse.k", "long enough pass")
    assert nurse.get("/api/me").json()["role"] == "board_member"
    assert nurse.get("/admin/audit").status_code == 403


def test_demoting_a_user_ends_their_sessions(app, client_as) -> None:
    viewer_admin = client_as("board_member")
    admin = client_as("admin")
    r = admin.post("/admin/users/board_member", data={"role": "viewer", "active": "yes",
                                                      "csrf_token": admin.csrf})
    assert r.status_code == 303
    assert viewer_admin.get("/api/me").status_code == 401
    r = admin.post("/admin/users/admin", data={"role": "viewer", "csrf_token": admin.csrf})
    assert r.status_code == 422
    assert "cannot demote or disable yourself" in r.text


def test_error_pages_show_the_problem_once(app, client_as) -> None:
    viewer = client_as("viewer")
    r = viewer.get("/admin/users")
    assert r.status_code == 403
    assert r.text.count("this needs the role") == 1
    assert 'class="flash ok"' not in r.text


def test_serve_warms_its_caches_in_the_background(web_workspace) -> None:
    """At start-up the server computes every patient's analysis view and the default cohort
    page in a background thread; /healthz says when it is done."""
    from tumorboard.registry import overview
    from tumorboard.web import create_app

    with overview._ANALYSIS_LOCK:
        overview._ANALYSIS_CACHE.clear()
    with TestClient(create_app(web_workspace.settings, warm_caches=True)) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        for _ in range(600):
            if not client.get("/healthz").json()["warming"]:
                break
            time.sleep(0.1)
        assert client.get("/healthz").json()["warming"] is False
        assert client.app.state.cohort_cache._items  # the default cohort view is computed
    url = web_workspace.engine.url.render_as_string(hide_password=True)
    assert sum(k[0] == url for k in list(overview._ANALYSIS_CACHE)) == 18  # every patient
