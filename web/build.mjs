// Builds the console into dist/: console.js (src/main.ts bundled with the
// generated client and openapi-fetch), console.css and index.html. The
// output is deterministic; `node build.mjs --check` fails when the committed
// dist/ differs from a fresh build (CI runs it, like the docs freshness
// check), so `go run .` and `go test ./...` never need Node.
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import * as esbuild from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, "dist");
const check = process.argv.includes("--check");

// The client in ../clients/typescript imports openapi-fetch: take this
// package's pinned copy, whatever that folder has installed.
const ownDependencies = {
  name: "own-dependencies",
  setup(build) {
    build.onResolve({ filter: /^openapi-fetch$/ }, () => ({
      path: path.join(here, "node_modules", "openapi-fetch", "dist", "index.mjs"),
    }));
  },
};

const common = { bundle: true, minify: true, write: false, logLevel: "warning", legalComments: "none", charset: "utf8" };
const js = await esbuild.build({
  ...common,
  entryPoints: [path.join(here, "src", "main.ts")],
  format: "esm",
  target: "es2022",
  plugins: [ownDependencies],
  outfile: path.join(dist, "console.js"),
});
const css = await esbuild.build({
  ...common,
  entryPoints: [path.join(here, "src", "console.css")],
  outfile: path.join(dist, "console.css"),
});
const files = new Map([
  ["console.js", js.outputFiles[0].contents],
  ["console.css", css.outputFiles[0].contents],
  ["index.html", await readFile(path.join(here, "src", "index.html"))],
]);

if (check) {
  const stale = [];
  for (const [name, want] of files) {
    const got = await readFile(path.join(dist, name)).catch(() => Buffer.alloc(0));
    if (!Buffer.from(want).equals(got)) stale.push(name);
  }
  if (stale.length) {
    console.error(`web/dist is stale (${stale.join(", ")}): run 'make console' and commit`);
    process.exit(1);
  }
  console.log("web/dist is fresh");
} else {
  await mkdir(dist, { recursive: true });
  for (const [name, data] of files) await writeFile(path.join(dist, name), data);
  console.log(`web/dist: ${[...files].map(([n, d]) => `${n} ${d.length} B`).join(", ")}`);
}
