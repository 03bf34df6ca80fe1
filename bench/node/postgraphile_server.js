// PostGraphile 4 for the bench (bench/postgraphile.py starts it): its library behind node's
// http server, with the options its documentation recommends for production, /healthz
// answering once the GraphQL schema is built. Settings come from the environment.
"use strict";

const http = require("http");
const { Pool } = require("pg");
const { postgraphile } = require("postgraphile");

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_SIZE || 5) });
const graphql = postgraphile(pool, [process.env.SCHEMA], {
  jwtSecret: process.env.JWT_SECRET, // the viewer: a verified JWT's claims become jwt.claims.* settings
  watchPg: false,
  graphiql: false,
  enhanceGraphiql: false,
  disableQueryLog: true,
  disableDefaultMutations: true,
  setofFunctionsContainNulls: false,
  ignoreRBAC: false,
  legacyRelations: "omit",
  dynamicJson: true,
  extendedErrors: ["errcode"],
  showErrorStack: false,
  retryOnInitFail: false,
});

graphql.getGraphQLSchema().then(
  () => {
    const server = http.createServer((req, res) => {
      if (req.url === "/healthz") {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end('{"status":"ok"}');
        return;
      }
      graphql(req, res);
    });
    server.keepAliveTimeout = 65000;
    server.listen(Number(process.env.PORT), "127.0.0.1", () => {
      console.log(`PostGraphile listening on 127.0.0.1:${process.env.PORT}`);
    });
  },
  (error) => {
    console.error(error);
    process.exit(1);
  }
);

process.on("SIGTERM", () => process.exit(0));
