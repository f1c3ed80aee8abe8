/** Small generators for test inputs that would be silly to commit (huge page counts, BMP variants). */

/** A valid PDF with `pages` empty pages sharing one content stream (a 5000-page PDF is ~0.3 MB). */
export function blankPdf(pages: number): Buffer {
  const objects: string[] = [];
  objects[1] = '<< /Type /Catalog /Pages 2 0 R >>';
  const kids = Array.from({ length: pages }, (_, i) => `${i + 4} 0 R`).join(' ');
  objects[2] = `<< /Type /Pages /Kids [${kids}] /Count ${pages} >>`;
  objects[3] = '<< /Length 0 >>\nstream\n\nendstream';
  for (let i = 0; i < pages; i++) objects[i + 4] = '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R >>';
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  for (let n = 1; n < objects.length; n++) {
    offsets[n] = body.length;
    body += `${n} 0 obj\n${objects[n]}\nendobj\n`;
  }
  const xrefAt = body.length;
  body += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  for (let n = 1; n < objects.length; n++) body += `${String(offsets[n]).padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length} /Root 1 0 R >>\nstartxref\n${xrefAt}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

/**
 * An uncompressed BMP from packed RGB pixels. bpp 24 (bottom-up, the common layout) or
 * 8 (palette of the distinct colours, top-down) to cover both row orders.
 */
export function bmpFromRgb(rgb: Buffer, width: number, height: number, bpp: 24 | 8 = 24): Buffer {
  const palette: number[] = [];
  const index = new Map<number, number>();
  if (bpp === 8) {
    for (let i = 0; i < width * height; i++) {
      const key = (rgb[i * 3] << 16) | (rgb[i * 3 + 1] << 8) | rgb[i * 3 + 2];
      if (!index.has(key)) {
        if (palette.length === 256) throw new Error('more than 256 colours');
        index.set(key, palette.length);
        palette.push(key);
      }
    }
  }
  const rowBytes = Math.ceil((width * bpp) / 32) * 4;
  const pixelOffset = 54 + palette.length * 4;
  const out = Buffer.alloc(pixelOffset + rowBytes * height);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(pixelOffset, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(bpp === 8 ? -height : height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(bpp, 28);
  out.writeUInt32LE(palette.length, 46);
  palette.forEach((c, i) => {
    out[54 + i * 4] = c & 255;
    out[54 + i * 4 + 1] = (c >> 8) & 255;
    out[54 + i * 4 + 2] = c >> 16;
  });
  for (let y = 0; y < height; y++) {
    const row = pixelOffset + (bpp === 8 ? y : height - 1 - y) * rowBytes;
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3;
      if (bpp === 8) out[row + x] = index.get((rgb[p] << 16) | (rgb[p + 1] << 8) | rgb[p + 2])!;
      else {
        out[row + x * 3] = rgb[p + 2];
        out[row + x * 3 + 1] = rgb[p + 1];
        out[row + x * 3 + 2] = rgb[p];
      }
    }
  }
  return out;
}
