/**
 * document.json → one HTML document. Pure. Sanitised by construction: every text is escaped and the
 * only markup is what this module writes; model-written table HTML is re-emitted from its parsed
 * cells (rowspan/colspan kept), so nothing a page says can become a tag, an attribute or a script.
 * Each page is a `<section id="page-N">` (link to `#page-N`); blocks carry `data-bbox` (page
 * pixels) and `data-order`; figures link the crops the API serves (`images/<page>_<k>.jpg`,
 * relative to /v1/jobs/:id/result); formulas stay LaTeX between `\( \)` / `\[ \]`, the delimiters
 * MathJax and KaTeX's auto-render look for. The document loads no script.
 */
import type { Block, DocumentResult } from '../../../shared/bus/index.ts';
import { findHtmlTables } from '../../../shared/document/index.ts';
import { gridOf } from './tables.ts';

type Page = DocumentResult['pages'][number];

export function renderHtml(doc: DocumentResult): string {
  const title = doc.source.name || doc.jobId;
  const body = doc.pages.map(renderPage).join('\n');
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="generator" content="Folio">
<meta name="folio-job" content="${esc(doc.jobId)}">
<title>${esc(title)}</title>
<style>
section.page{margin:2em 0;padding-top:1em;border-top:1px solid #ccc}
table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em;vertical-align:top}
figure img{max-width:100%}.caption{font-style:italic}
</style>
</head>
<body>
<nav><ol>${doc.pages.map((p) => `<li><a href="#page-${p.page}">Page ${p.page}</a></li>`).join('')}</ol></nav>
${body}
</body>
</html>
`;
}

function renderPage(page: Page): string {
  const attrs = `class="page" id="page-${page.page}" data-page="${page.page}"${page.width ? ` data-width="${page.width}" data-height="${page.height}"` : ''}`;
  let inner: string;
  if (page.status === 'failed') inner = `<p class="failed">Page ${page.page} failed: ${esc(page.error?.code ?? 'unknown')}</p>`;
  else if (page.blocks.length > 0) inner = renderBlocks([...page.blocks].sort((a, b) => (a.order ?? 0) - (b.order ?? 0)));
  else inner = renderMarkdownText(page.markdown);
  return `<section ${attrs}>\n${inner}\n</section>`;
}

function renderBlocks(blocks: Block[]): string {
  const out: string[] = [];
  for (const [i, b] of blocks.entries()) {
    const data = ` data-bbox="${b.bbox.map((v) => Math.round(v)).join(',')}" data-order="${b.order ?? i}"${b.confidence !== undefined ? ` data-confidence="${b.confidence.toFixed(3)}"` : ''}`;
    switch (b.type) {
      case 'title':
        out.push(`<h1${data}>${esc(b.text)}</h1>`);
        break;
      case 'sub_title':
        out.push(`<h2${data}>${esc(b.text)}</h2>`);
        break;
      case 'table':
        out.push(renderTable(b, data));
        break;
      case 'equation':
        out.push(`<div class="math"${data}>${esc(displayMath(b.text))}</div>`);
        break;
      case 'image': {
        const src = /\]\((images\/\d+_\d+\.jpg)\)/.exec(b.text)?.[1];
        const caption = blocks[i + 1]?.type === 'image_caption' ? blocks[i + 1] : undefined;
        const img = src ? `<a href="${src}"><img src="${src}" alt="${esc(caption?.text ?? '')}"></a>` : '';
        out.push(
          `<figure${data}>${img}${caption ? `<figcaption data-bbox="${caption.bbox.join(',')}" data-order="${caption.order ?? i + 1}">${esc(caption.text)}</figcaption>` : ''}</figure>`,
        );
        break;
      }
      case 'image_caption':
        if (blocks[i - 1]?.type !== 'image') out.push(`<p class="caption"${data}>${esc(b.text)}</p>`);
        break;
      case 'table_caption':
      case 'table_footnote':
        out.push(`<p class="${b.type === 'table_caption' ? 'caption' : 'footnote'}"${data}>${esc(b.text)}</p>`);
        break;
      default:
        out.push(`<p${data}>${escLines(b.text)}</p>`);
    }
  }
  return out.join('\n');
}

function renderTable(b: Block, data: string): string {
  if (b.html) return sanitizeTable(b.html, data);
  const { grid, headerRows } = gridOf(b);
  const rows = grid.map((r, k) => `<tr>${r.map((c) => (k < headerRows ? `<th>${esc(c)}</th>` : `<td>${esc(c)}</td>`)).join('')}</tr>`);
  return `<table${data}>${rows.join('')}</table>`;
}

/** Re-emits a model's table: only table structure and rowspan/colspan survive; text is escaped. */
function sanitizeTable(html: string, data: string): string {
  let out = '';
  let inCell = false;
  const TOKEN = /<\/?\s*([a-z]+)\b([^>]*)>|([^<]+)|</gi;
  for (const m of html.matchAll(TOKEN)) {
    const [whole, tag, attrs, text] = m;
    if (text !== undefined || whole === '<') {
      out += esc(decode(text ?? '<'));
      continue;
    }
    const name = tag.toLowerCase();
    const closing = whole.startsWith('</');
    // <table> itself is written by the caller, with the block's data attributes.
    if (['thead', 'tbody', 'tr'].includes(name)) out += closing ? `</${name}>` : `<${name}>`;
    else if (name === 'td' || name === 'th') {
      if (closing) {
        out += `</${name}>`;
        inCell = false;
      } else {
        const spans = [...attrs.matchAll(/\b(rowspan|colspan)\s*=\s*["']?(\d{1,4})/gi)].map((a) => ` ${a[1].toLowerCase()}="${Number(a[2])}"`).join('');
        out += `<${name}${spans}>`;
        inCell = true;
      }
    } else if (name === 'br' && inCell) out += '<br>';
    // Any other tag (a model's <b>, or something hostile) is dropped; its text stays, escaped.
  }
  return `<table${data}>${out}</table>`;
}

function decode(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", nbsp: '\u00a0' })[e]!);
}

/** An equation block as written, wrapped in display delimiters when the model wrote none. */
function displayMath(tex: string): string {
  const t = tex.trim();
  return /^(\\\[|\$\$|\\begin\{)/.test(t) ? t : `\\[ ${t} \\]`;
}

/** Pages without blocks (plain-text tasks, text layer, `Free OCR.`): paragraphs and # headings. */
function renderMarkdownText(md: string): string {
  let cursor = 0;
  const parts: string[] = [];
  for (const t of findHtmlTables(md)) {
    parts.push(md.slice(cursor, t.start));
    parts.push(`\u0000${t.html}`);
    cursor = t.end;
  }
  parts.push(md.slice(cursor));
  const html: string[] = [];
  for (const part of parts) {
    if (part.startsWith('\u0000')) {
      html.push(sanitizeTable(part.slice(1), ''));
      continue;
    }
    for (const p of part
      .split(/\n[ \t]*\n/)
      .map((x) => x.trim())
      .filter(Boolean)) {
      const h = /^(#{1,6})[ \t]+(.*)$/s.exec(p);
      const img = /^!\[[^\]]*\]\((images\/\d+_\d+\.jpg)\)$/.exec(p);
      if (h) html.push(`<h${h[1].length}>${esc(h[2])}</h${h[1].length}>`);
      else if (img) html.push(`<figure><a href="${img[1]}"><img src="${img[1]}" alt=""></a></figure>`);
      else if (p.split('\n').every((l) => /^\s*\|.*\|\s*$/.test(l)) && p.includes('\n'))
        html.push(renderTable({ type: 'table', bbox: [0, 0, 0, 0], text: p }, ''));
      else html.push(`<p>${escLines(p.replace(/<\/?center>/gi, ''))}</p>`);
    }
  }
  return html.join('\n');
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function escLines(s: string): string {
  return esc(s).replace(/\n/g, '<br>\n');
}
