/**
 * A loaded text-to-image model: the diffusers ONNX folder (Shape World or a real Stable
 * Diffusion export), its tokenizer and one onnxruntime session per network. Input dtypes are
 * read from the sessions' metadata, as diffusers' ONNX pipeline does, so exports that use
 * int32 or int64 ids, float or int64 timesteps all load.
 */
import { readFile } from 'node:fs/promises';
import type * as ort from 'onnxruntime-node';
import { readModelFolder, type ModelFolder } from '../model/folder.ts';
import { loadTokenizer, type PromptTokenizer } from '../model/tokenizer.ts';
import type { ExecutionProvider, Session, SessionManager } from '../onnx/session.ts';

export interface LoadOptions {
  provider?: ExecutionProvider;
  threads?: number;
}

export interface Pipeline {
  folder: ModelFolder;
  tokenizer: PromptTokenizer;
  textEncoder: Session;
  unet: Session;
  vaeDecoder: Session;
  schedulerConfig: Record<string, unknown>;
  /** [channels, height, width] of a latent. */
  latentShape: [number, number, number];
  scalingFactor: number;
  /** Input names and dtypes the sessions expect. */
  io: {
    idsType: 'int32' | 'int64';
    timestepType: 'float32' | 'int64';
    timestepShape: 'scalar' | 'vector';
    /** Whether the UNet accepts a batch of 2 (uncond + cond in one call). */
    batchable: boolean;
  };
  /** Hidden size of the text encoder output. */
  hiddenSize: number;
  describe(): string;
  dispose(): Promise<void>;
}

export class PipelineLoadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PipelineLoadError';
  }
}

const meta = (s: Session, name: string) =>
  (s.inner.inputMetadata as readonly ort.InferenceSession.ValueMetadata[]).find((m) => m.name === name) as
    | (ort.InferenceSession.ValueMetadata & { type?: string; shape?: readonly (number | string)[] })
    | undefined;

function requireInputs(s: Session, file: string, names: string[]): void {
  const missing = names.filter((n) => !s.inputNames.includes(n));
  if (missing.length > 0) {
    throw new PipelineLoadError(`${file}: expected inputs ${names.join(', ')}; missing ${missing.join(', ')} (it has ${s.inputNames.join(', ')})`);
  }
}

export async function loadPipeline(dir: string, sessions: SessionManager, opts: LoadOptions = {}): Promise<Pipeline> {
  const folder = readModelFolder(dir);
  const tokenizer = loadTokenizer(folder.tokenizer.dir);
  const so = { ...(opts.provider ? { provider: opts.provider } : {}), ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}) };
  const open = async (file: string) => {
    try {
      return await sessions.get(file, so);
    } catch (err) {
      throw new PipelineLoadError(`${file}: onnxruntime could not load it: ${(err as Error).message}`, { cause: err });
    }
  };
  const [textEncoder, unet, vaeDecoder] = [await open(folder.textEncoder.model), await open(folder.unet.model), await open(folder.vaeDecoder.model)];
  requireInputs(textEncoder, folder.textEncoder.model, ['input_ids']);
  requireInputs(unet, folder.unet.model, ['sample', 'timestep', 'encoder_hidden_states']);
  requireInputs(vaeDecoder, folder.vaeDecoder.model, ['latent_sample']);

  const ids = meta(textEncoder, 'input_ids');
  const ts = meta(unet, 'timestep');
  const sample = meta(unet, 'sample');
  const ehs = meta(unet, 'encoder_hidden_states');
  const idsType = ids?.type === 'int32' ? 'int32' : 'int64';
  const timestepType = ts?.type === 'int64' ? 'int64' : 'float32';
  if (ts?.type && !['int64', 'float32'].includes(ts.type)) {
    throw new PipelineLoadError(`${folder.unet.model}: timestep of type ${ts.type} is not supported (float32 or int64)`);
  }
  const sampleShape = sample?.shape ?? [];
  const num = (d: number | string | undefined, fallback: number) => (typeof d === 'number' && d > 0 ? d : fallback);
  const channels = num(sampleShape[1], folder.vae.latentChannels ?? 4);
  const size = folder.vae.sampleSize ? Math.round(folder.vae.sampleSize / 8) : 64;
  const height = num(sampleShape[2], size);
  const width = num(sampleShape[3], size);
  const hiddenSize = num(ehs?.shape?.[2], 0);
  const schedulerConfig = JSON.parse(await readFile(folder.scheduler.path, 'utf8')) as Record<string, unknown>;
  const scalingFactor = folder.vae.scalingFactor ?? 0.18215;
  const pipe: Pipeline = {
    folder,
    tokenizer,
    textEncoder,
    unet,
    vaeDecoder,
    schedulerConfig,
    latentShape: [channels, height, width],
    scalingFactor,
    hiddenSize,
    io: {
      idsType,
      timestepType,
      timestepShape: ts?.shape && ts.shape.length === 0 ? 'scalar' : 'vector',
      batchable: typeof sampleShape[0] !== 'number',
    },
    describe: () => `${folder.className} at ${folder.dir}: latent ${channels}x${height}x${width}, ${tokenizer.maxLength} tokens`,
    async dispose() {
      await Promise.all([textEncoder.release(), unet.release(), vaeDecoder.release()]);
    },
  };
  return pipe;
}
