/**
 * What an upload really is, from its first bytes. Client-sent Content-Type and file names are
 * not trusted: a renamed file must not reach a decoder it was not meant for.
 */

/** How many leading bytes detectMediaType wants (PDF readers accept junk before the header). */
export const MEDIA_SNIFF_BYTES = 1024 + 5;

/** The media types Folio accepts, with the extension used for stored sources. */
export const MEDIA_EXTENSIONS: Readonly<Record<string, string>> = {
  'application/pdf': 'pdf',
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/tiff': 'tif',
  'image/gif': 'gif',
  'image/bmp': 'bmp',
};

export const isSupportedMediaType = (mediaType: string): boolean => Object.hasOwn(MEDIA_EXTENSIONS, mediaType);
export const isPdf = (mediaType: string): boolean => mediaType === 'application/pdf';

const startsWith = (head: Buffer, sig: readonly number[], at = 0) => head.length >= at + sig.length && sig.every((b, i) => head[at + i] === b);
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG = [0xff, 0xd8, 0xff];
const GIF87 = ascii('GIF87a');
const GIF89 = ascii('GIF89a');
const RIFF = ascii('RIFF');
const WEBP = ascii('WEBP');
// Classic TIFF (42) and BigTIFF (43), little- and big-endian: libtiff reads all four.
const TIFF = [
  [0x49, 0x49, 0x2a, 0x00],
  [0x4d, 0x4d, 0x00, 0x2a],
  [0x49, 0x49, 0x2b, 0x00],
  [0x4d, 0x4d, 0x00, 0x2b],
];
// "BM" alone is too weak (plenty of text starts with it): also require a known DIB header size.
const BMP_DIB_SIZES = new Set([12, 40, 52, 56, 64, 108, 124]);
const PDF = Buffer.from('%PDF-', 'latin1');

function isBmp(head: Buffer): boolean {
  return startsWith(head, ascii('BM')) && head.length >= 18 && BMP_DIB_SIZES.has(head.readUInt32LE(14));
}

/** The media type of a file from its first bytes (pass at least MEDIA_SNIFF_BYTES), or null. */
export function detectMediaType(head: Buffer): string | null {
  // Fixed-offset signatures first: an image that happens to contain "%PDF-" stays an image.
  if (startsWith(head, PNG)) return 'image/png';
  if (startsWith(head, JPEG)) return 'image/jpeg';
  if (startsWith(head, GIF87) || startsWith(head, GIF89)) return 'image/gif';
  if (startsWith(head, RIFF) && startsWith(head, WEBP, 8)) return 'image/webp';
  if (TIFF.some((sig) => startsWith(head, sig))) return 'image/tiff';
  if (isBmp(head)) return 'image/bmp';
  // Acrobat, pdf.js and poppler all find the header within the first KiB (mail gateways and
  // some scanners prepend junk); the header itself must start within that window.
  const at = head.subarray(0, 1024 + PDF.length).indexOf(PDF);
  if (at >= 0 && at <= 1024) return 'application/pdf';
  return null;
}
