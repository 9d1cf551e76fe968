/**
 * Micro-benchmark of the backward of a nearest Resize with integer scales (the block sum that
 * src/engine/onnx/autodiff/rules/nn.ts Resize emits), on onnxruntime-node CPU, 1 thread: the
 * gradient of a 2x upsample of [N, C, H/2, H/2] is each 2x2 block of the [N, C, H, H] output
 * gradient summed. Candidates run in the same process, interleaved; min of --runs (default 200).
 *
 *   npx tsx bench/resize-grad.ts [--runs 200]
 *
 * reducesum: Reshape to [N, C, H/2, 2, H/2, 2] and ReduceSum over the two block axes (the float16 /
 * non-spatial fallback); avgpool4: AveragePool 2x2 stride 2 times 4; dwconv: depthwise Conv with a
 * ones kernel [C, 1, 2, 2], stride 2 (the float32 path). Every candidate is checked against reducesum.
 */
import { GraphBuilder } from '../src/engine/onnx/builder.ts';
import { createSession, type HostTensor, type Session } from '../src/engine/onnx/session.ts';

type Build = (g: GraphBuilder, x: string, N: number, C: number, H: number) => string;
const arg = (n: string, d: string) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? process.argv[i + 1]! : d; };
const i64 = (g: GraphBuilder, v: number[]) => g.constant(BigInt64Array.from(v.map(BigInt)), [v.length]);

const CANDIDATES: Record<string, Build> = {
  reducesum: (g, x, N, C, H) => g.op('ReduceSum', [g.op('Reshape', [x, i64(g, [N, C, H / 2, 2, H / 2, 2])]), i64(g, [3, 5])], { keepdims: 0 }),
  avgpool4: (g, x) => g.op('Mul', [g.op('AveragePool', [x], { kernel_shape: [2, 2], strides: [2, 2] }), g.constant(new Float32Array([4]), [])]),
  dwconv: (g, x, _N, C) => g.op('Conv', [x, g.constant(new Float32Array(C * 4).fill(1), [C, 1, 2, 2])], { kernel_shape: [2, 2], strides: [2, 2], group: C }),
};
// [N, C, H]: the output-gradient sizes of the blocks UNet's and the Shape World UNet's upsamplers, batch 1 and 8.
const SHAPES = [[1, 64, 32], [8, 64, 32], [1, 32, 32], [8, 32, 32], [1, 192, 16], [1, 96, 16], [8, 96, 16], [1, 96, 8]] as const;
const runs = Number(arg('runs', '200'));

for (const [N, C, H] of SHAPES) {
  const dims = [N, C, H, H];
  const x = Float32Array.from({ length: N * C * H * H }, () => Math.random() * 2 - 1);
  const feeds: Record<string, HostTensor> = { x: { dtype: 'float32', dims, data: x } };
  const sessions: [string, Session][] = [];
  for (const [name, build] of Object.entries(CANDIDATES)) {
    const g = new GraphBuilder({ opset: 17 });
    g.output(build(g, g.input('x', 'float32', dims), N, C, H), 'y');
    sessions.push([name, await createSession(g.toModel(), { intraOpNumThreads: 1 })]);
  }
  const ref = (await sessions[0]![1].run(feeds)).y!.data;
  const best = new Map<string, number>();
  for (const [name, s] of sessions) {
    const r = (await s.run(feeds)).y!.data;
    let md = 0;
    for (let i = 0; i < r.length; i++) md = Math.max(md, Math.abs((r[i] as number) - (ref[i] as number)));
    if (r.length !== ref.length || md > 1e-5) throw new Error(`${name} wrong for ${dims.join('x')}: max abs diff ${md}`);
    best.set(name, Infinity);
  }
  for (let i = 0; i < runs; i++) for (const [name, s] of sessions) {
    const t = performance.now();
    await s.run(feeds);
    best.set(name, Math.min(best.get(name)!, performance.now() - t));
  }
  console.log(`N${N} C${C} ${H}x${H}: ${[...best].map(([k, v]) => `${k} ${(v * 1000).toFixed(0)} us`).join('  ')}`);
  for (const [, s] of sessions) await s.release();
}
