/**
 * The preview drawn on a node: its newest image, heatmap, bars or curve, at a size the user
 * sets by dragging the bottom-right corner (the node is as wide as its preview). While the
 * corner is dragged the size is local state; on release it is written into the document's
 * `meta.nodeUi` as one undo step, so it is saved with the graph.
 */
import { useStoreApi } from '@xyflow/react';
import { useRef, type PointerEvent as ReactPointerEvent } from 'react';
import type { Preview } from '../../../shared/events.ts';
import { clampPreview } from '../editor/doc.ts';
import { BarsChart, barsHeight, CurveChart } from './Charts.tsx';
import { Heatmap } from './PreviewView.tsx';

export type Size = { width: number; height: number };

/** The kinds a node draws on the canvas (the others are for the side panel). */
export const NODE_PREVIEW_KINDS: ReadonlySet<Preview['kind']> = new Set(['image', 'heatmap', 'bars', 'curve']);
export const NODE_WIDTH = 260;

/** The size a preview starts at before the user resizes it: the node's width, the height its content asks for. */
export function defaultPreviewSize(p: Preview, width = NODE_WIDTH): Size {
  if (p.kind === 'image' || p.kind === 'heatmap') return { width, height: clampPreview(p.width > 0 ? (width * p.height) / p.width : width, 'height') };
  if (p.kind === 'bars') return { width, height: clampPreview(barsHeight(p.values.length), 'height') };
  return { width, height: 150 };
}

interface Props {
  preview: Preview;
  size: Size;
  title: string;
  /** Called with the size under the pointer while the corner is dragged, then `done` on release. */
  onResize(size: Size, done: boolean): void;
}

export function NodePreview({ preview, size, title, onResize }: Props) {
  const flow = useStoreApi();
  const drag = useRef<{ x: number; y: number; size: Size; zoom: number } | null>(null);
  const sizeAt = (e: ReactPointerEvent): Size => {
    const d = drag.current!;
    return { width: clampPreview(d.size.width + (e.clientX - d.x) / d.zoom, 'width'), height: clampPreview(d.size.height + (e.clientY - d.y) / d.zoom, 'height') };
  };
  return (
    <div className="relative rounded-b-md border-t border-neutral-800" data-testid="node-preview-box" data-kind={preview.kind} style={{ width: size.width, height: size.height }}>
      {preview.kind === 'image' && (
        <img
          className="block h-full w-full rounded-b-md object-contain [image-rendering:pixelated]"
          alt={`preview of ${title}`}
          data-testid="node-preview"
          width={preview.width}
          height={preview.height}
          src={`data:image/png;base64,${preview.pngBase64}`}
        />
      )}
      {preview.kind === 'heatmap' && (
        <div className="flex h-full items-center justify-center" data-testid="node-preview">
          <Heatmap width={preview.width} height={preview.height} values={preview.values} fit />
        </div>
      )}
      {preview.kind === 'bars' && <BarsChart preview={preview} size={size} />}
      {preview.kind === 'curve' && <CurveChart preview={preview} size={size} />}
      <div
        role="separator"
        aria-label="Resize preview"
        title="Drag to resize the preview"
        data-testid="preview-resize"
        className="nodrag absolute right-0 bottom-0 h-3.5 w-3.5 cursor-nwse-resize rounded-br-md bg-[linear-gradient(135deg,transparent_50%,#a3a3a3_50%)] opacity-70 hover:opacity-100"
        onPointerDown={(e) => {
          e.stopPropagation();
          e.currentTarget.setPointerCapture(e.pointerId);
          drag.current = { x: e.clientX, y: e.clientY, size, zoom: flow.getState().transform[2] || 1 };
        }}
        onPointerMove={(e) => {
          if (drag.current) onResize(sizeAt(e), false);
        }}
        onPointerUp={(e) => {
          if (!drag.current) return;
          const s = sizeAt(e);
          drag.current = null;
          onResize(s, true);
        }}
        onPointerCancel={() => {
          if (drag.current) onResize(drag.current.size, true);
          drag.current = null;
        }}
      />
    </div>
  );
}
