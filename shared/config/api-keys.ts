import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * API keys: `tenant=key` entries, from FOLIO_API_KEYS (comma- or newline-separated) or from the
 * file FOLIO_API_KEYS_FILE (one per line, `#` comments). The tenant comes first and the entry is
 * split on the FIRST `=`, because tenant names never contain `=` while keys may (base64 padding).
 *
 * Only a SHA-256 of each key is kept; requests are matched by hashing what they present and
 * comparing with every known hash in constant time. Error messages name the entry or line, never
 * the key.
 */

/** Tenant names become NATS subject tokens (`folio.events.<tenant>.>`) and KV keys: no `.`, `*`, `>` or spaces. */
export const TENANT_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** Short keys are guessable; this also catches the old `key=tenant` order (the "key" would be a tenant name). */
export const MIN_KEY_LENGTH = 16;
export const MAX_KEY_LENGTH = 512;
/** Two keys per tenant: the current one and the next, so a key can be rotated without downtime. */
export const MAX_KEYS_PER_TENANT = 2;
/** Printable ASCII without spaces: what survives an HTTP header unchanged. */
const KEY_CHARS = /^[\x21-\x7e]+$/;

export interface ApiKey {
  tenant: string;
  /** The first 8 hex digits of the key's SHA-256: names the key in logs without revealing it. */
  keyId: string;
  hash: Buffer;
}

export class ApiKeyError extends Error {}

export const hashKey = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();
export const keyIdOf = (hash: Buffer): string => hash.subarray(0, 4).toString('hex');

interface Entry {
  text: string;
  /** Where the entry came from, for messages: `FOLIO_API_KEYS entry 2`, `keys.txt line 7`. */
  where: string;
}

function parseEntries(entries: Entry[]): ApiKey[] {
  const keys: ApiKey[] = [];
  const seen = new Map<string, string>();
  const perTenant = new Map<string, number>();
  for (const { text, where } of entries) {
    const eq = text.indexOf('=');
    if (eq < 0) throw new ApiKeyError(`${where}: expected "tenant=key"`);
    const tenant = text.slice(0, eq).trim();
    const key = text.slice(eq + 1).trim();
    if (!TENANT_NAME.test(tenant))
      throw new ApiKeyError(
        `${where}: the tenant name must be 1-64 characters of A-Z a-z 0-9 _ - (it becomes a NATS subject token); the format is "tenant=key"`,
      );
    if (!KEY_CHARS.test(key)) throw new ApiKeyError(`${where}: the key is empty or has spaces or non-ASCII characters`);
    if (key.length < MIN_KEY_LENGTH || key.length > MAX_KEY_LENGTH) {
      throw new ApiKeyError(
        `${where}: the key must be ${MIN_KEY_LENGTH}-${MAX_KEY_LENGTH} characters (e.g. \`openssl rand -base64 32\`); the format is "tenant=key"`,
      );
    }
    const hash = hashKey(key);
    const hex = hash.toString('hex');
    const earlier = seen.get(hex);
    if (earlier) throw new ApiKeyError(`${where}: the same key is already given at ${earlier}`);
    seen.set(hex, where);
    const n = (perTenant.get(tenant) ?? 0) + 1;
    if (n > MAX_KEYS_PER_TENANT)
      throw new ApiKeyError(`${where}: tenant "${tenant}" has more than ${MAX_KEYS_PER_TENANT} keys (one current, one for rotation)`);
    perTenant.set(tenant, n);
    keys.push({ tenant, keyId: keyIdOf(hash), hash });
  }
  return keys;
}

/** FOLIO_API_KEYS: entries separated by commas or newlines. */
export function parseApiKeysEnv(value: string, name = 'FOLIO_API_KEYS'): ApiKey[] {
  const parts = value.split(/[,\n]/).map((s) => s.trim());
  return parseEntries(parts.flatMap((text, i) => (text ? [{ text, where: `${name} entry ${i + 1}` }] : [])));
}

/** A keys file: one `tenant=key` per line; blank lines and lines starting with `#` are skipped. */
export function parseApiKeysFile(text: string, name: string): ApiKey[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  return parseEntries(
    lines.flatMap((line, i) => {
      const t = line.trim();
      return t && !t.startsWith('#') ? [{ text: t, where: `${name} line ${i + 1}` }] : [];
    }),
  );
}

/** The keys a process accepts. Empty means authentication is off (every request is tenant "default"). */
export class ApiKeyring {
  private readonly keys: readonly ApiKey[];

  constructor(
    keys: readonly ApiKey[] = [],
    /** The comparison; tests pass a counting wrapper around timingSafeEqual. */
    readonly compare: (a: Buffer, b: Buffer) => boolean = timingSafeEqual,
  ) {
    this.keys = keys;
  }

  get size(): number {
    return this.keys.length;
  }

  get tenants(): string[] {
    return [...new Set(this.keys.map((k) => k.tenant))];
  }

  /**
   * The key matching what a client presented, or undefined. Every known hash is compared, with
   * timingSafeEqual and no early exit, so the time taken says nothing about which key came close.
   */
  find(presented: string): ApiKey | undefined {
    const hash = hashKey(presented);
    let match: ApiKey | undefined;
    for (const k of this.keys) {
      if (this.compare(k.hash, hash)) match = k;
    }
    return match;
  }

  /** Keys never appear in logs or JSON, even by accident (`log.info({ config })`). */
  toJSON() {
    return { keys: this.keys.map((k) => ({ tenant: k.tenant, keyId: k.keyId })) };
  }
}
