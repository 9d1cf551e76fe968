/**
 * The two chart previews, drawn as SVG at the pixel size they are given (so text keeps its
 * size when a node's preview is resized): `bars` (class probabilities, the wanted class
 * highlighted, a value axis below) and `curve` (one line per series, ticked x and y axes with
 * their labels, optionally log-scaled y). Each is an `img` whose accessible name says what it
 * shows, and every number drawn is also in a <title> for hover.
 */
import { memo } from 'react';
import type { Preview } from '../../../shared/events.ts';

type BarsPreview = Extract<Preview, { kind: 'bars' }>;
type CurvePreview = Extract<Preview, { kind: 'curve' }>;
interface Size {
  width: number;
  height: number;
}

const AXIS = '#737373';
const GRID = '#262626';
const TEXT = '#d4d4d4';
const MUTED = '#a3a3a3';
const BAR = '#525252';
const HIGHLIGHT = '#fbbf24';
const SERIES_COLORS = ['#38bdf8', '#f472b6', '#a3e635', '#fb923c', '#c084fc'];
const FONT = 10;

/** A number short enough for a tick or a bar end: 3 significant digits, exponent when tiny or huge. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace('e+', 'e');
  return String(Number(v.toPrecision(3)));
}

/** About `count` round tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart). */
export function niceTicks(lo: number, hi: number, count = 4): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

/**
 * Log-axis ticks within [lo, hi] (both > 0): the powers of ten, or where fewer than two fall
 * inside, the 1-2-5 steps of each decade; the ends when even those are fewer than two.
 */
export function logTicks(lo: number, hi: number): number[] {
  const first = Math.floor(Math.log10(lo));
  const last = Math.ceil(Math.log10(hi));
  const within = (mults: number[]) => {
    const out: number[] = [];
    for (let e = first; e <= last; e++) for (const m of mults) out.push(Number((m * 10 ** e).toPrecision(6)));
    return out.filter((t) => t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9));
  };
  const powers = within([1]);
  if (powers.length >= 2) return powers;
  const steps = within([1, 2, 5]);
  return steps.length >= 2 ? steps : [lo, hi];
}

export const BarsChart = memo(function BarsChart({ preview, size }: { preview: BarsPreview; size: Size }) {
  const { labels, values, highlight } = preview;
  const n = Math.max(1, values.length);
  const max = preview.max ?? Math.max(1, ...values.filter(Number.isFinite));
  const axisH = 22;
  const labelW = Math.min(Math.round(size.width * 0.38), 7 + 6 * Math.max(0, ...labels.map((l) => l.length)));
  const valueW = 34;
  const plotX = labelW + 4;
  const plotW = Math.max(10, size.width - plotX - valueW);
  const rowH = Math.max(8, (size.height - axisH) / n);
  const barH = Math.max(4, rowH * 0.7);
  const x = (v: number) => plotX + (Math.min(Math.max(v, 0), max) / max) * plotW;
  const bottom = rowH * n;
  const name = `${preview.label ?? 'bars'}: ${labels.map((l, i) => `${l} ${formatNumber(values[i] ?? NaN)}`).join(', ')}`;
  return (
    <svg role="img" aria-label={name} width={size.width} height={bottom + axisH} className="block" data-testid="bars-chart">
      {niceTicks(0, max, 4).map((t) => (
        <g key={t}>
          <line x1={x(t)} x2={x(t)} y1={0} y2={bottom} stroke={GRID} />
          <text x={x(t)} y={bottom + 12} fill={MUTED} fontSize={FONT} textAnchor="middle" data-testid="value-tick">
            {formatNumber(t)}
          </text>
        </g>
      ))}
      <line x1={plotX} x2={plotX + plotW} y1={bottom} y2={bottom} stroke={AXIS} />
      {values.map((v, i) => {
        const y = i * rowH + (rowH - barH) / 2;
        const wanted = i === highlight;
        return (
          <g key={i} data-testid="bar" data-highlight={wanted ? 'true' : 'false'}>
            <title>{`${labels[i] ?? i}: ${formatNumber(v)}${wanted ? ' (wanted)' : ''}`}</title>
            <text x={labelW} y={y + barH / 2 + 3.5} fill={wanted ? HIGHLIGHT : TEXT} fontSize={FONT} textAnchor="end" fontWeight={wanted ? 700 : 400}>
              {labels[i] ?? i}
            </text>
            <rect x={plotX} y={y} width={Math.max(0, x(v) - plotX)} height={barH} fill={wanted ? HIGHLIGHT : BAR} rx={1.5} />
            <text x={x(v) + 3} y={y + barH / 2 + 3.5} fill={wanted ? HIGHLIGHT : MUTED} fontSize={FONT}>
              {formatNumber(v)}
            </text>
          </g>
        );
      })}
    </svg>
  );
});

export const CurveChart = memo(function CurveChart({ preview, size }: { preview: CurvePreview; size: Size }) {
  const { series, xLabel, yLabel } = preview;
  const legendH = series.length > 1 ? 14 : 0;
  const m = { left: 46, right: 10, top: 6 + legendH, bottom: 32 };
  const w = Math.max(20, size.width - m.left - m.right);
  const h = Math.max(20, size.height - m.top - m.bottom);
  const xs = series.flatMap((s) => s.x).filter(Number.isFinite);
  const log = preview.log === true;
  const ys = series.flatMap((s) => s.y).filter((v) => Number.isFinite(v) && (!log || v > 0));
  const x0 = xs.length ? Math.min(...xs) : 0;
  const x1 = xs.length ? Math.max(...xs) : 1;
  let y0 = ys.length ? Math.min(...ys) : 0;
  let y1 = ys.length ? Math.max(...ys) : 1;
  if (y1 === y0) [y0, y1] = log ? [y0 / 2, y1 * 2] : [y0 - 1, y1 + 1];
  const fy = log ? Math.log10 : (v: number) => v;
  const sx = (v: number) => m.left + (x1 > x0 ? ((v - x0) / (x1 - x0)) * w : w / 2);
  const sy = (v: number) => m.top + h - ((fy(v) - fy(y0)) / (fy(y1) - fy(y0))) * h;
  const yTicks = log ? logTicks(y0, y1) : niceTicks(y0, y1, 4);
  const xTicks = niceTicks(x0, x1, Math.max(2, Math.floor(w / 60)));
  const last = series[0]?.y.at(-1);
  const name = `${preview.label ?? 'curve'}: ${yLabel} over ${xLabel}${log ? ' (log scale)' : ''}${last !== undefined ? `, last ${formatNumber(last)}` : ''}`;
  return (
    <svg role="img" aria-label={name} width={size.width} height={size.height} className="block" data-testid="curve-chart">
      {yTicks.map((t) => (
        <g key={`y${t}`} data-testid="y-tick">
          <line x1={m.left} x2={m.left + w} y1={sy(t)} y2={sy(t)} stroke={GRID} />
          <text x={m.left - 4} y={sy(t) + 3.5} fill={MUTED} fontSize={FONT} textAnchor="end">
            {formatNumber(t)}
          </text>
        </g>
      ))}
      {xTicks.map((t) => (
        <text key={`x${t}`} x={sx(t)} y={m.top + h + 12} fill={MUTED} fontSize={FONT} textAnchor="middle" data-testid="x-tick">
          {formatNumber(t)}
        </text>
      ))}
      <path d={`M${m.left},${m.top}V${m.top + h}H${m.left + w}`} stroke={AXIS} fill="none" />
      <text x={m.left + w / 2} y={size.height - 3} fill={TEXT} fontSize={FONT} textAnchor="middle" data-testid="x-label">
        {xLabel}
      </text>
      <text transform={`translate(10 ${m.top + h / 2}) rotate(-90)`} fill={TEXT} fontSize={FONT} textAnchor="middle" data-testid="y-label">
        {log ? `${yLabel} (log)` : yLabel}
      </text>
      {series.map((s, k) => {
        const pts = s.x.map((xv, i) => [xv, s.y[i]!] as const).filter(([xv, yv]) => Number.isFinite(xv) && Number.isFinite(yv) && (!log || yv > 0));
        const color = SERIES_COLORS[k % SERIES_COLORS.length];
        return (
          <g key={k} data-testid="series">
            <title>{`${s.name}: ${pts.length} points${pts.length ? `, last ${formatNumber(pts.at(-1)![1])}` : ''}`}</title>
            <polyline points={pts.map(([xv, yv]) => `${sx(xv).toFixed(1)},${sy(yv).toFixed(1)}`).join(' ')} fill="none" stroke={color} strokeWidth={1.5} />
            {pts.length === 1 && <circle cx={sx(pts[0]![0])} cy={sy(pts[0]![1])} r={2.5} fill={color} />}
            {legendH > 0 && (
              <text x={m.left + k * 90} y={10} fill={color} fontSize={FONT}>
                ● {s.name}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
});

/** The height a bars chart wants at a width: a row per bar, and the axis. */
export function barsHeight(count: number): number {
  return Math.max(1, count) * 18 + 22;
}
