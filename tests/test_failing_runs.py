"""Failing runs of every source: one line naming the host, the cause and the setting; no secret anywhere.

Each fault makes a source fail mid-run where it can (the second data call), so the failure passes through
dlt's extract step, which pickles the exception chain into its trace. The line is checked, the attempts
the simulator saw are counted, and every file the run wrote (traces, load packages, the DuckDB file and
its WAL) is searched for the credentials in every form they travel in: as configured, URL-quoted, the
Basic header, the session and access tokens the simulators issued, and Pinogy's request signatures.
"""

from __future__ import annotations

import base64
import logging
import re
import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import dlt
import pytest
import requests
from dlt.pipeline.exceptions import PipelineStepFailed

from simulators.base import ISSUED_SECRETS, Simulator
from simulators.pinogy import PinogySimulator
from sources.http import redact_errors, register_secret
from tests.conftest import PINMETO_SECRETS, PINOGY_SECRETS, FaultRecord, cli, pinogy_env_for, run
from tests.fault_matrix import CASES

MAX_ATTEMPTS = 2  # every retried fault is tried twice: enough to tell "retried" from "not retried"
FAST_RETRIES = {"RUNTIME__REQUEST_MAX_ATTEMPTS": str(MAX_ATTEMPTS), "RUNTIME__REQUEST_BACKOFF_FACTOR": "0.05"}
TIMEOUT = "0.3"


@dataclass
class Source:
    start: Callable[[], Simulator]
    env: Callable[[Any], dict[str, str]]
    data_path: str  # the data calls; the first one is let through, the fault hits the second
    url_key: str
    credentials_key: str  # what the fix of a 401 names


SOURCES = {
    "pinogy": Source(
        lambda: PinogySimulator(n_pos=120, seed=7, **PINOGY_SECRETS),  # type: ignore[arg-type]
        lambda sim: {**pinogy_env_for(sim), "SOURCES__PINOGY__PAGE_SIZE": "50"},
        "/api/purchase_orders",
        "SOURCES__PINOGY__API_HOST",
        "SOURCES__PINOGY__ACCESS_KEY",
    ),
    "pinnacle_cart": Source(
        CASES["pinnacle_cart"].start,
        CASES["pinnacle_cart"].env,
        "index.php",  # GetVersion (before the extract) is let through; the first read fails
        "SOURCES__PINNACLE_CART__API_URL",
        "SOURCES__PINNACLE_CART__USERNAME",
    ),
    "pinmeto": Source(
        CASES["pinmeto"].start,
        CASES["pinmeto"].env,
        "/locations",
        "SOURCES__PINMETO__API_URL",
        "SOURCES__PINMETO__ACCOUNT_ID",
    ),
    "plugivery": Source(
        CASES["plugivery"].start,
        CASES["plugivery"].env,
        "/catalog",  # the free `info` is let through; the first read fails
        "SOURCES__PLUGIVERY__API_URL",
        "SOURCES__PLUGIVERY__TOKEN",
    ),
}


@dataclass
class Fault:
    inject: Callable[[Simulator, str], object]  # (simulator, data path)
    url: Callable[[str], str]  # the API URL the source is given
    words: list[str]  # what the error line says besides the host ({url_key} is filled in)
    data_calls: int  # the data calls the simulator saw: the one let through plus the attempts it got
    host: str = "127.0.0.1"
    env: dict[str, str] = field(default_factory=dict)
    # PinMeTo waits for its rate limit's reset itself (tests/pinmeto/test_source.py covers it).
    sources: tuple[str, ...] = ("pinogy", "pinnacle_cart", "pinmeto", "plugivery")


def _status(status: int, headers: dict[str, str] | None = None) -> Callable[[Simulator, str], None]:
    def inject(sim: Simulator, path: str) -> None:
        sim.faults.add(
            "status",
            status=status,
            body=b"No entry",
            headers=headers or {},
            times=10,
            after=1,
            path_contains=path,
        )

    return inject


NOT_PINMETO = ("pinogy", "pinnacle_cart", "plugivery")


FAULTS = {
    "connection refused mid-run": Fault(
        lambda sim, path: sim.faults.add("down", after=1, path_contains=path),
        lambda url: url,
        ["connection refused", f"(after {MAX_ATTEMPTS} attempts)", "[runtime] request_max_attempts"],
        1 + 1,  # the request the server died on; the retry was refused before it reached it
    ),
    "DNS failure": Fault(
        lambda sim, path: None,
        lambda url: url.replace("http://127.0.0.1", "https://retail-sim.invalid"),
        ["host name not found (DNS)", "(not retried)", "check the host name in {url_key}"],
        0,
        host="retail-sim.invalid",
    ),
    "TLS error": Fault(
        lambda sim, path: None,
        lambda url: url.replace("http://", "https://"),
        ["TLS handshake failed", "(not retried)", "check {url_key}: https://"],
        0,
    ),
    "read timeout on every attempt": Fault(
        lambda sim, path: sim.faults.add("delay", seconds=1.0, times=10, after=1, path_contains=path),
        lambda url: url,
        [f"no reply within {TIMEOUT}s (timeout)", f"(after {MAX_ATTEMPTS} attempts)", "request_timeout"],
        1 + MAX_ATTEMPTS,
    ),
    "server dies mid-read on every attempt": Fault(
        lambda sim, path: sim.faults.add("cut", times=10, after=1, path_contains=path),
        lambda url: url,
        ["the connection broke off in the middle of the reply", f"(after {MAX_ATTEMPTS} attempts)"],
        1 + MAX_ATTEMPTS,
    ),
    "HTTP 401": Fault(_status(401), lambda url: url, ["HTTP 401 Unauthorized from"], 1 + 1),
    "HTTP 403": Fault(_status(403), lambda url: url, ["HTTP 403 Forbidden from"], 1 + 1),
    "HTTP 503 on every attempt": Fault(
        _status(503),
        lambda url: url,
        [f"HTTP 503 Service Unavailable (on all {MAX_ATTEMPTS} attempts)", "[runtime] request_max_attempts"],
        1 + MAX_ATTEMPTS,
    ),
    "HTTP 429 on every attempt": Fault(
        _status(429, {"Retry-After": "0"}),
        lambda url: url,
        [
            f"rate limited, HTTP 429 Too Many Requests (on all {MAX_ATTEMPTS} attempts)",
            "[runtime] request_max_retry_delay (now 5), request_max_attempts (now 2)",
        ],
        1 + MAX_ATTEMPTS,
        env={"RUNTIME__REQUEST_MAX_RETRY_DELAY": "5"},
        sources=NOT_PINMETO,
    ),
    "HTTP 429 asking for a longer wait than allowed": Fault(
        _status(429, {"Retry-After": "120"}),
        lambda url: url,
        ["rate limited, HTTP 429 Too Many Requests (it asks us to wait 120s, longer than the 5s we may"],
        1 + 1,  # not waited out, not retried early either
        env={"RUNTIME__REQUEST_MAX_RETRY_DELAY": "5"},
        sources=NOT_PINMETO,
    ),
}


@contextmanager
def failing(name: str, fault: Fault, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Simulator, str]]:
    """Start `name`'s simulator with `fault` injected; yield it and the host the error line must name."""
    source = SOURCES[name]
    with source.start() as sim:
        env = {**source.env(sim), **FAST_RETRIES, "RUNTIME__REQUEST_TIMEOUT": TIMEOUT, **fault.env}
        env[source.url_key] = fault.url(env[source.url_key])
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        fault.inject(sim, source.data_path)
        yield sim, f"{fault.host}:{sim.port}"


def secret_forms(sims: list[Simulator]) -> set[str]:
    """Every credential of these runs, in every form it travels in (query strings quote, Basic encodes)."""
    secrets = {*PINOGY_SECRETS.values(), *PINMETO_SECRETS.values(), *ISSUED_SECRETS}
    secrets |= {v for sim in sims for v in _credentials(sim)}
    basic = f"{PINMETO_SECRETS['app_id']}:{PINMETO_SECRETS['app_secret']}"
    secrets.add(base64.b64encode(basic.encode()).decode())
    signatures = {c.params["signature"] for sim in sims for c in sim.calls if c.params.get("signature")}
    # A signature is base64: any long stretch of it is as telling as the whole.
    secrets |= {part for sig in signatures for part in re.findall(r"[A-Za-z0-9]{12,}", sig)}
    return {form for s in secrets for form in (s, quote(s, safe=""), quote_plus(s))}


def _credentials(sim: Simulator) -> list[str]:
    names = ("username", "password", "token", "access_key", "secret_key", "app_id", "app_secret")
    return [str(getattr(sim, n)) for n in names if isinstance(getattr(sim, n, None), str)]


def leaks_in_files(root: Path, forms: set[str]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.relative_to(root)}: {form}" for form in forms if form.encode() in data]
    return found


@pytest.mark.parametrize(
    ("name", "fault"),
    [
        pytest.param(name, fault, marks=pytest.mark.fault(name, f"fails: {fault}"), id=f"{name}-{fault}")
        for fault in FAULTS
        for name in FAULTS[fault].sources
    ],
)
def test_failing_run_names_host_and_cause_and_leaks_nothing(
    name: str,
    fault: str,
    tmp_path: Path,
    db: Path,
    fault_record: FaultRecord,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for logger in ("retail", "dlt"):  # what `--log-level DEBUG` prints, here before any redacting filter
        caplog.set_level(logging.DEBUG, logger=logger)
    case, source = FAULTS[fault], SOURCES[name]
    with failing(name, case, monkeypatch) as (sim, host):
        [result] = run(db, [name])
        data_calls = len(sim.calls_to(source.data_path.split("?")[0]))
        forms = secret_forms([sim])
    fault_record.record(retries=max(0, result.api_calls - 1), exit_status=result.status)
    line = result.error or ""
    assert result.status == "failed" and line.startswith(f"{name}: ") and "\n" not in line, line
    assert host in line, line
    for words in case.words:
        assert words.format(url_key=source.url_key) in line, line
    if fault == "HTTP 401":
        assert source.credentials_key in line, line
    pinmeto_renews_token = name == "pinmeto" and fault == "HTTP 401"  # a fresh token, then once more
    assert data_calls == case.data_calls + pinmeto_renews_token
    if fault in ("DNS failure", "TLS error"):
        assert result.api_calls == 1  # not retried
        assert sim.connections == (fault == "TLS error")
    assert not leaks_in_files(tmp_path, forms)
    assert not [form for form in forms if form in caplog.text]


# Two faults that fail mid-extract, through dlt; the logs of every fault are checked above, at DEBUG.
@pytest.mark.parametrize("fault", ["connection refused mid-run", "server dies mid-read on every attempt"])
def test_cli_output_and_files_of_failing_runs_hold_no_secret(
    fault: str, tmp_path: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All four sources fail in one `run` at DEBUG level: stdout, stderr and every file stay clean."""
    case = FAULTS[fault]
    with (
        failing("pinogy", case, monkeypatch) as (pinogy, _),
        failing("pinnacle_cart", case, monkeypatch) as (pinnacle_cart, _),
        failing("pinmeto", case, monkeypatch) as (pinmeto, _),
        failing("plugivery", case, monkeypatch) as (plugivery, _),
    ):
        out = cli("--log-level", "DEBUG", "run", "--skip-models", "--db", str(db))
        forms = secret_forms([pinogy, pinnacle_cart, pinmeto, plugivery])
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    errors = [ln for ln in out.stderr.splitlines() if " ERROR " in ln]
    assert sorted(ln.split(" ERROR ")[1].split(":")[0].strip() for ln in errors) == sorted(SOURCES), errors
    assert not [form for form in forms if form in out.stdout + out.stderr]
    assert not leaks_in_files(tmp_path, forms)


def test_an_unexpected_error_leaving_a_resource_is_redacted_down_its_chain(tmp_path: Path) -> None:
    """A bug that lets a requests exception out (URL, credentials and all) still leaves no secret in the
    trace dlt pickles: the chain keeps its types for debugging, every text in it redacted."""
    secret = "TEST-BOUNDARY-PASSWORD-77e1"
    register_secret(secret)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    @dlt.resource(name="things")
    @redact_errors
    def things() -> Iterator[dict[str, int]]:
        yield {"id": 1}
        try:
            requests.get(f"http://127.0.0.1:{port}/things?password={secret}", timeout=1)
        except requests.RequestException as exc:
            raise RuntimeError(f"could not read {exc.request.url if exc.request else '?'}") from exc

    pipeline = dlt.pipeline(
        "boundary",
        destination=dlt.destinations.duckdb(str(tmp_path / "b.duckdb")),
        pipelines_dir=str(tmp_path),
    )
    with pytest.raises(PipelineStepFailed) as failed:
        pipeline.run(things())
    chain, current = [], failed.value.__cause__ or failed.value.__context__
    while current is not None:
        chain.append(current)
        current = current.__cause__ or current.__context__
    types = [type(e).__name__ for e in chain]
    assert "RuntimeError" in types and "ConnectionError" in types, types
    texts = " ".join(f"{e} {e.args}" for e in chain)
    assert "password=***" in texts and secret not in texts
    trace = (tmp_path / "boundary" / "trace.pickle").read_bytes()
    assert b"password=***" in trace and secret.encode() not in trace
    assert not leaks_in_files(tmp_path, {secret, quote(secret, safe="")})


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A certificate for localhost/127.0.0.1 that no CA vouches for: (certfile, keyfile)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        + ["-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.fault(n, "fails: TLS certificate not trusted"), id=n)
        for n in SOURCES
    ],
)
def test_an_untrusted_certificate_is_named_and_not_retried(
    name: str,
    self_signed: tuple[str, str],
    db: Path,
    fault_record: FaultRecord,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = SOURCES[name]
    with source.start().serve_tls(*self_signed) as sim:
        env = {**source.env(sim), **FAST_RETRIES}
        env[source.url_key] = env[source.url_key].replace("http://", "https://")
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        [result] = run(db, [name])
    fault_record.record(retries=result.api_calls - 1, exit_status=result.status)
    line = result.error or ""
    assert f"127.0.0.1:{sim.port}: TLS certificate problem: self-signed certificate (not retried)" in line
    assert source.url_key in line and "REQUESTS_CA_BUNDLE" in line
    assert result.api_calls == 1
