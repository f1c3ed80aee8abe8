import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Outbound URLs chosen by clients (webhooks, documents to fetch) must not reach the inside of the
 * deployment: loopback, private, link-local (cloud metadata at 169.254.169.254), CGNAT, unique
 * local, multicast and unspecified addresses are refused. The check is on the addresses the name
 * resolves to, and the caller connects to exactly that address (no second lookup an attacker's
 * DNS could answer differently).
 */
const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const)
  blocked.addSubnet(net, prefix, 'ipv6');

export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1], 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export class UnsafeUrlError extends Error {}

/** Syntax only (no DNS): http(s), no credentials in the URL. */
export function checkUrlSyntax(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UnsafeUrlError('not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UnsafeUrlError('only http and https URLs are allowed');
  if (url.username || url.password) throw new UnsafeUrlError('credentials in the URL are not allowed');
  return url;
}

/**
 * Resolves the URL's host and returns the address to connect to; throws UnsafeUrlError when any
 * resolved address is private (unless allowed).
 */
export type Resolver = (host: string) => Promise<Array<{ address: string; family: 4 | 6 }>>;
const systemResolver: Resolver = async (host) => (await lookup(host, { all: true, verbatim: true })) as Array<{ address: string; family: 4 | 6 }>;

export async function resolveSafe(raw: string, o: { allowPrivate?: boolean; resolve?: Resolver } = {}): Promise<{ url: URL; address: string; family: 4 | 6 }> {
  const url = checkUrlSyntax(raw);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addrs = isIP(host) ? [{ address: host, family: isIP(host) as 4 | 6 }] : await (o.resolve ?? systemResolver)(host);
  if (addrs.length === 0) throw new UnsafeUrlError(`${host} does not resolve`);
  if (!o.allowPrivate) {
    const bad = addrs.find((a) => isPrivateAddress(a.address));
    if (bad) throw new UnsafeUrlError(`${host} resolves to a private, loopback or link-local address (${bad.address})`);
  }
  return { url, address: addrs[0].address, family: addrs[0].family };
}
