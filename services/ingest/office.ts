import { spawn } from 'node:child_process';
import { constants, createReadStream } from 'node:fs';
import { access, copyFile, mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FolioError } from '../../shared/operations/index.ts';
import { receiveUpload, type ReceivedFile } from './upload.ts';

/**
 * Office documents (docx, pptx, xlsx, odt, odp, ods) are converted to PDF with LibreOffice
 * (`soffice --headless --convert-to pdf`) before the usual checks, so every later stage sees a
 * PDF. The type is read from the bytes: a ZIP container with `[Content_Types].xml` and the main
 * part of Word, Excel or PowerPoint (OOXML), or a first, stored `mimetype` entry (OpenDocument).
 * Each conversion runs in its own temp dir with a private LibreOffice profile (parallel
 * conversions do not share a lock or a half-written profile) and a deadline, past which its
 * process group is killed.
 */

export type OfficeFormat = 'docx' | 'xlsx' | 'pptx' | 'odt' | 'ods' | 'odp';

export const OFFICE_MEDIA_TYPES: Readonly<Record<OfficeFormat, string>> = {
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text',
  ods: 'application/vnd.oasis.opendocument.spreadsheet',
  odp: 'application/vnd.oasis.opendocument.presentation',
};

const ODF_BY_MIMETYPE = new Map<string, OfficeFormat>((['odt', 'ods', 'odp'] as const).map((f) => [OFFICE_MEDIA_TYPES[f], f]));
const OOXML_MAIN_PARTS: Array<[string, OfficeFormat]> = [
  ['word/document.xml', 'docx'],
  ['xl/workbook.xml', 'xlsx'],
  ['ppt/presentation.xml', 'pptx'],
];

const ZIP_LOCAL = 0x04034b50;
const ZIP_CENTRAL = 0x02014b50;
const ZIP_END = 0x06054b50;
/** The end record plus the longest possible comment. */
const END_SEARCH = 22 + 0xffff;
/** Office documents have hundreds of parts, not millions: a larger directory is not one. */
const MAX_DIRECTORY_BYTES = 8 * 1024 * 1024;

/** ODF: the first entry is `mimetype`, stored uncompressed, so its content is in the head. */
function odfFormat(head: Buffer): OfficeFormat | null {
  if (head.length < 30 || head.readUInt32LE(0) !== ZIP_LOCAL) return null;
  const method = head.readUInt16LE(8);
  const size = head.readUInt32LE(18);
  const nameLen = head.readUInt16LE(26);
  const extraLen = head.readUInt16LE(28);
  if (method !== 0 || head.toString('latin1', 30, 30 + nameLen) !== 'mimetype') return null;
  const start = 30 + nameLen + extraLen;
  if (size > 100 || head.length < start + size) return null;
  return ODF_BY_MIMETYPE.get(head.toString('latin1', start, start + size).trim()) ?? null;
}

/** The entry names of a ZIP file, from its central directory; null when it is not a readable ZIP. */
export async function zipEntryNames(file: string): Promise<string[] | null> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const tailLen = Math.min(size, END_SEARCH);
    const tail = Buffer.alloc(tailLen);
    await fh.read(tail, 0, tailLen, size - tailLen);
    let end = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === ZIP_END) {
        end = i;
        break;
      }
    }
    if (end < 0) return null;
    const dirSize = tail.readUInt32LE(end + 12);
    const dirOffset = tail.readUInt32LE(end + 16);
    // ZIP64 (0xffffffff) and nonsense offsets: not an Office document we read.
    if (dirSize > MAX_DIRECTORY_BYTES || dirOffset + dirSize > size) return null;
    const dir = Buffer.alloc(dirSize);
    await fh.read(dir, 0, dirSize, dirOffset);
    const names: string[] = [];
    for (let at = 0; at + 46 <= dir.length && dir.readUInt32LE(at) === ZIP_CENTRAL;) {
      const nameLen = dir.readUInt16LE(at + 28);
      const extraLen = dir.readUInt16LE(at + 30);
      const commentLen = dir.readUInt16LE(at + 32);
      names.push(dir.toString('utf8', at + 46, at + 46 + nameLen));
      at += 46 + nameLen + extraLen + commentLen;
    }
    return names;
  } finally {
    await fh.close();
  }
}

/** The Office format of a file from its bytes, or null (not a ZIP, or a ZIP of something else). */
export async function detectOffice(file: { path: string; head: Buffer }): Promise<OfficeFormat | null> {
  if (file.head.length < 4 || file.head.readUInt32LE(0) !== ZIP_LOCAL) return null;
  const odf = odfFormat(file.head);
  if (odf) return odf;
  const names = await zipEntryNames(file.path).catch(() => null);
  if (!names?.includes('[Content_Types].xml')) return null;
  return OOXML_MAIN_PARTS.find(([part]) => names.includes(part))?.[1] ?? null;
}

/**
 * The converter's path: the configured binary (options.ingest.office.bin) as given when it has a slash, else searched on PATH;
 * null when absent. Looked up on every Office document (a few access() calls), so installing
 * LibreOffice takes effect without a restart.
 */
export async function findConverter(bin: string, envPath = process.env.PATH ?? ''): Promise<string | null> {
  const candidates = bin.includes('/')
    ? [bin]
    : envPath
        .split(path.delimiter)
        .filter(Boolean)
        .map((d) => path.join(d, bin));
  for (const c of candidates) {
    const ok = await access(c, constants.X_OK)
      .then(() => stat(c))
      .then(
        (s) => s.isFile(),
        () => false,
      );
    if (ok) return c;
  }
  return null;
}

export interface ConvertOptions {
  bin: string;
  timeoutMs: number;
  tmpDir: string;
  /** The converted PDF is refused past this (the upload limit). */
  maxBytes: number;
  concurrency: number;
}

// Conversions at once in this process; a waiting one counts against its own deadline.
let running = 0;
const waiting: Array<() => void> = [];
async function slot(limit: number): Promise<() => void> {
  while (running >= limit) await new Promise<void>((r) => waiting.push(r));
  running++;
  return () => {
    running--;
    waiting.shift()?.();
  };
}

/**
 * Converts the Office file to PDF and returns it as a new temp file (the caller discards it).
 * FOLIO_CONVERTER_MISSING (415) when soffice is not installed; FOLIO_CONVERSION_FAILED (422)
 * when it fails, produces nothing or passes the deadline.
 */
export async function convertToPdf(input: { path: string }, format: OfficeFormat, o: ConvertOptions): Promise<ReceivedFile> {
  const bin = await findConverter(o.bin);
  if (!bin) {
    throw new FolioError(
      'FOLIO_CONVERTER_MISSING',
      `This is an Office document (${format}); converting it needs LibreOffice (soffice), which is not installed on this server. Send a PDF, or ask the operator to install LibreOffice.`,
      { converter: 'soffice', format },
    );
  }
  const release = await slot(o.concurrency);
  const dir = await mkdtemp(path.join(o.tmpDir, 'folio-office-'));
  try {
    // soffice picks its import filter from the extension as well as the bytes; the name is ours, never the client's.
    const source = path.join(dir, `document.${format}`);
    await copyFile(input.path, source);
    const outDir = path.join(dir, 'out');
    const { code, timedOut, stderr } = await run(
      bin,
      [
        `-env:UserInstallation=${pathToFileURL(path.join(dir, 'profile')).href}`,
        '--headless',
        '--invisible',
        '--norestore',
        '--nolockcheck',
        '--nodefault',
        '--nologo',
        '--convert-to',
        'pdf',
        '--outdir',
        outDir,
        source,
      ],
      { cwd: dir, timeoutMs: o.timeoutMs, home: dir },
    );
    if (timedOut)
      throw new FolioError('FOLIO_CONVERSION_FAILED', `Converting the ${format} document to PDF took longer than ${o.timeoutMs} ms`, {
        format,
        reason: 'timeout',
      });
    const pdf = path.join(outDir, 'document.pdf');
    const head = await readFile(pdf).then(
      (b) => b.subarray(0, 5).toString('latin1'),
      () => '',
    );
    if (head !== '%PDF-') {
      throw new FolioError(
        'FOLIO_CONVERSION_FAILED',
        `LibreOffice could not convert the ${format} document to PDF (damaged or password protected?)`,
        { format, reason: 'no-output', exitCode: code },
        { cause: new Error(stderr.slice(-2000)) },
      );
    }
    try {
      return await receiveUpload(createReadStream(pdf), { tmpDir: o.tmpDir, maxBytes: o.maxBytes });
    } catch (err) {
      if (err instanceof FolioError && err.code === 'FOLIO_UPLOAD_TOO_LARGE')
        throw new FolioError('FOLIO_UPLOAD_TOO_LARGE', `The ${format} document converts to a PDF over the ${o.maxBytes}-byte limit`, {
          maxBytes: o.maxBytes,
          format,
        });
      throw err;
    }
  } finally {
    release();
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** Runs soffice in its own process group, so the deadline kills soffice.bin too, not just the wrapper script. */
function run(
  bin: string,
  args: string[],
  o: { cwd: string; timeoutMs: number; home: string },
): Promise<{ code: number | null; timedOut: boolean; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      cwd: o.cwd,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      // Nothing of the service's environment (keys, NATS passwords) reaches the converter.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: o.home, LANG: 'C.UTF-8', TMPDIR: o.home },
    });
    let stderr = '';
    let timedOut = false;
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 8192) stderr += d.toString();
    });
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, o.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new FolioError('FOLIO_CONVERSION_FAILED', 'LibreOffice could not be started', { reason: 'spawn' }, { cause: err }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      // Helpers it left in the group (oosplash's soffice.bin) go with it.
      if (!timedOut) {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      resolve({ code, timedOut, stderr });
    });
  });
}
