// Bundles src/main.ts and src/console.css into the two files the server serves under /console
// (openchannels/console/). `npm run build` writes them there; `npm run build -- --outdir=PATH`
// elsewhere (CI compares the two). Same sources and locked versions: same bytes.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const given = process.argv.find((arg) => arg.startsWith("--outdir="));
const outdir = given ? given.slice("--outdir=".length) : `${here}../openchannels/console`;
const banner = "/*! Open Channels operator console, built from console/ (npm --prefix console ci && npm --prefix console run build)."
  + " Includes graphql-ws (MIT, Denis Badurina). */";

await build({
  entryPoints: [`${here}src/main.ts`],
  outfile: `${outdir}/console.js`,
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  platform: "browser",
  legalComments: "none",
  charset: "utf8",
  banner: { js: banner },
  logLevel: "warning",
});
await build({
  entryPoints: [`${here}src/console.css`],
  outfile: `${outdir}/console.css`,
  bundle: true,
  minify: true,
  legalComments: "none",
  charset: "utf8",
  logLevel: "warning",
});
console.log(`wrote ${outdir}/console.js and ${outdir}/console.css`);
