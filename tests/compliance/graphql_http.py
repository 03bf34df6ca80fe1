"""The `graphql-http` npm package's GraphQL-over-HTTP audit, run with node against a URL.

The package is installed with npm, once, into `.cache/node` at the repository root (git-ignored)
and reused by later runs. Node and npm must be on PATH: without them the test fails (CI has them).
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE = REPO_ROOT / ".cache" / "node"
AUDIT_SCRIPT = Path(__file__).with_name("audit.mjs")
#: the audited package, pinned so that a new release cannot change the verdict silently
PACKAGES = {"graphql-http": "1.23.1", "graphql": "16.15.0"}
NPM_SECONDS = 300
AUDIT_SECONDS = 120


def _installed() -> bool:
    for name, version in PACKAGES.items():
        manifest = CACHE / "node_modules" / name / "package.json"
        if not manifest.exists() or json.loads(manifest.read_text()).get("version") != version:
            return False
    return True


def install() -> Path:
    """node_modules holding graphql-http (npm install into the cache the first time)."""
    for tool in ("node", "npm"):
        assert shutil.which(tool), f"`{tool}` is not on PATH: the GraphQL-over-HTTP audit needs Node.js 18+ and npm"
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:  # two test runs at once install once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed():
            (CACHE / "package.json").write_text(json.dumps(
                {"private": True, "dependencies": PACKAGES}, indent=2) + "\n")
            done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-package-lock"], cwd=CACHE,
                                  capture_output=True, text=True, timeout=NPM_SECONDS)
            assert done.returncode == 0, f"npm install failed:\n{done.stdout}\n{done.stderr}"
            assert _installed(), f"npm install did not install {PACKAGES}"
    return CACHE / "node_modules"


def audit(url: str) -> list[dict]:
    """Every audit result for the GraphQL endpoint at `url`: {id, name, status, reason}."""
    modules = install()
    done = subprocess.run(["node", str(AUDIT_SCRIPT), url], capture_output=True, text=True, timeout=AUDIT_SECONDS,
                          env={**os.environ, "GRAPHQL_HTTP_MODULES": str(modules)})
    assert done.returncode == 0, f"the audit script failed:\n{done.stdout}\n{done.stderr}"
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
