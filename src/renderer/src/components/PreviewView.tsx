/**
 * One preview, as the side panel draws it (with its label) and as a node draws it (the body
 * only, at the size the node's resizable preview has): images, heatmaps, bars, curves, tables,
 * text and JSON.
 */
import { useEffect, useRef } from 'react';
import type { Preview } from '../../../shared/events.ts';
import { BarsChart, barsHeight, CurveChart } from './Charts.tsx';

/** Width of a chart in the side panel (w-96 less its padding and the figure's). */
export const PANEL_CHART_WIDTH = 330;
const PANEL_CURVE_HEIGHT = 180;

/** A heatmap on a canvas, one pixel per value, low to high from dark blue through red to yellow; `fit` keeps it inside its box. */
export function Heatmap({ width, height, values, fit }: { width: number; height: number; values: number[]; fit?: boolean }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx || width <= 0 || height <= 0) return;
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of values) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const span = hi > lo ? hi - lo : 1;
    const img = ctx.createImageData(width, height);
    for (let i = 0; i < width * height; i++) {
      const t = ((values[i] ?? lo) - lo) / span;
      img.data[i * 4] = Math.round(255 * Math.min(1, t * 2));
      img.data[i * 4 + 1] = Math.round(255 * Math.max(0, t * 2 - 1));
      img.data[i * 4 + 2] = Math.round(80 * (1 - t));
      img.data[i * 4 + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }, [width, height, values]);
  return (
    <canvas ref={ref} width={width} height={height} className={`${fit ? 'max-h-full max-w-full object-contain' : 'w-full'} [image-rendering:pixelated]`} style={fit ? { height: '100%' } : undefined} />
  );
}

export function PreviewView({ preview }: { preview: Preview }) {
  return (
    <figure className="rounded border border-neutral-800 bg-neutral-900 p-2" data-testid={`preview-${preview.kind}`}>
      {preview.label && <figcaption className="mb-1 text-[11px] text-neutral-400">{preview.label}</figcaption>}
      {preview.kind === 'text' && <pre className="max-h-64 overflow-auto whitespace-pre-wrap text-xs text-neutral-200">{preview.text}</pre>}
      {preview.kind === 'json' && (
        <pre className="max-h-64 overflow-auto text-xs text-neutral-200">{JSON.stringify(preview.value, null, 2)}</pre>
      )}
      {preview.kind === 'table' && (
        <div className="max-h-64 overflow-auto">
          <table className="w-full border-collapse text-xs">
            <thead>
              <tr>
                {preview.columns.map((c, i) => (
                  <th key={i} className="border-b border-neutral-700 px-1 text-left font-semibold text-neutral-300">
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {preview.rows.map((row, r) => (
                <tr key={r}>
                  {row.map((cell, c) => (
                    <td key={c} className="border-b border-neutral-800 px-1 font-mono text-neutral-200">
                      {cell === null ? '—' : String(cell)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {preview.kind === 'image' && (
        <img
          alt={preview.label ?? 'preview'}
          width={preview.width}
          height={preview.height}
          className="h-auto w-full"
          src={`data:image/png;base64,${preview.pngBase64}`}
        />
      )}
      {preview.kind === 'heatmap' && <Heatmap width={preview.width} height={preview.height} values={preview.values} />}
      {preview.kind === 'bars' && <BarsChart preview={preview} size={{ width: PANEL_CHART_WIDTH, height: barsHeight(preview.values.length) }} />}
      {preview.kind === 'curve' && <CurveChart preview={preview} size={{ width: PANEL_CHART_WIDTH, height: PANEL_CURVE_HEIGHT }} />}
    </figure>
  );
}
