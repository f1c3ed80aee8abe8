// A born-digital PDF page's own text layer as engine output: exact characters for free, laid
// out by the same geometry as OCR lines. Also the only truth when the page's fonts are not
// embedded (non-embedded CJK fonts render as boxes, but the text layer is right).
import type { PageText } from '../../../shared/bus/index.ts';
import type { EngineOutput } from '../engine.ts';
import { layoutPage, type LayoutLine } from '../layout.ts';

/** Fewer letters and digits than this is a near-empty page (or a stamp on a scan): OCR it. */
const MIN_REAL_CHARS = 10;

export function textLayerToOutput(text: PageText): EngineOutput {
  const lines = dedupe(
    text.items.filter((i) => i.text.trim() !== '').map((i): LayoutLine => ({ text: i.text, bbox: i.bbox, size: i.fontSize > 0 ? i.fontSize : undefined })),
  );
  // PDF producers split lines at font changes and sometimes at every word (gaps ≈ 0.3 em).
  const { markdown, blocks } = layoutPage(lines, { joinGap: 0.4 });
  return { engine: 'text-layer', markdown, blocks, raw: JSON.stringify(text.items) };
}

/** Some producers fake bold by drawing a run twice, a hair apart: keep one copy. */
function dedupe(lines: LayoutLine[]): LayoutLine[] {
  const seen = new Set<string>();
  return lines.filter((l) => {
    const key = `${l.text}|${l.bbox.map((v) => Math.round(v / 2)).join(',')}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Whether the text layer can stand in for OCR: enough real characters (letters and digits of any
 * script) and not the garbage a broken ToUnicode map produces (private-use code points,
 * U+FFFD, control characters, Latin-1 mojibake, mostly symbols). Missing fonts do not matter:
 * the text is still right even where the rendered glyphs are boxes.
 */
export function isTextLayerUsable(text: PageText): boolean {
  const chars = [...text.items.map((i) => i.text).join('')].filter((c) => !/\s/u.test(c));
  const count = (re: RegExp) => chars.filter((c) => re.test(c)).length;
  const real = count(/[\p{L}\p{N}]/u);
  if (real < MIN_REAL_CHARS) return false;
  const broken = count(/[\p{Co}\p{Cc}\p{Cs}\ufffd]/u);
  const latin1 = count(/[\u0080-\u00ff]/u);
  return broken <= 0.05 * chars.length && real >= 0.5 * chars.length && latin1 <= 0.3 * chars.length;
}
