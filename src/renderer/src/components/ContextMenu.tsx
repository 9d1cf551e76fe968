/**
 * A small context menu at the pointer: rendered into <body> (inside the canvas a transformed
 * ancestor would move a fixed box), focus on the first item, Escape or a click elsewhere
 * closes it and focus goes back where it was. Items are buttons with role menuitem.
 */
import { useEffect, useRef } from 'react';
import { createPortal } from 'react-dom';

export interface MenuItem {
  label: string;
  run(): void;
}

export function ContextMenu({ at, label, items, onClose }: { at: { x: number; y: number }; label: string; items: MenuItem[]; onClose(): void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // Focus comes back where it was when the menu closes (when that is still on the page).
    const before = document.activeElement as HTMLElement | null;
    ref.current?.querySelector('button')?.focus();
    const away = (e: PointerEvent) => {
      if (!ref.current?.contains(e.target as Node)) onClose();
    };
    window.addEventListener('pointerdown', away, true);
    return () => {
      window.removeEventListener('pointerdown', away, true);
      if (before?.isConnected) before.focus();
    };
  }, [onClose]);
  return createPortal(
    <div
      ref={ref}
      role="menu"
      aria-label={label}
      className="fixed z-50 min-w-40 rounded border border-neutral-600 bg-neutral-900 py-1 text-xs text-neutral-100 shadow-xl"
      style={{ left: at.x, top: at.y }}
      onKeyDown={(e) => {
        if (e.key === 'Escape') onClose();
      }}
    >
      {items.map((item) => (
        <button
          key={item.label}
          type="button"
          role="menuitem"
          className="block w-full px-3 py-1 text-left hover:bg-neutral-700 focus:bg-neutral-700 focus:outline-none"
          onClick={() => {
            item.run();
            onClose();
          }}
        >
          {item.label}
        </button>
      ))}
    </div>,
    document.body,
  );
}
