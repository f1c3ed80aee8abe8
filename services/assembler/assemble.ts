import type { DocumentResult, JobOptions, PageRecord, PageResult, SourceInfo } from '../../shared/bus/index.ts';
import { markRunningFurniture, withoutFurniture } from './furniture.ts';
import { qualityFrontMatter } from './front-matter.ts';

export interface AssembleInput {
  jobId: string;
  source: SourceInfo;
  options: JobOptions;
  records: PageRecord[];
  /** Results of the pages whose record says done, by page number. */
  results: Map<number, PageResult>;
}

const SEPARATORS: Record<JobOptions['separator'], (page: number) => string> = {
  rule: (page) => `\n\n---\n<!-- page ${page} -->\n\n`,
  deepseek: () => '\n<--- Page Split --->\n',
  none: () => '\n\n',
};

/**
 * Stitches page results into document.md and document.json, pages in order; failed pages leave a
 * marker. Lines that run at the top or bottom of several pages are typed as furniture, and the
 * Markdown leaves furniture out unless the job keeps it (the blocks keep it either way).
 */
export function assembleDocument(input: AssembleInput): { markdown: string; json: DocumentResult } {
  const records = [...input.records].sort((a, b) => a.page - b.page);
  const blocksOf = markRunningFurniture(input.results);
  // Options stored before the furniture option existed read as the default.
  const drop = (input.options.furniture ?? 'drop') === 'drop';
  const markdownOf = (page: number, r: PageResult) => (drop ? withoutFurniture(r.markdown, blocksOf.get(page) ?? r.blocks) : r.markdown);
  const sep = SEPARATORS[input.options.separator];
  const parts: string[] = [];
  const pages: DocumentResult['pages'] = [];
  for (const [i, rec] of records.entries()) {
    const result = input.results.get(rec.page);
    const md = rec.status === 'done' && result ? markdownOf(rec.page, result).trim() : `<!-- page ${rec.page} failed: ${rec.error?.code ?? 'unknown'} -->`;
    if (i > 0) parts.push(sep(rec.page));
    parts.push(md);
    pages.push({
      page: rec.page,
      status: rec.status === 'done' && result ? 'done' : 'failed',
      engine: rec.engine,
      width: result?.width,
      height: result?.height,
      markdown: result ? markdownOf(rec.page, result) : '',
      // Every block says its reading-order index (the layout JSON contract); engines that list blocks in order may leave it out.
      blocks: (blocksOf.get(rec.page) ?? result?.blocks ?? []).map((b, i) => ({ ...b, order: b.order ?? i })),
      ...(rec.error ? { error: rec.error } : {}),
      ...(result?.quality ? { quality: result.quality } : {}),
      ...((rec.attempts ?? result?.attempts) ? { attempts: rec.attempts ?? result?.attempts } : {}),
    });
  }
  const front = input.options.frontMatter === 'quality' ? qualityFrontMatter(pages) : '';
  return { markdown: front + parts.join('').trim() + '\n', json: { v: 1, jobId: input.jobId, source: input.source, pages } };
}
