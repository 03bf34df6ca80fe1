from __future__ import annotations

import pytest

from infrastructure.platform import Platform


@pytest.fixture
def matrix_services(tmp_path, platform: Platform) -> Platform:
    """The test's platform with uploads into this test's folder and GIF search in the built-in catalog."""
    return Platform.local(tmp_path / "files", max_upload_bytes=1 << 20, url_secret=b"matrix", url_ttl_seconds=60,
                          broker=platform.broker)
