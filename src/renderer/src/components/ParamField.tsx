/**
 * One param widget, chosen from the catalogue's ParamUi (kind + widget): number (with a
 * slider when the range is small enough to drag through), seed (with "randomize"), enum,
 * boolean, text, text area, path, JSON. Every control is labelled by the param's label, so
 * its accessible name is that label. Values that do not fit the schema are shown as invalid
 * and not written into the graph.
 */
import { memo, useEffect, useState } from 'react';
import type { ParamUi } from '../../../shared/catalogue.ts';
import { useStudio } from '../studio-context.tsx';

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

/**
 * Browse the engine's folders for a path param (browser mode has no file dialogs): folders
 * open on click, a file is picked on click, "Use this folder" picks the folder shown.
 */
function PathPicker({ start, onPick, onClose }: { start: string; onPick(path: string): void; onClose(): void }) {
  const listFiles = useStudio((s) => s.listFiles);
  const [dir, setDir] = useState<string | null>(null);
  const [entries, setEntries] = useState<{ name: string; kind: 'file' | 'dir' }[]>([]);
  const [error, setError] = useState<string | undefined>();
  const open = (d: string, fallback?: string) => {
    listFiles(d).then(
      (r) => {
        setDir(r.dir);
        setEntries(r.entries);
        setError(undefined);
      },
      (err: unknown) => (fallback !== undefined ? open(fallback) : setError(err instanceof Error ? err.message : String(err))),
    );
  };
  // Once, where the current value points (or at the top when that is not a folder).
  const [first] = useState(start);
  useEffect(() => open(first, ''), [first]);
  const join = (name: string) => (dir ? `${dir}/${name}` : name);
  return (
    <div className="nodrag nowheel absolute z-20 mt-1 w-full rounded border border-neutral-600 bg-neutral-950 p-1 text-[11px] shadow-xl" role="dialog" aria-label="Pick a path">
      <div className="flex items-center justify-between gap-1 border-b border-neutral-800 pb-1">
        <span className="truncate font-mono text-neutral-400">{dir === null ? '…' : `./${dir}`}</span>
        <button type="button" className="text-neutral-400 hover:text-neutral-100" aria-label="Close" onClick={onClose}>
          ✕
        </button>
      </div>
      {error && <p className="text-red-300">{error}</p>}
      <ul className="max-h-40 overflow-auto">
        {dir && (
          <li>
            <button type="button" className="w-full text-left text-neutral-300 hover:bg-neutral-800" onClick={() => open(dir.split('/').slice(0, -1).join('/'))}>
              ..
            </button>
          </li>
        )}
        {entries.map((e) => (
          <li key={e.name}>
            <button
              type="button"
              className={`w-full truncate text-left hover:bg-neutral-800 ${e.kind === 'dir' ? 'text-sky-300' : 'text-neutral-200'}`}
              onClick={() => (e.kind === 'dir' ? open(join(e.name)) : onPick(join(e.name)))}
            >
              {e.kind === 'dir' ? `${e.name}/` : e.name}
            </button>
          </li>
        ))}
      </ul>
      {dir !== null && dir !== '' && (
        <button type="button" className="mt-1 w-full rounded bg-amber-700 px-1 py-0.5 text-white" onClick={() => onPick(dir)}>
          Use this folder
        </button>
      )}
    </div>
  );
}

function PathField({ nodeId, paramKey, ui, value, onChange }: Props) {
  const [picking, setPicking] = useState(false);
  const text = String(value ?? '');
  return (
    <div className="relative">
      <div className="flex items-center gap-1">
        <input type="text" className={INPUT} aria-label={ui.label} value={text} placeholder="a path in the project folder" onChange={(e) => onChange(nodeId, paramKey, e.target.value)} />
        <button
          type="button"
          className="nodrag rounded border border-neutral-700 px-1 text-[11px] text-neutral-300 hover:border-amber-400"
          aria-label={`Browse ${ui.label}`}
          onClick={() => setPicking((p) => !p)}
        >
          …
        </button>
      </div>
      {picking && (
        <PathPicker
          start={text.replace(/\/[^/]*$/, '')}
          onClose={() => setPicking(false)}
          onPick={(p) => {
            onChange(nodeId, paramKey, p);
            setPicking(false);
          }}
        />
      )}
    </div>
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
    case 'path':
      return <PathField {...props} />;
    default:
      return ui.widget === 'textarea' ? (
        <textarea className={`${INPUT} nowheel`} rows={3} aria-label={ui.label} value={String(value ?? '')} onChange={(e) => set(e.target.value)} />
      ) : (
        <input type="text" className={INPUT} aria-label={ui.label} value={String(value ?? '')} onChange={(e) => set(e.target.value)} />
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
