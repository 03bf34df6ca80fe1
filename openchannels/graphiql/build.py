"""Rebuild GraphiQL's files from the npm registry: `python -m openchannels.graphiql.build`.

Needs `npm` and the registry, nothing else: `npm pack` fetches each pinned package's tarball
(npm checks it against the registry's integrity; no install, no package scripts run), the
files the page loads are copied byte for byte into `static/` with their package's LICENSE
beside them, and `static/manifest.json` records each package's version and tarball integrity
and each file's sha256 (tests/graphiql/test_assets.py holds the committed files to it).

To move to another version: change PACKAGES, run this, try the page, commit `static/`.
GraphiQL stays on 3.x: its npm package ships a UMD build that bundles everything but React
(CodeMirror, graphql-js and the graphql-ws client its subscriptions use); 4.x and later are
ES modules only.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
MANIFEST = STATIC / "manifest.json"

#: package -> (pinned version, {file inside the npm tarball: file name in static/})
PACKAGES: dict[str, tuple[str, dict[str, str]]] = {
    "react": ("18.3.1", {
        "package/umd/react.production.min.js": "react.production.min.js",
        "package/LICENSE": "react.LICENSE",
    }),
    "react-dom": ("18.3.1", {
        "package/umd/react-dom.production.min.js": "react-dom.production.min.js",
        "package/LICENSE": "react-dom.LICENSE",
    }),
    "graphiql": ("3.9.0", {
        "package/graphiql.min.js": "graphiql.min.js",
        "package/graphiql.min.css": "graphiql.min.css",
        "package/LICENSE": "graphiql.LICENSE",
    }),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def npm_pack(spec: str, into: Path) -> dict:
    """`npm pack <spec>` into `into`; npm's JSON description of the tarball (filename, integrity)."""
    done = subprocess.run(["npm", "pack", spec, "--json", "--pack-destination", str(into)],
                          cwd=into, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"npm pack {spec} failed:\n{done.stderr}")
    return json.loads(done.stdout)[0]


def build() -> dict:
    """Every pinned package packed and its files copied; `static/` is replaced only once all succeeded."""
    manifest: dict = {"rebuild": "python -m openchannels.graphiql.build", "packages": {}}
    with tempfile.TemporaryDirectory(prefix="graphiql-build-") as temp:
        work, out = Path(temp), Path(temp) / "static"
        out.mkdir()
        for name, (version, files) in PACKAGES.items():
            packed = npm_pack(f"{name}@{version}", work)
            if packed["version"] != version:
                raise SystemExit(f"npm packed {name}@{packed['version']}, not the pinned {version}")
            unpacked = work / name
            with tarfile.open(work / packed["filename"]) as tarball:
                tarball.extractall(unpacked, filter="data")
            for source, target in files.items():
                shutil.copyfile(unpacked / source, out / target)
            manifest["packages"][name] = {"version": version, "integrity": packed["integrity"],
                                          "files": {target: sha256(out / target) for target in files.values()}}
        (out / MANIFEST.name).write_text(json.dumps(manifest, indent=2) + "\n")
        shutil.rmtree(STATIC, ignore_errors=True)
        shutil.copytree(out, STATIC)
    return manifest


def main() -> None:
    manifest = build()
    for name, package in manifest["packages"].items():
        print(f"{name}@{package['version']}: {', '.join(package['files'])}")
    print(f"wrote {MANIFEST}", file=sys.stderr)


if __name__ == "__main__":
    main()
