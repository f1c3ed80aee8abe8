import type { DocumentResult } from '../../shared/bus/index.ts';

/**
 * document.md's YAML front matter with each page's quality signals (frontMatter=quality): what a
 * reader of the Markdown alone needs to know which pages not to trust. Values are numbers,
 * booleans and plain words, so no YAML quoting is needed beyond the error codes (letters and _).
 */
export function qualityFrontMatter(pages: DocumentResult['pages']): string {
  const suspect = pages.filter((p) => p.quality?.suspect).map((p) => p.page);
  const failed = pages.filter((p) => p.status === 'failed').map((p) => p.page);
  const lines = [
    '---',
    'folio_quality:',
    `  pages: ${pages.length}`,
    `  suspect_pages: [${suspect.join(', ')}]`,
    `  failed_pages: [${failed.join(', ')}]`,
    '  page_quality:',
  ];
  for (const p of pages) {
    lines.push(`    - page: ${p.page}`, `      status: ${p.status}`);
    if (p.engine) lines.push(`      engine: ${yamlWord(p.engine)}`);
    if (p.error) lines.push(`      error: ${yamlWord(p.error.code)}`);
    const q = p.quality;
    if (q) {
      if (q.confidence !== undefined) lines.push(`      confidence: ${q.confidence}`);
      lines.push(
        `      repetition: ${q.repetition}`,
        `      truncated: ${q.truncated}`,
        `      suspect: ${q.suspect}`,
        `      reasons: [${q.reasons.map(yamlWord).join(', ')}]`,
      );
    }
    const fellBack = p.attempts?.filter((a) => a.outcome !== 'ok') ?? [];
    if (fellBack.length > 0) lines.push(`      retried: [${fellBack.map((a) => yamlWord(`${a.engine}:${a.outcome}`)).join(', ')}]`);
  }
  lines.push('---', '', '');
  return lines.join('\n');
}

/** A scalar that stays a plain string in YAML (JSON-quoted unless it is a plain word). */
function yamlWord(s: string): string {
  return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(s) && !/^(true|false|null|yes|no|on|off)$/i.test(s) ? s : JSON.stringify(s);
}
