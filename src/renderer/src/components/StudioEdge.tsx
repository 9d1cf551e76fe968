/**
 * A link, drawn through its reroute points (meta.reroutes): double-click the link to add a
 * bend there, drag a bend to move it (one undo step), double-click a bend to remove it.
 */
import { BaseEdge, getBezierPath, useReactFlow, type EdgeProps } from '@xyflow/react';
import { memo, useRef, type PointerEvent as ReactPointerEvent } from 'react';
import type { StudioFlowEdge } from '../editor/flow.ts';
import { useStudio } from '../studio-context.tsx';

type Point = { x: number; y: number };

/** Curves between consecutive points that leave and enter each one horizontally, like a plain link. */
export function reroutedPath(points: Point[]): string {
  let d = `M ${points[0]!.x},${points[0]!.y}`;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    const dx = Math.max(30, Math.abs(b.x - a.x) / 2);
    d += ` C ${a.x + dx},${a.y} ${b.x - dx},${b.y} ${b.x},${b.y}`;
  }
  return d;
}

const NO_POINTS: Point[] = [];
let dragSerial = 0;

function StudioEdgeView({ id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, style, selected }: EdgeProps<StudioFlowEdge>) {
  const points = useStudio((s) => {
    const all = s.doc?.meta.reroutes as Record<string, Point[]> | undefined;
    const list = all && typeof all === 'object' ? all[id] : undefined;
    return Array.isArray(list) ? list : NO_POINTS;
  });
  const addReroute = useStudio((s) => s.addReroute);
  const moveReroute = useStudio((s) => s.moveReroute);
  const removeReroute = useStudio((s) => s.removeReroute);
  const { screenToFlowPosition } = useReactFlow();
  const dragging = useRef<{ index: number; group: string } | null>(null);
  const path =
    points.length === 0
      ? getBezierPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition })[0]
      : reroutedPath([{ x: sourceX, y: sourceY }, ...points, { x: targetX, y: targetY }]);
  const onDown = (e: ReactPointerEvent<SVGCircleElement>, index: number) => {
    e.stopPropagation();
    e.currentTarget.setPointerCapture(e.pointerId);
    dragging.current = { index, group: `reroute:${++dragSerial}` };
  };
  const onMove = (e: ReactPointerEvent<SVGCircleElement>) => {
    const d = dragging.current;
    if (d) moveReroute(id, d.index, screenToFlowPosition({ x: e.clientX, y: e.clientY }), d.group);
  };
  const onUp = (e: ReactPointerEvent<SVGCircleElement>) => {
    dragging.current = null;
    e.currentTarget.releasePointerCapture(e.pointerId);
  };
  return (
    <g
      onDoubleClick={(e) => {
        window.getSelection()?.removeAllRanges();
        addReroute(id, screenToFlowPosition({ x: e.clientX, y: e.clientY }), { from: { x: sourceX, y: sourceY }, to: { x: targetX, y: targetY } });
      }}
    >
      <BaseEdge id={id} path={path} style={style} interactionWidth={16} />
      {points.map((p, i) => (
        <circle
          key={i}
          cx={p.x}
          cy={p.y}
          r={selected ? 6 : 5}
          className="nodrag nopan cursor-move"
          style={{ fill: (style?.stroke as string | undefined) ?? '#9ca3af', stroke: '#171717', strokeWidth: 2, pointerEvents: 'all' }}
          data-testid="reroute"
          onPointerDown={(e) => onDown(e, i)}
          onPointerMove={onMove}
          onPointerUp={onUp}
          onDoubleClick={(e) => {
            e.stopPropagation();
            window.getSelection()?.removeAllRanges();
            removeReroute(id, i);
          }}
        />
      ))}
    </g>
  );
}

export const StudioEdge = memo(StudioEdgeView);
