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

const bundles = [
  { entry: "graphiql/main.tsx", out: "graphiql", name: "graphiql" },
  { entry: "dashboard/main.ts", out: "dashboard", name: "dashboard" },
];

for (const { entry, out, name } of bundles) {
  const outdir = join(staticDir, out);
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    entryPoints: { [name]: join(here, entry) },
    outdir,
    bundle: true,
    minify: true,
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
