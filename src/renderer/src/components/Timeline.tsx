/**
 * The step timeline of a node's last run: a "Step" slider over the denoising steps its framed
 * previews belong to and, where a step has optimisation iterations, an "Iteration" slider
 * over them (both native range inputs, so arrows, Home/End and Page keys work). Below them,
 * the previews of that frame: per (kind, label) the one of the chosen iteration, else the
 * step's own (a preview framed without an iteration: the state after the step), else the
 * newest earlier iteration's. Until the user moves a slider it follows the newest frame.
 */
import { memo, useId, useMemo, useState } from 'react';
import type { Preview } from '../../../shared/events.ts';
import type { FramedPreview } from '../store.ts';
import { PreviewView } from './PreviewView.tsx';

const PICTURES: ReadonlySet<Preview['kind']> = new Set(['image', 'heatmap']);

interface StepIndex {
  steps: number;
  /** The steps that have frames, ascending. */
  list: number[];
  /** Per step: its iterations, ascending (empty: the step has only step-level previews). */
  iterations: Map<number, number[]>;
}

export function indexFrames(frames: readonly FramedPreview[]): StepIndex {
  const iterations = new Map<number, Set<number>>();
  let steps = 0;
  for (const { frame } of frames) {
    steps = Math.max(steps, frame.steps, frame.step + 1);
    const set = iterations.get(frame.step) ?? new Set<number>();
    if (frame.iteration !== undefined) set.add(frame.iteration);
    iterations.set(frame.step, set);
  }
  const list = [...iterations.keys()].sort((a, b) => a - b);
  return { steps, list, iterations: new Map(list.map((s) => [s, [...iterations.get(s)!].sort((a, b) => a - b)])) };
}

/** The previews to show at (step, iteration): see the header. */
export function previewsAt(frames: readonly FramedPreview[], step: number, iteration: number | undefined): Preview[] {
  const best = new Map<string, { rank: number; iteration: number; preview: Preview }>();
  for (const { frame, preview } of frames) {
    if (frame.step !== step) continue;
    const key = `${preview.kind}:${preview.label ?? ''}`;
    // Rank: 3 the chosen iteration, 2 the step's own, 1 an earlier iteration (the newest wins).
    const it = frame.iteration;
    const rank = it === undefined ? 2 : it === iteration ? 3 : iteration !== undefined && it < iteration ? 1 : 0;
    if (rank === 0) continue;
    const prev = best.get(key);
    if (!prev || rank > prev.rank || (rank === prev.rank && (it ?? 0) >= prev.iteration)) best.set(key, { rank, iteration: it ?? 0, preview });
  }
  return [...best.values()].map((b) => b.preview);
}

function Slider({ label, value, max, text, onChange }: { label: string; value: number; max: number; text: string; onChange(v: number): void }) {
  const id = useId();
  return (
    <div className="flex items-center gap-2 text-[11px]">
      <label htmlFor={id} className="w-14 shrink-0 text-neutral-400">
        {label}
      </label>
      <input
        id={id}
        type="range"
        className="min-w-0 flex-1 accent-amber-400"
        aria-label={label}
        aria-valuetext={text}
        min={0}
        max={max}
        step={1}
        value={value}
        disabled={max === 0}
        onChange={(e) => onChange(Number(e.target.value))}
      />
      <output htmlFor={id} className="w-16 shrink-0 text-right font-mono text-neutral-200">
        {text.replace(/^\w+ /, '')}
      </output>
    </div>
  );
}

export const Timeline = memo(function Timeline({ frames }: { frames: readonly FramedPreview[] }) {
  const index = useMemo(() => indexFrames(frames), [frames]);
  // null: follow the newest step / the step's newest iteration.
  const [stepPick, setStepPick] = useState<number | null>(null);
  const [iterPick, setIterPick] = useState<number | null>(null);
  const stepAt = Math.min(stepPick ?? index.list.length - 1, index.list.length - 1);
  const step = index.list[stepAt] ?? 0;
  const iterations = index.iterations.get(step) ?? [];
  const iterAt = Math.min(iterPick ?? iterations.length - 1, iterations.length - 1);
  const iteration = iterations[iterAt];
  const shown = useMemo(() => previewsAt(frames, step, iteration), [frames, step, iteration]);
  return (
    <section className="mt-1 space-y-1 rounded border border-neutral-800 p-2" aria-label="Step timeline" data-testid="timeline" data-step={step} data-iteration={iteration ?? ''}>
      <Slider label="Step" value={stepAt} max={index.list.length - 1} text={`step ${step + 1} of ${index.steps}`} onChange={setStepPick} />
      {iterations.length > 0 && (
        <Slider label="Iteration" value={iterAt} max={iterations.length - 1} text={`iteration ${iteration! + 1} of ${iterations.length}`} onChange={setIterPick} />
      )}
      <div className="space-y-2" data-testid="timeline-previews">
        {shown
          .filter((p) => !PICTURES.has(p.kind))
          .map((p) => (
            <PreviewView key={`${p.kind}:${p.label ?? ''}`} preview={p} />
          ))}
        {/* Attention maps and x0 images side by side: a step has one per steered token. */}
        <div className="grid grid-cols-2 gap-2">
          {shown
            .filter((p) => PICTURES.has(p.kind))
            .map((p) => (
              <PreviewView key={`${p.kind}:${p.label ?? ''}`} preview={p} />
            ))}
        </div>
      </div>
    </section>
  );
});
