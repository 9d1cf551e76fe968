/**
 * onnxruntime-node session management: create sessions from model bytes or a path, cache them by
 * content hash + options, pick execution providers, and run with plain typed arrays.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ModelProto } from 'onnx-buf';
import { serializeModel, type DType } from './model.ts';

export type ExecutionProvider = 'cpu' | 'cuda' | 'webgpu';

export interface SessionOptions {
  provider?: ExecutionProvider;
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  /** 'all' (default), 'basic', 'extended' or 'disabled'. */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** onnxruntime log severity: 0 verbose ... 3 error (default) ... 4 fatal. */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

export class ProviderUnavailableError extends Error {
  constructor(provider: string, available: string[], cause?: string) {
    super(
      cause
        ? `execution provider '${provider}' could not be initialized (${cause})`
        : `execution provider '${provider}' is not available in this onnxruntime-node build (available: ${available.join(', ')})`,
    );
    this.name = 'ProviderUnavailableError';
  }
}

/** A tensor as plain data: values plus shape. */
export interface HostTensor {
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | Uint16Array;
  dims: readonly number[];
  /** Needed only for 'bool' (Uint8Array data); Uint16Array data is float16 bits. */
  dtype?: DType;
}

export type Feeds = Record<string, HostTensor | ort.Tensor>;

/** Providers this onnxruntime-node build knows (some, like cuda, need their libraries installed separately). */
export function availableProviders(): string[] {
  const list = (ort as unknown as { listSupportedBackends?: () => { name: string; bundled: boolean }[] }).listSupportedBackends?.() ?? [{ name: 'cpu', bundled: true }];
  return list.map((b) => b.name);
}

function isOrtTensor(t: HostTensor | ort.Tensor): t is ort.Tensor {
  return typeof (t as ort.Tensor).type === 'string' && 'size' in t;
}

function toOrtTensor(t: HostTensor | ort.Tensor): ort.Tensor {
  if (isOrtTensor(t)) return t;
  if (t.dtype === 'bool') return new ort.Tensor('bool', t.data as Uint8Array, t.dims);
  if (t.data instanceof Uint16Array) return new ort.Tensor('float16', t.data, t.dims);
  return new ort.Tensor(t.data as Float32Array, t.dims);
}

/** A session wrapper with a typed run() that takes and returns HostTensors. */
export class Session {
  private disposed = false;
  constructor(readonly inner: ort.InferenceSession, readonly key: string, private readonly manager?: SessionManager) {}

  get inputNames(): readonly string[] {
    return this.inner.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.inner.outputNames;
  }

  async run(feeds: Feeds, outputs?: readonly string[]): Promise<Record<string, HostTensor>> {
    if (this.disposed) throw new Error('session was released');
    const f: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) f[k] = toOrtTensor(v);
    const res = outputs ? await this.inner.run(f, outputs as string[]) : await this.inner.run(f);
    const out: Record<string, HostTensor> = {};
    for (const [k, v] of Object.entries(res)) {
      out[k] = { data: v.data as HostTensor['data'], dims: [...v.dims], dtype: v.type === 'bool' ? 'bool' : v.type === 'float16' ? 'float16' : undefined };
    }
    return out;
  }

  /** Releases the native session (and removes it from its manager's cache). */
  async release(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.manager?.forget(this.key);
    await this.inner.release();
  }
}

function ortOptions(o: SessionOptions): ort.InferenceSession.SessionOptions {
  const provider = o.provider ?? 'cpu';
  const avail = availableProviders();
  if (!avail.includes(provider)) throw new ProviderUnavailableError(provider, avail);
  const opts: ort.InferenceSession.SessionOptions = { executionProviders: [provider], graphOptimizationLevel: o.graphOptimizationLevel ?? 'all', logSeverityLevel: o.logSeverityLevel ?? 3 };
  if (o.intraOpNumThreads !== undefined) opts.intraOpNumThreads = o.intraOpNumThreads;
  if (o.interOpNumThreads !== undefined) opts.interOpNumThreads = o.interOpNumThreads;
  return opts;
}

export class SessionManager {
  private readonly cache = new Map<string, Promise<Session>>();

  /** Creates (or returns the cached) session for model bytes / a ModelProto / a file path.
   * Models with external data must be given by path (onnxruntime resolves the files next to it). */
  async get(model: Uint8Array | ModelProto | string, opts: SessionOptions = {}): Promise<Session> {
    const optKey = JSON.stringify({ p: opts.provider ?? 'cpu', t: opts.intraOpNumThreads ?? 0, i: opts.interOpNumThreads ?? 0, g: opts.graphOptimizationLevel ?? 'all', l: opts.logSeverityLevel ?? 3 });
    let bytes: Uint8Array | undefined;
    let key: string;
    if (typeof model === 'string') {
      const path = resolve(model);
      // Hash the model file's content so edits invalidate the cache; external data is resolved by onnxruntime.
      key = `path:${path}:${createHash('sha256').update(readFileSync(path)).digest('hex')}:${optKey}`;
    } else {
      bytes = model instanceof Uint8Array ? model : serializeModel(model);
      key = `bytes:${createHash('sha256').update(bytes).digest('hex')}:${optKey}`;
    }
    const hit = this.cache.get(key);
    if (hit) return hit;
    const ortOpts = ortOptions(opts); // throws ProviderUnavailableError synchronously-ish
    const p = (async () => {
      const inner = await createInner(typeof model === 'string' ? resolve(model) : bytes!, ortOpts, opts.provider ?? 'cpu');
      return new Session(inner, key, this);
    })();
    this.cache.set(key, p);
    p.catch(() => this.cache.delete(key));
    return p;
  }

  /** Number of cached sessions. */
  get size(): number {
    return this.cache.size;
  }

  forget(key: string): void {
    this.cache.delete(key);
  }

  async dispose(): Promise<void> {
    const all = [...this.cache.values()];
    this.cache.clear();
    for (const p of all) {
      try {
        await (await p).release();
      } catch {
        /* creation failed: nothing to release */
      }
    }
  }
}

/** One-off session (not cached). */
export async function createSession(model: Uint8Array | ModelProto | string, opts: SessionOptions = {}): Promise<Session> {
  const ortOpts = ortOptions(opts);
  const inner = await createInner(typeof model === 'string' ? resolve(model) : model instanceof Uint8Array ? model : serializeModel(model), ortOpts, opts.provider ?? 'cpu');
  return new Session(inner, 'uncached');
}

/** Creates the native session; a GPU provider that fails to initialize gets a clear error. */
async function createInner(model: string | Uint8Array, ortOpts: ort.InferenceSession.SessionOptions, provider: ExecutionProvider): Promise<ort.InferenceSession> {
  try {
    return typeof model === 'string' ? await ort.InferenceSession.create(model, ortOpts) : await ort.InferenceSession.create(model, ortOpts);
  } catch (err) {
    if (provider !== 'cpu' && /provider|backend|adapter|webgpu|cuda|device|library|\.so/i.test((err as Error).message)) {
      throw new ProviderUnavailableError(provider, availableProviders(), (err as Error).message);
    }
    throw err;
  }
}
