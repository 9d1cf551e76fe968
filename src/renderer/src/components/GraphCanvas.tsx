import { Background, Controls, MiniMap, ReactFlow, type Edge, type NodeTypes } from '@xyflow/react';
import { useMemo } from 'react';
import { useStudio } from '../studio-context.tsx';
import { StudioNode, type StudioFlowNode } from './StudioNode.tsx';

const nodeTypes: NodeTypes = { studio: StudioNode };

/** The open graph, read-only: pan, zoom and select; no dragging or wiring yet. */
export function GraphCanvas() {
  const view = useStudio((s) => s.view);
  const path = useStudio((s) => s.selectedPath);
  const selectedNodeId = useStudio((s) => s.selectedNodeId);
  const selectNode = useStudio((s) => s.selectNode);
  const nodes = useMemo<StudioFlowNode[]>(
    () => (view?.nodes ?? []).map((n) => ({ ...n, selected: n.id === selectedNodeId })),
    [view, selectedNodeId],
  );
  const edges = useMemo<Edge[]>(() => view?.edges ?? [], [view]);
  if (!view) return null;
  return (
    <ReactFlow
      key={path ?? view.name}
      nodes={nodes}
      edges={edges}
      nodeTypes={nodeTypes}
      colorMode="dark"
      nodesDraggable={false}
      nodesConnectable={false}
      edgesFocusable={false}
      deleteKeyCode={null}
      onNodeClick={(_, node) => selectNode(node.id)}
      onPaneClick={() => selectNode(null)}
      fitView
      fitViewOptions={{ padding: 0.15 }}
      minZoom={0.1}
      proOptions={{ hideAttribution: true }}
    >
      <Background gap={24} />
      <Controls showInteractive={false} />
      <MiniMap pannable zoomable nodeColor={(n) => ((n.data as { missing?: boolean }).missing ? '#ef4444' : '#a3a3a3')} />
    </ReactFlow>
  );
}
