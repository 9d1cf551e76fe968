import { beforeAll, describe, expect, it } from 'vitest';
import { AttentionRecorder, peakInBox, tappedUNet, type TappedUNet } from '../../src/engine/eval/attention-peak.ts';
import { randn } from '../../src/engine/diffusion/rng.ts';
import { SessionManager } from '../../src/engine/onnx/session.ts';
import { encodePrompt } from '../../src/engine/pipeline/encode.ts';
import { loadPipeline, type Pipeline } from '../../src/engine/pipeline/load.ts';
import { sampleLatent } from '../../src/engine/pipeline/sample.ts';
import { parsePrompt } from '../../src/engine/prompt/parse.ts';
import { untrainedModelFolder } from '../pipeline/helpers.ts';

describe('peakInBox', () => {
  it('maps the peak cell centre to image pixels', () => {
    const map = new Float32Array(16 * 16);
    map[3 * 16 + 2] = 1; // row 3, col 2 -> centre (10, 14) in a 64 px image
    expect(peakInBox(map, 16, [8, 12, 12, 16], 64)).toBe(true);
    expect(peakInBox(map, 16, [12, 12, 20, 20], 64)).toBe(false);
  });
});

describe('AttentionRecorder on a real UNet', () => {
  let pipe: Pipeline;
  let unet: TappedUNet;
  beforeAll(async () => {
    const sessions = new SessionManager();
    pipe = await loadPipeline(await untrainedModelFolder(3), sessions);
    unet = await tappedUNet(pipe, sessions);
  });

  it('taps the 16x16 cross-attention layers and averages per-object token maps over the steps it records', async () => {
    expect(unet.size).toBe(16);
    expect(unet.taps.length).toBeGreaterThan(0);
    expect(unet.taps.every((t) => t.height === 16 && t.width === 16)).toBe(true);
    const c = await encodePrompt(pipe, parsePrompt('a red circle above a blue square'));
    const rec = new AttentionRecorder(unet, pipe, c.objects.map((o) => o.headTokenIndices));
    let recorded = 0;
    await sampleLatent(pipe, {
      cond: c.cond, uncond: c.uncond, noise: randn([1, 4, 16, 16], 0), steps: 4, guidance: 3, scheduler: 'euler',
      beforeStep: async (i, t, x, input) => {
        if (i >= 1 && i < 3) {
          await rec.record(input(x), t, c.cond);
          recorded++;
        }
      },
    });
    expect(recorded).toBe(2);
    const maps = rec.maps();
    expect(maps).toHaveLength(2);
    for (const m of maps) {
      expect(m).toHaveLength(256);
      // each entry is a mean of softmax probabilities: in [0, 1], and not all equal
      expect(m.every((v) => v >= 0 && v <= 1)).toBe(true);
      expect(Math.max(...m)).toBeGreaterThan(Math.min(...m));
    }
    expect(maps[0]).not.toEqual(maps[1]);
  });
});
