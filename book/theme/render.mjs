// MyST's document tree (mdast, as mystmd writes it to _build/site/content/*.json) to HTML.
//
// Every node type the book uses has a rule below; any other type throws, so the build
// fails (make book treats it as an error) instead of dropping content unseen.
// Notebook outputs are rendered from their stored data, as Jupyter shows them: HTML as it
// is (a <details> output stays collapsed), Markdown through markdown-it, images from the
// files mystmd extracted, text as preformatted text. The output of an exercise's hint() or
// solution() cell is folded (unless it folds itself), and so is a hide-output cell's.

import MarkdownIt from "markdown-it";

const markdown = new MarkdownIt({ html: true, linkify: false });

export function escape(text) {
  return String(text)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

export class Renderer {
  /**
   * @param {object} options
   * @param {string} options.base   the site's base URL ("" at the root of a domain)
   * @param {string} options.where  the page, for error messages
   */
  constructor({ base, where }) {
    this.base = base;
    this.where = where;
    this.usesMermaid = false;
  }

  children(node) {
    return (node.children ?? []).map((child) => this.node(child)).join("");
  }

  node(node) {
    const rule = RULES[node.type];
    if (!rule) {
      throw new Error(`${this.where}: no rule to render a "${node.type}" node`);
    }
    return rule.call(this, node);
  }

  url(node) {
    if (node.internal) return `${this.base}${node.url === "/" ? "" : node.url}/`;
    if (node.static) return `${this.base}/build${node.url}`;
    return node.url;
  }

  output(output) {
    const data = output.jupyter_data ?? {};
    switch (data.output_type) {
      case "stream": {
        const text = Array.isArray(data.text) ? data.text.join("") : data.text;
        return `<pre class="output stream ${escape(data.name)}">${escape(text)}</pre>`;
      }
      case "display_data":
      case "execute_result":
        return this.richOutput(data.data ?? {});
      case "error":
        return `<pre class="output error">${escape(`${data.ename}: ${data.evalue}`)}</pre>`;
      default:
        throw new Error(`${this.where}: an output of type "${data.output_type}"`);
    }
  }

  richOutput(bundle) {
    const content = (mime) => bundle[mime]?.content;
    if (bundle["text/html"]) {
      return `<div class="output html">${content("text/html")}</div>`;
    }
    for (const mime of ["image/png", "image/jpeg", "image/svg+xml", "image/gif"]) {
      if (bundle[mime]) {
        const alt = content("text/plain") ?? "";
        return `<img class="output image" src="${this.base}/build${bundle[mime].path}" alt="${escape(alt)}">`;
      }
    }
    if (bundle["text/markdown"]) {
      return `<div class="output markdown">${markdown.render(content("text/markdown"))}</div>`;
    }
    if (bundle["text/plain"]) {
      return `<pre class="output plain">${escape(content("text/plain"))}</pre>`;
    }
    throw new Error(`${this.where}: an output with none of the types the book shows: ${Object.keys(bundle)}`);
  }
}

// A cell that calls an exercise's hint() or solution() (wsrelay.exercises), unless its
// output already folds itself (an HTML <details>): "hint" or "solution", else null.
function exerciseReveal(block) {
  const [code, outputs] = block.children ?? [];
  if (code?.type !== "code" || outputs?.type !== "outputs" || !outputs.children?.length) return null;
  const call = /\.(hint|solution)\(/.exec(code.value ?? "");
  if (!call) return null;
  const foldsItself = outputs.children.some((output) =>
    /^\s*<details/i.test(output.jupyter_data?.data?.["text/html"]?.content ?? ""),
  );
  return foldsItself ? null : call[1];
}

const tag = (name, attributes = "") =>
  function (node) {
    return `<${name}${attributes}>${this.children(node)}</${name}>`;
  };

const RULES = {
  root: function (node) {
    return this.children(node);
  },
  block: function (node) {
    if (node.visibility === "remove") return "";
    const kind = node.kind ? ` ${escape(node.kind)}` : "";
    const folded = exerciseReveal(node);
    if (folded) {
      // The workbook's exercises: a hint or a model answer stays folded until asked for,
      // as in the notebook, where it shows only once the learner runs hint() or solution().
      const [code, ...rest] = node.children;
      const outputs = rest.map((child) => this.node(child)).join("");
      return `<section class="block${kind}">${this.node(code)}<details class="exercise ${folded}"><summary>Show the ${folded}</summary>${outputs}</details></section>`;
    }
    return `<section class="block${kind}">${this.children(node)}</section>`;
  },
  paragraph: tag("p"),
  text: (node) => escape(node.value),
  heading: function (node) {
    const id = node.html_id || node.identifier;
    return `<h${node.depth}${id ? ` id="${escape(id)}"` : ""}>${this.children(node)}</h${node.depth}>`;
  },
  emphasis: tag("em"),
  strong: tag("strong"),
  delete: tag("del"),
  underline: tag("u"),
  subscript: tag("sub"),
  superscript: tag("sup"),
  inlineCode: (node) => `<code>${escape(node.value)}</code>`,
  code: function (node) {
    if (node.visibility === "remove") return "";
    const lang = node.lang ? ` class="language-${escape(node.lang)}"` : "";
    const pre = `<pre class="code"><code${lang}>${escape(node.value)}</code></pre>`;
    if (node.visibility === "hide") return `<details class="hidden-input"><summary>Show code</summary>${pre}</details>`;
    return pre;
  },
  link: function (node) {
    return `<a href="${escape(this.url(node))}">${this.children(node)}</a>`;
  },
  crossReference: function (node) {
    return `<a href="${escape(this.url(node))}">${this.children(node)}</a>`;
  },
  list: function (node) {
    const name = node.ordered ? "ol" : "ul";
    const start = node.ordered && node.start && node.start !== 1 ? ` start="${node.start}"` : "";
    return `<${name}${start}>${this.children(node)}</${name}>`;
  },
  listItem: tag("li"),
  table: tag("table"),
  tableRow: tag("tr"),
  tableCell: function (node) {
    const name = node.header ? "th" : "td";
    const align = node.align ? ` style="text-align: ${escape(node.align)}"` : "";
    return `<${name}${align}>${this.children(node)}</${name}>`;
  },
  thematicBreak: () => "<hr>",
  break: () => "<br>",
  blockquote: tag("blockquote"),
  image: function (node) {
    const src = node.url.startsWith("/") ? `${this.base}/build${node.url}` : node.url;
    return `<img src="${escape(src)}" alt="${escape(node.alt ?? "")}">`;
  },
  html: (node) => node.value,
  comment: () => "",
  inlineMath: (node) => `<code class="math">${escape(node.value)}</code>`,
  math: (node) => `<pre class="math">${escape(node.value)}</pre>`,
  mermaid: function (node) {
    this.usesMermaid = true;
    return `<pre class="mermaid">${escape(node.value)}</pre>`;
  },
  admonition: function (node) {
    return `<aside class="admonition ${escape(node.kind ?? "note")}">${this.children(node)}</aside>`;
  },
  admonitionTitle: tag("p", ' class="admonition-title"'),
  // MyST's dropdown (and a <details> written in Markdown): collapsed until opened.
  details: function (node) {
    return `<details${node.open ? " open" : ""}>${this.children(node)}</details>`;
  },
  summary: tag("summary"),
  outputs: function (node) {
    if (node.visibility === "remove") return "";
    const html = `<div class="outputs">${(node.children ?? []).map((o) => this.node(o)).join("")}</div>`;
    if (node.visibility === "hide") return `<details class="hidden-output"><summary>Show output</summary>${html}</details>`;
    return html;
  },
  output: function (node) {
    return this.output(node);
  },
};
