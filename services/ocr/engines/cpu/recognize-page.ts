// One page through the CPU engine: decode and scale with sharp, detect and read lines with
// PaddleOCR, map boxes back to page pixels, lay the lines out as Markdown and blocks.
import type { EngineOutput } from '../../engine.ts';
import { layoutPage } from '../../layout.ts';
import { decode, scaled } from './page-image.ts';
import { boxOf, clampBox, corners, lineHeight, rotation, roundBox, skewAngle, type Point } from './page-geometry.ts';
import type { Paddle } from './paddle.ts';
import type { PageJob, WorkerInit } from './protocol.ts';

/** Thrown when the page was called off: the caller has already given up on it. */
export class Cancelled extends Error {}

export async function recognizePage(paddle: Paddle, job: PageJob, opts: WorkerInit, cancelled: () => boolean = () => false): Promise<EngineOutput> {
  const stop = () => {
    if (cancelled()) throw new Cancelled();
  };
  const page = await decode(job.image, opts.maxPixels);
  stop();
  const [det, rec] = await Promise.all([scaled(page, opts.detSide, 32), scaled(page, opts.recSide, 1)]);
  const found = await paddle.run(det, rec, stop);
  // Report boxes in the page's declared size (the rasterizer's), which the decoded image should equal.
  const width = job.width ?? page.width;
  const height = job.height ?? page.height;
  const sx = width / rec.width;
  const sy = height / rec.height;
  const quads = found.map((l) => l.quad.map(([x, y]) => [x * sx, y * sy] as Point));
  // Layout reads a skewed scan in its own frame, where lines are level and their boxes tight.
  const skew = skewAngle(quads);
  const level = rotation(-skew, width, height);
  const lines = found.map((l, i) => ({ text: spaceAfterPunctuation(l.text), confidence: l.confidence, bbox: boxOf(quads[i].map(level)), size: lineHeight(quads[i]) }));
  const { markdown, blocks } = layoutPage(lines, { joinGap: -Infinity, plain: job.task === 'free' });
  const back = rotation(skew, width, height);
  for (const b of blocks) b.bbox = clampBox(boxOf(corners(b.bbox).map(back)), width, height);
  const raw = JSON.stringify(found.map((l, i) => ({ text: l.text, bbox: roundBox(boxOf(quads[i])), confidence: Math.round(l.confidence * 1000) / 1000 })));
  return { engine: 'cpu', markdown, blocks, raw };
}

/**
 * The recogniser drops narrow spaces, most visibly after punctuation ("regions.Revenue",
 * "quarter,while"). Restored only where English never omits one: a comma, colon or semicolon
 * between letters after a lowercase letter, or a full stop between a lowercase word and a
 * capitalised one ("e.g.Foo", "3.1", "Node.js" are left alone).
 */
export function spaceAfterPunctuation(text: string): string {
  return text.replace(/(?<=[a-z])([,;:])(?=[A-Za-z])/g, '$1 ').replace(/(?<=[a-z]{2})([.!?])(?=[A-Z][a-z])/g, '$1 ');
}
