"""The website chat widget (issue 21): `widget.js`, built from `widget/` by
`npm --prefix widget ci && npm --prefix widget run build`, served by `openchannels/widget/script.py`."""
from openchannels.widget.script import widget_routes

__all__ = ["widget_routes"]
