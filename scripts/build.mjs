#!/usr/bin/env node
// Build outputs with Bun's bundler (a devDependency, works offline):
//   node scripts/build.mjs            -> dist/aki.mjs, one file for Node >= 20
//   node scripts/build.mjs --compile  -> dist/aki, a native executable (bun build --compile)
//   node scripts/build.mjs --tests    -> dist/tests/*.test.mjs, the test suite for `node --test`
import { spawnSync } from "node:child_process";
import { readdirSync, mkdirSync, rmSync, writeFileSync, readFileSync, chmodSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bun = join(root, "node_modules", ".bin", "bun");
const mode = process.argv[2] ?? "--node";

function run(args) {
  const r = spawnSync(bun, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

mkdirSync(join(root, "dist"), { recursive: true });
if (mode === "--node") {
  run(["build", "src/main.ts", "--target", "node", "--format", "esm", "--outfile", "dist/aki.mjs"]);
  // Make it directly executable.
  const f = join(root, "dist/aki.mjs");
  const text = readFileSync(f, "utf8");
  if (!text.startsWith("#!")) writeFileSync(f, "#!/usr/bin/env node\n" + text);
  chmodSync(f, 0o755);
} else if (mode === "--compile") {
  run(["build", "src/main.ts", "--compile", "--outfile", "dist/aki"]);
} else if (mode === "--tests") {
  rmSync(join(root, "dist/tests"), { recursive: true, force: true });
  const find = (dir) =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? find(join(dir, e.name)) : e.name.endsWith(".test.ts") ? [join(dir, e.name)] : []);
  const files = [...find("tests"), ...find("src")];
  run(["build", ...files, "--target", "node", "--format", "esm", "--packages", "external", "--outdir", "dist/tests", "--entry-naming", "[name].mjs"]);
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
