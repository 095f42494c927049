// make book: the notebooks as a static site in _build/html, with warnings as errors.
//
//     node book/build.mjs [PROJECT_DIR]      (default: this repository)
//
// mystmd (pinned in package.json) builds the pages from the notebooks' stored outputs (it
// executes nothing unless asked with --execute) and renders them with book/theme. mystmd
// has no flag that turns warnings into errors (--strict also checks every external link,
// which needs the internet and would make the build depend on other sites), so this script
// reads what mystmd reports: any warning (⚠️), error (⛔️), page it could not fetch, or
// theme failure fails the build, and so does a page missing from the result.

import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const MYST = join(ROOT, "node_modules", "mystmd", "dist", "myst.cjs");
const MERMAID = join(ROOT, "node_modules", "mermaid", "dist", "mermaid.min.js");
const THEME_ASSETS = join(ROOT, "book", "theme", "public", "theme");
// The project to build: this repository, or another folder with a myst.yml (the tests').
const PROJECT = process.argv[2] ?? ROOT;
const HTML = join(PROJECT, "_build", "html");

// What mystmd prints when something is wrong; the theme's own failures start with its name.
const PROBLEM = /⚠️|⛔️|Error fetching|wsrelay book theme: |\bwarning\b|\berror\b/i;

function fail(message) {
  console.error(`make book: ${message}`);
  process.exit(1);
}

if (!existsSync(MYST)) fail("mystmd is not installed: run npm ci");
// Mermaid draws the diagrams in the reader's browser; the site carries its own copy.
mkdirSync(THEME_ASSETS, { recursive: true });
copyFileSync(MERMAID, join(THEME_ASSETS, "mermaid.min.js"));

const started = Date.now();
const run = spawnSync(process.execPath, [MYST, "build", "--html"], {
  cwd: PROJECT,
  encoding: "utf8",
  env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
  maxBuffer: 64 * 1024 * 1024,
});
const output = `${run.stdout}\n${run.stderr}`;
// mystmd prints its versions when it stops on an error; they are not problems themselves.
const problems = output
  .split("\n")
  .filter((line) => PROBLEM.test(line))
  .filter((line) => !line.includes("Execution parallelism"));
process.stdout.write(run.stdout);
process.stderr.write(run.stderr);
if (problems.length) {
  fail(`${problems.length} warning(s) or error(s) (mystmd exited with status ${run.status}):\n  ${problems.join("\n  ")}`);
}
if (run.status !== 0) fail(`mystmd exited with status ${run.status}`);

// Every page of the table of contents is in the site.
const config = JSON.parse(readFileSync(join(HTML, "config.json"), "utf8"));
const project = config.projects[0];
const slugs = [project.index, ...project.pages.filter((p) => p.slug).map((p) => p.slug)];
const missing = slugs.filter((slug) => !existsSync(join(HTML, slug === project.index ? "" : slug, "index.html")));
if (missing.length) fail(`pages missing from _build/html: ${missing.join(", ")}`);
console.log(`make book: ${slugs.length} pages in _build/html, no warnings (${((Date.now() - started) / 1000).toFixed(1)} s)`);
