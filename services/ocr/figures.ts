import sharp from 'sharp';
import type { Block } from '../../shared/bus/index.ts';

/** File names our engines link figures by (`![](images/<page>_<k>.jpg)`); nothing else is written. */
const FIGURE_LINK = /^!\[[^\]]*\]\(images\/(\d+_\d+\.jpg)\)$/;

export interface FigureCrop {
  name: string;
  jpeg: Buffer;
}

/**
 * Crops every linked figure block out of the page image, so the Markdown's image links resolve.
 * Boxes are in page pixels; degenerate ones (under 4 px a side) are skipped.
 */
export async function cropFigures(pageImage: Buffer, blocks: Block[]): Promise<FigureCrop[]> {
  const crops: FigureCrop[] = [];
  for (const b of blocks) {
    const name = b.type === 'image' ? FIGURE_LINK.exec(b.text.trim())?.[1] : undefined;
    if (!name) continue;
    const [x1, y1, x2, y2] = b.bbox.map(Math.round);
    const width = x2 - x1;
    const height = y2 - y1;
    if (width < 4 || height < 4) continue;
    const jpeg = await sharp(pageImage).extract({ left: x1, top: y1, width, height }).jpeg({ quality: 85 }).toBuffer();
    crops.push({ name, jpeg });
  }
  return crops;
}
