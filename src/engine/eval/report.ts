/** Evaluation reports: CSV of every image, an SVG bar chart of accuracies, a PNG grid of samples. */
import { createImage, type ImageRGB } from '../image/image.ts';
import type { EvalRecord, SuiteSummary } from './run-suite.ts';

const csvCell = (v: unknown) => {
  const s = Array.isArray(v) ? v.join(';') : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function recordsToCsv(records: EvalRecord[]): string {
  const cols: (keyof EvalRecord)[] = ['suite', 'id', 'prompt', 'group', 'seed', 'ok', 'found', 'relationsOk', 'detections'];
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
