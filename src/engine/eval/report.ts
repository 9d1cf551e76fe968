/** Evaluation reports: CSV of every image, an SVG bar chart of accuracies, a PNG grid of samples. */
import { createImage, type ImageRGB } from '../image/image.ts';
import type { EvalRecord, SuiteSummary } from './run-suite.ts';

const csvCell = (v: unknown) => {
  const s = v === undefined ? '' : Array.isArray(v) ? v.join(';') : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function recordsToCsv(records: EvalRecord[]): string {
  const cols: (keyof EvalRecord)[] = ['suite', 'method', 'id', 'prompt', 'group', 'seed', 'ok', 'found', 'relationsOk', 'detections', 'seconds', 'unetForward', 'unetBackward', 'steeringEvaluations', 'iterationsPerStep', 'cached'];
  return [cols.join(','), ...records.map((r) => cols.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Horizontal bars: each suite's overall accuracy, then its groups, on a 0..100% axis. */
export function accuracyChartSvg(summaries: SuiteSummary[], title: string): string {
  const rows: { label: string; value: number; n: number; strong: boolean }[] = [];
  for (const s of summaries) {
    rows.push({ label: s.suite, value: s.accuracy, n: s.images, strong: true });
    for (const [g, v] of Object.entries(s.byGroup)) rows.push({ label: `  ${g}`, value: v.accuracy, n: v.n, strong: false });
  }
  const rowH = 22;
  const left = 170;
  const width = 640;
  const barW = width - left - 70;
  const top = 40;
  const height = top + rows.length * rowH + 30;
  const bars = rows
    .map((r, i) => {
      const y = top + i * rowH;
      const w = Math.max(0, Math.min(1, r.value)) * barW;
      return [
        `<text x="${left - 8}" y="${y + 15}" text-anchor="end" font-weight="${r.strong ? 700 : 400}">${esc(r.label.trim())}</text>`,
        `<rect x="${left}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${r.strong ? '#2563eb' : '#93c5fd'}"/>`,
        `<text x="${left + w + 6}" y="${y + 15}">${(100 * r.value).toFixed(1)}% (n=${r.n})</text>`,
      ].join('');
    })
    .join('\n');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((t) => `<line x1="${left + t * barW}" x2="${left + t * barW}" y1="${top - 4}" y2="${height - 26}" stroke="#e5e7eb"/><text x="${left + t * barW}" y="${height - 10}" text-anchor="middle" fill="#6b7280">${t * 100}%</text>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="22" text-anchor="middle" font-size="14" font-weight="700">${esc(title)}</text>
${ticks}
${bars}
</svg>
`;
}

/** Images side by side, `columns` per row, with a 2 px light border. */
export function imageGrid(images: ImageRGB[], columns = 8): ImageRGB {
  if (images.length === 0) throw new Error('imageGrid: no images');
  const { width: w, height: h } = images[0]!;
  const pad = 2;
  const cols = Math.min(columns, images.length);
  const rows = Math.ceil(images.length / cols);
  const grid = createImage(cols * (w + pad) + pad, rows * (h + pad) + pad, [255, 255, 255]);
  images.forEach((img, k) => {
    const ox = pad + (k % cols) * (w + pad);
    const oy = pad + Math.floor(k / cols) * (h + pad);
    for (let y = 0; y < h; y++) {
      grid.data.set(img.data.subarray(y * w * 3, (y + 1) * w * 3), ((oy + y) * grid.width + ox) * 3);
    }
  });
  return grid;
}

/** Bar colours of methods, in --method order. */
export const METHOD_COLORS = ['#9ca3af', '#f59e0b', '#2563eb', '#10b981', '#ef4444', '#8b5cf6', '#ec4899', '#14b8a6', '#84cc16', '#0ea5e9', '#a16207', '#1f2937'];

/**
 * Methods side by side: per suite, one bar per method for its accuracy (bold label), then the
 * same for each of the suite's groups (relations) when it has at most `maxGroups` of them.
 */
export function methodChartSvg(summaries: SuiteSummary[], methods: string[], title: string, maxGroups = 8): string {
  const color = (m: string) => METHOD_COLORS[methods.indexOf(m) % METHOD_COLORS.length]!;
  type Block = { label: string; strong: boolean; bars: { method: string; value: number; n: number }[] };
  const blocks: Block[] = [];
  const suites = [...new Set(summaries.map((s) => s.suite))];
  for (const suite of suites) {
    const mine = methods.map((m) => summaries.find((s) => s.suite === suite && s.method === m)).filter((s): s is SuiteSummary => s !== undefined);
    blocks.push({ label: suite, strong: true, bars: mine.map((s) => ({ method: s.method!, value: s.accuracy, n: s.images })) });
    const groups = [...new Set(mine.flatMap((s) => Object.keys(s.byGroup)))].sort();
    if (groups.length <= maxGroups) {
      for (const g of groups) blocks.push({ label: g, strong: false, bars: mine.map((s) => ({ method: s.method!, value: s.byGroup[g]?.accuracy ?? 0, n: s.byGroup[g]?.n ?? 0 })) });
    }
  }
  const barH = 14;
  const gap = 10;
  const left = 170;
  const width = 680;
  const barW = width - left - 90;
  const top = 58;
  let y = top;
  const parts: string[] = [];
  for (const b of blocks) {
    const h = b.bars.length * barH;
    parts.push(`<text x="${left - 8}" y="${y + h / 2 + 4}" text-anchor="end" font-weight="${b.strong ? 700 : 400}">${esc(b.label)}</text>`);
    b.bars.forEach((bar, k) => {
      const w = Math.max(0, Math.min(1, bar.value)) * barW;
      const by = y + k * barH;
      parts.push(`<rect x="${left}" y="${by + 1}" width="${w.toFixed(1)}" height="${barH - 2}" fill="${color(bar.method)}" fill-opacity="${b.strong ? 1 : 0.6}"><title>${esc(bar.method)}: ${(100 * bar.value).toFixed(1)}%</title></rect>`);
      parts.push(`<text x="${left + w + 5}" y="${by + barH - 3}" font-size="10">${(100 * bar.value).toFixed(1)}% (n=${bar.n})</text>`);
    });
    y += h + gap;
  }
  const height = y + 24;
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((t) => `<line x1="${left + t * barW}" x2="${left + t * barW}" y1="${top - 4}" y2="${height - 26}" stroke="#e5e7eb"/><text x="${left + t * barW}" y="${height - 10}" text-anchor="middle" fill="#6b7280">${t * 100}%</text>`)
    .join('');
  const legend = methods.map((m, k) => `<rect x="${left + k * 120}" y="32" width="12" height="12" fill="${color(m)}"/><text x="${left + k * 120 + 16}" y="42">${esc(m)}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="700">${esc(title)}</text>
${legend}
${ticks}
${parts.join('\n')}
</svg>
`;
}

/** Before/after grid: one row per method, the same (prompt, seed) in each column. */
export function methodGrid(rows: ImageRGB[][]): ImageRGB {
  const cols = Math.max(0, ...rows.map((r) => r.length));
  if (cols === 0) throw new Error('methodGrid: no images');
  const first = rows.find((r) => r.length > 0)![0]!;
  const blank = createImage(first.width, first.height, [255, 255, 255]);
  return imageGrid(rows.flatMap((r) => Array.from({ length: cols }, (_, k) => r[k] ?? blank)), cols);
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** The table as Markdown: one row per suite and method, then accuracy per group with the methods as columns. */
export function methodTableMarkdown(summaries: SuiteSummary[], methods: string[]): string {
  const lines = [
    '| suite | method | images | accuracy | object recall | s/image | UNet fwd/image | UNet bwd/image | steering evals/image |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...summaries.map((s) => `| ${s.suite} | ${s.method ?? ''} | ${s.images} | ${pct(s.accuracy)} | ${pct(s.objectRecall)} | ${s.secondsPerImage ?? ''} | ${s.unetForwardPerImage ?? ''} | ${s.unetBackwardPerImage ?? ''} | ${s.steeringEvaluationsPerImage ?? ''} |`),
    '',
    `| suite | group | ${methods.join(' | ')} |`,
    `|---|---|${methods.map(() => '---:').join('|')}|`,
  ];
  for (const suite of [...new Set(summaries.map((s) => s.suite))]) {
    const mine = summaries.filter((s) => s.suite === suite);
    const groups = [...new Set(mine.flatMap((s) => Object.keys(s.byGroup)))].sort();
    for (const g of groups) {
      const cells = methods.map((m) => {
        const v = mine.find((s) => s.method === m)?.byGroup[g];
        return v ? `${pct(v.accuracy)} (${v.correct}/${v.n})` : '';
      });
      lines.push(`| ${suite} | ${g} | ${cells.join(' | ')} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}
