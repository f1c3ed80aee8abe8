/**
 * The invisible text layer's font: a "glyphless" TrueType font, as Tesseract and OCRmyPDF use.
 * Every character code is a CID equal to its UTF-16 code unit (Identity-H), every CID draws the
 * same empty glyph half an em wide, and the ToUnicode map gives each code back as its character:
 * so text in any script (Latin, Greek, Cyrillic, CJK, Arabic…) is copied and searched as written,
 * with no font file per script and no WinAnsi limit. The text is drawn in render mode 3
 * (invisible), so the glyphs are never seen; each word is stretched to its box with Tz.
 *
 * Characters outside the Basic Multilingual Plane (emoji, rare CJK, math letters) get codes in
 * the surrogate range D800–DFFF, which no character uses alone: the ToUnicode map gives each the
 * surrogate pair of its character. Up to 2,048 such characters per document; more are written as
 * U+FFFD.
 *
 * The font program is built here from the TrueType specification (10 tables, 2 empty glyphs).
 */
import { deflateSync } from 'node:zlib';

/** Glyph advance in font units of 1000 per em (the PDF's /DW). */
export const GLYPH_WIDTH = 500;
const ASCENT = 800;
const DESCENT = -200;

/** Maps text to 2-byte codes, collecting characters outside the BMP. */
export class CodeMap {
  readonly astral: string[] = [];
  private readonly astralCode = new Map<string, number>();

  /** The codes of a string (one per character, control characters dropped). */
  encode(s: string): number[] {
    const out: number[] = [];
    for (const c of s) {
      const cp = c.codePointAt(0)!;
      if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) continue;
      if (cp <= 0xffff) {
        out.push(cp >= 0xd800 && cp <= 0xdfff ? 0xfffd : cp);
        continue;
      }
      let code = this.astralCode.get(c);
      if (code === undefined) {
        if (this.astral.length >= 0x800) {
          out.push(0xfffd);
          continue;
        }
        code = 0xd800 + this.astral.length;
        this.astral.push(c);
        this.astralCode.set(c, code);
      }
      out.push(code);
    }
    return out;
  }
}

const hex4 = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
export const hexCodes = (codes: number[]) => `<${codes.map(hex4).join('')}>`;

/** ToUnicode CMap: identity over the BMP (surrogate range excepted), then the astral characters. */
export function toUnicodeCMap(astral: string[]): string {
  const ranges: string[] = [];
  for (let hi = 0; hi < 256; hi++) {
    if (hi >= 0xd8 && hi <= 0xdf) continue;
    const lo = hi << 8;
    ranges.push(`<${hex4(lo)}> <${hex4(lo | 0xff)}> <${hex4(lo)}>`);
  }
  const blocks: string[] = [];
  // At most 100 entries per bfrange/bfchar block (PDF 32000-1, 9.10.3).
  for (let i = 0; i < ranges.length; i += 100) {
    const part = ranges.slice(i, i + 100);
    blocks.push(`${part.length} beginbfrange\n${part.join('\n')}\nendbfrange`);
  }
  for (let i = 0; i < astral.length; i += 100) {
    const part = astral.slice(i, i + 100).map((c, k) => {
      const units = [c.charCodeAt(0), c.charCodeAt(1)].map(hex4).join('');
      return `<${hex4(0xd800 + i + k)}> <${units}>`;
    });
    blocks.push(`${part.length} beginbfchar\n${part.join('\n')}\nendbfchar`);
  }
  return `/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<0000> <FFFF>
endcodespacerange
${blocks.join('\n')}
endcmap
CMapName currentdict /CMap defineresource pop
end
end
`;
}

/** Every CID → glyph 1 (the empty glyph): 65,536 two-byte entries, deflated to a few hundred bytes. */
export function cidToGidMap(): Buffer {
  const map = Buffer.alloc(0x10000 * 2);
  for (let i = 0; i < 0x10000; i++) map.writeUInt16BE(1, i * 2);
  return deflateSync(map);
}

/** Dictionaries of the font objects, given their object numbers. */
export function fontDicts(ids: { type0: number; cid: number; descriptor: number; file: number; toUnicode: number; cidToGid: number }) {
  return {
    type0: `<< /Type /Font /Subtype /Type0 /BaseFont /GlyphLessFont /Encoding /Identity-H /DescendantFonts [${ids.cid} 0 R] /ToUnicode ${ids.toUnicode} 0 R >>`,
    cid: `<< /Type /Font /Subtype /CIDFontType2 /BaseFont /GlyphLessFont /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor ${ids.descriptor} 0 R /DW ${GLYPH_WIDTH} /CIDToGIDMap ${ids.cidToGid} 0 R >>`,
    descriptor: `<< /Type /FontDescriptor /FontName /GlyphLessFont /Flags 5 /FontBBox [0 ${DESCENT} ${GLYPH_WIDTH} ${ASCENT}] /ItalicAngle 0 /Ascent ${ASCENT} /Descent ${DESCENT} /CapHeight ${ASCENT} /StemV 80 /FontFile2 ${ids.file} 0 R >>`,
  };
}

/** Fraction of the font size below the baseline: where a line's baseline sits above its box's bottom. */
export const DESCENT_FRACTION = -DESCENT / 1000;

let ttf: Buffer | undefined;

/** The glyphless TrueType font program (built once). */
export function glyphlessTtf(): Buffer {
  ttf ??= buildTtf();
  return ttf;
}

function buildTtf(): Buffer {
  const u16 = (...v: number[]) => {
    const b = Buffer.alloc(v.length * 2);
    v.forEach((x, i) => b.writeUInt16BE(x & 0xffff, i * 2));
    return b;
  };
  const u32 = (...v: number[]) => {
    const b = Buffer.alloc(v.length * 4);
    v.forEach((x, i) => b.writeUInt32BE(x >>> 0, i * 4));
    return b;
  };
  const cat = (...p: Buffer[]) => Buffer.concat(p);
  const numGlyphs = 2;
  const head = cat(
    u32(0x00010000, 0x00010000, 0, 0x5f0f3cf5), // version, revision, checkSumAdjustment (set below), magic
    u16(0x000b, 1000), // flags, unitsPerEm
    u32(0, 0, 0, 0), // created, modified
    u16(0, DESCENT, GLYPH_WIDTH, ASCENT), // xMin, yMin, xMax, yMax
    u16(0, 8, 2, 0, 0), // macStyle, lowestRecPPEM, fontDirectionHint, indexToLocFormat (short), glyphDataFormat
  );
  const hhea = cat(u32(0x00010000), u16(ASCENT, DESCENT, 0, GLYPH_WIDTH, 0, 0, GLYPH_WIDTH, 1, 0, 0, 0, 0, 0, 0, 0, numGlyphs));
  const maxp = cat(u32(0x00010000), u16(numGlyphs, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0));
  const hmtx = u16(GLYPH_WIDTH, 0, GLYPH_WIDTH, 0);
  const loca = u16(0, 0, 0); // both glyphs empty
  const glyf = Buffer.alloc(0);
  // cmap: one format 4 subtable (Windows Unicode BMP) with only the final 0xFFFF segment: the PDF maps CIDs to glyphs itself.
  const cmap = cat(u16(0, 1, 3, 1), u32(12), u16(4, 24, 0, 2, 2, 0, 0, 0xffff, 0, 0xffff, 1, 0));
  const names: Array<[number, string]> = [
    [1, 'GlyphLessFont'],
    [2, 'Regular'],
    [4, 'GlyphLessFont'],
    [6, 'GlyphLessFont'],
  ];
  const strings = names.map(([, s]) => Buffer.from(s, 'utf16le').swap16());
  let offset = 0;
  const records = names.map(([id], i) => {
    const r = u16(3, 1, 0x409, id, strings[i].length, offset);
    offset += strings[i].length;
    return r;
  });
  const name = cat(u16(0, names.length, 6 + 12 * names.length), ...records, ...strings);
  const os2 = cat(
    u16(4, GLYPH_WIDTH, 400, 5, 0), // version, xAvgCharWidth, weight, width, fsType (installable)
    u16(650, 600, 0, 75, 650, 600, 0, 350, 50, 250), // sub/superscript sizes and offsets, strikeout
    u16(0),
    Buffer.alloc(10), // sFamilyClass, panose
    u32(0, 0, 0, 0),
    Buffer.from('FOLI', 'latin1'), // unicode ranges, vendor
    u16(0x40, 0x20, 0xffff, ASCENT, DESCENT, 0, ASCENT, -DESCENT), // fsSelection (regular), first/last char, typo metrics, win metrics
    u32(1, 0), // code page ranges (Latin 1)
    u16(ASCENT / 2, ASCENT, 0, 0x20, 0), // xHeight, capHeight, default char, break char, max context
  );
  const post = cat(u32(0x00030000, 0), u16(-100, 50), u32(0, 0, 0, 0, 0));
  const tables: Array<[string, Buffer]> = [
    ['OS/2', os2],
    ['cmap', cmap],
    ['glyf', glyf],
    ['head', head],
    ['hhea', hhea],
    ['hmtx', hmtx],
    ['loca', loca],
    ['maxp', maxp],
    ['name', name],
    ['post', post],
  ];
  const padded = (b: Buffer) => cat(b, Buffer.alloc((4 - (b.length % 4)) % 4));
  const checksum = (b: Buffer) => {
    const p = padded(b);
    let sum = 0;
    for (let i = 0; i < p.length; i += 4) sum = (sum + p.readUInt32BE(i)) >>> 0;
    return sum;
  };
  const dirLength = 12 + 16 * tables.length;
  let at = dirLength;
  const dir = [u32(0x00010000), u16(tables.length, 128, 3, tables.length * 16 - 128)];
  const bodies: Buffer[] = [];
  let headAt = 0;
  for (const [tag, data] of tables) {
    if (tag === 'head') headAt = at;
    dir.push(Buffer.from(tag, 'latin1'), u32(checksum(data), at, data.length));
    bodies.push(padded(data));
    at += padded(data).length;
  }
  const font = cat(...dir, ...bodies);
  font.writeUInt32BE((0xb1b0afba - checksum(font)) >>> 0, headAt + 8);
  return font;
}
