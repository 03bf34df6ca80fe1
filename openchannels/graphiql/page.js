// The Open Channels GraphiQL page: React and GraphiQL from this server's own files
// (openchannels/graphiql/static), queries over HTTP, subscriptions over a WebSocket
// (graphql-transport-ws, the graphql-ws client bundled in graphiql.min.js). The editor's
// headers travel as connection_init's payload, so `Authorization` signs the WebSocket in too.
// A file of its own, not an inline script: the page's Content-Security-Policy allows
// scripts from this server only.
(function () {
  "use strict";
  var defaults = JSON.parse(document.getElementById("graphiql-defaults").textContent);
  // the endpoint is this page's own URL: GET /graphql from a browser is this page
  var url = new URL(window.location.pathname, window.location.href);
  var subscriptionUrl = new URL(url.href);
  subscriptionUrl.protocol = url.protocol === "https:" ? "wss:" : "ws:";

  var fetcher = GraphiQL.createFetcher({ url: url.href, subscriptionUrl: subscriptionUrl.href });

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaults.query,
      defaultHeaders: defaults.headers,
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      inputValueDeprecation: true,
    })
  );
})();
