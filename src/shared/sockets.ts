/**
 * Socket types: what may flow along an edge. Runtime metadata only (no engine types), so the
 * renderer, the engine and the CLI share one definition. Value types per socket live in
 * src/nodes/values.ts.
 */
export const SOCKET_TYPES = {
  PROMPT: { color: '#f59e0b', description: 'Prompt text with parsed objects (character spans) and relation triplets.' },
  MODEL: { color: '#8b5cf6', description: 'A loaded text-to-image model: tokenizer, text encoder, UNet, VAE and scheduler config.' },
  CONDITIONING: { color: '#f97316', description: 'Text embeddings plus the token indices of each parsed object.' },
  LATENT: { color: '#ec4899', description: 'A latent tensor (noisy or denoised).' },
  IMAGE: { color: '#22c55e', description: 'An RGB image.' },
  ATTENTION: { color: '#06b6d4', description: 'Cross-attention maps with their layers, heads, timesteps and tokens.' },
  CLASSIFIER: { color: '#6366f1', description: 'A relation classifier that reads attention maps.' },
  LOSS: { color: '#ef4444', description: 'A description of a loss term (what attention to read, which rule or classifier, weight).' },
  DETECTIONS: { color: '#84cc16', description: 'Detected objects: boxes with labels and scores.' },
  METRICS: { color: '#14b8a6', description: 'Evaluation numbers and tables.' },
  DATASET: { color: '#a855f7', description: 'A dataset on disk (samples with labels).' },
  INT: { color: '#94a3b8', description: 'An integer.' },
  FLOAT: { color: '#cbd5e1', description: 'A floating-point number.' },
  STRING: { color: '#e2e8f0', description: 'Text.' },
  BOOLEAN: { color: '#64748b', description: 'True or false.' },
  SEED: { color: '#fde047', description: 'A random seed (an integer that makes noise reproducible).' },
  PATH: { color: '#78716c', description: 'A file or folder path.' },
} as const;

export type SocketType = keyof typeof SOCKET_TYPES;

export function isSocketType(value: string): value is SocketType {
  return Object.prototype.hasOwnProperty.call(SOCKET_TYPES, value);
}

/** Implicit conversions the executor accepts along an edge (from -> to). */
const WIDENINGS: Partial<Record<SocketType, readonly SocketType[]>> = {
  INT: ['FLOAT'],
  SEED: ['INT'],
  PATH: ['STRING'],
};

/** 'an' before type names read with a vowel sound (IMAGE, INT, ATTENTION), else 'a'. */
const article = (t: string) => (/^[AEIOU]/.test(t) ? 'an' : 'a');

/**
 * Whether an output of type `from` may feed an input of type `to`. When it may not, `reason`
 * is a sentence for the user (the renderer shows it while dragging, validation prints it).
 */
export function canConnect(from: SocketType, to: SocketType): { ok: true } | { ok: false; reason: string } {
  if (from === to || WIDENINGS[from]?.includes(to)) return { ok: true };
  const accepted = [to, ...(Object.entries(WIDENINGS) as [SocketType, SocketType[]][])
    .filter(([, tos]) => tos.includes(to))
    .map(([f]) => f)];
  return {
    ok: false,
    reason: `${article(from)} ${from} output cannot feed ${article(to)} ${to} input (${to} accepts ${accepted.join(' or ')}): ${SOCKET_TYPES[to].description}`,
  };
}

/**
 * Widget-to-input: an edge into `param:<key>` feeds that param from another node's output
 * (ComfyUI's "convert widget to input"). The socket type a param kind takes; undefined for kinds
 * that cannot (json).
 */
export const PARAM_INPUT_PREFIX = 'param:';

export function paramKindSocketType(kind: string): SocketType | undefined {
  switch (kind) {
    case 'int':
      return 'INT';
    case 'float':
      return 'FLOAT';
    case 'seed':
      return 'SEED';
    case 'boolean':
      return 'BOOLEAN';
    case 'path':
      return 'PATH';
    case 'string':
    case 'enum':
      return 'STRING';
    default:
      return undefined;
  }
}
