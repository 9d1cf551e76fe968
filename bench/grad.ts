/**
 * Gradient engine benchmark on UNet-like networks at a fixed size.
 *
 *   npx tsx bench/grad.ts [--net blocks|shapeworld|all] [--size 32] [--base 32] [--runs 20] [--threads 1]
 *
 * Networks:
 *   blocks      test/onnx/blocks.ts buildUNet: conv_in, ResNet blocks with timestep embedding,
 *               strided-conv downsample, spatial transformer with cross-attention, nearest-Resize
 *               upsample, skip concat, GN/SiLU/conv_out (latent 4 x size x size, base channels).
 *   shapeworld  the bundled Shape World UNet (src/engine/nets, 2.77 M params, latent 4x16x16,
 *               7 cross-attention layers), loaded by dynamic import so the bench still runs if
 *               that module changes; the attention-loss case taps all attn2 Softmax maps.
 *
 * Measures, each case in its own child process (so peak RSS is per case):
 *   forward              the plain model
 *   fwd+bwd wrt input    differentiate(of = noise_pred, wrt = sample)
 *   fwd+bwd wrt weights  wrt = every initializer that is a weight or bias
 *   attn loss wrt input  Learn-to-Steer style: of = attention probabilities, wrt = sample
 * Reports median/min run time (min is the better estimate on a shared machine), differentiate()
 * time, node counts, and peak RSS (VmHWM).
 * Writes bench/results/grad.json and prints a table.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildUNet, type UNetConfig } from '../test/onnx/blocks.ts';
import { differentiate } from '../src/engine/onnx/autodiff/index.ts';
import { createSession, type HostTensor } from '../src/engine/onnx/session.ts';
import { tensorValues, type ModelProto } from '../src/engine/onnx/model.ts';
import { concreteInputDims } from '../src/engine/onnx/autodiff/probe.ts';

type Case = 'forward' | 'wrt-input' | 'wrt-weights' | 'attn-wrt-input';
const CASES: Case[] = ['forward', 'wrt-input', 'wrt-weights', 'attn-wrt-input'];
type NetName = 'blocks' | 'shapeworld';

interface Workload {
  model: ModelProto;
  feeds: Record<string, HostTensor>;
  output: string;
  /** Outputs whose sum is the attention loss. */
  attention: string[];
  describe: string;
}

async function workload(net: NetName, cfg: UNetConfig): Promise<Workload> {
  if (net === 'blocks') {
    const B = cfg.batch as number;
    return {
      model: buildUNet(cfg),
      feeds: { sample: rand([B, cfg.channels, cfg.size, cfg.size], 1), temb: rand([B, cfg.tembDim], 2), context: rand([B, cfg.tokens, cfg.ctxDim], 3) },
      output: 'noise_pred',
      attention: ['attn_probs'],
      describe: `blocks UNet: batch ${cfg.batch}, latent ${cfg.channels}x${cfg.size}x${cfg.size}, base ${cfg.base}, tokens ${cfg.tokens}`,
    };
  }
  const nets = (await import('../src/engine/nets/index.ts')) as unknown as { buildUNet: (c: object, seed: number) => ModelProto };
  const taps = (await import('../src/engine/steer/attention-taps.ts')) as unknown as { addAttentionTaps: (m: ModelProto, o?: object) => Promise<{ model: ModelProto; taps: { output: string }[] }> };
  const base = nets.buildUNet({}, 5);
  const tapped = await taps.addAttentionTaps(base, { dimSizes: { batch: cfg.batch as number } });
  const feeds: Record<string, HostTensor> = {};
  let seed = 1;
  for (const vi of base.graph!.input) {
    const dims = concreteInputDims(vi, new Map(), { batch: cfg.batch as number });
    feeds[vi.name] = vi.name === 'timestep' ? { data: new Float32Array(dims[0] ?? 1).fill(500), dims } : rand(dims, seed++);
  }
  const shape = (n: string) => feeds[n]?.dims.join('x') ?? '?';
  return {
    model: tapped.model,
    feeds,
    output: base.graph!.output[0]!.name,
    attention: tapped.taps.map((t) => t.output),
    describe: `Shape World UNet: sample ${shape('sample')}, encoder_hidden_states ${shape('encoder_hidden_states')}, ${tapped.taps.length} attention taps`,
  };
}

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

function peakRssMiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    /* not Linux */
  }
  return process.memoryUsage().rss / 2 ** 20;
}

function rand(dims: number[], seed: number): HostTensor {
  let s = seed;
  const n = dims.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1), dims };
}

async function runCase(net: NetName, kind: Case, cfg: UNetConfig, runs: number, threads: number) {
  const w = await workload(net, cfg);
  const model = w.model;
  const feeds = { ...w.feeds };
  const weights = model.graph!.initializer.filter((t) => /\.(weight|weight_t|bias)$/.test(t.name)).map((t) => t.name);
  let m = model;
  let diffMs = 0;
  if (kind !== 'forward') {
    const wrt = kind === 'wrt-weights' ? weights : ['sample'];
    const of = kind === 'attn-wrt-input' ? w.attention : w.output;
    const t0 = performance.now();
    m = await differentiate(model, { of, wrt, keep: kind === 'attn-wrt-input' ? [w.output] : [], dimSizes: { batch: cfg.batch as number } });
    diffMs = performance.now() - t0;
    if (kind === 'wrt-weights') for (const t of model.graph!.initializer) if (weights.includes(t.name)) {
      const v = tensorValues(t);
      feeds[t.name] = { data: v.data as Float32Array, dims: v.dims };
    }
  }
  const t1 = performance.now();
  const s = await createSession(m, { intraOpNumThreads: threads });
  const sessionMs = performance.now() - t1;
  await s.run(feeds); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await s.run(feeds);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  await s.release();
  return {
    net,
    describe: w.describe,
    case: kind,
    medianMs: times[Math.floor(times.length / 2)]!,
    minMs: times[0]!,
    differentiateMs: diffMs,
    sessionCreateMs: sessionMs,
    nodes: m.graph!.node.length,
    forwardNodes: model.graph!.node.length,
    gradients: kind === 'wrt-weights' ? weights.length : kind === 'forward' ? 0 : 1,
    peakRssMiB: peakRssMiB(),
  };
}

const cfg: UNetConfig = {
  batch: Number(arg('batch', '1')),
  channels: 4,
  size: Number(arg('size', '32')),
  base: Number(arg('base', '32')),
  tokens: Number(arg('tokens', '77')),
  ctxDim: Number(arg('ctx', '64')),
  tembDim: 64,
  heads: 4,
};
const runs = Number(arg('runs', '20'));
// 1 thread by default: on a shared machine, multi-threaded kernels wait on descheduled threads and
// timings scatter; pass --threads N for throughput numbers.
const threads = Number(arg('threads', '1'));

const child = arg('case', '');
const netArg = arg('net', 'all');
const nets: NetName[] = netArg === 'all' ? ['blocks', 'shapeworld'] : [netArg as NetName];
if (child) {
  const r = await runCase(netArg as NetName, child as Case, cfg, runs, threads);
  process.stdout.write(`RESULT ${JSON.stringify(r)}\n`);
} else {
  const here = dirname(fileURLToPath(import.meta.url));
  const all = [];
  for (const net of nets) {
    const results = [];
    for (const c of CASES) {
      const args = process.argv.slice(2).filter((a, i, arr) => a !== '--net' && arr[i - 1] !== '--net');
      const p = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args, '--net', net, '--case', c], { encoding: 'utf8' });
      const line = p.stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) {
        process.stderr.write(`${net}/${c} failed:\n${p.stderr.slice(-2000)}\n`);
        continue;
      }
      results.push(JSON.parse(line.slice(7)));
    }
    if (results.length === 0) continue;
    const fwd = (results.find((r) => r.case === 'forward')?.medianMs ?? NaN) as number;
    const fwdMin = (results.find((r) => r.case === 'forward')?.minMs ?? NaN) as number;
    all.push(...results.map((r) => ({ ...r, medianOverForward: r.medianMs / fwd, minOverForward: r.minMs / fwdMin })));
    const rows = [['case', 'median ms', 'min ms', 'x fwd (min)', 'nodes', 'grads', 'differentiate ms', 'peak RSS MiB']];
    for (const r of all.filter((x) => x.net === net)) rows.push([r.case, r.medianMs.toFixed(1), r.minMs.toFixed(1), r.minOverForward.toFixed(2), String(r.nodes), String(r.gradients), r.differentiateMs.toFixed(0), r.peakRssMiB.toFixed(0)]);
    const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    process.stdout.write(`\n${results[0].describe}; ${threads} threads, CPU, ${runs} runs\n`);
    for (const r of rows) process.stdout.write(`${r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')}\n`);
  }
  const out = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadavg: loadavg() },
    config: { ...cfg, runs, threads, provider: 'cpu' },
    results: all,
  };
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'grad.json'), `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write('wrote bench/results/grad.json\n');
}
