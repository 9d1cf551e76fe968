/**
 * Events the executor emits while running a graph. The same objects travel over every
 * transport (in-process, MessagePort, WebSocket, `steer run --json` as JSON lines).
 */
export type Preview =
  | { kind: 'image'; width: number; height: number; /** PNG bytes, base64 */ pngBase64: string; label?: string }
  | { kind: 'heatmap'; width: number; height: number; values: number[]; label?: string }
  | { kind: 'table'; columns: string[]; rows: (string | number | boolean | null)[][]; label?: string }
  | { kind: 'text'; text: string; label?: string }
  | { kind: 'json'; value: unknown; label?: string };

export interface ErrorInfo {
  message: string;
  /** Messages of the causes, outermost first. */
  causes: string[];
  /** Op name, file, JSON path... when the thrower knew it. */
  details?: Record<string, unknown>;
}

export type EngineEvent =
  | { type: 'run.started'; runId: string; nodes: string[]; time: number }
  | { type: 'node.started'; runId: string; nodeId: string; nodeType: string }
  | { type: 'node.progress'; runId: string; nodeId: string; value: number; max: number; message?: string }
  | { type: 'node.preview'; runId: string; nodeId: string; preview: Preview }
  | { type: 'node.log'; runId: string; nodeId: string; level: 'info' | 'warn' | 'error'; message: string }
  | { type: 'node.cached'; runId: string; nodeId: string }
  | { type: 'node.finished'; runId: string; nodeId: string; durationMs: number; outputs: Record<string, OutputSummary> }
  | { type: 'node.failed'; runId: string; nodeId: string; error: ErrorInfo }
  | { type: 'run.finished'; runId: string; durationMs: number; executed: number; cached: number }
  | { type: 'run.failed'; runId: string; durationMs: number; nodeId?: string; error: ErrorInfo }
  | { type: 'run.cancelled'; runId: string; durationMs: number };

/** A short, serialisable description of an output value (values themselves stay in the engine). */
export interface OutputSummary {
  type: string;
  summary: string;
}
