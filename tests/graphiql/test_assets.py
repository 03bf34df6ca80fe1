"""The GraphiQL files committed in the package are the pinned npm builds, licences beside them,
and an installed package carries them (openchannels/graphiql/build.py rebuilds them)."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

from openchannels.graphiql import build, page

STATIC = build.STATIC
REPO_ROOT = Path(__file__).resolve().parents[2]


def manifest() -> dict:
    return json.loads(build.MANIFEST.read_text())


def test_the_committed_files_are_the_pinned_versions_byte_for_byte():
    packages = manifest()["packages"]

    assert {name: p["version"] for name, p in packages.items()} == \
        {name: version for name, (version, _) in build.PACKAGES.items()}
    for name, (_, files) in build.PACKAGES.items():
        assert sorted(packages[name]["files"]) == sorted(files.values()), name
        assert packages[name]["integrity"].startswith("sha512-"), name  # npm's, of the tarball packed
        for file_name, digest in packages[name]["files"].items():
            assert hashlib.sha256((STATIC / file_name).read_bytes()).hexdigest() == digest, file_name


def test_static_holds_the_manifests_files_and_nothing_else():
    listed = {f for p in manifest()["packages"].values() for f in p["files"]}

    assert {p.name for p in STATIC.iterdir()} == listed | {"manifest.json"}


def test_each_package_keeps_its_licence_beside_its_files():
    for name, (_, files) in build.PACKAGES.items():
        assert "package/LICENSE" in files, name
        licence = (STATIC / files["package/LICENSE"]).read_text()
        assert licence.startswith("MIT License") and "Permission is hereby granted" in licence, name


def test_the_page_loads_only_pinned_files_and_its_own_script():
    pinned = {f for p in manifest()["packages"].values() for f in p["files"]}

    assert set(page.STYLES + page.SCRIPTS) - pinned == {"page.js"}
    assert page.SCRIPTS.index("react.production.min.js") < page.SCRIPTS.index("react-dom.production.min.js") \
        < page.SCRIPTS.index("graphiql.min.js") < page.SCRIPTS.index("page.js")


def test_an_installed_package_carries_the_page_and_its_files(tmp_path: Path):
    """What setuptools copies into a wheel (pyproject's package-data), from a clean copy of the
    project (a stale *.egg-info would list the files whatever pyproject says)."""
    project, built = tmp_path / "project", tmp_path / "built"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, project / name)
    for package in ("openchannels", "models", "services", "resolvers", "schema"):
        shutil.copytree(REPO_ROOT / package, project / package, ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run(
        [sys.executable, "-c", f"from setuptools import setup; setup(script_args=['-q', 'build_py', '--build-lib', {str(built)!r}])"],
        cwd=project, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    installed = built / "openchannels" / "graphiql"

    for name in ("page.js", "example.graphql"):
        assert (installed / name).read_bytes() == (page.HERE / name).read_bytes()
    assert {p.name for p in (installed / "static").iterdir()} == {p.name for p in STATIC.iterdir()}
