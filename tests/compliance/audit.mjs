// The GraphQL-over-HTTP audit of the `graphql-http` package against a running server.
// Usage: node audit.mjs URL   (graphql-http resolved through NODE_PATH or a node_modules above)
// Prints one JSON line per audit result ({id, name, status, reason}) and exits 0.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import path from "node:path";

const url = process.argv[2];
if (!url) {
  console.error("usage: node audit.mjs URL");
  process.exit(2);
}
// graphql-http lives in a cache folder given by GRAPHQL_HTTP_MODULES (its node_modules)
const modules = process.env.GRAPHQL_HTTP_MODULES;
const require = createRequire(modules ? path.join(path.resolve(modules), "noop.js") : import.meta.url);
const { auditServer } = await import(pathToFileURL(require.resolve("graphql-http")).href);

const results = await auditServer({ url });
for (const result of results) {
  console.log(JSON.stringify({
    id: result.id,
    name: result.name,
    status: result.status,
    reason: result.status === "ok" ? null : result.reason,
  }));
}
