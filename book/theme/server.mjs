// The book theme's server, as mystmd runs it for `myst build --html` (see template.yml):
// mystmd serves the built content on CONTENT_CDN_PORT, starts this on PORT, waits for a
// line with "http://" on stdout, then fetches every page and asset and saves them as the
// static site. A page that cannot be rendered answers 500, which mystmd reports as an
// error: `make book` fails on it.

import { readFileSync } from "node:fs";
import { createServer } from "node:http";

import { Renderer, escape } from "./render.mjs";

const PORT = Number(process.env.PORT ?? 3000);
const CDN = `http://localhost:${process.env.CONTENT_CDN_PORT ?? 3100}`;
const BASE = (process.env.BASE_URL ?? "").replace(/\/$/, "");
const CSS = readFileSync(new URL("./public/theme.css", import.meta.url));

async function fetchJson(path) {
  const reply = await fetch(`${CDN}${path}`);
  if (!reply.ok) throw new Error(`${path}: the content server answered ${reply.status}`);
  return reply.json();
}

function launchButtons(config, page, project) {
  if (page.kind !== "Notebook" || !project.github) return "";
  const repo = new URL(project.github).pathname.replace(/^\/|\/$/g, "");
  const branch = config.options?.branch ?? "main";
  const path = page.location.replace(/^\//, "");
  const binder = `https://mybinder.org/v2/gh/${repo}/${branch}?urlpath=${encodeURIComponent(`lab/tree/${path}`)}`;
  const codespaces = `https://codespaces.new/${repo}?quickstart=1`;
  const source = `${project.github}/blob/${branch}/${path}`;
  const download = page.frontmatter.exports?.find((e) => e.format === "ipynb");
  return `<nav class="launch" aria-label="Run this notebook">
  <a class="button" href="${escape(binder)}">Launch on Binder</a>
  <a class="button" href="${escape(codespaces)}">Open in Codespaces</a>
  ${download ? `<a class="button" href="${BASE}/build${escape(download.url)}" download="${escape(download.filename)}">Download .ipynb</a>` : ""}
  <a class="button" href="${escape(source)}">Source</a>
</nav>`;
}

function pageHref(slug, project) {
  return slug === project.index ? `${BASE}/` : `${BASE}/${slug}/`;
}

async function renderPage(slug) {
  const config = await fetchJson("/config.json");
  const project = config.projects[0];
  const page = await fetchJson(`/content/${slug}.json`);
  const renderer = new Renderer({ base: BASE, where: page.location });
  const body = renderer.node(page.mdast);
  const title = page.frontmatter.title ?? slug;
  const pages = [{ slug: project.index, title: "Introduction", level: 1 }, ...project.pages.filter((p) => p.slug)];
  const here = pages.findIndex((p) => p.slug === slug);
  const toc = project.pages
    .filter((p) => p.slug)
    .map((p) => {
      const current = p.slug === slug ? ' aria-current="page"' : "";
      return `<li class="level-${p.level ?? 1}"><a href="${pageHref(p.slug, project)}"${current}>${escape(p.title)}</a></li>`;
    })
    .join("\n");
  const neighbour = (i, rel) =>
    pages[i] ? `<a rel="${rel}" href="${pageHref(pages[i].slug, project)}">${escape(pages[i].title)}</a>` : "<span></span>";
  const mermaid = renderer.usesMermaid
    ? `<script src="${BASE}/theme/mermaid.min.js"></script>
<script>mermaid.initialize({ startOnLoad: true, securityLevel: "strict" });</script>`
    : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · ${escape(project.title ?? config.title ?? "")}</title>
<link rel="stylesheet" href="${BASE}/myst-theme.css">
</head>
<body>
<nav class="toc" aria-label="Contents">
<p class="site-title"><a href="${BASE}/">${escape(project.title ?? "")}</a></p>
<ol>
<li class="level-1"><a href="${BASE}/"${slug === project.index ? ' aria-current="page"' : ""}>Introduction</a></li>
${toc}
</ol>
</nav>
<main>
${launchButtons(config, page, project)}
<article>
${page.frontmatter.content_includes_title ? "" : `<h1>${escape(title)}</h1>`}
${body}
</article>
<footer class="pager">${neighbour(here - 1, "prev")}${neighbour(here + 1, "next")}</footer>
</main>
${mermaid}
</body>
</html>
`;
}

function sitemap(config) {
  const project = config.projects[0];
  const urls = [project.index, ...project.pages.filter((p) => p.slug).map((p) => p.slug)];
  return `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
${urls.map((slug) => `<url><loc>${pageHref(slug, project)}</loc></url>`).join("\n")}
</urlset>
`;
}

const FIXED = {
  "/robots.txt": ["text/plain", "User-agent: *\nAllow: /\n"],
  "/myst-theme.css": ["text/css", CSS],
  "/sitemap_style.xsl": [
    "application/xslt+xml",
    '<?xml version="1.0"?>\n<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"/>\n',
  ],
  // An empty icon: browsers stop asking, and nothing is fetched from elsewhere.
  "/favicon.ico": ["image/x-icon", Buffer.alloc(0)],
};

async function handle(request) {
  const path = decodeURIComponent(new URL(request.url, "http://localhost").pathname);
  const local = BASE && path.startsWith(BASE) ? path.slice(BASE.length) || "/" : path;
  if (FIXED[local]) return FIXED[local];
  if (local === "/sitemap.xml") return ["application/xml", sitemap(await fetchJson("/config.json"))];
  if (local.endsWith(".json")) {
    return ["application/json", JSON.stringify(await fetchJson(`/content${local}`))];
  }
  const config = await fetchJson("/config.json");
  const slug = local.replace(/^\/|\/$/g, "") || config.projects[0].index;
  return ["text/html; charset=utf-8", await renderPage(slug)];
}

const server = createServer((request, response) => {
  handle(request).then(
    ([type, body]) => {
      response.writeHead(200, { "Content-Type": type });
      response.end(body);
    },
    (error) => {
      // On stderr, which mystmd shows; the 500 makes it report the page as not built.
      console.error(`wsrelay book theme: ${request.url}: ${error.stack ?? error}`);
      response.writeHead(500, { "Content-Type": "text/plain" });
      response.end(String(error));
    },
  );
});

server.listen(PORT, "localhost", () => {
  console.log(`wsrelay book theme on http://localhost:${PORT}`);
});

// mystmd starts this through a shell (`sh -c "node server.mjs"`) and, when the build is
// done, exits without ending it: without this, every `make book` would leave a server (and
// its shell) behind. Its standard input is a pipe from mystmd, which closes when mystmd
// exits: then this ends too.
process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();
