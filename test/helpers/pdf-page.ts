/**
 * One-page PDFs with text placed exactly (Helvetica, not embedded) on a page of any size and
 * origin, so text-layer tests can draw what real producers do: invisible text (render mode 3, as
 * printers' slug lines and OCR layers), white text, small and oddly placed page boxes.
 */
export interface PdfRun {
  text: string;
  /** Baseline origin in PDF user space (points, y up). */
  x: number;
  y: number;
  size: number;
  /** PDF text render mode: 0 fill (default), 3 invisible. */
  mode?: number;
  /** Fill grey level, 0 black (default) to 1 white. */
  grey?: number;
}

export function pdfPage(mediaBox: [number, number, number, number], runs: PdfRun[]): Buffer {
  const esc = (t: string) => t.replace(/[()\\]/g, (c) => `\\${c}`);
  const stream = runs.map((r) => `BT ${r.grey ?? 0} g ${r.mode ?? 0} Tr /F1 ${r.size} Tf ${r.x} ${r.y} Td (${esc(r.text)}) Tj ET`).join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [4 0 R] /Count 1 >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [${mediaBox.join(' ')}] /Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>`,
    `<< /Length ${Buffer.byteLength(stream, 'latin1')} >>\nstream\n${stream}\nendstream`,
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
