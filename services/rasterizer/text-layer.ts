/**
 * A PDF page's own text layer, in the pixel space of the rendered page image, so OCR output and
 * text-layer output can be compared and merged box by box.
 */
import type { PDFPageProxy } from '../../shared/render/pdfjs.ts';
import type { BBox, PageText } from '../../shared/bus/messages.ts';

type Matrix = [number, number, number, number, number, number];

interface TextItemLike {
  str: string;
  transform: number[];
  width: number;
  height: number;
  fontName: string;
}

interface StyleLike {
  ascent?: number;
  descent?: number;
  vertical?: boolean;
}

const mul = (m: Matrix, n: Matrix): Matrix => [
  m[0] * n[0] + m[2] * n[1],
  m[1] * n[0] + m[3] * n[1],
  m[0] * n[2] + m[2] * n[3],
  m[1] * n[2] + m[3] * n[3],
  m[0] * n[4] + m[2] * n[5] + m[4],
  m[1] * n[4] + m[3] * n[5] + m[5],
];
const round2 = (v: number) => Math.round(v * 100) / 100;

/** The rendered page's pixels (RGBA, row-major, `width` × `height`), to tell shown text from hidden text. */
export type PageRgba = Uint8Array | Uint8ClampedArray | Buffer;

/**
 * Must run after the page was rendered: only rendering loads the page's fonts into commonObjs,
 * and their `missingFile` flag (needs fontExtraProperties) is how boxes-for-glyphs are detected.
 * `transform` is the viewport's user-space → pixel matrix. Returns undefined for pages without text.
 * With `rgba`, runs whose box is blank paper in the rendering are dropped: text a reader does not
 * see (invisible render mode, white on white, clipped away — printers' slug lines, hidden
 * metadata) is not page content, and a slug line across the page's foot hides its column gutters.
 */
export async function extractPageText(
  page: PDFPageProxy,
  pageNumber: number,
  transform: number[],
  width: number,
  height: number,
  rgba?: PageRgba,
): Promise<PageText | undefined> {
  const content = await page.getTextContent();
  const styles = content.styles as Record<string, StyleLike>;
  const items: PageText['items'] = [];
  const fonts = new Set<string>();
  for (const raw of content.items) {
    if (!('str' in raw)) continue; // marked-content markers carry no text
    const item = raw as TextItemLike;
    if (item.str.trim() === '') continue; // pdf.js emits empty items for line ends
    const placed = placeItem(item, styles[item.fontName] ?? {}, transform as Matrix, width, height);
    if (!placed) continue; // text outside the page box is invisible in the image: not page content
    // A font without glyph data may draw nothing at all: its text is the only truth, keep it.
    if (rgba && !isMissingFont(page, item.fontName) && !hasInk(rgba, width, height, placed.bbox)) continue;
    items.push({ text: item.str, ...placed });
    fonts.add(item.fontName);
  }
  if (items.length === 0) return undefined;
  return { page: pageNumber, width, height, missingFonts: [...fonts].some((f) => isMissingFont(page, f)), items };
}

/**
 * Whether anything but blank paper was drawn inside the box: one pixel darker than near-white
 * in any channel. Text over a scan (an OCR layer) lies on the scan's ink, white text on a dark
 * band on the band: both kept. Stops at the first such pixel, so shown text costs a few rows.
 */
export function hasInk(rgba: PageRgba, width: number, height: number, bbox: BBox): boolean {
  const x1 = Math.max(0, Math.floor(bbox[0]));
  const x2 = Math.min(width, Math.ceil(bbox[2]));
  const y1 = Math.max(0, Math.floor(bbox[1]));
  const y2 = Math.min(height, Math.ceil(bbox[3]));
  if (x2 <= x1 || y2 <= y1) return true; // a zero-area box (a rule, a space) says nothing
  for (let y = y1; y < y2; y++) {
    for (let i = (y * width + x1) * 4, end = (y * width + x2) * 4; i < end; i += 4) {
      if (rgba[i] < 224 || rgba[i + 1] < 224 || rgba[i + 2] < 224) return true;
    }
  }
  return false;
}

function isMissingFont(page: PDFPageProxy, fontName: string): boolean {
  if (!page.commonObjs.has(fontName)) return false;
  const font = page.commonObjs.get(fontName) as { missingFile?: boolean } | null;
  return font?.missingFile === true;
}

/** The item's box in glyph space (origin on the baseline), mapped to pixels and clipped to the page. */
function placeItem(item: TextItemLike, style: StyleLike, viewport: Matrix, width: number, height: number): { bbox: BBox; fontSize: number } | null {
  const m = mul(viewport, item.transform as Matrix);
  const fontSize = Math.hypot(m[2], m[3]);
  const [a, b, c, d] = item.transform;
  let corners: Array<[number, number]>;
  if (style.vertical) {
    // Vertical fonts advance downwards from the origin; the column is about one em wide.
    const len = item.height / (Math.hypot(c, d) || 1);
    corners = [
      [-0.5, 0],
      [0.5, 0],
      [-0.5, -len],
      [0.5, -len],
    ];
  } else {
    const len = item.width / (Math.hypot(a, b) || 1);
    const ascent = style.ascent ?? 0.8;
    const descent = style.descent ?? -0.2;
    corners = [
      [0, descent],
      [len, descent],
      [0, ascent],
      [len, ascent],
    ];
  }
  const xs = corners.map(([x, y]) => m[0] * x + m[2] * y + m[4]);
  const ys = corners.map(([x, y]) => m[1] * x + m[3] * y + m[5]);
  const x1 = Math.max(0, Math.min(...xs));
  const y1 = Math.max(0, Math.min(...ys));
  const x2 = Math.min(width, Math.max(...xs));
  const y2 = Math.min(height, Math.max(...ys));
  if (!(x2 >= x1 && y2 >= y1)) return null; // NaN-safe: a degenerate matrix drops the item too
  return { bbox: [round2(x1), round2(y1), round2(x2), round2(y2)], fontSize: round2(fontSize) };
}
