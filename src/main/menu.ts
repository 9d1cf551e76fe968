/**
 * The native application menu as a plain template (no Electron at run time here, so it is
 * unit-tested as data): File (New, Open…, Open Recent, Save, Save As…, Quit), Edit (Undo,
 * Redo, Cut, Copy, Paste), View (Fit, full screen, dev tools when not packaged), Help
 * (Keyboard Shortcuts). Items the page acts on send a MenuCommand; Cut, Copy and Paste are
 * native roles, which fire the page's clipboard events (the page copies graph JSON there).
 *
 * Keys the page handles itself (Ctrl+S, Ctrl+Z, F, ...) are shown but not registered
 * (`registerAccelerator: false`), so on Linux and Windows one key press is one action; on
 * macOS the menu takes the key and sends the command instead (bare keys are not shown there).
 */
import type { MenuItemConstructorOptions } from 'electron';
import type { MenuCommand } from '../shared/protocol.ts';

export interface MenuOptions {
  platform: NodeJS.Platform;
  /** Graph paths, newest first. */
  recent: readonly string[];
  /** Dev tools and reload in the View menu. */
  dev: boolean;
  send(command: MenuCommand): void;
}

export function menuTemplate(o: MenuOptions): MenuItemConstructorOptions[] {
  const mac = o.platform === 'darwin';
  // macOS registers every accelerator it shows: a bare key there ("F", "?") would be taken from
  // text fields too, so those are left to the page.
  const shown = (accelerator?: string) => accelerator && !(mac && !accelerator.includes('+'));
  const item = (label: string, cmd: MenuCommand, accelerator?: string, pageHandlesKey = false): MenuItemConstructorOptions => ({
    label,
    ...(shown(accelerator) ? { accelerator, registerAccelerator: !pageHandlesKey } : {}),
    click: () => o.send(cmd),
  });
  const recent: MenuItemConstructorOptions[] =
    o.recent.length > 0 ? o.recent.map((path) => item(path, { type: 'openRecent', path })) : [{ label: 'No recent files', enabled: false }];
  const file: MenuItemConstructorOptions = {
    label: 'File',
    submenu: [
      item('New', { type: 'new' }, 'CmdOrCtrl+N'),
      item('Open…', { type: 'open' }, 'CmdOrCtrl+O'),
      { label: 'Open Recent', submenu: recent },
      { type: 'separator' },
      item('Save', { type: 'save' }, 'CmdOrCtrl+S', true),
      item('Save As…', { type: 'saveAs' }, 'CmdOrCtrl+Shift+S', true),
      ...(mac ? [] : [{ type: 'separator' } as const, { role: 'quit' } as const]),
    ],
  };
  const edit: MenuItemConstructorOptions = {
    label: 'Edit',
    submenu: [
      item('Undo', { type: 'undo' }, 'CmdOrCtrl+Z', true),
      item('Redo', { type: 'redo' }, mac ? 'Cmd+Shift+Z' : 'Ctrl+Y', true),
      { type: 'separator' },
      { role: 'cut' },
      { role: 'copy' },
      { role: 'paste' },
    ],
  };
  const view: MenuItemConstructorOptions = {
    label: 'View',
    submenu: [
      item('Fit Graph to View', { type: 'fit' }, 'F', true),
      { type: 'separator' },
      { role: 'togglefullscreen' },
      ...(o.dev ? [{ type: 'separator' } as const, { role: 'reload' } as const, { role: 'toggleDevTools' } as const] : []),
    ],
  };
  const help: MenuItemConstructorOptions = {
    role: 'help',
    submenu: [item('Keyboard Shortcuts', { type: 'help' }, '?', true), ...(mac ? [] : [{ role: 'about' } as const])],
  };
  return [...(mac ? [{ role: 'appMenu' } as const] : []), file, edit, view, help];
}
