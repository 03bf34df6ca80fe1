// Bundles src/main.ts into the one file the server serves at /widget.js (openchannels/widget/).
// `npm run build` writes it there; `npm run build -- --outfile=PATH` elsewhere (CI compares the two).
// The output depends only on the sources and the locked versions: same input, same bytes.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const given = process.argv.find((arg) => arg.startsWith("--outfile="));
const outfile = given ? given.slice("--outfile=".length) : `${here}../openchannels/widget/widget.js`;

await build({
  entryPoints: [`${here}src/main.ts`],
  outfile,
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  platform: "browser",
  legalComments: "none",
  charset: "utf8",
  banner: {
    js: "/*! Open Channels chat widget, built from widget/ (npm --prefix widget ci && npm --prefix widget run build)."
      + " Includes graphql-ws (MIT, Denis Badurina) and paths of Material Icons (Apache-2.0, Google). */",
  },
  logLevel: "warning",
});
console.log(`wrote ${outfile}`);
