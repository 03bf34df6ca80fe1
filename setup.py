"""Everything else is in pyproject.toml; this only compiles the gettext catalogs of the system texts
(services/chats/locale/*/LC_MESSAGES/*.po -> .mo) when the package is built: into the build for a
wheel, in place for an editable install (`pip install -e .`)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
LOCALE = Path("services", "chats", "locale")


class BuildPyWithCatalogs(build_py):
    def run(self) -> None:
        super().run()
        spec = importlib.util.spec_from_file_location("_catalogs", ROOT / "services" / "chats" / "gettext_catalogs.py")
        assert spec is not None and spec.loader is not None
        catalogs = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(catalogs)
        target = ROOT if getattr(self, "editable_mode", False) else Path(self.build_lib)
        catalogs.compile_all(ROOT / LOCALE, target / LOCALE)


setup(cmdclass={"build_py": BuildPyWithCatalogs})
