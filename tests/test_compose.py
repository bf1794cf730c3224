"""The production deployment files (compose.yaml, Dockerfile, deploy/) checked by structure, as
no Docker engine runs here: services, healthchecks, start order, secrets without defaults,
the image. `docker compose config` and `caddy adapt` run too where those tools are present."""

from __future__ import annotations

import http.client
import ipaddress
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from authserver.settings import Settings as AuthSettings
from mcpserver.settings import Settings as McpSettings
from shared.settings import env_proxies
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "compose.yaml"
APP_SERVICES = ("migrate", "authserver", "mcpserver")
LONG_RUNNING = ("postgres", "authserver", "mcpserver", "caddy")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|KEY|TOKEN|CREDENTIAL|DATABASE_URL", re.I)
# ${NAME:-default} and ${NAME-default}: a value used when NAME is unset (or empty).
DEFAULTED = re.compile(r"\$\{(\w+)(?::?-)[^}]*\}")
REQUIRED = re.compile(r"\$\{\w+:?\?[^}]+\}")


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _services() -> dict[str, Any]:
    services: dict[str, Any] = _compose()["services"]
    return services


def _environment(service: dict[str, Any]) -> dict[str, str]:
    entries = service.get("environment", {})
    if isinstance(entries, list):
        return dict(entry.partition("=")[::2] for entry in entries)
    return {name: str(value) for name, value in entries.items()}


def _conditions(service: dict[str, Any]) -> dict[str, str]:
    depends = service.get("depends_on", {})
    if isinstance(depends, list):
        return {name: "service_started" for name in depends}
    return {name: spec["condition"] for name, spec in depends.items()}


def test_every_service_is_there() -> None:
    assert set(_services()) == {"postgres", "migrate", "authserver", "mcpserver", "caddy"}


def test_migrations_run_once_before_the_services_start() -> None:
    services = _services()
    migrate = services["migrate"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["restart"] == "no"
    assert _conditions(migrate) == {"postgres": "service_healthy"}
    for name in ("authserver", "mcpserver"):
        assert _conditions(services[name]) == {
            "migrate": "service_completed_successfully",
            "postgres": "service_healthy",
        }, name
    assert _conditions(services["caddy"]) == {
        "authserver": "service_healthy", "mcpserver": "service_healthy"
    }
    assert _start_order(services) == ["postgres", "migrate", "authserver", "mcpserver", "caddy"]


def _start_order(services: dict[str, Any]) -> list[str]:
    """Compose's order: a service after everything it depends on (ties by file order)."""
    order: list[str] = []
    while len(order) < len(services):
        ready = [name for name, service in services.items()
                 if name not in order and set(_conditions(service)) <= set(order)]
        assert ready, f"a dependency cycle among {set(services) - set(order)}"
        order.append(ready[0])
    return order


def test_every_long_running_service_has_a_healthcheck() -> None:
    services = _services()
    for name in LONG_RUNNING:
        check = services[name]["healthcheck"]
        assert check["test"][0] == "CMD" and not check.get("disable"), name
        assert services[name]["restart"] == "unless-stopped", name
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]


@pytest.mark.parametrize(("name", "port_variable"), [
    ("authserver", "HOSPIAI_AUTH_PORT"), ("mcpserver", "HOSPIAI_MCP_PORT"),
])
def test_the_services_are_checked_at_readyz_with_the_images_python(
    name: str, port_variable: str
) -> None:
    service = _services()[name]
    port = _environment(service)[port_variable]
    command, program, flag, script = service["healthcheck"]["test"]
    assert (command, program, flag) == ("CMD", "python", "-c")  # the slim image has no curl
    assert f"'http://127.0.0.1:{port}/readyz'" in script
    assert service["command"] == [name]


def test_a_stop_leaves_time_for_the_graceful_shutdown() -> None:
    services = _services()
    for name, default in (("authserver", AuthSettings.shutdown_timeout),
                          ("mcpserver", McpSettings.shutdown_timeout)):
        timeout = int(_environment(services[name]).get("HOSPIAI_SHUTDOWN_TIMEOUT", default))
        grace = services[name]["stop_grace_period"]
        assert re.fullmatch(r"\d+s", grace) and int(grace[:-1]) > timeout, name


def test_no_secret_has_a_default_value() -> None:
    text = COMPOSE.read_text()
    defaulted = {match.group(1) for match in DEFAULTED.finditer(text)}
    assert defaulted == {"HOSPIAI_AUTH_DOMAIN", "HOSPIAI_MCP_DOMAIN", "HOSPIAI_MCP_CLIENT_ID"}
    assert not {name for name in defaulted if SECRET_NAME.search(name)}
    declared = _compose()["secrets"]
    for name, service in _services().items():
        mounted = set(service.get("secrets", []))
        for variable, value in _environment(service).items():
            if not SECRET_NAME.search(variable):
                continue
            if variable.endswith("_FILE"):
                # A Docker secret: a file mounted at /run/secrets/, declared below.
                secret = value.removeprefix("/run/secrets/")
                assert value.startswith("/run/secrets/") and secret in mounted, (name, variable)
            else:
                assert REQUIRED.fullmatch(value), f"{name}: {variable} must be ${{VAR:?message}}"
        assert mounted <= set(declared), name


def test_secret_files_stay_out_of_git_and_the_image() -> None:
    for name, secret in _compose()["secrets"].items():
        assert set(secret) == {"file"} and secret["file"] == f"./secrets/{name}", name
    assert "/secrets/" in (ROOT / ".gitignore").read_text().splitlines()
    assert _dockerignore()[0] == "*"  # the build context holds only what is let back in


def _dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def test_the_application_services_share_one_image_built_from_the_dockerfile() -> None:
    services = _services()
    builds = {name: (services[name]["build"]["context"], services[name]["build"]["dockerfile"],
                     services[name]["image"]) for name in APP_SERVICES}
    assert set(builds.values()) == {(".", "Dockerfile", "hospiai-connect")}, builds
    for name in APP_SERVICES:
        service = services[name]
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"], name


def test_postgres_is_pinned_and_keeps_its_data_in_a_named_volume() -> None:
    compose = _compose()
    postgres = compose["services"]["postgres"]
    assert re.fullmatch(r"postgres:\d+[\w.-]*", postgres["image"])
    assert re.fullmatch(r"caddy:\d+\.\d+[\w.-]*", compose["services"]["caddy"]["image"])
    volume, _, target = postgres["volumes"][0].partition(":")
    assert (volume, target) == ("postgres-data", "/var/lib/postgresql/data")
    assert volume in compose["volumes"]
    environment = _environment(postgres)
    assert environment["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert "POSTGRES_PASSWORD" not in environment
    # The MCP server's database is made on the first start, beside POSTGRES_DB.
    init = (ROOT / "deploy/postgres/10-mcp-database.sql").read_text()
    assert "CREATE DATABASE hospiai_mcp OWNER hospiai;" in init


def test_the_public_urls_are_https_on_the_hosts_caddy_serves() -> None:
    services = _services()
    auth, mcp = _environment(services["authserver"]), _environment(services["mcpserver"])
    caddy = _environment(services["caddy"])
    issuer = "https://${HOSPIAI_AUTH_DOMAIN:-auth.localhost}"
    assert auth["HOSPIAI_ISSUER"] == mcp["HOSPIAI_ISSUER"] == issuer
    assert auth["HOSPIAI_DEFAULT_RESOURCE"] == mcp["HOSPIAI_MCP_URL"] == (
        "https://${HOSPIAI_MCP_DOMAIN:-mcp.localhost}/mcp"
    )
    assert caddy["HOSPIAI_AUTH_DOMAIN"] == "${HOSPIAI_AUTH_DOMAIN:-auth.localhost}"
    assert caddy["HOSPIAI_MCP_DOMAIN"] == "${HOSPIAI_MCP_DOMAIN:-mcp.localhost}"
    # Introspection stays on the compose network.
    assert mcp["HOSPIAI_INTROSPECTION_URL"] == "http://authserver:9000/introspect"
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in services["caddy"]["volumes"]
    sites = re.findall(r"^\{\$(\w+)\} \{.*?dynamic a (\w+ \d+) .*?^\}$",
                       (ROOT / "deploy/Caddyfile").read_text(), re.MULTILINE | re.DOTALL)
    assert sites == [("HOSPIAI_AUTH_DOMAIN", f"authserver {auth['HOSPIAI_AUTH_PORT']}"),
                     ("HOSPIAI_MCP_DOMAIN", f"mcpserver {mcp['HOSPIAI_MCP_PORT']}")]


def _dockerfile_stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined), one list a stage."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_the_image_is_multi_stage_non_root_and_without_compilers() -> None:
    stages = _dockerfile_stages()
    assert len(stages) >= 2
    final = stages[-1]
    assert final[0] == "FROM ${PYTHON_IMAGE}"
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in (ROOT / "Dockerfile").read_text()
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert not re.search(r"gcc|g\+\+|clang|build-essential|apt-get|python3-dev|make\b",
                         "\n".join(final))
    assert any(line.startswith("COPY --from=builder ") for line in final)
    assert final[-2:] == ['ENTRYPOINT ["hospiai"]', 'CMD ["--help"]']
    for stage in stages:
        for line in stage:
            if line.startswith(("ENV ", "ARG ")):
                assert not SECRET_NAME.search(line), line


def test_the_build_context_holds_only_what_the_dockerfile_copies() -> None:
    let_in = {line[1:].rstrip("/") for line in _dockerignore() if line.startswith("!")}
    copied = {line.split()[1].removeprefix("./") for stage in _dockerfile_stages()
              for line in stage if line.startswith("COPY ") and "--from" not in line}
    assert copied == let_in == {"pyproject.toml", "authserver", "mcpserver", "shared", "hospiai"}


def _meets_the_compose_specification(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
         str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_the_compose_file_meets_the_compose_specification(tmp_path: Path) -> None:
    """The Compose Specification's own JSON schema, the one docker compose validates files
    with, as check-jsonschema vendors it: it runs where no docker CLI is (Debian has no
    compose v2)."""
    result = _meets_the_compose_specification(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr
    # A misspelt key is refused, so the check above can fail.
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text().replace("healthcheck:", "healthchek:", 1))
    assert _meets_the_compose_specification(broken).returncode != 0


def test_caddy_accepts_the_caddyfile(tmp_path: Path) -> None:
    if shutil.which("caddy") is None:
        pytest.skip("caddy adapt not run: no caddy binary (Debian: apt-get install caddy)")
    result = subprocess.run(
        ["caddy", "adapt", "--config", str(ROOT / "deploy/Caddyfile"), "--adapter",
         "caddyfile", "--validate"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        # Caddy keeps its state under HOME: here, the test's own folder.
        env={"HOME": str(tmp_path), "HOSPIAI_AUTH_DOMAIN": "auth.localhost",
             "HOSPIAI_MCP_DOMAIN": "mcp.localhost"},
    )
    assert result.returncode == 0, result.stderr


def test_the_services_believe_forwarded_headers_from_caddy_alone() -> None:
    compose = _compose()
    services = compose["services"]
    (network,) = compose["networks"]["default"]["ipam"]["config"]
    subnet = ipaddress.ip_network(network["subnet"])
    dynamic = ipaddress.ip_network(network["ip_range"])
    caddy = ipaddress.ip_address(services["caddy"]["networks"]["default"]["ipv4_address"])
    # Caddy's fixed address is on the network, outside the range other containers draw from,
    # and nothing else claims an address.
    assert isinstance(subnet, ipaddress.IPv4Network) and isinstance(dynamic, ipaddress.IPv4Network)
    assert caddy in subnet and dynamic.subnet_of(subnet) and caddy not in dynamic
    assert [name for name, service in services.items() if "networks" in service] == ["caddy"]
    for name in ("authserver", "mcpserver"):
        environment = _environment(services[name])
        trusted = env_proxies(environment, "HOSPIAI_FORWARDED_ALLOW_IPS")
        assert trusted == (str(caddy),), name
    assert "HOSPIAI_FORWARDED_ALLOW_IPS" not in _environment(services["migrate"])


def test_caddy_keeps_metrics_off_the_public_side_in_every_spelling(tmp_path: Path) -> None:
    """The real Caddy with deploy/Caddyfile: /metrics is 404 at the proxy however the path is
    spelled (Caddy matches the decoded, case-folded path; /metrics/ went through), and other
    paths go upstream (a 502 or 503 here, as no service runs behind it)."""
    if shutil.which("caddy") is None:
        pytest.skip("caddy not run: no caddy binary (Debian: apt-get install caddy)")
    auth_port, mcp_port = free_port(), free_port()
    wrapper = tmp_path / "Caddyfile"
    wrapper.write_text("{\n\tadmin off\n\tauto_https off\n}\n"
                       f"import {ROOT / 'deploy/Caddyfile'}\n")
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path),
           "HOSPIAI_AUTH_DOMAIN": f"http://127.0.0.1:{auth_port}",
           "HOSPIAI_MCP_DOMAIN": f"http://127.0.0.1:{mcp_port}"}
    caddy = subprocess.Popen(
        ["caddy", "run", "--config", str(wrapper), "--adapter", "caddyfile"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for port in (auth_port, mcp_port):
            _wait_for(port)
            for path in ("/metrics", "/%6detrics", "/METRICS", "/metrics/", "/metrics%2F",
                         "//metrics", "/./metrics", "/metrics/x", "/%6D%65trics"):
                assert _status(port, path) == 404, (port, path)
            assert _status(port, "/healthz") in (502, 503)  # went upstream
    finally:
        caddy.terminate()
        caddy.wait(timeout=10)


def _status(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
