/**
 * Gradient engine benchmark on UNet-like networks at a fixed size.
 *
 *   npx tsx bench/grad.ts [--net blocks|shapeworld|all] [--batch 1] [--size 32] [--base 32] [--runs 20] [--threads 1] [--out grad.json]
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
 *   forward, weights in  the plain model with its weights fed as inputs, as in a training step:
 *                        onnxruntime only pre-packs constant filters (NCHWc convolutions), so
 *                        this is the forward a weight-gradient model is really built on
 *   fwd+bwd wrt input    differentiate(of = noise_pred, wrt = sample)
 *   wrt input, weights in  the same with the weights fed as inputs: the forward and every input
 *                        gradient at the speed of non-constant filters, without any dW; with the
 *                        forward's multiply-add kernel share (onnxruntime's profile) it gives a
 *                        floor estimate for the all-weights gradient (printed under the table)
 *   fwd+bwd wrt weights  wrt = every initializer that is a weight or bias
 *   attn loss wrt input  Learn-to-Steer style: of = attention probabilities, wrt = sample, with
 *                        noise_pred kept as an output (the whole forward runs; torch does the same)
 * Reports median/min run time (min is the better estimate on a shared machine) from one more
 * child that holds every case's session and times them round-robin, so a slow spell of the shared
 * machine hits all cases alike and the x-forward ratios hold; each case's own child gives peak RSS
 * (VmHWM), differentiate() time, node counts, the gradients for the torch check, and its own
 * timings (separateMinMs).
 *
 * PyTorch cross-check (benchmark only, never a product dependency): when /usr/bin/python3 can
 * import torch, onnx and numpy (Debian python3-torch, python3-onnx), the forward child writes the
 * model, feeds and weight list to a temp folder, each gradient child writes its gradients there,
 * and bench/torch_grad.py rebuilds the same network from the ONNX graph with torch ops (same
 * weights, same inputs, same thread count), times the same four cases (min/median of the same
 * number of runs, eager and torch.jit.trace; the faster is compared) and writes torch.autograd's
 * gradients in float32 and float64. Reported per case: torch min ms, ours/torch (min over min),
 * and per gradient tensor the relative difference max|ours - torch| / max|torch| (the max over
 * all tensors of the case), the same against the float64 reference for ours and for torch float32
 * (the float32 noise floor), and the elementwise max |ours - torch| / max(|torch|, 1e-3 max|torch|).
 * Without torch, grad.json records "torch": "not installed".
 * Writes bench/results/grad.json (or --out NAME in bench/results) and prints a table. The
 * committed grad-batch8.json is `--batch 8 --runs 15 --out grad-batch8.json`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildUNet, type UNetConfig } from '../test/onnx/blocks.ts';
import { differentiate, promoteInitializers } from '../src/engine/onnx/autodiff/index.ts';
import { createSession, type HostTensor } from '../src/engine/onnx/session.ts';
import { cloneModel, serializeModel, tensorValues, type ModelProto } from '../src/engine/onnx/model.ts';
import { decodeSafetensors, encodeSafetensors, type SafetensorEntry } from '../src/engine/train/safetensors.ts';
import { concreteInputDims } from '../src/engine/onnx/autodiff/probe.ts';

type Case = 'forward' | 'forward-weights-in' | 'wrt-input' | 'wrt-input-weights-in' | 'wrt-weights' | 'attn-wrt-input';
const CASES: Case[] = ['forward', 'forward-weights-in', 'wrt-input', 'wrt-input-weights-in', 'wrt-weights', 'attn-wrt-input'];
/** Cases whose model takes the weights as inputs (what a training step runs). */
const WEIGHTS_IN = new Set<Case>(['forward-weights-in', 'wrt-input-weights-in', 'wrt-weights']);
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

/**
 * Share of the model's kernel time spent in the ops that carry its multiply-adds (Conv, Gemm,
 * MatMul and onnxruntime's fused forms of them), from onnxruntime's own profile of `runs` runs.
 * A weight gradient performs the same multiply-adds again (dW of every Conv/Gemm/MatMul), so at
 * this model's kernel speed it costs at least this fraction of the forward once more.
 */
async function macKernelShare(m: ModelProto, feeds: Record<string, HostTensor>, threads: number, runs: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'grad-bench-prof-'));
  try {
    const s = await ort.InferenceSession.create(serializeModel(m), { intraOpNumThreads: threads, graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: join(dir, 'p') });
    const f = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('float32', v.data as Float32Array, v.dims)]));
    for (let i = 0; i < runs; i++) await s.run(f);
    s.endProfiling();
    await s.release();
    const file = readdirSync(dir).find((n) => n.endsWith('.json'));
    if (!file) throw new Error('onnxruntime wrote no profile');
    const events = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { cat?: string; name: string; dur: number; args?: { op_name?: string } }[];
    let total = 0;
    let mac = 0;
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
      total += e.dur;
      if (/^(Conv|FusedConv|ConvTranspose|Gemm|MatMul|FusedMatMul|FusedGemm)$/.test(e.args?.op_name ?? '')) mac += e.dur;
    }
    return total > 0 ? mac / total : NaN;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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

/** The model a case runs and its feeds (weights fed as inputs where the case promotes them). */
async function buildCase(w: Workload, kind: Case, cfg: UNetConfig): Promise<{ m: ModelProto; feeds: Record<string, HostTensor>; weights: string[]; diffMs: number }> {
  const model = w.model;
  const feeds = { ...w.feeds };
  const weights = model.graph!.initializer.filter((t) => /\.(weight|weight_t|bias)$/.test(t.name)).map((t) => t.name);
  let m = model;
  let diffMs = 0;
  const feedWeights = () => {
    for (const t of model.graph!.initializer) if (weights.includes(t.name)) {
      const v = tensorValues(t);
      feeds[t.name] = { data: v.data as Float32Array, dims: v.dims };
    }
  };
  let base = model;
  if (kind === 'forward-weights-in' || kind === 'wrt-input-weights-in') {
    base = cloneModel(model);
    promoteInitializers(base.graph!, weights);
  }
  if (kind === 'forward-weights-in') m = base;
  else if (kind !== 'forward') {
    const wrt = kind === 'wrt-weights' ? weights : ['sample'];
    const of = kind === 'attn-wrt-input' ? w.attention : w.output;
    const t0 = performance.now();
    m = await differentiate(base, { of, wrt, keep: kind === 'attn-wrt-input' ? [w.output] : [], dimSizes: { batch: cfg.batch as number } });
    diffMs = performance.now() - t0;
  }
  if (WEIGHTS_IN.has(kind)) feedWeights();
  return { m, feeds, weights, diffMs };
}

/**
 * Every case's session in one process, timed round-robin (per round and case: one untimed run to
 * bring the case's data back into cache, then one timed run), so that a slow spell of the shared
 * machine hits all cases alike: the ratios between cases (x fwd) are taken from these timings.
 * Returns min and median per case.
 */
async function runInterleaved(net: NetName, cfg: UNetConfig, runs: number, threads: number): Promise<Record<string, { minMs: number; medianMs: number }>> {
  const w = await workload(net, cfg);
  const sessions = [];
  for (const kind of CASES) {
    const { m, feeds } = await buildCase(w, kind, cfg);
    const s = await createSession(m, { intraOpNumThreads: threads });
    await s.run(feeds); // warm-up
    sessions.push({ kind, s, feeds, times: [] as number[] });
  }
  for (let i = 0; i < runs; i++) {
    for (const c of sessions) {
      await c.s.run(c.feeds); // untimed: brings this session's weights and buffers back into cache
      const t = performance.now();
      await c.s.run(c.feeds);
      c.times.push(performance.now() - t);
    }
  }
  const out: Record<string, { minMs: number; medianMs: number }> = {};
  for (const c of sessions) {
    c.times.sort((a, b) => a - b);
    out[c.kind] = { minMs: c.times[0]!, medianMs: c.times[Math.floor(c.times.length / 2)]! };
    await c.s.release();
  }
  return out;
}

async function runCase(net: NetName, kind: Case, cfg: UNetConfig, runs: number, threads: number, dump: string) {
  const w = await workload(net, cfg);
  const model = w.model;
  const { m, feeds, weights, diffMs } = await buildCase(w, kind, cfg);
  if (dump && kind === 'forward') {
    // What bench/torch_grad.py needs to rebuild the same network with the same weights and inputs.
    writeFileSync(join(dump, 'model.onnx'), serializeModel(model));
    writeFileSync(join(dump, 'feeds.safetensors'), encodeSafetensors(new Map(Object.entries(feeds).map(([k, v]) => [k, { shape: v.dims, data: v.data as Float32Array }]))));
    writeFileSync(join(dump, 'meta.json'), JSON.stringify({ output: w.output, attention: w.attention, weights, input: 'sample', runs, threads }));
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
  const rss = peakRssMiB(); // before the forward's profiled session below adds its own memory
  const macShare = kind === 'forward' ? await macKernelShare(m, feeds, threads, Math.max(10, runs)) : undefined;
  if (dump && kind !== 'forward' && kind !== 'forward-weights-in') {
    const res = await s.run(feeds);
    const grads = new Map<string, SafetensorEntry>();
    for (const name of kind === 'wrt-weights' ? weights : ['sample']) {
      const g = res[`${name}_grad`];
      if (!g) throw new Error(`gradient output ${name}_grad missing`);
      grads.set(name, { shape: g.dims, data: g.data as Float32Array });
    }
    writeFileSync(join(dump, `ours-${kind}.safetensors`), encodeSafetensors(grads));
  }
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
    gradients: kind === 'wrt-weights' ? weights.length : kind === 'forward' || kind === 'forward-weights-in' ? 0 : 1,
    peakRssMiB: rss,
    ...(macShare !== undefined ? { macKernelShare: macShare } : {}),
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
const dumpDir = arg('dump', '');
/** The system python with Debian's python3-torch (override for a test: GRAD_BENCH_PYTHON). */
const PYTHON = process.env.GRAD_BENCH_PYTHON ?? '/usr/bin/python3';

/** Is torch (with onnx + numpy, which torch_grad.py reads the model with) importable by the system python? */
function torchStatus(): { ok: true; version: string } | { ok: false; why: string } {
  if (!existsSync(PYTHON)) return { ok: false, why: 'not installed' };
  const p = spawnSync(PYTHON, ['-c', 'import torch, onnx, numpy; print(torch.__version__)'], { encoding: 'utf8' });
  if (p.status !== 0) return { ok: false, why: /No module named 'torch'/.test(p.stderr ?? '') || p.error ? 'not installed' : `not usable: ${(p.stderr ?? '').trim().split('\n').pop()}` };
  return { ok: true, version: p.stdout.trim() };
}

/**
 * Debian's python3-torch is built with BLAS_INFO=generic and links libblas.so.3, which is the
 * netlib reference BLAS unless an optimized one is selected (a 256x256 matmul: ~11 ms vs ~0.9 ms).
 * Give torch OpenBLAS when libopenblas0-pthread is installed, for this child only (the system's
 * libblas.so.3 alternative is left alone).
 */
const OPENBLAS_DIR = '/usr/lib/x86_64-linux-gnu/openblas-pthread';
function torchEnv(threads: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
  if (existsSync(join(OPENBLAS_DIR, 'libblas.so.3'))) env.LD_LIBRARY_PATH = [OPENBLAS_DIR, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return env;
}

interface GradDiff {
  /** max over tensors of max|ours - ref| / max|ref| */
  relToMax: number;
  worst: string;
  /** max over tensors and elements of |ours - ref| / max(|ref|, 1e-3 max|ref|) */
  elementwise: number;
  tensors: number;
  /** max over tensors of max|ref| and max|ours|: tells a zero gradient (rounding noise) apart */
  refMaxAbs: number;
  oursMaxAbs: number;
}

function readGrads(path: string): Map<string, SafetensorEntry> {
  return decodeSafetensors(readFileSync(path)).tensors;
}

function compareGrads(ours: Map<string, SafetensorEntry>, ref: Map<string, SafetensorEntry>): GradDiff {
  const d: GradDiff = { relToMax: 0, worst: '', elementwise: 0, tensors: 0, refMaxAbs: 0, oursMaxAbs: 0 };
  for (const [name, r] of ref) {
    const o = ours.get(name);
    if (!o || o.data.length !== r.data.length) throw new Error(`gradient ${name}: ${o ? `${o.data.length} vs ${r.data.length} elements` : 'missing in ours'}`);
    let maxRef = 0;
    for (const v of r.data) maxRef = Math.max(maxRef, Math.abs(v));
    const floor = Math.max(maxRef * 1e-3, 1e-30);
    let maxDiff = 0;
    for (let i = 0; i < r.data.length; i++) {
      const diff = Math.abs(o.data[i]! - r.data[i]!);
      maxDiff = Math.max(maxDiff, diff);
      d.elementwise = Math.max(d.elementwise, diff / Math.max(Math.abs(r.data[i]!), floor));
    }
    d.refMaxAbs = Math.max(d.refMaxAbs, maxRef);
    for (const v of o.data) d.oursMaxAbs = Math.max(d.oursMaxAbs, Math.abs(v));
    const rel = maxRef > 0 ? maxDiff / maxRef : maxDiff;
    if (rel >= d.relToMax) {
      d.relToMax = rel;
      d.worst = name;
    }
    d.tensors++;
  }
  return d;
}

interface TorchTiming { minMs: number; medianMs: number }
interface TorchJson { torch: string; threads: number; runs: number; blas: string; cases: Record<string, { eager: TorchTiming; jit?: TorchTiming; jitError?: string; best: TorchTiming & { mode: string }; nodes: number }> }

/** Runs this script again for one net and case (a Case or 'interleaved'); returns its RESULT line. */
function runChild(net: NetName, caseName: string, extra: string[] = []): { line: string | undefined; stderr: string } {
  const args = process.argv.slice(2).filter((a, i, arr) => a !== '--net' && arr[i - 1] !== '--net');
  const p = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args, '--net', net, '--case', caseName, ...extra], { encoding: 'utf8' });
  return { line: p.stdout.split('\n').find((l) => l.startsWith('RESULT ')), stderr: p.stderr ?? '' };
}

const netArg = arg('net', 'all');
const nets: NetName[] = netArg === 'all' ? ['blocks', 'shapeworld'] : [netArg as NetName];
if (child === 'interleaved') {
  process.stdout.write(`RESULT ${JSON.stringify(await runInterleaved(netArg as NetName, cfg, runs, threads))}\n`);
} else if (child) {
  const r = await runCase(netArg as NetName, child as Case, cfg, runs, threads, dumpDir);
  process.stdout.write(`RESULT ${JSON.stringify(r)}\n`);
} else {
  const here = dirname(fileURLToPath(import.meta.url));
  const all = [];
  const floors: Record<string, { inputGradWeightsInOverForward: number; forwardMacShare: number; estimate: number; measured: number }> = {};
  const torch = torchStatus();
  const torchRows: string[][] = [];
  for (const net of nets) {
    const results = [];
    const dir = torch.ok ? mkdtempSync(join(tmpdir(), `grad-bench-${net}-`)) : '';
    for (const c of CASES) {
      const { line, stderr } = runChild(net, c, dir ? ['--dump', dir] : []);
      if (!line) {
        process.stderr.write(`${net}/${c} failed:\n${stderr.slice(-2000)}\n`);
        continue;
      }
      results.push(JSON.parse(line.slice(7)));
    }
    if (results.length === 0) continue;
    {
      // Times for the table and the ratios: all cases in one process, round-robin (runInterleaved);
      // each case's own child keeps its numbers as separateMinMs / separateMedianMs.
      const { line, stderr } = runChild(net, 'interleaved');
      if (!line) process.stderr.write(`${net}/interleaved failed (ratios from separate runs):\n${stderr.slice(-2000)}\n`);
      else {
        const il = JSON.parse(line.slice(7)) as Record<string, { minMs: number; medianMs: number }>;
        for (const r of results) {
          const t = il[r.case as string];
          if (!t) continue;
          Object.assign(r, { separateMinMs: r.minMs, separateMedianMs: r.medianMs, minMs: t.minMs, medianMs: t.medianMs, timing: 'interleaved' });
        }
      }
    }
    if (dir) {
      // Same machine, same run, same thread count: torch right after ours.
      const p = spawnSync(PYTHON, [join(here, 'torch_grad.py'), dir], { encoding: 'utf8', env: torchEnv(threads) });
      if (p.status !== 0 || !existsSync(join(dir, 'torch.json'))) {
        process.stderr.write(`${net}: torch_grad.py failed:\n${(p.stderr ?? String(p.error)).slice(-3000)}\n`);
        for (const r of results) r.torch = { error: (p.stderr ?? String(p.error)).slice(-500) };
      } else {
        const tj = JSON.parse(readFileSync(join(dir, 'torch.json'), 'utf8')) as TorchJson;
        for (const r of results) {
          const t = tj.cases[r.case as string];
          if (!t) continue;
          const entry: Record<string, unknown> = {
            eagerMinMs: t.eager.minMs,
            eagerMedianMs: t.eager.medianMs,
            jitMinMs: t.jit?.minMs ?? null,
            jitMedianMs: t.jit?.medianMs ?? null,
            ...(t.jitError ? { jitError: t.jitError } : {}),
            minMs: t.best.minMs,
            medianMs: t.best.medianMs,
            mode: t.best.mode,
            oursOverTorchMin: (r.minMs as number) / t.best.minMs,
            oursOverTorchMedian: (r.medianMs as number) / t.best.medianMs,
          };
          if (r.case !== 'forward') {
            const ours = readGrads(join(dir, `ours-${r.case}.safetensors`));
            const t32 = readGrads(join(dir, `torch-${r.case}.safetensors`));
            const t64 = readGrads(join(dir, `torch64-${r.case}.safetensors`));
            const gd = { oursVsTorch: compareGrads(ours, t32), oursVsFloat64: compareGrads(ours, t64), torchVsFloat64: compareGrads(t32, t64) };
            // If torch's own float32 gradient is off its float64 one by more than its size, the
            // exact gradient is zero (e.g. the sum of softmax rows is constant) and both float32
            // results are rounding noise: relative differences mean nothing there.
            const zero = gd.torchVsFloat64.relToMax > 0.5;
            entry.gradDiff = { ...gd, ...(zero ? { note: `exact gradient is ~0 (float64 max|g| ${gd.torchVsFloat64.refMaxAbs.toExponential(1)}; float32 max|g| ours ${gd.oursVsTorch.oursMaxAbs.toExponential(1)}, torch ${gd.oursVsTorch.refMaxAbs.toExponential(1)}): both are rounding noise, relative differences are meaningless` } : {}) };
          }
          r.torch = entry;
        }
        const fwdT = results.find((r) => r.case === 'forward')?.torch as { minMs: number } | undefined;
        for (const r of results) {
          const e = r.torch as Record<string, unknown> | undefined;
          if (!e || e.minMs === undefined) continue;
          if (fwdT) e.minOverForward = (e.minMs as number) / fwdT.minMs;
          const gd = e.gradDiff as { oursVsTorch: GradDiff; oursVsFloat64: GradDiff; torchVsFloat64: GradDiff; note?: string } | undefined;
          const fmt = (x: number) => (gd?.note ? `(${x.toExponential(0)})` : x.toExponential(1));
          torchRows.push([
            net,
            r.case as string,
            (r.minMs as number).toFixed(1),
            (e.eagerMinMs as number).toFixed(1),
            e.jitMinMs === null ? '-' : (e.jitMinMs as number).toFixed(1),
            (e.oursOverTorchMin as number).toFixed(2),
            ((e.minOverForward as number | undefined) ?? NaN).toFixed(2),
            gd ? fmt(gd.oursVsTorch.relToMax) : '-',
            gd ? fmt(gd.oursVsTorch.elementwise) : '-',
            gd ? fmt(gd.oursVsFloat64.relToMax) : '-',
            gd ? fmt(gd.torchVsFloat64.relToMax) : '-',
            gd ? (gd.note ? `exact gradient ~0: noise (max|g| f32 ${gd.oursVsTorch.refMaxAbs.toExponential(0)}, f64 ${gd.torchVsFloat64.refMaxAbs.toExponential(0)})` : gd.oursVsTorch.worst) : '',
          ]);
        }
        for (const r of results) {
          r.torchVersion = tj.torch;
          r.torchBlas = tj.blas;
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }
    const fwd = (results.find((r) => r.case === 'forward')?.medianMs ?? NaN) as number;
    const fwdMin = (results.find((r) => r.case === 'forward')?.minMs ?? NaN) as number;
    const fwdInMin = (results.find((r) => r.case === 'forward-weights-in')?.minMs ?? NaN) as number;
    all.push(...results.map((r) => ({ ...r, medianOverForward: r.medianMs / fwd, minOverForward: r.minMs / fwdMin, minOverForwardWeightsIn: r.minMs / fwdInMin })));
    const rows = [['case', 'median ms', 'min ms', 'x fwd (min)', 'x fwd weights-in', 'nodes', 'grads', 'differentiate ms', 'peak RSS MiB']];
    for (const r of all.filter((x) => x.net === net)) rows.push([r.case, r.medianMs.toFixed(1), r.minMs.toFixed(1), r.minOverForward.toFixed(2), r.minOverForwardWeightsIn.toFixed(2), String(r.nodes), String(r.gradients), r.differentiateMs.toFixed(0), r.peakRssMiB.toFixed(0)]);
    const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    process.stdout.write(`\n${results[0].describe}; ${threads} threads, CPU, ${runs} rounds of all cases interleaved\n`);
    for (const r of rows) process.stdout.write(`${r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')}\n`);
    // Floor estimate for the all-weights gradient with these kernels: the input-gradient model with
    // the weights fed as inputs (forward + every input gradient at the speed of non-constant filters,
    // no dW), plus dW's multiply-adds (the same as the forward's Conv/Gemm/MatMul) at the inference
    // forward's own kernel speed (pre-packed filters, onnxruntime's fastest). Approximate both ways:
    // it includes the first conv's input gradient, which the weight model skips, and leaves out the
    // backward of the cross-attention keys/values, which only the weight model needs.
    const inW = all.find((x) => x.net === net && x.case === 'wrt-input-weights-in');
    const share = results.find((r) => r.case === 'forward')?.macKernelShare as number | undefined;
    const wW = all.find((x) => x.net === net && x.case === 'wrt-weights');
    if (inW && share !== undefined && wW) {
      const floor = { inputGradWeightsInOverForward: inW.minOverForward, forwardMacShare: share, estimate: inW.minOverForward + share, measured: wW.minOverForward };
      floors[net] = floor;
      process.stdout.write(`all-weights gradient, floor estimate with these kernels: ${floor.estimate.toFixed(2)}x fwd (input gradient with weights in ${floor.inputGradWeightsInOverForward.toFixed(2)}x + dW's multiply-adds at the forward's kernel speed ${share.toFixed(2)}x); measured ${floor.measured.toFixed(2)}x\n`);
    }
  }
  if (torchRows.length > 0) {
    const rows = [['net', 'case', 'ours min ms', 'torch eager', 'torch jit', 'ours/torch', 'torch x fwd', 'rel diff', 'elementwise', 'ours vs f64', 'torch vs f64', 'worst tensor'], ...torchRows];
    const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    process.stdout.write(`\nPyTorch ${torch.ok ? torch.version : ''} cross-check (CPU, ${threads} thread(s), min of ${runs} runs each; ours/torch = our min / the faster torch mode's min;\n`);
    process.stdout.write('rel diff = max over gradient tensors of max|ours - torch| / max|torch|; elementwise = max |ours - torch| / max(|torch|, 1e-3 max|torch|); f64 = torch float64 reference)\n');
    for (const r of rows) process.stdout.write(`${r.map((c, i) => (i < 2 || i === r.length - 1 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')}\n`);
    process.stdout.write('(values in parentheses: the exact gradient is ~0, so both float32 results are rounding noise)\n');
  }
  const out = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadavg: loadavg() },
    config: { ...cfg, runs, threads, provider: 'cpu', timing: 'min and median of runs after a warm-up, all cases of a net interleaved round by round in one process (separateMinMs: each case alone in its own process, where peak RSS is measured); min is the estimate on a shared machine' },
    torch: torch.ok
      ? { version: torch.version, python: PYTHON, script: 'bench/torch_grad.py', threads, note: 'same ONNX graph and weights run with torch ops; min of the same number of runs; gradDiff relToMax = max|ours-ref|/max|ref| per tensor, max over tensors' }
      : torch.why,
    results: all,
    weightGradientFloor: floors,
  };
  mkdirSync(join(here, 'results'), { recursive: true });
  const outName = arg('out', 'grad.json');
  writeFileSync(join(here, 'results', outName), `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`wrote bench/results/${outName}\n`);
}
