/**
 * Training checkpoints: one safetensors file holding weights, optimiser state, schedule state,
 * EMA weights, the step and free-form JSON metadata.
 *
 * Layout (readable from Python with `safetensors.numpy.load_file` / `safe_open`):
 *   tensors  "weights/<name>"    model parameters (F32, shape from `shapes` or [n])
 *            "ema/<name>"        EMA averages (same shapes as the weights)
 *            "optimizer/<key>"   optimiser buffers, e.g. "optimizer/exp_avg/<name>" (F32, [n])
 *   __metadata__ (all values are strings, JSON where noted)
 *            format = "steer-studio/checkpoint", format_version = "1", step = "<int>",
 *            optimizer = JSON, schedule = JSON, ema = JSON, user = JSON (each only if present)
 *
 * Saving is atomic: the bytes go to a temporary file in the same folder, which is fsynced and
 * renamed over the target (then the folder is fsynced). Until the rename the previous
 * checkpoint is untouched; a failed write removes the temporary file and leaves it intact.
 */
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { nodeFileOps, writeFileAtomic, type FileOps } from '../util/fs.ts';
import type { SafetensorEntry } from './safetensors.ts';
import { decodeSafetensors, encodeSafetensors, SafetensorsFormatError } from './safetensors.ts';
import type { JsonObject, JsonValue, StatePart, TensorMap } from './types.ts';
import { isJsonObject } from './types.ts';

export const CHECKPOINT_FORMAT = 'steer-studio/checkpoint';
export const CHECKPOINT_FORMAT_VERSION = '1';

export interface Checkpoint {
  /** Completed optimisation steps (the step to resume from). */
  step: number;
  weights: TensorMap;
  /** Optional tensor shapes for weights (and EMA); default [length]. */
  shapes?: ReadonlyMap<string, readonly number[]>;
  optimizer?: StatePart;
  schedule?: JsonObject;
  ema?: StatePart;
  metadata?: JsonObject;
}

export class CheckpointError extends Error {
  constructor(
    message: string,
    readonly file: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CheckpointError';
  }
}

/** File operations of saveCheckpoint (the engine's atomic-write helper's, re-exported here for callers of this module). */
export type { FileOps };
export { nodeFileOps };

/** JSON.stringify that refuses NaN/Infinity instead of silently writing null. */
function strictJson(value: JsonValue, where: string): string {
  const walk = (v: JsonValue, path: string): void => {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`${where}: ${path} is ${v}, which JSON cannot store`);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (isJsonObject(v)) for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
  };
  walk(value, where);
  return JSON.stringify(value);
}

/** Build the safetensors bytes for a checkpoint. */
export function encodeCheckpoint(ckpt: Checkpoint): Buffer {
  if (!Number.isInteger(ckpt.step) || ckpt.step < 0) throw new Error(`checkpoint step must be an integer >= 0, got ${ckpt.step}`);
  const shapeOf = (name: string, data: Float32Array): readonly number[] => ckpt.shapes?.get(name) ?? [data.length];
  const tensors = new Map<string, SafetensorEntry>();
  for (const [name, data] of ckpt.weights) tensors.set(`weights/${name}`, { shape: shapeOf(name, data), data });
  if (ckpt.ema) for (const [name, data] of ckpt.ema.tensors) tensors.set(`ema/${name}`, { shape: shapeOf(name, data), data });
  if (ckpt.optimizer) for (const [key, data] of ckpt.optimizer.tensors) tensors.set(`optimizer/${key}`, { shape: [data.length], data });
  const metadata: Record<string, string> = { format: CHECKPOINT_FORMAT, format_version: CHECKPOINT_FORMAT_VERSION, step: String(ckpt.step) };
  if (ckpt.optimizer) metadata.optimizer = strictJson(ckpt.optimizer.json, 'optimizer state');
  if (ckpt.schedule) metadata.schedule = strictJson(ckpt.schedule, 'schedule state');
  if (ckpt.ema) metadata.ema = strictJson(ckpt.ema.json, 'EMA state');
  if (ckpt.metadata) metadata.user = strictJson(ckpt.metadata, 'metadata');
  return encodeSafetensors(tensors, metadata);
}

/** Parse checkpoint bytes; `file` is only used in error messages. */
export function decodeCheckpoint(bytes: Uint8Array, file: string): Checkpoint {
  const fail = (what: string, cause?: unknown): never => {
    throw new CheckpointError(`checkpoint ${file}: ${what}`, file, { cause });
  };
  let contents;
  try {
    contents = decodeSafetensors(bytes);
  } catch (err) {
    if (err instanceof SafetensorsFormatError) fail(err.message, err);
    throw err;
  }
  const { tensors, metadata } = contents!;
  if (metadata.format !== CHECKPOINT_FORMAT) {
    fail(metadata.format === undefined ? 'not a Steer Studio checkpoint (no "format" in __metadata__)' : `not a Steer Studio checkpoint (format is "${metadata.format}")`);
  }
  if (metadata.format_version !== CHECKPOINT_FORMAT_VERSION) fail(`unsupported format_version "${metadata.format_version}" (this build reads "${CHECKPOINT_FORMAT_VERSION}")`);
  const stepText = metadata.step ?? '';
  if (!/^\d+$/.test(stepText)) fail(`"step" in __metadata__ must be a non-negative integer, got ${JSON.stringify(metadata.step)}`);
  const parseJson = (key: string): JsonObject | undefined => {
    const text = metadata[key];
    if (text === undefined) return undefined;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (err) {
      fail(`"${key}" in __metadata__ is not valid JSON (${(err as Error).message})`, err);
    }
    if (!isJsonObject(v as JsonValue)) fail(`"${key}" in __metadata__ must be a JSON object`);
    return v as JsonObject;
  };
  const optimizerJson = parseJson('optimizer');
  const scheduleJson = parseJson('schedule');
  const emaJson = parseJson('ema');
  const userJson = parseJson('user');

  const weights: TensorMap = new Map();
  const shapes = new Map<string, readonly number[]>();
  const emaTensors: TensorMap = new Map();
  const optTensors: TensorMap = new Map();
  for (const [key, { shape, data }] of tensors) {
    if (key.startsWith('weights/')) {
      const name = key.slice('weights/'.length);
      weights.set(name, data);
      shapes.set(name, shape);
    } else if (key.startsWith('ema/')) emaTensors.set(key.slice('ema/'.length), data);
    else if (key.startsWith('optimizer/')) optTensors.set(key.slice('optimizer/'.length), data);
    else fail(`unexpected tensor "${key}" (expected a "weights/", "ema/" or "optimizer/" prefix)`);
  }
  if (emaTensors.size > 0 && !emaJson) fail('has EMA tensors but no "ema" state in __metadata__');
  if (optTensors.size > 0 && !optimizerJson) fail('has optimizer tensors but no "optimizer" state in __metadata__');
  for (const name of emaTensors.keys()) if (!weights.has(name)) fail(`EMA tensor "ema/${name}" has no matching weight "weights/${name}"`);

  const ckpt: Checkpoint = { step: Number(stepText), weights, shapes };
  if (optimizerJson) ckpt.optimizer = { json: optimizerJson, tensors: optTensors };
  if (scheduleJson) ckpt.schedule = scheduleJson;
  if (emaJson) ckpt.ema = { json: emaJson, tensors: emaTensors };
  if (userJson) ckpt.metadata = userJson;
  return ckpt;
}

export interface SaveOptions {
  fileOps?: FileOps;
}

/** Atomically write `ckpt` to `file` (see the module comment). */
export async function saveCheckpoint(file: string, ckpt: Checkpoint, opts: SaveOptions = {}): Promise<void> {
  let bytes: Buffer;
  try {
    bytes = encodeCheckpoint(ckpt);
  } catch (err) {
    throw new CheckpointError(`cannot save checkpoint ${file}: ${(err as Error).message}`, file, { cause: err });
  }
  try {
    await writeFileAtomic(file, bytes, opts.fileOps ? { fileOps: opts.fileOps } : {});
  } catch (err) {
    throw new CheckpointError(
      `cannot save checkpoint ${file}: ${(err as Error).message ?? String(err)}; the previous file at that path (if any) is unchanged`,
      file,
      { cause: err },
    );
  }
}

/** Read and validate a checkpoint. Errors are CheckpointErrors naming the file and the problem. */
export async function loadCheckpoint(file: string): Promise<Checkpoint> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CheckpointError(code === 'ENOENT' ? `checkpoint ${file}: no such file` : `checkpoint ${file}: cannot read (${code ?? String(err)})`, file, { cause: err });
  }
  return decodeCheckpoint(bytes, file);
}

export interface CheckpointManagerOptions {
  dir: string;
  /** File name prefix. Default "checkpoint". */
  prefix?: string;
  /** How many most recent checkpoints to keep (>= 1). Default 2. */
  keep?: number;
  fileOps?: FileOps;
}

/**
 * Numbered checkpoints in one folder: `<prefix>-<step, 8 digits>.safetensors`. A new checkpoint
 * is written completely (atomically) before older ones beyond `keep` are deleted, so there is
 * always at least one complete checkpoint on disk.
 */
export class CheckpointManager {
  readonly dir: string;
  readonly prefix: string;
  readonly keep: number;
  private readonly fileOps: FileOps;

  constructor(opts: CheckpointManagerOptions) {
    this.dir = opts.dir;
    this.prefix = opts.prefix ?? 'checkpoint';
    this.keep = opts.keep ?? 2;
    this.fileOps = opts.fileOps ?? nodeFileOps;
    if (!Number.isInteger(this.keep) || this.keep < 1) throw new Error(`CheckpointManager: keep must be an integer >= 1, got ${this.keep}`);
    if (!/^[\w.-]+$/.test(this.prefix)) throw new Error(`CheckpointManager: prefix must be letters, digits, "_", "." or "-", got "${this.prefix}"`);
  }

  pathFor(step: number): string {
    return join(this.dir, `${this.prefix}-${String(step).padStart(8, '0')}.safetensors`);
  }

  /** Complete checkpoints in the folder, oldest first. */
  async list(): Promise<{ step: number; path: string }[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const re = new RegExp(`^${this.prefix.replace(/[.]/g, '\\.')}-(\\d+)\\.safetensors$`);
    const out: { step: number; path: string }[] = [];
    for (const n of names) {
      const m = re.exec(n);
      if (m) out.push({ step: Number(m[1]), path: join(this.dir, n) });
    }
    return out.sort((a, b) => a.step - b.step);
  }

  /** Path of the newest checkpoint, or null. */
  async latest(): Promise<string | null> {
    const all = await this.list();
    return all.length > 0 ? all[all.length - 1]!.path : null;
  }

  /**
   * The newest checkpoint that reads back whole. A newer one that does not (truncated by a crash
   * or a full disk) is renamed to `<name>.corrupt`, so it is neither resumed from nor counted, and
   * reported in `skipped`; the previous checkpoint is used instead. Null when none is readable.
   */
  async latestReadable(): Promise<{ path: string; checkpoint: Checkpoint; skipped: { path: string; reason: string }[] } | null> {
    const skipped: { path: string; reason: string }[] = [];
    const all = await this.list();
    for (let i = all.length - 1; i >= 0; i--) {
      const { path } = all[i]!;
      try {
        return { path, checkpoint: await loadCheckpoint(path), skipped };
      } catch (err) {
        if (!(err instanceof CheckpointError)) throw err;
        skipped.push({ path, reason: err.message });
        await this.fileOps.rename(path, `${path}.corrupt`).catch(() => undefined);
      }
    }
    return null;
  }

  /** Save `ckpt` as the checkpoint for `ckpt.step`, then prune old ones. Returns its path. */
  async save(ckpt: Checkpoint): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const path = this.pathFor(ckpt.step);
    await saveCheckpoint(path, ckpt, { fileOps: this.fileOps });
    const all = await this.list();
    const old = all.filter((c) => c.path !== path).slice(0, Math.max(0, all.length - this.keep));
    for (const c of old) await this.fileOps.unlink(c.path).catch(() => undefined);
    return path;
  }
}
