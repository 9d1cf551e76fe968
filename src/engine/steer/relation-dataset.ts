/**
 * The dual-inversion relation dataset (Learn-to-Steer): attention-map stacks labelled with the
 * TRUE spatial relation between two objects, recorded from prompts that state it AND from prompts
 * that state a wrong one, so the words of the prompt cannot predict the label.
 *
 * Per image with true relation r between A (subject) and B (object):
 *   positive prompt "... A <phrase of r> ... B", negative prompt with r' drawn uniformly from the
 *   other classes; each is inverted under its own prompt (fixed-point DDIM, guidance 1) and
 *   re-denoised with it while the maps of A and B are recorded at `record` steps; every recorded
 *   step of both prompts is one sample labelled r. Images whose reconstruction PSNR is under
 *   `psnrMin` are dropped (both prompts: a failure aborts the image, as the authors do).
 *
 * Sources: 'rendered' (Shape World scenes drawn by src/engine/world, exact relations) and
 * 'generated' (images the bundled model draws for a relation prompt; the detector finds A and B
 * and the relation between their boxes, GenEval's rule, is the label, whatever the prompt said;
 * images where either object is missing or no single relation holds are skipped).
 *
 * Splits by object pair: 'train', 'val' and 'test' scenes never contain a held-out pairing or pair
 * (src/engine/world/heldout.ts); 'unseen' scenes always do, so they measure generalisation.
 *
 * On disk (all written atomically; resumable after a kill, deterministic from the seed):
 *   manifest.json            recipe, model hash, map spec (order), classes, shard list, timings
 *   shard-00000.bin          float16 little-endian, samples x [2, C, S, S] (subject, object)
 *   shard-00000.json         per sample: image, split, kind (pos/neg), prompt, stated, label,
 *                            step, bucket, psnr, subject, object; dropped/skipped images
 * A shard covers `shardImages` consecutive image indices; the build resumes at the first shard
 * the manifest does not list.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readDescriptor, recordedPath } from './artefact.ts';
import { join } from 'node:path';
import { relationsBetween, RELATIONS, type Relation } from '../eval/geneval.ts';
import type { ImageRGB } from '../image/image.ts';
import { fromHalf, toHalf } from '../onnx/model.ts';
import type { SessionManager } from '../onnx/session.ts';
import { encodePrompt, type Embedding } from '../pipeline/encode.ts';
import { invertAndRecord, vaeEncoder } from '../pipeline/invert.ts';
import type { Pipeline } from '../pipeline/load.ts';
import { decodeLatent } from '../pipeline/decode.ts';
import { sampleLatent } from '../pipeline/sample.ts';
import { randn } from '../diffusion/rng.ts';
import { parsePrompt } from '../prompt/parse.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { lockFolder } from '../util/lock.ts';
import { detect } from '../world/detect.ts';
import { robustRelations, withArticle } from '../world/captions.ts';
import { renderScene } from '../world/render.ts';
import { derive, Rng } from '../world/rng.ts';
import { generateScene } from '../world/scene.ts';
import { objectName, type ObjectName, type Scene } from '../world/types.ts';
import { attentionUNet, objectTokenGroups, specHash, type MapSpec } from './attention.ts';

export const DATASET_FORMAT = 'steer-studio/relation-dataset';
export const DATASET_VERSION = 1;

/** Classes in a fixed order (the classifier's output order). */
export const RELATION_CLASSES: readonly Relation[] = RELATIONS;

export type DatasetSource = 'rendered' | 'generated' | 'both';
export type DatasetSplit = 'train' | 'val' | 'test' | 'unseen';

export interface DatasetRecipe {
  /** Number of images (each gives 2 prompts x record.length samples, minus drops). */
  count: number;
  source: DatasetSource;
  seed: number;
  /** Inversion / re-denoise steps (DDIM). */
  steps: number;
  fixedPoint: number;
  /** Denoising step indices recorded. */
  record: number[];
  psnrMin: number;
  /** Fractions of images per split (train, val, test, unseen); the rest of 1 goes to train. */
  fractions: { val: number; test: number; unseen: number };
  /** Images per UNet batch (each contributes 2 prompts). */
  batch: number;
  shardImages: number;
  /** 'generated' source: sampling steps and guidance. */
  generate: { steps: number; guidance: number };
}

export const DEFAULT_RECIPE: Omit<DatasetRecipe, 'count' | 'source' | 'seed'> = {
  steps: 50,
  fixedPoint: 1,
  record: [5, 10, 15, 20, 25, 49],
  psnrMin: 19.5,
  fractions: { val: 0.1, test: 0.1, unseen: 0.1 },
  batch: 8,
  shardImages: 64,
  generate: { steps: 50, guidance: 7.5 },
};

export interface SampleMeta {
  image: number;
  split: DatasetSplit;
  source: 'rendered' | 'generated';
  kind: 'pos' | 'neg';
  prompt: string;
  /** Relation the prompt states. */
  stated: Relation;
  /** True relation (the label). */
  label: Relation;
  /** Denoising step recorded, and its index in recipe.record (the step bucket). */
  step: number;
  bucket: number;
  psnr: number;
  subject: ObjectName;
  object: ObjectName;
}

export interface ShardInfo {
  index: number;
  file: string;
  images: [number, number];
  samples: number;
  dropped: number;
  skipped: number;
  seconds: number;
}

export interface DatasetManifest {
  format: typeof DATASET_FORMAT;
  version: number;
  recipe: DatasetRecipe;
  model: { dir: string; unet: string; unetSha256: string };
  spec: MapSpec;
  specHash: string;
  classes: readonly Relation[];
  /** Shape of one sample: [2, C, S, S]. */
  sampleShape: [number, number, number, number];
  shards: ShardInfo[];
  complete: boolean;
}

export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

/** Phrasings per relation, as people write them (all parsed by Prompt Parse). */
const PHRASES: Record<Relation, readonly string[]> = {
  left: ['to the left of', 'left of', 'on the left of', 'on the left side of'],
  right: ['to the right of', 'right of', 'on the right of', 'on the right side of'],
  above: ['above', 'over', 'on top of', 'on the top of'],
  below: ['below', 'under', 'beneath', 'underneath', 'on the bottom of'],
};
const PREFIXES = ['', '', 'a photo of ', 'an image of ', 'a drawing of '];

export function relationPrompt(rng: Rng, a: string, r: Relation, b: string): string {
  return `${rng.pick(PREFIXES)}${withArticle(a)} ${rng.pick(PHRASES[r])} ${withArticle(b)}`;
}

export function splitOf(seed: number, image: number, f: DatasetRecipe['fractions']): DatasetSplit {
  const u = new Rng(derive(seed, 'split', image)).next();
  if (u < f.unseen) return 'unseen';
  if (u < f.unseen + f.test) return 'test';
  if (u < f.unseen + f.test + f.val) return 'val';
  return 'train';
}

const OPPOSITE: Record<Relation, Relation> = { left: 'right', right: 'left', above: 'below', below: 'above' };

/** A two-object scene whose only (robust) relation between subject and object is `r`. */
export function sceneFor(rng: Rng, r: Relation, split: DatasetSplit): { scene: Scene; subject: number; object: number } {
  for (let attempt = 0; attempt < 2000; attempt++) {
    const scene = generateScene(rng, { minObjects: 2, maxObjects: 2, split: split === 'unseen' ? 'unseen' : 'train' });
    const rel = robustRelations(scene, 0, 1);
    if (rel.length !== 1) continue;
    if (rel[0] === r) return { scene, subject: 0, object: 1 };
    if (rel[0] === OPPOSITE[r]) return { scene, subject: 1, object: 0 };
  }
  throw new DatasetError(`could not sample a scene with relation '${r}'`);
}

interface ImageItem {
  image: number;
  split: DatasetSplit;
  source: 'rendered' | 'generated';
  img: ImageRGB;
  label: Relation;
  subject: ObjectName;
  object: ObjectName;
  prompts: { kind: 'pos' | 'neg'; text: string; stated: Relation }[];
}

function promptsFor(seed: number, image: number, label: Relation, subject: string, object: string): ImageItem['prompts'] {
  const rng = new Rng(derive(seed, 'prompts', image));
  const others = RELATION_CLASSES.filter((c) => c !== label);
  const wrong = rng.pick(others);
  return [
    { kind: 'pos', text: relationPrompt(rng, subject, label, object), stated: label },
    { kind: 'neg', text: relationPrompt(rng, subject, wrong, object), stated: wrong },
  ];
}

/** The scene of an image index: its split, the class it was drawn for, and the two objects' names. */
function sceneOf(recipe: DatasetRecipe, image: number) {
  const split = splitOf(recipe.seed, image, recipe.fractions);
  const relation = RELATION_CLASSES[image % RELATION_CLASSES.length]!;
  const { scene, subject, object } = sceneFor(new Rng(derive(recipe.seed, 'scene', image)), relation, split);
  return { split, relation, scene, s: objectName(scene.objects[subject]!), o: objectName(scene.objects[object]!) };
}

function renderedItem(recipe: DatasetRecipe, image: number): ImageItem {
  const { split, relation: label, scene, s, o } = sceneOf(recipe, image);
  return { image, split, source: 'rendered', img: renderScene(scene), label, subject: s, object: o, prompts: promptsFor(recipe.seed, image, label, s, o) };
}

/** Generates an image for a relation prompt and labels it by what the detector finds; null when unusable. */
async function generatedItem(pipe: Pipeline, recipe: DatasetRecipe, image: number, signal?: AbortSignal): Promise<ImageItem | null> {
  const { split, relation: asked, s, o } = sceneOf(recipe, image);
  const text = relationPrompt(new Rng(derive(recipe.seed, 'gen-prompt', image)), s, asked, o);
  const c = await encodePrompt(pipe, parsePrompt(text));
  const noise = randn([1, ...pipe.latentShape], derive(recipe.seed, 'gen-noise', image));
  const latent = await sampleLatent(pipe, { cond: c.cond, uncond: c.uncond, noise, steps: recipe.generate.steps, guidance: recipe.generate.guidance, scheduler: 'ddim', signal });
  const img = await decodeLatent(pipe, latent);
  const dets = detect(img);
  const find = (name: ObjectName) => dets.find((d) => `${d.color} ${d.shape}` === name);
  const a = find(s);
  const b = find(o);
  if (!a || !b) return null;
  const found = [...relationsBetween(a.box, b.box)];
  if (found.length !== 1) return null;
  const label = found[0]!;
  return { image, split, source: 'generated', img, label, subject: s, object: o, prompts: promptsFor(recipe.seed, image, label, s, o) };
}

export interface BuildProgress {
  images: number;
  total: number;
  samples: number;
  dropped: number;
  skipped: number;
  shard: number;
}

export interface BuildOptions {
  out: string;
  recipe: DatasetRecipe;
  signal?: AbortSignal;
  onProgress?: (p: BuildProgress) => void;
  log?: (line: string) => void;
}

export function readManifest(dir: string): DatasetManifest {
  return readDescriptor<DatasetManifest>(dir, 'manifest.json', DATASET_FORMAT, DATASET_VERSION, `not a relation dataset folder; build one with 'steer dataset relations --out ${dir}'`, DatasetError);
}

function sameRecipe(a: DatasetRecipe, b: DatasetRecipe): string {
  const keys = Object.keys(a) as (keyof DatasetRecipe)[];
  const diff = keys.filter((k) => k !== 'count' && JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  return diff.join(', ');
}

const sha256File = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Builds (or resumes) a dataset; returns the final manifest. The folder is locked while it runs. */
export async function buildRelationDataset(pipe: Pipeline, sessions: SessionManager, o: BuildOptions): Promise<DatasetManifest> {
  const lock = lockFolder(o.out, 'steer dataset relations');
  try {
    return await buildLocked(pipe, sessions, o);
  } finally {
    lock.release();
  }
}

async function buildLocked(pipe: Pipeline, sessions: SessionManager, o: BuildOptions): Promise<DatasetManifest> {
  const { recipe } = o;
  if (!Number.isInteger(recipe.count) || recipe.count < 1) throw new DatasetError(`count must be a positive integer, got ${recipe.count}`);
  if (!Number.isInteger(recipe.batch) || recipe.batch < 1) throw new DatasetError(`batch must be a positive integer, got ${recipe.batch}`);
  if (!Number.isInteger(recipe.shardImages) || recipe.shardImages < 1) throw new DatasetError(`shardImages must be a positive integer, got ${recipe.shardImages}`);
  for (const r of recipe.record) if (!Number.isInteger(r) || r < 0 || r >= recipe.steps) throw new DatasetError(`recorded step ${r} is outside 0..${recipe.steps - 1}`);
  const encoder = await vaeEncoder(pipe, sessions);
  const unet = await attentionUNet(pipe, sessions);
  const spec = unet.spec;
  const unetSha256 = sha256File(pipe.folder.unet.model);
  let manifest: DatasetManifest;
  if (existsSync(join(o.out, 'manifest.json'))) {
    manifest = readManifest(o.out);
    const diff = sameRecipe(manifest.recipe, recipe);
    if (diff) throw new DatasetError(`${o.out}: holds a dataset built with a different recipe (${diff} differ); choose another --out or the same settings`);
    if (manifest.model.unetSha256 !== unetSha256) throw new DatasetError(`${o.out}: built from another UNet (sha256 ${manifest.model.unetSha256.slice(0, 12)}, this one ${unetSha256.slice(0, 12)})`);
    if (specHash(manifest.spec) !== specHash(spec)) throw new DatasetError(`${o.out}: built with another attention map spec`);
    manifest.recipe.count = recipe.count;
    manifest.complete = false;
  } else {
    manifest = {
      format: DATASET_FORMAT,
      version: DATASET_VERSION,
      recipe,
      model: { dir: recordedPath(pipe.folder.dir), unet: recordedPath(pipe.folder.unet.model), unetSha256 },
      spec,
      specHash: specHash(spec),
      classes: RELATION_CLASSES,
      sampleShape: [2, spec.channels.length, spec.size, spec.size],
      shards: [],
      complete: false,
    };
  }
  const shardCount = Math.ceil(recipe.count / recipe.shardImages);
  // A shard is done when it covers its full image range for this count (a last shard built for a
  // smaller count is rebuilt when the count grows).
  const range = (shard: number): [number, number] => [shard * recipe.shardImages, Math.min(recipe.count, (shard + 1) * recipe.shardImages)];
  const done = new Set(manifest.shards.filter((s) => s.index >= shardCount || (s.images[0] === range(s.index)[0] && s.images[1] === range(s.index)[1])).map((s) => s.index));
  manifest.shards = manifest.shards.filter((s) => done.has(s.index));
  const perSample = 2 * spec.channels.length * spec.size * spec.size;
  const totals = () => ({
    samples: manifest.shards.reduce((a, s) => a + s.samples, 0),
    dropped: manifest.shards.reduce((a, s) => a + s.dropped, 0),
    skipped: manifest.shards.reduce((a, s) => a + s.skipped, 0),
    images: manifest.shards.reduce((a, s) => a + (s.images[1] - s.images[0]), 0),
  });
  for (let shard = 0; shard < shardCount; shard++) {
    if (done.has(shard)) continue;
    const t0 = performance.now();
    const first = shard * recipe.shardImages;
    const last = Math.min(recipe.count, first + recipe.shardImages);
    const metas: SampleMeta[] = [];
    const blobs: Float32Array[] = [];
    const dropped: { image: number; psnr: number }[] = [];
    const skipped: number[] = [];
    for (let b0 = first; b0 < last; b0 += recipe.batch) {
      o.signal?.throwIfAborted();
      const items: ImageItem[] = [];
      for (let image = b0; image < Math.min(last, b0 + recipe.batch); image++) {
        const useGenerated = recipe.source === 'generated' || (recipe.source === 'both' && image % 2 === 1);
        const item = useGenerated ? await generatedItem(pipe, recipe, image, o.signal) : renderedItem(recipe, image);
        if (item) items.push(item);
        else skipped.push(image);
      }
      if (items.length === 0) continue;
      const images: ImageRGB[] = [];
      const conds: Embedding[] = [];
      const groups: number[][][] = [];
      const owners: { item: ImageItem; prompt: ImageItem['prompts'][number] }[] = [];
      for (const item of items) {
        for (const p of item.prompts) {
          const parsed = parsePrompt(p.text);
          const c = await encodePrompt(pipe, parsed);
          const rel = parsed.relations[0];
          if (!rel || parsed.objects.length !== 2) throw new DatasetError(`prompt '${p.text}' did not parse into one relation between two objects`);
          const g = objectTokenGroups(c.objects);
          images.push(item.img);
          conds.push(c.cond);
          groups.push([g[rel.subjectIndex]!, g[rel.objectIndex]!]);
          owners.push({ item, prompt: p });
        }
      }
      const res = await invertAndRecord(pipe, encoder, unet, images, conds, { steps: recipe.steps, fixedPoint: recipe.fixedPoint, record: recipe.record, groups, signal: o.signal });
      const bad = new Set<ImageItem>();
      owners.forEach((ow, k) => {
        if (!(res.psnr[k]! >= recipe.psnrMin)) bad.add(ow.item);
      });
      for (const item of bad) dropped.push({ image: item.image, psnr: Math.min(...owners.flatMap((ow, k) => (ow.item === item ? [res.psnr[k]!] : []))) });
      owners.forEach((ow, k) => {
        if (bad.has(ow.item)) return;
        recipe.record.forEach((step, bucket) => {
          blobs.push(res.maps[bucket]![k]!);
          metas.push({
            image: ow.item.image,
            split: ow.item.split,
            source: ow.item.source,
            kind: ow.prompt.kind,
            prompt: ow.prompt.text,
            stated: ow.prompt.stated,
            label: ow.item.label,
            step,
            bucket,
            psnr: Math.round(res.psnr[k]! * 100) / 100,
            subject: ow.item.subject,
            object: ow.item.object,
          });
        });
      });
      const t = totals();
      o.onProgress?.({ images: t.images + (Math.min(last, b0 + recipe.batch) - first), total: recipe.count, samples: t.samples + metas.length, dropped: t.dropped + dropped.length, skipped: t.skipped + skipped.length, shard });
      await new Promise((r) => setImmediate(r)); // let signal handlers run between batches
    }
    const name = `shard-${String(shard).padStart(5, '0')}`;
    const bin = new Uint16Array(metas.length * perSample);
    blobs.forEach((m, i) => {
      for (let j = 0; j < perSample; j++) bin[i * perSample + j] = toHalf(m[j]!);
    });
    await writeFileAtomic(join(o.out, `${name}.bin`), new Uint8Array(bin.buffer));
    await writeFileAtomic(join(o.out, `${name}.json`), JSON.stringify({ images: [first, last], samples: metas, dropped, skipped }) + '\n');
    const seconds = (performance.now() - t0) / 1000;
    manifest.shards.push({ index: shard, file: name, images: [first, last], samples: metas.length, dropped: dropped.length, skipped: skipped.length, seconds: Math.round(seconds * 10) / 10 });
    manifest.shards.sort((a, b) => a.index - b.index);
    await writeFileAtomic(join(o.out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    o.log?.(`${name}: images ${first}..${last - 1}, ${metas.length} samples, ${dropped.length} dropped (PSNR), ${skipped.length} skipped, ${seconds.toFixed(1)} s`);
  }
  manifest.complete = true;
  await writeFileAtomic(join(o.out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/** A loaded dataset: all samples' maps as float32 [N, 2, C, S, S] and their metadata. */
export interface LoadedDataset {
  manifest: DatasetManifest;
  maps: Float32Array;
  meta: SampleMeta[];
  /** Values per sample. */
  sampleSize: number;
}

export function loadRelationDataset(dir: string): LoadedDataset {
  const manifest = readManifest(dir);
  const sampleSize = manifest.sampleShape.reduce((a, b) => a * b, 1);
  const metas: SampleMeta[] = [];
  const parts: Uint16Array[] = [];
  for (const s of manifest.shards) {
    const jf = join(dir, `${s.file}.json`);
    const bf = join(dir, `${s.file}.bin`);
    if (!existsSync(jf) || !existsSync(bf)) throw new DatasetError(`${dir}: shard ${s.file} is listed in the manifest but its files are missing`);
    const j = JSON.parse(readFileSync(jf, 'utf8')) as { samples: SampleMeta[] };
    const buf = readFileSync(bf);
    if (buf.byteLength !== j.samples.length * sampleSize * 2) throw new DatasetError(`${bf}: ${buf.byteLength} bytes, expected ${j.samples.length * sampleSize * 2} for ${j.samples.length} samples`);
    parts.push(new Uint16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)));
    metas.push(...j.samples);
  }
  const maps = new Float32Array(metas.length * sampleSize);
  let off = 0;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) table[h] = fromHalf(h);
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) maps[off + i] = table[p[i]!]!;
    off += p.length;
  }
  return { manifest, maps, meta: metas, sampleSize };
}
