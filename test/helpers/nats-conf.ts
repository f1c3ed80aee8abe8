import { readFileSync } from 'node:fs';

export interface ServicePermissions {
  publish: string[];
  subscribe: string[];
}

/**
 * The service users' permissions as nats.conf writes them (`<NAME>_PERMISSIONS = { publish: { allow:
 * [...] } subscribe: { allow: [...] } }`), keyed by user name in lower case. Enough of the format
 * to check that other renderings of it (the Helm values) say the same.
 */
export function readServicePermissions(file: string): Record<string, ServicePermissions> {
  const text = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.replace(/^\s*#.*$/, '').replace(/\s+#[^"]*$/, ''))
    .join('\n');
  const out: Record<string, ServicePermissions> = {};
  for (const m of text.matchAll(/^(\w+)_PERMISSIONS = \{/gm)) {
    let depth = 0;
    let end = m.index! + m[0].length - 1;
    for (; end < text.length; end++) {
      if (text[end] === '{') depth++;
      else if (text[end] === '}' && --depth === 0) break;
    }
    const block = text.slice(m.index!, end + 1);
    const list = (kind: string) => {
      const l = new RegExp(`${kind}:\\s*\\{\\s*allow:\\s*\\[([^\\]]*)\\]`).exec(block);
      return l ? [...l[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]) : [];
    };
    out[m[1].toLowerCase()] = { publish: list('publish'), subscribe: list('subscribe') };
  }
  return out;
}
