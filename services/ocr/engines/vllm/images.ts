/**
 * Client-side image preparation per model (sharp): the sizes each model was trained on, and the
 * crops of MinerU's second stage. The one module of the profiles that touches pixels.
 */
import sharp from 'sharp';
import type { BBox } from '../../../../shared/bus/index.ts';

export interface PreparedImage {
  /** PNG bytes to send. */
  image: Buffer;
  width: number;
  height: number;
}

/** Size after scaling so that one side (the longest, or the shortest) is `target` px; aspect kept. */
export function scaledSize(width: number, height: number, target: number, side: 'longest' | 'shortest'): { width: number; height: number } {
  const ref = side === 'longest' ? Math.max(width, height) : Math.min(width, height);
  const s = target / ref;
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}

/** Size after capping the area at `maxPixels` (downscale only, aspect kept): Chandra's `scale_to_fit`. */
export function cappedSize(width: number, height: number, maxPixels: number): { width: number; height: number } {
  if (width * height <= maxPixels) return { width, height };
  const s = Math.sqrt(maxPixels / (width * height));
  return { width: Math.max(28, Math.floor(width * s)), height: Math.max(28, Math.floor(height * s)) };
}

export async function resizeTo(
  image: Buffer,
  width: number,
  height: number,
  size: { width: number; height: number },
  fit: 'fill' | 'inside' = 'inside',
): Promise<PreparedImage> {
  if (size.width === width && size.height === height) return { image, width, height };
  // Fast PNG compression: the image crosses a local network once, and level 6 costs ~4x the CPU for ~10 % fewer bytes.
  const out = await sharp(image).resize(size.width, size.height, { fit, kernel: 'cubic' }).png({ compressionLevel: 1 }).toBuffer();
  return { image: out, ...size };
}

/**
 * MinerU's block crop: the box of the full page, turned by the block's angle, padded to an aspect
 * ratio of at most 50 (white) and upscaled so the short side is at least 28 (`resize_by_need`).
 */
export async function cropBlock(page: Buffer, bbox: BBox, angle: 0 | 90 | 180 | 270, pageWidth: number, pageHeight: number): Promise<PreparedImage | null> {
  const left = Math.max(0, Math.floor(bbox[0]));
  const top = Math.max(0, Math.floor(bbox[1]));
  const width = Math.min(pageWidth, Math.ceil(bbox[2])) - left;
  const height = Math.min(pageHeight, Math.ceil(bbox[3])) - top;
  if (width < 1 || height < 1) return null;
  let img = sharp(page).extract({ left, top, width, height });
  let [w, h] = angle === 90 || angle === 270 ? [height, width] : [width, height];
  // PIL rotates counter-clockwise; sharp clockwise.
  if (angle)
    img = sharp(
      await img
        .rotate(360 - angle)
        .png()
        .toBuffer(),
    );
  const ratio = Math.max(w, h) / Math.min(w, h);
  if (ratio > 50) {
    const [nw, nh] = w > h ? [w, Math.ceil(w / 50)] : [Math.ceil(h / 50), h];
    const padX = nw - w;
    const padY = nh - h;
    img = sharp(
      await img
        .extend({
          left: Math.floor(padX / 2),
          right: padX - Math.floor(padX / 2),
          top: Math.floor(padY / 2),
          bottom: padY - Math.floor(padY / 2),
          background: 'white',
        })
        .png()
        .toBuffer(),
    );
    [w, h] = [nw, nh];
  }
  if (Math.min(w, h) < 28) {
    const s = 28 / Math.min(w, h);
    [w, h] = [Math.ceil(w * s), Math.ceil(h * s)];
    img = img.resize(w, h, { fit: 'fill', kernel: 'cubic' });
  }
  return { image: await img.png({ compressionLevel: 1 }).toBuffer(), width: w, height: h };
}
