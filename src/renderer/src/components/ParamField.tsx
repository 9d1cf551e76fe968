/**
 * One param widget, chosen from the catalogue's ParamUi (kind + widget): number (with a
 * slider when the range is small enough to drag through), seed (with "randomize"), enum,
 * boolean, text, text area, path, JSON. Every control is labelled by the param's label, so
 * its accessible name is that label. Values that do not fit the schema are shown as invalid
 * and not written into the graph.
 */
import { memo, useEffect, useState } from 'react';
import type { ParamUi } from '../../../shared/catalogue.ts';

interface Props {
  nodeId: string;
  paramKey: string;
  ui: ParamUi;
  value: unknown;
  onChange(nodeId: string, key: string, value: unknown): void;
}

const INPUT = 'nodrag w-full rounded border border-neutral-700 bg-neutral-950 px-1.5 py-0.5 text-[11px] text-neutral-100 focus:border-amber-400 focus:outline-none aria-[invalid=true]:border-red-500';
const SLIDER_MAX_SPAN = 10_000;
const SEED_MAX = 2 ** 32 - 1;

/** The number a text means for a param, or a sentence saying why it is not one. */
export function parseNumber(text: string, ui: ParamUi): { ok: true; value: number } | { ok: false; reason: string } {
  const t = text.trim();
  if (t === '') return { ok: false, reason: 'a number is required' };
  const v = Number(t);
  if (!Number.isFinite(v)) return { ok: false, reason: `"${t}" is not a number` };
  if ((ui.kind === 'int' || ui.kind === 'seed') && !Number.isInteger(v)) return { ok: false, reason: 'a whole number is required' };
  if (ui.min !== undefined && v < ui.min) return { ok: false, reason: `at least ${ui.min}` };
  if (ui.max !== undefined && v > ui.max) return { ok: false, reason: `at most ${ui.max}` };
  return { ok: true, value: v };
}

function NumberField({ nodeId, paramKey, ui, value, onChange }: Props) {
  const [text, setText] = useState(String(value ?? ''));
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    setText(String(value ?? ''));
    setError(undefined);
  }, [value]);
  const commit = (t: string) => {
    setText(t);
    const r = parseNumber(t, ui);
    setError(r.ok ? undefined : r.reason);
    if (r.ok && r.value !== value) onChange(nodeId, paramKey, r.value);
  };
  const isSeed = ui.kind === 'seed';
  const span = ui.min !== undefined && ui.max !== undefined ? ui.max - ui.min : Infinity;
  const step = ui.step ?? (ui.kind === 'float' ? (span <= 10 ? 0.01 : 0.1) : 1);
  return (
    <>
      <div className="flex items-center gap-1">
        <input
          type="number"
          className={INPUT}
          aria-label={ui.label}
          aria-invalid={error ? 'true' : 'false'}
          value={text}
          min={ui.min}
          max={ui.max}
          step={step}
          onChange={(e) => commit(e.target.value)}
        />
        {isSeed && (
          <button
            type="button"
            className="nodrag rounded border border-neutral-700 px-1 text-[11px] text-neutral-300 hover:border-amber-400"
            aria-label={`Randomize ${ui.label}`}
            title="Pick a new random seed (the seed used is the one shown)"
            onClick={() => {
              const lo = ui.min ?? 0;
              const hi = Math.min(ui.max ?? SEED_MAX, SEED_MAX);
              commit(String(lo + Math.floor(Math.random() * (hi - lo + 1))));
            }}
          >
            ⚄
          </button>
        )}
      </div>
      {!isSeed && span <= SLIDER_MAX_SPAN && (
        <input
          type="range"
          className="nodrag w-full accent-amber-400"
          aria-label={`${ui.label} slider`}
          min={ui.min}
          max={ui.max}
          step={step}
          value={typeof value === 'number' ? value : (ui.min ?? 0)}
          onChange={(e) => commit(e.target.value)}
        />
      )}
      {error && <span className="text-[10px] text-red-300">{error}</span>}
    </>
  );
}

function JsonField({ nodeId, paramKey, ui, value, onChange }: Props) {
  const [text, setText] = useState(() => JSON.stringify(value, null, 1));
  const [error, setError] = useState<string | undefined>();
  useEffect(() => setText(JSON.stringify(value, null, 1)), [value]);
  return (
    <>
      <textarea
        className={`${INPUT} nowheel font-mono`}
        rows={3}
        aria-label={ui.label}
        aria-invalid={error ? 'true' : 'false'}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onBlur={() => {
          try {
            onChange(nodeId, paramKey, JSON.parse(text));
            setError(undefined);
          } catch (err) {
            setError(`not JSON: ${(err as Error).message}`);
          }
        }}
      />
      {error && <span className="text-[10px] text-red-300">{error}</span>}
    </>
  );
}

function Control(props: Props) {
  const { nodeId, paramKey, ui, value, onChange } = props;
  const set = (v: unknown) => onChange(nodeId, paramKey, v);
  switch (ui.kind) {
    case 'int':
    case 'float':
    case 'seed':
      return <NumberField {...props} />;
    case 'boolean':
      return <input type="checkbox" className="nodrag accent-amber-400" aria-label={ui.label} checked={value === true} onChange={(e) => set(e.target.checked)} />;
    case 'enum':
      return (
        <select className={INPUT} aria-label={ui.label} value={String(value)} onChange={(e) => set(e.target.value)}>
          {(ui.choices ?? []).map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      );
    case 'json':
      return <JsonField {...props} />;
    default:
      return ui.widget === 'textarea' ? (
        <textarea className={`${INPUT} nowheel`} rows={3} aria-label={ui.label} value={String(value ?? '')} onChange={(e) => set(e.target.value)} />
      ) : (
        <input type="text" className={INPUT} aria-label={ui.label} value={String(value ?? '')} placeholder={ui.kind === 'path' ? 'path (inside the server folders)' : undefined} onChange={(e) => set(e.target.value)} />
      );
  }
}

function ParamFieldView(props: Props) {
  const inline = props.ui.kind === 'boolean';
  return (
    <div className={`px-3 py-0.5 ${inline ? 'flex items-center justify-between gap-2' : 'flex flex-col gap-0.5'}`} data-testid={`param-${props.paramKey}`}>
      <span className="text-[11px] text-neutral-400" title={props.ui.description}>
        {props.ui.label}
      </span>
      <Control {...props} />
    </div>
  );
}

export const ParamField = memo(ParamFieldView);
