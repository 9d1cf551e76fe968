/**
 * Output cache: node outputs keyed by their signature, least-recently-used entries evicted
 * when the entry count or the estimated byte size goes over budget.
 */
export interface CacheLimits {
  maxEntries: number;
  maxBytes: number;
}

interface Entry {
  outputs: Record<string, unknown>;
  bytes: number;
}

export class OutputCache {
  private readonly entries = new Map<string, Entry>(); // insertion order = recency order
  private bytes = 0;

  constructor(readonly limits: CacheLimits = { maxEntries: 512, maxBytes: 1 << 30 }) {}

  get(signature: string): Record<string, unknown> | undefined {
    const e = this.entries.get(signature);
    if (!e) return undefined;
    this.entries.delete(signature);
    this.entries.set(signature, e);
    return e.outputs;
  }

  set(signature: string, outputs: Record<string, unknown>): void {
    this.delete(signature);
    const bytes = estimateBytes(outputs);
    if (bytes > this.limits.maxBytes) return; // too large to keep at all
    this.entries.set(signature, { outputs, bytes });
    this.bytes += bytes;
    for (const [key, e] of this.entries) {
      if (this.entries.size <= this.limits.maxEntries && this.bytes <= this.limits.maxBytes) break;
      this.entries.delete(key);
      this.bytes -= e.bytes;
      disposeValues(e.outputs);
    }
  }

  delete(signature: string): void {
    const e = this.entries.get(signature);
    if (!e) return;
    this.entries.delete(signature);
    this.bytes -= e.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  get byteSize(): number {
    return this.bytes;
  }
}

/** Values that own native resources (ONNX sessions...) may implement this to be released on eviction. */
export interface Disposable {
  dispose(): void;
}

function disposeValues(outputs: Record<string, unknown>): void {
  for (const v of Object.values(outputs)) {
    if (v && typeof v === 'object' && typeof (v as Partial<Disposable>).dispose === 'function') {
      try {
        (v as Disposable).dispose();
      } catch {
        // eviction must never fail a run
      }
    }
  }
}

/** Rough size of a value in bytes: typed arrays exactly, the rest by a cheap walk. */
export function estimateBytes(value: unknown, seen = new Set<object>(), depth = 0): number {
  if (value === null || value === undefined) return 0;
  switch (typeof value) {
    case 'number':
    case 'boolean':
    case 'bigint':
      return 8;
    case 'string':
      return 2 * value.length;
    case 'object': {
      if (seen.has(value) || depth > 8) return 0;
      seen.add(value);
      if (ArrayBuffer.isView(value)) return value.byteLength;
      if (value instanceof ArrayBuffer) return value.byteLength;
      const byteSize = (value as { byteSize?: unknown }).byteSize;
      if (typeof byteSize === 'number') return byteSize;
      let total = 16;
      const items = Array.isArray(value) ? value : value instanceof Map ? [...value.values()] : Object.values(value);
      for (const v of items) total += estimateBytes(v, seen, depth + 1);
      return total;
    }
    default:
      return 0;
  }
}
