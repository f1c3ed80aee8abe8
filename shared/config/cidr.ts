import { BlockList, isIP } from 'node:net';

/**
 * Address lists written by operators ("10.1.0.0/16,127.0.0.1,fd00::/8"): a bare address is a
 * single host. Used for the fetch allow-list (options.ingest.fetch.allowCidrs), which lets URL fetches reach chosen intranet
 * hosts without opening every private range.
 */
export function parseCidr(entry: string): { net: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [addr, bits, ...rest] = entry.trim().split('/');
  if (rest.length > 0) return null;
  const v = isIP(addr);
  if (v === 0) return null;
  const max = v === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return null;
  return { net: addr, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

export const isCidr = (entry: string): boolean => parseCidr(entry) !== null;

/** A BlockList holding the entries (all must parse: config validation rejects the others). */
export function cidrList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const e of entries) {
    const c = parseCidr(e);
    if (c) list.addSubnet(c.net, c.prefix, c.family);
  }
  return list;
}
