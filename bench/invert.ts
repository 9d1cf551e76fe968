/**
 * Inversion quality and cost: reconstruction PSNR of rendered Shape World scenes (two objects,
 * a relation prompt each) after fixed-point DDIM inversion and re-denoise, against the number
 * of steps and fixed-point iterations, plus the VAE-only ceiling (encode -> decode).
 * `npm run bench:invert [-- --images N]` -> bench/results/invert.json
 */
import { writeFileSync } from 'node:fs';
import { SessionManager } from '../src/engine/onnx/session.ts';
import { decodeLatent } from '../src/engine/pipeline/decode.ts';
import { encodePrompt } from '../src/engine/pipeline/encode.ts';
import { encodeImages, invertAndRecord, psnr, vaeEncoder } from '../src/engine/pipeline/invert.ts';
import { loadPipeline } from '../src/engine/pipeline/load.ts';
import { parsePrompt } from '../src/engine/prompt/parse.ts';
import { attentionUNet, objectTokenGroups } from '../src/engine/steer/attention.ts';
import { relationPrompt, RELATION_CLASSES, sceneFor } from '../src/engine/steer/relation-dataset.ts';
import { renderScene } from '../src/engine/world/render.ts';
import { derive, Rng } from '../src/engine/world/rng.ts';
import { objectName } from '../src/engine/world/types.ts';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const N = arg('images', 16);
const sessions = new SessionManager();
const pipe = await loadPipeline('resources/models/shape-world', sessions);
const encoder = await vaeEncoder(pipe, sessions);
const unet = await attentionUNet(pipe, sessions);
const images = [];
const conds = [];
const groups = [];
for (let i = 0; i < N; i++) {
  const r = RELATION_CLASSES[i % 4]!;
  const { scene, subject, object } = sceneFor(new Rng(derive(123, 'bench', i)), r, 'train');
  images.push(renderScene(scene));
  const c = await encodePrompt(pipe, parsePrompt(relationPrompt(new Rng(i), objectName(scene.objects[subject]!), r, objectName(scene.objects[object]!))));
  conds.push(c.cond);
  groups.push(objectTokenGroups(c.objects));
}
const stats = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, mean: s.reduce((a, b) => a + b, 0) / s.length, below19_5: s.filter((x) => x < 19.5).length };
};
const vae = [];
for (const [i, z] of (await encodeImages(pipe, encoder, images)).entries()) vae.push(psnr(images[i]!, await decodeLatent(pipe, z)));
const rows = [];
console.log(`VAE only (encode -> decode): PSNR median ${stats(vae).median.toFixed(2)} dB`);
for (const steps of [25, 50]) {
  for (const fixedPoint of [0, 1, 2, 5]) {
    const t0 = performance.now();
    const r = await invertAndRecord(pipe, encoder, unet, images, conds, { steps, fixedPoint, record: [steps - 1], groups });
    const seconds = (performance.now() - t0) / 1000;
    const row = { steps, fixedPoint, unetEvaluationsPerImage: steps * (1 + fixedPoint) + steps, secondsPerImage: seconds / N, psnr: stats(r.psnr) };
    rows.push(row);
    console.log(`steps ${steps} fixed-point ${fixedPoint}: PSNR median ${row.psnr.median.toFixed(2)} min ${row.psnr.min.toFixed(2)} dB, ${row.secondsPerImage.toFixed(2)} s per image (${row.unetEvaluationsPerImage} UNet evaluations)`);
  }
}
writeFileSync('bench/results/invert.json', JSON.stringify({ images: N, vaeOnly: stats(vae), rows, note: 'seconds on a shared 2-core machine; compare ratios within one run' }, null, 2) + '\n');
await sessions.dispose();
