from __future__ import annotations

import pytest

from services.messaging import files
from services.messaging import gifs


@pytest.fixture
def matrix_services(tmp_path):
    """Uploads into this test's folder, GIF search in the built-in catalog."""
    files.configure(files.FileSettings(files.LocalFileStorage(tmp_path / "files"), max_upload_bytes=1 << 20,
                                       url_secret=b"matrix", url_ttl_seconds=60))
    gifs.configure(gifs.CatalogGifProvider())
    yield
    files.configure(None)
    gifs.configure(None)
