/**
 * A frame on the canvas: a titled box behind nodes. Drag it by its title bar (the nodes inside
 * move with it), resize it from its corners when selected, double-click the title to rename.
 */
import { NodeResizer, type NodeProps } from '@xyflow/react';
import { memo, useState } from 'react';
import type { FrameFlowNode } from '../editor/flow.ts';
import { useStudio } from '../studio-context.tsx';

const MIN = { width: 160, height: 80 };

function FrameView({ data, selected }: NodeProps<FrameFlowNode>) {
  const { frame } = data;
  const updateFrame = useStudio((s) => s.updateFrame);
  const [editing, setEditing] = useState(false);
  return (
    <div className={`h-full w-full rounded-lg border-2 ${selected ? 'border-amber-300/80' : 'border-sky-700/60'} bg-sky-900/15`} data-testid={`frame-${frame.id}`}>
      <NodeResizer
        isVisible={selected}
        minWidth={MIN.width}
        minHeight={MIN.height}
        onResizeEnd={(_, p) => updateFrame(frame.id, { x: p.x, y: p.y, width: p.width, height: p.height })}
      />
      <div className="frame-title flex cursor-move items-center rounded-t-md bg-sky-800/50 px-3 py-1" onDoubleClick={() => setEditing(true)}>
        {editing ? (
          <input
            autoFocus
            aria-label="Frame title"
            className="nodrag w-full rounded bg-neutral-950 px-1 text-sm text-neutral-100"
            defaultValue={frame.title}
            onBlur={(e) => {
              setEditing(false);
              if (e.target.value.trim()) updateFrame(frame.id, { title: e.target.value.trim() });
            }}
            onKeyDown={(e) => {
              if (e.key === 'Enter' || e.key === 'Escape') (e.target as HTMLInputElement).blur();
            }}
          />
        ) : (
          <span className="truncate text-sm font-semibold text-sky-100" data-testid="frame-title">
            {frame.title}
          </span>
        )}
      </div>
    </div>
  );
}

export const FrameNode = memo(FrameView);
