/**
 * document.json → ALTO 4 XML (schema 4.4), the layout-and-text format digital libraries ingest
 * (METS/ALTO: Library of Congress, Europeana, national libraries). Pure. Measurements are page-
 * image pixels (MeasurementUnit `pixel`), as in the layout JSON; one `Page` per page in document
 * order, blocks in reading order inside its `PrintSpace`: text as `TextBlock` → `TextLine` →
 * `String`/`SP`, figures as `Illustration`, tables as a `TextBlock` of their rows. Word boxes are
 * estimated within their line (page-words.ts); `WC` is the engine's confidence where it gave one.
 * A failed page is a `Page` with no content and QUALITY_DETAIL saying why.
 */
import type { BBox, DocumentResult } from '../../../shared/bus/index.ts';
import { esc } from './hocr.ts';
import { pageRegions, type DocPage } from './page-words.ts';

export const ALTO_NS = 'http://www.loc.gov/standards/alto/ns-v4#';

export function renderAlto(doc: DocumentResult): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="${ALTO_NS}" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="${ALTO_NS} http://www.loc.gov/alto/v4/alto-4-4.xsd" SCHEMAVERSION="4.4">
<Description>
<MeasurementUnit>pixel</MeasurementUnit>
<sourceImageInformation>
<fileName>${esc(doc.source.name || doc.jobId)}</fileName>
</sourceImageInformation>
<Processing ID="folio_ocr">
<processingCategory>contentGeneration</processingCategory>
<processingStepSettings>${esc(engines(doc))}</processingStepSettings>
<processingSoftware>
<softwareName>Folio</softwareName>
</processingSoftware>
</Processing>
</Description>
<Layout>
${doc.pages.map(renderPage).join('\n')}
</Layout>
</alto>
`;
}

/** Which engine read which pages: "cpu: 1-2, 4; vllm: 3". */
function engines(doc: DocumentResult): string {
  const by = new Map<string, number[]>();
  for (const p of doc.pages) if (p.engine) by.set(p.engine, [...(by.get(p.engine) ?? []), p.page]);
  return [...by].map(([e, pages]) => `engine ${e}: pages ${pages.join(', ')}`).join('; ') || 'no page read';
}

function renderPage(page: DocPage): string {
  const n = page.page;
  const size = page.width && page.height ? ` WIDTH="${num(page.width)}" HEIGHT="${num(page.height)}"` : '';
  if (page.status === 'failed')
    return `<Page ID="page_${n}" PHYSICAL_IMG_NR="${n}"${size} QUALITY_DETAIL="${esc(`not read: ${page.error?.code ?? 'unknown'}`)}"/>`;
  const out = [
    `<Page ID="page_${n}" PHYSICAL_IMG_NR="${n}"${size} PROCESSINGREFS="folio_ocr">`,
    `<PrintSpace${page.width && page.height ? ` HPOS="0" VPOS="0"${size}` : ''}>`,
  ];
  let line = 0;
  let word = 0;
  for (const [b, region] of pageRegions(page).entries()) {
    const id = `p${n}_b${b + 1}`;
    if (region.kind === 'image') {
      out.push(`<Illustration ID="${id}"${pos(region.block.bbox)} TYPE="${esc(region.block.type)}"/>`);
      continue;
    }
    // A TextLine needs at least one String: a block with no words is left out.
    if (region.lines.length === 0) continue;
    out.push(`<TextBlock ID="${id}"${pos(region.block.bbox)}>`);
    for (const l of region.lines) {
      out.push(`<TextLine ID="p${n}_l${++line}"${pos(l.bbox)}>`);
      const parts: string[] = [];
      for (const [i, w] of l.words.entries()) {
        if (i > 0) {
          const prev = l.words[i - 1].bbox;
          parts.push(`<SP HPOS="${num(prev[2])}" VPOS="${num(l.bbox[1])}" WIDTH="${num(Math.max(0, w.bbox[0] - prev[2]))}"/>`);
        }
        parts.push(
          `<String ID="p${n}_w${++word}"${pos(w.bbox)} CONTENT="${esc(w.text)}"${w.confidence !== undefined ? ` WC="${w.confidence.toFixed(3)}"` : ''}/>`,
        );
      }
      out.push(parts.join(''), '</TextLine>');
    }
    out.push('</TextBlock>');
  }
  out.push('</PrintSpace>', '</Page>');
  return out.join('\n');
}

const pos = (b: BBox) => ` HPOS="${num(b[0])}" VPOS="${num(b[1])}" WIDTH="${num(b[2] - b[0])}" HEIGHT="${num(b[3] - b[1])}"`;
const num = (v: number) => String(Math.round(v * 100) / 100);
