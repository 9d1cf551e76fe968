/** The help sheet (every shortcut) and the "Save as" dialog (a file name in the graphs folder). */
import { useState } from 'react';
import { useStudio } from '../studio-context.tsx';
import { SHORTCUTS } from './Shortcuts.tsx';

function Modal({ label, onClose, children }: { label: string; onClose(): void; children: React.ReactNode }) {
  return (
    <div className="fixed inset-0 z-50 flex items-center justify-center bg-black/60" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div role="dialog" aria-modal="true" aria-label={label} className="max-h-[85vh] w-[34rem] overflow-auto rounded-lg border border-neutral-700 bg-neutral-900 p-4 shadow-2xl">
        {children}
      </div>
    </div>
  );
}

export function HelpSheet() {
  const open = useStudio((s) => s.helpOpen);
  const setHelp = useStudio((s) => s.setHelp);
  if (!open) return null;
  return (
    <Modal label="Keyboard shortcuts" onClose={() => setHelp(false)}>
      <h2 className="mb-2 text-sm font-semibold text-amber-300">Keyboard shortcuts</h2>
      <table className="w-full text-xs">
        <tbody>
          {SHORTCUTS.map(([keys, what]) => (
            <tr key={keys} className="border-b border-neutral-800">
              <td className="py-1 pr-3 font-mono whitespace-nowrap text-neutral-100">{keys}</td>
              <td className="py-1 text-neutral-300">{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="mt-2 text-[11px] text-neutral-500">On macOS, Cmd works wherever Ctrl is written.</p>
    </Modal>
  );
}

export function SaveAsDialog() {
  const open = useStudio((s) => s.saveAsOpen);
  const current = useStudio((s) => s.selectedPath ?? `${(s.doc?.meta.name ?? 'untitled').replace(/[^\w .-]/g, '_')}.json`);
  const setSaveAs = useStudio((s) => s.setSaveAs);
  const saveAs = useStudio((s) => s.saveAs);
  const fileError = useStudio((s) => s.fileError);
  const [name, setName] = useState<string | null>(null);
  if (!open) return null;
  const value = name ?? current;
  return (
    <Modal
      label="Save as"
      onClose={() => {
        setSaveAs(false);
        setName(null);
      }}
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void saveAs(value).then((ok) => ok && setName(null));
        }}
      >
        <h2 className="mb-2 text-sm font-semibold text-amber-300">Save as</h2>
        <label className="flex flex-col gap-1 text-xs text-neutral-300">
          File name (in the graphs folder)
          <input autoFocus className="rounded border border-neutral-700 bg-neutral-950 px-2 py-1 text-sm text-neutral-100" value={value} onChange={(e) => setName(e.target.value)} />
        </label>
        {fileError && (
          <p role="alert" className="mt-2 text-xs text-red-300">
            {fileError.message}
          </p>
        )}
        <div className="mt-3 flex justify-end gap-2">
          {fileError?.conflict && (
            <button type="button" className="rounded bg-red-700 px-3 py-1 text-xs text-white" onClick={() => void saveAs(value, true).then((ok) => ok && setName(null))}>
              Overwrite
            </button>
          )}
          <button type="submit" className="rounded bg-emerald-700 px-3 py-1 text-xs text-white">
            Save
          </button>
        </div>
      </form>
    </Modal>
  );
}
