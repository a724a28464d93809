"""A real OpenID provider for the OpenID Connect sign-in tests: panva's oidc-provider
(OpenID Certified), run by tests/oidc_provider/provider.js with Node on 127.0.0.1 and a
free port, with one client whose redirect URI is the live server's callback. bin/test
installs its node_modules (`npm ci --ignore-scripts`) when they are missing.

`oidc_provider` starts it once per test session; `oidc_settings` points the portal at it.
"""

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).parent / "oidc_provider"
CLIENT_ID = "isms-portal"
CLIENT_SECRET = "test-only-client-secret-0123456789"
# The people of tests/oidc_provider/accounts.json, by their provider login.
ACCOUNTS = {
    login: account
    for login, account in json.loads((HERE / "accounts.json").read_text()).items()
    if not login.startswith("_")
}
MFA_ACR = "urn:isms:test:mfa"


@dataclass
class Provider:
    issuer: str
    process: subprocess.Popen

    def discovery(self):
        return requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=5).json()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def oidc_provider(live_server, tmp_path_factory):
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node is not installed (bin/setup-system installs it)")
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        pytest.fail(f"run `npm ci --ignore-scripts` in {HERE} (bin/test does)")
    port = free_port()
    log = tmp_path_factory.mktemp("oidc-provider") / "provider.log"
    env = {
        **os.environ,
        "OIDC_TEST_PORT": str(port),
        "OIDC_TEST_CLIENT_ID": CLIENT_ID,
        "OIDC_TEST_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_TEST_REDIRECT_URI": f"{live_server.url}/oidc/callback/",
        "OIDC_TEST_POST_LOGOUT_REDIRECT_URI": f"{live_server.url}/policy/",
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [node, str(HERE / "provider.js")], cwd=HERE, env=env, stdout=output, stderr=output
        )
    provider = Provider(issuer=f"http://127.0.0.1:{port}", process=process)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"the OpenID provider stopped: {log.read_text()}")
            try:
                if provider.discovery().get("issuer") == provider.issuer:
                    break
            except (requests.RequestException, ValueError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the OpenID provider did not start: {log.read_text()}")
            time.sleep(0.2)
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def oidc_settings(settings, oidc_provider):
    """The portal signing in through the test provider, as the README's variables set it."""
    settings.OIDC_ISSUER = oidc_provider.issuer
    settings.OIDC_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = "テスト県共通認証"
    settings.OIDC_MFA_ACR_VALUES = [MFA_ACR]
    backends = list(settings.AUTHENTICATION_BACKENDS)
    if "isms.oidc_signin.ProviderBackend" not in backends:
        backends.insert(-1, "isms.oidc_signin.ProviderBackend")
    settings.AUTHENTICATION_BACKENDS = backends
    return settings
