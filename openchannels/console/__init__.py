"""The reference operator console (issue 21): `console.js` and `console.css`, built from `console/` by
`npm --prefix console ci && npm --prefix console run build`, served by `openchannels/console/page.py`."""
from openchannels.console.page import console_routes

__all__ = ["console_routes"]
