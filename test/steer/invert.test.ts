import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionManager, type Session } from '../../src/engine/onnx/session.ts';
import { encodePrompt } from '../../src/engine/pipeline/encode.ts';
import { encodeImages, invertAndRecord, psnr, vaeEncoder } from '../../src/engine/pipeline/invert.ts';
import { loadPipeline, type Pipeline } from '../../src/engine/pipeline/load.ts';
import { parsePrompt } from '../../src/engine/prompt/parse.ts';
import { attentionUNet, meanMap, objectTokenGroups, type AttentionUNet } from '../../src/engine/steer/attention.ts';
import { renderScene } from '../../src/engine/world/render.ts';
import type { Scene } from '../../src/engine/world/types.ts';

// The shipped Shape World model: inversion quality is a property of trained weights.
let sessions: SessionManager;
let pipe: Pipeline;
let encoder: Session;
let unet: AttentionUNet;
const scene: Scene = { objects: [{ shape: 'circle', color: 'red', cx: 16, cy: 32, size: 18 }, { shape: 'square', color: 'blue', cx: 48, cy: 32, size: 18 }] };

beforeAll(async () => {
  sessions = new SessionManager();
  pipe = await loadPipeline('resources/models/shape-world', sessions);
  encoder = await vaeEncoder(pipe, sessions);
  unet = await attentionUNet(pipe, sessions);
});
afterAll(async () => sessions.dispose());

describe('inversion', () => {
  it('encodes, inverts and re-denoises a rendered scene with high PSNR; fixed-point iterations do not hurt', async () => {
    const img = renderScene(scene);
    const texts = ['a red circle to the left of a blue square', 'a red circle above a blue square'];
    const conds = [];
    const groups = [];
    for (const t of texts) {
      const c = await encodePrompt(pipe, parsePrompt(t));
      conds.push(c.cond);
      groups.push(objectTokenGroups(c.objects));
    }
    const plain = await invertAndRecord(pipe, encoder, unet, [img, img], conds, { steps: 10, fixedPoint: 0, record: [2, 9], groups });
    const fixed = await invertAndRecord(pipe, encoder, unet, [img, img], conds, { steps: 10, fixedPoint: 2, record: [2, 9], groups });
    for (const p of [...plain.psnr, ...fixed.psnr]) expect(p).toBeGreaterThan(25);
    expect(Math.min(...fixed.psnr)).toBeGreaterThan(Math.min(...plain.psnr) - 0.5);
    // one stack per recorded step and prompt: 2 objects x C maps of 16x16
    expect(fixed.maps).toHaveLength(2);
    expect(fixed.maps[1]).toHaveLength(2);
    expect(fixed.maps[1]![0]).toHaveLength(2 * unet.spec.channels.length * 256);
    // the circle's mean map sits on the left half, the square's on the right (last recorded step)
    const centreX = (m: Float32Array) => m.reduce((a, v, i) => a + v * (i % 16), 0) / m.reduce((a, v) => a + v, 0);
    const circle = meanMap(fixed.maps[1]![0]!, unet.spec, 0);
    const square = meanMap(fixed.maps[1]![0]!, unet.spec, 1);
    expect(centreX(circle)).toBeLessThan(centreX(square));
  });

  it('PSNR is infinite for identical images and refuses different sizes', async () => {
    const img = renderScene(scene);
    expect(psnr(img, img)).toBe(Infinity);
    expect(() => psnr(img, renderScene({ width: 32, height: 32, objects: [] }))).toThrow(/PSNR of a 64x64 and a 32x32 image/);
    await expect(encodeImages(pipe, encoder, [img, renderScene({ width: 32, height: 32, objects: [] })])).rejects.toThrow(/every image of a batch must be 64x64/);
  });
});
