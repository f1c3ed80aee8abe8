import { lookup as dnsLookup } from 'node:dns/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import { FolioError } from '../../shared/operations/index.ts';
import { isPrivateAddress } from './ssrf.ts';
import { receiveUpload, type ReceivedFile } from './upload.ts';

/**
 * Fetches a document a client named by URL, without letting the URL reach inside the deployment
 * (SSRF): only http and https; the host is resolved once per hop, every address it resolves to
 * is checked, and the connection goes to exactly the checked address (a pinned `lookup`), so a
 * DNS answer that changes between check and connect (rebinding) cannot redirect it. Each redirect
 * is a new hop, checked again. Size, time and the body's handling are the upload's own: the
 * body is spooled to a temp file through receiveUpload, with the same byte limit, and its type
 * is then decided from its bytes like any upload.
 */

export type LookupFn = (host: string) => Promise<Array<{ address: string; family: 4 | 6 }>>;

export interface FetchPolicy {
  tmpDir: string;
  maxBytes: number;
  /** The whole fetch, every hop and the body, must end within this. */
  timeoutMs: number;
  maxRedirects: number;
  /** Every private address is allowed (tests, intranets). */
  allowPrivate?: boolean;
  /** Private addresses allowed one by one (options.ingest.fetch.allowCidrs). */
  allow?: BlockList;
  /** DNS, replaceable in tests; default the system resolver (getaddrinfo, like every client). */
  lookup?: LookupFn;
}

export interface Fetched {
  file: ReceivedFile;
  /** A file name for the job: Content-Disposition's, else the URL path's last segment. */
  name: string;
  /** Where the document finally came from, after redirects. */
  url: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const USER_AGENT = 'Folio/1 (document fetch; +https://github.com/folio-ocr)';

// 6to4 (2002::/16) carries an IPv4 address in bits 16-47: a private one is refused like the address itself.
function embedded6to4(address: string): string | null {
  const m = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4}):/i.exec(address);
  if (!m) return null;
  const hi = parseInt(m[1], 16);
  const lo = parseInt(m[2], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** True when the policy forbids connecting to this resolved address. */
export function isForbiddenAddress(address: string, p: Pick<FetchPolicy, 'allowPrivate' | 'allow'> = {}): boolean {
  if (p.allowPrivate) return false;
  const family = isIP(address);
  if (family !== 0 && p.allow?.check(address, family === 4 ? 'ipv4' : 'ipv6')) return false;
  const v4 = family === 6 ? embedded6to4(address) : null;
  return isPrivateAddress(address) || (v4 !== null && isPrivateAddress(v4));
}

/** Syntax of a URL a client may ask us to fetch: http(s), a host, no credentials. */
export function parseFetchUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new FolioError('FOLIO_URL_INVALID', 'The url is not a valid absolute URL', { url: raw.slice(0, 200) });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new FolioError('FOLIO_URL_INVALID', `Only http and https URLs are fetched, not ${url.protocol}`, { url: raw.slice(0, 200) });
  if (url.username || url.password) throw new FolioError('FOLIO_URL_INVALID', 'Credentials in the URL are not allowed', { url: url.origin });
  if (!url.hostname) throw new FolioError('FOLIO_URL_INVALID', 'The url has no host', { url: raw.slice(0, 200) });
  return url;
}

const systemLookup: LookupFn = async (host) => (await dnsLookup(host, { all: true, verbatim: true })) as Array<{ address: string; family: 4 | 6 }>;

/** The one address this hop connects to, after checking every address the host resolves to. */
async function resolveChecked(url: URL, p: FetchPolicy): Promise<{ address: string; family: 4 | 6 }> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addrs: Array<{ address: string; family: 4 | 6 }>;
  if (isIP(host)) addrs = [{ address: host, family: isIP(host) as 4 | 6 }];
  else {
    try {
      addrs = await (p.lookup ?? systemLookup)(host);
    } catch (err) {
      throw new FolioError('FOLIO_FETCH_FAILED', `The host ${host} does not resolve`, { url: url.origin, reason: 'dns' }, { cause: err });
    }
  }
  if (addrs.length === 0) throw new FolioError('FOLIO_FETCH_FAILED', `The host ${host} does not resolve`, { url: url.origin, reason: 'dns' });
  const bad = addrs.find((a) => isForbiddenAddress(a.address, p));
  if (bad) {
    throw new FolioError(
      'FOLIO_URL_FORBIDDEN',
      `${host} resolves to ${bad.address}, a private, loopback, link-local, multicast or unspecified address; Folio does not fetch from inside its network`,
      { url: url.origin, address: bad.address },
    );
  }
  return addrs[0];
}

/** One GET to the checked address; resolves with the response head (the body not read yet). */
function get(url: URL, target: { address: string; family: 4 | 6 }, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, {
      method: 'GET',
      agent: false,
      signal,
      // No compression asked for: the byte limit then counts what is stored.
      headers: { 'user-agent': USER_AGENT, accept: '*/*', 'accept-encoding': 'identity' },
      // Connect to the address that was checked, never to a second DNS answer.
      lookup: (_host, opts, cb) =>
        (opts as { all?: boolean }).all
          ? (cb as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [target])
          : (cb as (e: null, a: string, f: number) => void)(null, target.address, target.family),
    });
    req.on('response', resolve);
    req.on('error', reject);
    req.end();
  });
}

function fileName(res: IncomingMessage, url: URL): string {
  const cd = String(res.headers['content-disposition'] ?? '');
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(cd);
  const plain = /filename\s*=\s*"?([^";]+)"?/.exec(cd);
  let name: string;
  try {
    name = star ? decodeURIComponent(star[1]) : plain ? plain[1] : decodeURIComponent(url.pathname.split('/').filter(Boolean).pop() ?? '');
  } catch {
    name = '';
  }
  // A name only: no directories, no control characters.
  name = name
    .replace(/[\\/]/g, '_')
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .trim()
    .slice(0, 200);
  return name || url.hostname;
}

/** Fetches the URL to a temp file (the caller discards it); throws FolioErrors with stable codes. */
export async function fetchToFile(raw: string, p: FetchPolicy): Promise<Fetched> {
  let url = parseFetchUrl(raw);
  const controller = new AbortController();
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, p.timeoutMs);
  const timeout = () =>
    new FolioError('FOLIO_FETCH_TIMEOUT', `Fetching ${url.origin} took longer than ${p.timeoutMs} ms`, { url: url.origin, timeoutMs: p.timeoutMs });
  try {
    for (let hop = 0; ; hop++) {
      const target = await withAbort(resolveChecked(url, p), controller.signal, timeout);
      let res: IncomingMessage;
      try {
        res = await get(url, target, controller.signal);
      } catch (err) {
        if (timedOut) throw timeout();
        throw new FolioError('FOLIO_FETCH_FAILED', `Could not connect to ${url.host}`, { url: url.origin, reason: 'connect' }, { cause: err });
      }
      const status = res.statusCode ?? 0;
      if (REDIRECTS.has(status) && res.headers.location) {
        res.resume();
        if (hop >= p.maxRedirects)
          throw new FolioError('FOLIO_FETCH_FAILED', `More than ${p.maxRedirects} redirects`, { url: url.origin, reason: 'redirects' });
        let next: URL;
        try {
          next = new URL(res.headers.location, url);
        } catch {
          throw new FolioError('FOLIO_FETCH_FAILED', 'A redirect named an invalid URL', { url: url.origin, reason: 'redirect' });
        }
        // The next hop is checked like the first one (scheme, credentials, addresses).
        url = parseFetchUrl(next.href);
        continue;
      }
      if (status < 200 || status > 299) {
        res.resume();
        throw new FolioError('FOLIO_FETCH_FAILED', `${url.origin} answered HTTP ${status}`, { url: url.origin, reason: 'status', httpStatus: status });
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > p.maxBytes) {
        res.destroy();
        throw new FolioError('FOLIO_UPLOAD_TOO_LARGE', `The document at the URL is ${declared} bytes, over the ${p.maxBytes}-byte limit`, {
          maxBytes: p.maxBytes,
        });
      }
      try {
        const file = await receiveUpload(res, { tmpDir: p.tmpDir, maxBytes: p.maxBytes });
        return { file, name: fileName(res, url), url: url.href };
      } catch (err) {
        if (timedOut) throw timeout();
        if (err instanceof FolioError && err.code === 'FOLIO_UPLOAD_TOO_LARGE') throw err;
        throw new FolioError('FOLIO_FETCH_FAILED', `The download from ${url.origin} broke off`, { url: url.origin, reason: 'body' }, { cause: err });
      }
    }
  } finally {
    clearTimeout(deadline);
  }
}

/** A promise that also ends when the signal fires (a DNS lookup has no deadline of its own). */
function withAbort<T>(p: Promise<T>, signal: AbortSignal, onAbort: () => Error): Promise<T> {
  if (signal.aborted) return Promise.reject(onAbort());
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(onAbort());
    signal.addEventListener('abort', stop, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
  });
}
