// Page furniture: what a page prints around its content (running headers and footers, page
// numbers, notes in the margin). Engines type it in the blocks; the assembler leaves it out of
// the Markdown unless the job keeps it (JobOptions.furniture).

/** Block types that are page furniture: ours, and those vision models write (dots.ocr, Chandra). */
export const FURNITURE_TYPES: readonly string[] = ['page_header', 'page_footer', 'page_number', 'margin_note', 'header', 'footer'];

export const isFurniture = (type: string) => FURNITURE_TYPES.includes(type);

/** A page number alone: `12`, `- 12 -`, `Page 3`, `Page 3 of 10`, `xiv`, `A-7`, `47712`. */
const PAGE_NUMBER = /^(?:page\s+)?[-–—(]?\s*(?:\d{1,5}|[ivxlc]{1,7}|[A-Z]-\d{1,4})\s*[-–—)]?(?:\s+of\s+\d{1,4})?$/i;

export const isPageNumber = (text: string) => PAGE_NUMBER.test(text.trim());

/**
 * The document as its reading formats show it (HTML, chunks), like document.md: furniture blocks
 * left out unless the job keeps them. Formats that stand for the printed page (PDF, hOCR, ALTO)
 * keep everything.
 */
export function forReading<D extends { pages: Array<{ blocks: Array<{ type: string }> }> }>(doc: D, furniture: 'drop' | 'keep' | undefined): D {
  if ((furniture ?? 'drop') === 'keep') return doc;
  return { ...doc, pages: doc.pages.map((p) => ({ ...p, blocks: p.blocks.filter((b) => !isFurniture(b.type)) })) };
}
