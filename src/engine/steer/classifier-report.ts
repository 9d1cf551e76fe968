/**
 * The classifier report (`steer report classifiers`): each classifier evaluated on a relation
 * dataset's held-out splits, written as report.json, report.md and SVG plots.
 *
 * Evaluation sets (all from splits no classifier trained on):
 *   test               in-distribution pairs, both prompt kinds
 *   test-right-prompt  maps from prompts that state the true relation
 *   test-wrong-prompt  maps from prompts that state a WRONG relation (label = the true one):
 *                      the leakage test. A classifier that reads the prompt's words instead of
 *                      the geometry fails here; dual inversion is what should make it pass.
 *   unseen             held-out pairings and pairs (src/engine/world/heldout.ts)
 *   unseen-wrong-prompt
 *   all                every sample (for a dataset the classifier was not trained on, e.g. the
 *                      generated source against a classifier trained on rendered scenes)
 * Per set: accuracy, per relation, per step bucket, confusion matrix; plus the dataset's build
 * cost per sample and each classifier's training time.
 */
import { join } from 'node:path';
import type { Relation } from '../eval/geneval.ts';
import type { SessionManager } from '../onnx/session.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { recordedPath } from './artefact.ts';
import { compareSpecs } from './attention.ts';
import { loadClassifier, type ClassifierMetrics } from './classifier.ts';
import { evaluate } from './classifier-train.ts';
import type { LoadedDataset, SampleMeta } from './relation-dataset.ts';

export const EVAL_SETS: Record<string, (m: SampleMeta) => boolean> = {
  /** Every sample: for a dataset the classifier never trained on (e.g. another source). */
  all: () => true,
  test: (m) => m.split === 'test',
  'test-right-prompt': (m) => m.split === 'test' && m.kind === 'pos',
  'test-wrong-prompt': (m) => m.split === 'test' && m.kind === 'neg',
  unseen: (m) => m.split === 'unseen',
  'unseen-wrong-prompt': (m) => m.split === 'unseen' && m.kind === 'neg',
};

export interface ClassifierReport {
  dataset: { dir: string; samples: number; images: number; secondsPerSample: number; secondsPerImage: number; bySplit: Record<string, number> };
  classifiers: { name: string; dir: string; positiveOnly: boolean; trainSeconds: number; epochs: number; bestEpoch: number; metrics: Record<string, ClassifierMetrics> }[];
  classes: Relation[];
}

export async function classifierReport(ds: LoadedDataset, dataDir: string, classifiers: { name: string; dir: string }[], sessions: SessionManager): Promise<ClassifierReport> {
  const classes = [...ds.manifest.classes];
  const shards = ds.manifest.shards;
  const seconds = shards.reduce((a, s) => a + s.seconds, 0);
  const images = shards.reduce((a, s) => a + (s.images[1] - s.images[0]), 0);
  const bySplit: Record<string, number> = {};
  for (const m of ds.meta) bySplit[m.split] = (bySplit[m.split] ?? 0) + 1;
  const out: ClassifierReport = {
    dataset: { dir: dataDir, samples: ds.meta.length, images, secondsPerSample: seconds / Math.max(1, ds.meta.length), secondsPerImage: seconds / Math.max(1, images), bySplit },
    classifiers: [],
    classes,
  };
  for (const c of classifiers) {
    const loaded = await loadClassifier(c.dir, sessions);
    const { info } = loaded;
    const diff = compareSpecs(info.spec, ds.manifest.spec);
    if (diff) throw new Error(`classifier ${c.dir} reads other maps than the dataset ${dataDir}: ${diff}`);
    const missing = info.steps.filter((st) => !ds.manifest.recipe.record.includes(st));
    if (missing.length > 0) throw new Error(`classifier ${c.dir} was trained on steps ${info.steps.join(',')}; the dataset does not record ${missing.join(',')} (it records ${ds.manifest.recipe.record.join(',')})`);
    // Every set is measured at the classifier's own steps, as its training metrics are.
    const atStep = new Set(info.steps);
    if (JSON.stringify(info.classes) !== JSON.stringify(classes)) throw new Error(`classifier ${c.dir} has classes ${info.classes.join(',')}, the dataset ${classes.join(',')}`);
    const metrics: Record<string, ClassifierMetrics> = {};
    // 'all' includes training samples when this is the classifier's own dataset: skipped then.
    const ownData = (info.training as { dataset?: string }).dataset === recordedPath(dataDir);
    for (const [set, keep] of Object.entries(EVAL_SETS)) {
      if (set === 'all' && ownData) continue;
      const idx = ds.meta.flatMap((m, i) => (keep(m) && atStep.has(m.step) ? [i] : []));
      if (idx.length > 0) metrics[set] = await evaluate(loaded.session, ds, idx, classes, 256, info.steps);
    }
    const t = info.training as { seconds?: number; epochs?: number; bestEpoch?: number; recipe?: { positiveOnly?: boolean } };
    out.classifiers.push({ name: c.name, dir: loaded.dir, positiveOnly: t.recipe?.positiveOnly === true, trainSeconds: t.seconds ?? 0, epochs: t.epochs ?? 0, bestEpoch: t.bestEpoch ?? 0, metrics });
    await loaded.session.release();
  }
  return out;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const COLORS = ['#2563eb', '#f97316', '#16a34a', '#9333ea', '#dc2626'];

/** Grouped bars: one group per evaluation set, one bar per classifier. */
export function accuracyBarsSvg(r: ClassifierReport, title: string): string {
  const sets = Object.keys(EVAL_SETS).filter((s) => r.classifiers.some((c) => c.metrics[s]));
  const n = r.classifiers.length;
  const groupW = 40 + n * 28;
  const left = 50;
  const top = 50;
  const h = 220;
  const width = left + sets.length * groupW + 20;
  const height = top + h + 70;
  const parts: string[] = [];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) parts.push(`<line x1="${left}" x2="${width - 10}" y1="${top + h * (1 - t)}" y2="${top + h * (1 - t)}" stroke="#e5e7eb"/><text x="${left - 6}" y="${top + h * (1 - t) + 4}" text-anchor="end" fill="#6b7280">${t * 100}%</text>`);
  sets.forEach((s, gi) => {
    const x0 = left + gi * groupW + 20;
    r.classifiers.forEach((c, ci) => {
      const m = c.metrics[s];
      if (!m) return;
      const bh = h * m.accuracy;
      parts.push(`<rect x="${x0 + ci * 28}" y="${(top + h - bh).toFixed(1)}" width="24" height="${bh.toFixed(1)}" fill="${COLORS[ci % COLORS.length]}"/><text x="${x0 + ci * 28 + 12}" y="${(top + h - bh - 4).toFixed(1)}" text-anchor="middle" font-size="9">${(100 * m.accuracy).toFixed(0)}</text>`);
    });
    parts.push(`<text x="${x0 + (n * 28) / 2}" y="${top + h + 16}" text-anchor="middle" font-size="10">${esc(s)}</text>`);
  });
  r.classifiers.forEach((c, ci) => parts.push(`<rect x="${left + ci * 170}" y="${height - 28}" width="12" height="12" fill="${COLORS[ci % COLORS.length]}"/><text x="${left + ci * 170 + 16}" y="${height - 18}">${esc(c.name)}</text>`));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="24" text-anchor="middle" font-size="14" font-weight="700">${esc(title)}</text>
${parts.join('\n')}
</svg>
`;
}

/** A confusion matrix (rows: true, columns: predicted), cells shaded by row share. */
export function confusionSvg(m: ClassifierMetrics, classes: readonly string[], title: string): string {
  const cell = 56;
  const left = 90;
  const top = 70;
  const width = left + classes.length * cell + 20;
  const height = top + classes.length * cell + 20;
  const parts: string[] = [];
  classes.forEach((c, j) => parts.push(`<text x="${left + j * cell + cell / 2}" y="${top - 8}" text-anchor="middle">${esc(c)}</text>`));
  m.confusion.forEach((row, i) => {
    const total = row.reduce((a, v) => a + v, 0) || 1;
    parts.push(`<text x="${left - 8}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end">${esc(classes[i]!)}</text>`);
    row.forEach((v, j) => {
      const share = v / total;
      const shade = Math.round(255 - 200 * share);
      parts.push(`<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell - 2}" height="${cell - 2}" fill="rgb(${shade},${shade},255)"/><text x="${left + j * cell + cell / 2}" y="${top + i * cell + cell / 2 + 4}" text-anchor="middle" fill="${share > 0.5 ? 'white' : 'black'}">${v}</text>`);
    });
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="20" text-anchor="middle" font-size="13" font-weight="700">${esc(title)}</text>
<text x="${width / 2}" y="38" text-anchor="middle" fill="#6b7280">rows: true relation, columns: predicted</text>
${parts.join('\n')}
</svg>
`;
}

export function reportMarkdown(r: ClassifierReport): string {
  const sets = Object.keys(EVAL_SETS);
  const lines = [
    '# Relation classifier report',
    '',
    `Dataset ${r.dataset.dir}: ${r.dataset.samples} samples from ${r.dataset.images} images (${Object.entries(r.dataset.bySplit).map(([k, v]) => `${k} ${v}`).join(', ')}); build ${r.dataset.secondsPerImage.toFixed(2)} s per image, ${(1000 * r.dataset.secondsPerSample).toFixed(0)} ms per sample.`,
    '',
    `| classifier | trained on | epochs (best) | train s | ${sets.join(' | ')} |`,
    `|---|---|---|---|${sets.map(() => '---').join('|')}|`,
    ...r.classifiers.map((c) => `| ${c.name} | ${c.positiveOnly ? 'positive prompts only' : 'dual inversion'} | ${c.epochs} (${c.bestEpoch}) | ${c.trainSeconds} | ${sets.map((s) => (c.metrics[s] ? `${pct(c.metrics[s].accuracy)} (n=${c.metrics[s].count})` : '-')).join(' | ')} |`),
    '',
    '## Per relation (test)',
    '',
    `| classifier | ${r.classes.join(' | ')} |`,
    `|---|${r.classes.map(() => '---').join('|')}|`,
    ...r.classifiers.map((c) => `| ${c.name} | ${r.classes.map((k) => (c.metrics.test ? pct(c.metrics.test.perClass[k]?.accuracy ?? 0) : '-')).join(' | ')} |`),
    '',
    '## Per step bucket (test)',
    '',
    `| classifier | ${(r.classifiers[0]?.metrics.test?.perBucket ?? []).map((b) => `step ${b.step}`).join(' | ')} |`,
    `|---|${(r.classifiers[0]?.metrics.test?.perBucket ?? []).map(() => '---').join('|')}|`,
    ...r.classifiers.map((c) => `| ${c.name} | ${(c.metrics.test?.perBucket ?? []).map((b) => pct(b.accuracy)).join(' | ')} |`),
    '',
  ];
  return lines.join('\n');
}

export async function writeClassifierReport(r: ClassifierReport, out: string): Promise<string[]> {
  const files: string[] = [];
  const put = async (name: string, text: string) => {
    await writeFileAtomic(join(out, name), text);
    files.push(join(out, name));
  };
  await put('report.json', JSON.stringify(r, null, 2) + '\n');
  await put('report.md', reportMarkdown(r));
  await put('accuracy.svg', accuracyBarsSvg(r, 'Relation classifiers: accuracy on held-out maps'));
  for (const c of r.classifiers) {
    if (c.metrics.test) await put(`confusion-${c.name}-test.svg`, confusionSvg(c.metrics.test, r.classes, `${c.name}: test`));
    if (c.metrics['test-wrong-prompt']) await put(`confusion-${c.name}-wrong-prompt.svg`, confusionSvg(c.metrics['test-wrong-prompt'], r.classes, `${c.name}: prompts stating a wrong relation`));
  }
  return files;
}
