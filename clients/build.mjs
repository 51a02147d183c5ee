// Builds the browser bundles the service serves (no CDN): GraphiQL with the explorer plugin into
// ../service/static/graphiql/, the reference dashboard with uPlot into ../service/static/dashboard/.
// Run by `make assets` (after `npm run codegen`, which the dashboard's typed documents need).
// `node build.mjs <folder>` builds into another folder instead (the test that the committed bundles
// are up to date compares the two).
import { rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const staticDir = process.argv[2] ?? join(here, "..", "service", "static");

// The dashboard keeps its identifiers: esbuild names minified symbols by the character frequency of every
// bundled source, the generated schema types included, so any schema change would rename them and the
// committed bundle would go stale; whitespace and syntax are still minified (gzip takes the rest).
const bundles = [
  { entry: "graphiql/main.tsx", out: "graphiql", name: "graphiql", identifiers: true },
  { entry: "dashboard/main.ts", out: "dashboard", name: "dashboard", identifiers: false },
];

for (const { entry, out, name, identifiers } of bundles) {
  const outdir = join(staticDir, out);
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    entryPoints: { [name]: join(here, entry) },
    outdir,
    bundle: true,
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers: identifiers,
    format: "esm",
    target: ["es2022"],
    jsx: "automatic",
    legalComments: "linked",
    define: { "process.env.NODE_ENV": '"production"' },
    loader: { ".woff2": "dataurl", ".svg": "dataurl" },
    metafile: true,
    logLevel: "warning",
  });
  for (const [file, { bytes }] of Object.entries(result.metafile.outputs)) {
    console.log(`${relative(staticDir, file).padEnd(36)} ${(bytes / 1024).toFixed(1).padStart(8)} KiB`);
  }
}
