/**
 * PDFs built to hurt a renderer, generated rather than committed (they are tiny compressed, huge
 * once inflated). Each page is either an ordinary text page or a hostile one; the others around
 * it show that only that page is lost.
 */
import { deflateSync } from 'node:zlib';

export type PageSpec =
  | { kind: 'text'; text: string }
  /** A content stream of `ops` stroked path segments: pdf.js must parse and draw every one (slow, memory-hungry). */
  | { kind: 'operator-bomb'; ops: number }
  /** The page tree points at an object that does not exist: pdf.js throws on this page only. */
  | { kind: 'missing-page' }
  /** A full-page uncompressed greyscale inline image of width × height bytes: big files, as scans are. */
  | { kind: 'inline-image'; width: number; height: number };

/** About `mb` MiB of PDF: pages of uncompressed 2000×2500 greyscale scans (5 MB each). */
export function bigPdf(mb: number): Buffer {
  const pages = Math.max(1, Math.round((mb * 1048576) / 5_000_000));
  return hostilePdf(Array.from({ length: pages }, () => ({ kind: 'inline-image' as const, width: 2000, height: 2500 })));
}

export function hostilePdf(pages: PageSpec[]): Buffer {
  const objects: Buffer[] = [];
  const add = (body: string | Buffer) => objects.push(Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1'));
  add('<< /Type /Catalog /Pages 2 0 R >>');
  const kids = pages.map((spec, i) => `${spec.kind === 'missing-page' ? 9000 + i : 4 + i * 2} 0 R`).join(' ');
  add(`<< /Type /Pages /Kids [${kids}] /Count ${pages.length} >>`);
  add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
  pages.forEach((spec, i) => {
    const contentId = 5 + i * 2;
    add(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${contentId} 0 R >>`);
    add(streamObject(spec));
  });
  const chunks: Buffer[] = [Buffer.from('%PDF-1.4\n', 'latin1')];
  let length = chunks[0].length;
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(length);
    const obj = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`, 'latin1'), body, Buffer.from('\nendobj\n', 'latin1')]);
    chunks.push(obj);
    length += obj.length;
  });
  let xref = `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) xref += `${String(o).padStart(10, '0')} 00000 n \n`;
  xref += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${length}\n%%EOF\n`;
  chunks.push(Buffer.from(xref, 'latin1'));
  return Buffer.concat(chunks);
}

function streamObject(spec: PageSpec): Buffer {
  if (spec.kind === 'operator-bomb') {
    // One short segment per operator pair, all over the page, each stroked separately.
    const line = (k: number) => `${k % 600} ${(k * 7) % 780} m ${(k * 13) % 600} ${(k * 3) % 780} l S\n`;
    const raw = Buffer.from(Array.from({ length: Math.min(spec.ops, 1000) }, (_, k) => line(k)).join(''), 'latin1');
    const repeated = Buffer.concat(Array.from({ length: Math.ceil(spec.ops / 1000) }, () => raw));
    const packed = deflateSync(repeated, { level: 9 });
    return Buffer.concat([
      Buffer.from(`<< /Length ${packed.length} /Filter /FlateDecode >>\nstream\n`, 'latin1'),
      packed,
      Buffer.from('\nendstream', 'latin1'),
    ]);
  }
  if (spec.kind === 'inline-image') {
    const head = Buffer.from(`q 612 0 0 792 0 0 cm\nBI /W ${spec.width} /H ${spec.height} /BPC 8 /CS /G ID `, 'latin1');
    const pixels = Buffer.alloc(spec.width * spec.height, 0xf0);
    for (let i = 0; i < pixels.length; i += 4099) pixels[i] = 0x20; // some ink, so it is not one flat run
    const stream = Buffer.concat([head, pixels, Buffer.from('\nEI Q', 'latin1')]);
    return Buffer.concat([Buffer.from(`<< /Length ${stream.length} >>\nstream\n`, 'latin1'), stream, Buffer.from('\nendstream', 'latin1')]);
  }
  const text = spec.kind === 'text' ? spec.text : 'unused';
  const safe = text.replace(/[()\\]/g, (c) => `\\${c}`);
  const stream = `BT /F1 28 Tf 72 700 Td (${safe}) Tj ET`;
  return Buffer.from(`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`, 'latin1');
}
