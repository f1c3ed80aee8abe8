/**
 * document.json → hOCR 1.2 (XHTML): what OCR post-processing tools and digital-library pipelines
 * read (hocr-tools, hocr-pdf, Internet Archive, OCR-D). Pure. One `ocr_page` per page with the
 * page image's link (`pages/<n>/image`, relative to /v1/jobs/:id/result) and its pixel box; each
 * text block an `ocr_carea` holding one `ocr_par`, its `ocr_line`s and `ocrx_word`s (figures are
 * `ocr_photo`). Boxes are page-image pixels, as in the layout JSON; word boxes are estimated
 * within their line (page-words.ts), confidences are `x_wconf` 0–100 where the engine gave one.
 * Everything is escaped; the document is well-formed XML.
 */
import type { BBox, DocumentResult } from '../../../shared/bus/index.ts';
import { pageRegions, type DocPage, type Line } from './page-words.ts';

const CAPABILITIES = 'ocr_page ocr_carea ocr_par ocr_line ocrx_word ocr_photo ocrp_wconf';

export function renderHocr(doc: DocumentResult): string {
  const title = doc.source.name || doc.jobId;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
<head>
<title>${esc(title)}</title>
<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
<meta name="ocr-system" content="Folio"/>
<meta name="ocr-capabilities" content="${CAPABILITIES}"/>
<meta name="ocr-number-of-pages" content="${doc.pages.length}"/>
</head>
<body>
${doc.pages.map((p, i) => renderPage(p, i)).join('\n')}
</body>
</html>
`;
}

function renderPage(page: DocPage, index: number): string {
  const n = page.page;
  const box = page.width && page.height ? `; bbox 0 0 ${Math.round(page.width)} ${Math.round(page.height)}` : '';
  const head = `<div class="ocr_page" id="page_${n}" title="image &quot;pages/${n}/image&quot;${box}; ppageno ${index}">`;
  if (page.status === 'failed') return `${head}\n<!-- page ${n} failed: ${esc(page.error?.code ?? 'unknown').replaceAll('--', '- -')} -->\n</div>`;
  const out: string[] = [head];
  let line = 0;
  let word = 0;
  for (const [b, region] of pageRegions(page).entries()) {
    const id = `${n}_${b + 1}`;
    if (region.kind === 'image') {
      out.push(`<div class="ocr_photo" id="photo_${id}" title="${bboxOf(region.block.bbox)}"></div>`);
      continue;
    }
    if (region.lines.length === 0) continue;
    const area = bboxOf(union(region.lines.map((l) => l.bbox)));
    out.push(`<div class="ocr_carea" id="block_${id}" title="${area}">`);
    out.push(`<p class="ocr_par" id="par_${id}" title="${area}">`);
    for (const l of region.lines) {
      line++;
      out.push(`<span class="ocr_line" id="line_${n}_${line}" title="${lineTitle(l)}">`);
      out.push(
        l.words
          .map(
            (w) =>
              `<span class="ocrx_word" id="word_${n}_${++word}" title="${bboxOf(w.bbox)}${w.confidence !== undefined ? `; x_wconf ${Math.round(w.confidence * 100)}` : ''}">${esc(w.text)}</span>`,
          )
          .join(' '),
      );
      out.push('</span>');
    }
    out.push('</p>', '</div>');
  }
  out.push('</div>');
  return out.join('\n');
}

/** The line's box, a flat baseline a fifth of its height above the bottom, and its text size. */
function lineTitle(l: Line): string {
  const h = l.bbox[3] - l.bbox[1];
  return `${bboxOf(l.bbox)}; baseline 0 ${-Math.round(h * 0.2)}; x_size ${Math.round(h)}; x_descenders ${Math.round(h * 0.2)}; x_ascenders ${Math.round(h * 0.2)}`;
}

const bboxOf = (b: BBox) => `bbox ${b.map((v) => Math.round(v)).join(' ')}`;

function union(boxes: BBox[]): BBox {
  return [Math.min(...boxes.map((b) => b[0])), Math.min(...boxes.map((b) => b[1])), Math.max(...boxes.map((b) => b[2])), Math.max(...boxes.map((b) => b[3]))];
}

/** XML text and attribute escaping; characters XML 1.0 forbids (C0 controls, lone surrogates, U+FFFE/F) are dropped. */
export function esc(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
