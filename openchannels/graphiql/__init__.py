"""GraphiQL served by this server, from files inside the package: it works offline.

`static/` holds the pinned npm builds of React, ReactDOM and GraphiQL with their LICENSE files
(rebuilt by `python -m openchannels.graphiql.build`, listed with their sha256 in
`static/manifest.json`); `page.js` is our page script and `example.graphql` the default tab.
Development mode only: production registers neither the page nor the files.
"""
from openchannels.graphiql.page import graphiql_page, graphiql_static_route

__all__ = ["graphiql_page", "graphiql_static_route"]
