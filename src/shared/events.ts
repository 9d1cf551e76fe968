/**
 * Events the executor emits while running a graph. The same objects travel over every
 * transport (in-process, MessagePort, WebSocket, `steer run --json` as JSON lines).
 */
export type Preview =
  | { kind: 'image'; width: number; height: number; /** PNG bytes, base64 */ pngBase64: string; label?: string }
  | { kind: 'heatmap'; width: number; height: number; values: number[]; label?: string }
  | { kind: 'table'; columns: string[]; rows: (string | number | boolean | null)[][]; label?: string }
  | { kind: 'text'; text: string; label?: string }
  | { kind: 'json'; value: unknown; label?: string }
  /** Bars, e.g. a classifier's class probabilities; `highlight` marks the wanted class. */
  | { kind: 'bars'; labels: string[]; values: number[]; highlight?: number; max?: number; label?: string }
  /** Line plot, e.g. a loss per optimisation iteration; `log`: log-scaled y. */
  | { kind: 'curve'; xLabel: string; yLabel: string; series: { name: string; x: number[]; y: number[] }[]; log?: boolean; label?: string };

/**
 * Where in a node's run a preview belongs, for the editor's step timeline: denoising step
 * `step` (0-based, of `steps`), optimisation iteration `iteration` inside it (absent: the state
 * after that step). A preview without a frame is the node's current preview (the newest with
 * the same label replaces the older); framed previews of the last run are kept for scrubbing.
 */
export interface PreviewFrame {
  step: number;
  steps: number;
  iteration?: number;
}

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
  | { type: 'node.preview'; runId: string; nodeId: string; preview: Preview; frame?: PreviewFrame }
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
