/** Helpers that turn engine values into editor previews. */
import { encodePng } from '../engine/image/png.ts';
import type { Preview } from '../shared/events.ts';
import type { ImageValue } from './values.ts';

export function imagePreview(image: ImageValue, label?: string): Preview {
  return {
    kind: 'image',
    width: image.width,
    height: image.height,
    pngBase64: Buffer.from(encodePng(image)).toString('base64'),
    ...(label !== undefined ? { label } : {}),
  };
}
