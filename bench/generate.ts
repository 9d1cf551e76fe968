/**
 * Cost of one image: a 50-step DDIM sample with classifier-free guidance (one batch-2 UNet
 * call per step), plus text encoding and decoding, with the bundled model (or, while it is not
 * trained yet, an untrained Shape World model of the same architecture: same cost).
 * `npm run bench:generate` -> bench/results/generate.json
 */
import { cpSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randn } from '../src/engine/diffusion/rng.ts';
import { buildShapeWorld, writeModelFolder } from '../src/engine/nets/index.ts';
import { SessionManager } from '../src/engine/onnx/session.ts';
import { decodeLatent } from '../src/engine/pipeline/decode.ts';
import { encodePrompt } from '../src/engine/pipeline/encode.ts';
import { loadPipeline } from '../src/engine/pipeline/load.ts';
import { sampleLatent } from '../src/engine/pipeline/sample.ts';
import { parsePrompt } from '../src/engine/prompt/parse.ts';

const REPEATS = Number(process.env.REPEATS ?? 5);
const bundled = 'resources/models/shape-world';
let dir = bundled;
let which = 'bundled';
if (!existsSync(join(bundled, 'model_index.json'))) {
  dir = mkdtempSync(join(tmpdir(), 'steer-bench-'));
  const { models, configs } = buildShapeWorld({}, 0);
  await writeModelFolder(dir, models, configs);
  cpSync(join(bundled, 'tokenizer'), join(dir, 'tokenizer'), { recursive: true });
  which = 'untrained (bundled model not present yet)';
}

const rows = [];
for (const threads of [1, 2]) {
  const pipe = await loadPipeline(dir, new SessionManager(), { threads });
  const prompt = parsePrompt('a photo of a red circle to the left of a blue square');
  const times = { encode: [] as number[], sample: [] as number[], decode: [] as number[] };
  for (let r = 0; r < REPEATS + 1; r++) {
    const t0 = performance.now();
    const c = await encodePrompt(pipe, prompt);
    const t1 = performance.now();
    const lat = await sampleLatent(pipe, { cond: c.cond, uncond: c.uncond, noise: randn([1, 4, 16, 16], r), steps: 50, guidance: 7.5, scheduler: 'ddim' });
    const t2 = performance.now();
    await decodeLatent(pipe, lat);
    const t3 = performance.now();
    if (r === 0) continue; // warm-up
    times.encode.push(t1 - t0);
    times.sample.push(t2 - t1);
    times.decode.push(t3 - t2);
  }
  const med = (xs: number[]) => +[...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(1);
  rows.push({ threads, encodeMs: med(times.encode), sample50Ms: med(times.sample), perStepMs: +(med(times.sample) / 50).toFixed(2), decodeMs: med(times.decode), totalMs: +(med(times.encode) + med(times.sample) + med(times.decode)).toFixed(1) });
  await pipe.dispose();
}
const result = { date: new Date().toISOString(), model: which, repeats: REPEATS, steps: 50, guidance: 7.5, scheduler: 'ddim', rows };
writeFileSync('bench/results/generate.json', `${JSON.stringify(result, null, 2)}\n`);
console.log(`one 64x64 image, 50-step DDIM + CFG, model: ${which}, median of ${REPEATS}`);
console.table(rows);
