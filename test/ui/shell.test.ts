/**
 * The Electron shell as plain functions (the window cannot open here): the native menu's
 * template, the checks on every IPC message (protocol.ts), and what the file dialogs do with
 * the picked path, on real folders (src/main/shell-files.ts).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { MenuItemConstructorOptions } from 'electron';
import { afterAll, describe, expect, it } from 'vitest';
import { menuTemplate } from '../../src/main/menu.ts';
import { graphPathOf, isTrustedSender, PickedFileError, readPicked, savePicked } from '../../src/main/shell-files.ts';
import { checkMenuCommand, checkRecent, checkSaveRequest, isGraphPath, MAX_RECENT, type MenuCommand } from '../../src/shared/protocol.ts';
import { tempDir } from './helpers.ts';

const tmp = tempDir('shell');
afterAll(() => tmp.cleanup());

type Item = MenuItemConstructorOptions;
const sub = (item: Item | undefined): Item[] => (Array.isArray(item?.submenu) ? (item.submenu as Item[]) : []);
const named = (items: Item[], label: string) => items.find((i) => i.label === label);

function build(platform: NodeJS.Platform, recent: string[] = [], dev = false) {
  const sent: MenuCommand[] = [];
  const menu = menuTemplate({ platform, recent, dev, send: (c) => sent.push(c) });
  const click = (item: Item | undefined) => (item?.click as unknown as () => void)();
  return { menu, sent, click, top: (label: string) => menu.find((m) => m.label === label || (label === 'Help' && m.role === 'help')) };
}

describe('the native menu template', () => {
  it('has File, Edit, View and Help, each item sending its command (Linux)', () => {
    const { menu, sent, click, top } = build('linux', ['a.json', 'sub/b.json']);
    expect(menu.map((m) => m.label ?? m.role)).toEqual(['File', 'Edit', 'View', 'help']);
    const file = sub(top('File'));
    expect(file.filter((i) => i.label).map((i) => i.label)).toEqual(['New', 'Open…', 'Open Recent', 'Save', 'Save As…']);
    expect(file.at(-1)?.role).toBe('quit');
    for (const label of ['New', 'Open…', 'Save', 'Save As…']) click(named(file, label));
    const recent = sub(named(file, 'Open Recent'));
    expect(recent.map((i) => i.label)).toEqual(['a.json', 'sub/b.json']);
    click(recent[1]);
    const edit = sub(top('Edit'));
    click(named(edit, 'Undo'));
    click(named(edit, 'Redo'));
    expect(edit.filter((i) => i.role).map((i) => i.role)).toEqual(['cut', 'copy', 'paste']);
    click(named(sub(top('View')), 'Fit Graph to View'));
    click(named(sub(top('Help')), 'Keyboard Shortcuts'));
    expect(sent).toEqual([
      { type: 'new' },
      { type: 'open' },
      { type: 'save' },
      { type: 'saveAs' },
      { type: 'openRecent', path: 'sub/b.json' },
      { type: 'undo' },
      { type: 'redo' },
      { type: 'fit' },
      { type: 'help' },
    ]);
  });

  it('shows the page\'s own keys without registering them (one key press, one action); registers the ones only the menu has', () => {
    const { top } = build('win32');
    const file = sub(top('File'));
    expect(named(file, 'New')).toMatchObject({ accelerator: 'CmdOrCtrl+N', registerAccelerator: true });
    expect(named(file, 'Open…')).toMatchObject({ accelerator: 'CmdOrCtrl+O', registerAccelerator: true });
    expect(named(file, 'Save')).toMatchObject({ accelerator: 'CmdOrCtrl+S', registerAccelerator: false });
    expect(named(sub(top('Edit')), 'Undo')).toMatchObject({ accelerator: 'CmdOrCtrl+Z', registerAccelerator: false });
    expect(named(sub(top('Edit')), 'Redo')).toMatchObject({ accelerator: 'Ctrl+Y' });
    expect(named(sub(top('View')), 'Fit Graph to View')).toMatchObject({ accelerator: 'F', registerAccelerator: false });
  });

  it('on macOS: the app menu first, no Quit in File, Cmd+Shift+Z redoes; an empty recent list says so; dev tools only in development', () => {
    const mac = build('darwin');
    expect(mac.menu[0]).toEqual({ role: 'appMenu' });
    expect(sub(mac.top('File')).some((i) => i.role === 'quit')).toBe(false);
    expect(named(sub(mac.top('Edit')), 'Redo')?.accelerator).toBe('Cmd+Shift+Z');
    // A bare key would be registered on macOS and taken from text fields: not there.
    expect(named(sub(mac.top('View')), 'Fit Graph to View')?.accelerator).toBeUndefined();
    expect(named(sub(mac.top('Help')), 'Keyboard Shortcuts')?.accelerator).toBeUndefined();
    expect(sub(named(sub(mac.top('File')), 'Open Recent'))).toEqual([{ label: 'No recent files', enabled: false }]);
    expect(sub(mac.top('View')).some((i) => i.role === 'toggleDevTools')).toBe(false);
    expect(sub(build('linux', [], true).top('View')).map((i) => i.role).filter(Boolean)).toEqual(['togglefullscreen', 'reload', 'toggleDevTools']);
  });
});

describe('IPC message checks', () => {
  it('accepts graph paths only relative, inside, .json', () => {
    for (const ok of ['a.json', 'sub/dir/b.JSON', 'with space.json']) expect(isGraphPath(ok), ok).toBe(true);
    for (const bad of ['', '/etc/x.json', 'C:/x.json', '..\\x.json', '../x.json', 'a/../../x.json', 'a//b.json', './a.json', 'a.txt', 'a.json\0', 3, null]) {
      expect(isGraphPath(bad), String(bad)).toBe(false);
    }
  });

  it('checks save requests: a plain file name, JSON contents, no other fields', () => {
    expect(checkSaveRequest({ suggestedName: 'mine', contents: '{"a":1}' })).toEqual({ ok: true, value: { suggestedName: 'mine.json', contents: '{"a":1}' } });
    expect(checkSaveRequest({ suggestedName: 'x.json', contents: '{}' })).toMatchObject({ ok: true, value: { suggestedName: 'x.json' } });
    const reasons = [
      checkSaveRequest(null),
      checkSaveRequest([]),
      checkSaveRequest({ suggestedName: '../evil.json', contents: '{}' }),
      checkSaveRequest({ suggestedName: 'C:evil.json', contents: '{}' }),
      checkSaveRequest({ suggestedName: 'ok.json', contents: 'not json' }),
      checkSaveRequest({ suggestedName: 'ok.json', contents: 12 }),
      checkSaveRequest({ suggestedName: 'ok.json', contents: '{}', path: '/etc/passwd' }),
    ].map((r) => (r.ok ? 'accepted' : r.reason));
    expect(reasons).toEqual([
      'the save request is not an object',
      'the save request is not an object',
      'suggestedName must be a plain file name (no folders), 1 to 200 characters',
      'suggestedName must be a plain file name (no folders), 1 to 200 characters',
      'contents are not JSON',
      'contents must be a string',
      'unknown fields in the save request: path',
    ]);
  });

  it('checks the recent list and menu commands', () => {
    expect(checkRecent(['a.json', 'a.json', 'b.json'])).toEqual({ ok: true, value: ['a.json', 'b.json'] });
    expect(checkRecent(Array.from({ length: 30 }, (_, i) => `g${i}.json`))).toMatchObject({ ok: true, value: { length: MAX_RECENT } });
    expect(checkRecent(['../up.json'])).toEqual({ ok: false, reason: 'not a graph path: "../up.json"' });
    expect(checkRecent('a.json')).toMatchObject({ ok: false });
    expect(checkMenuCommand({ type: 'undo', extra: 1 })).toEqual({ ok: true, value: { type: 'undo' } });
    expect(checkMenuCommand({ type: 'openRecent', path: 'a.json' })).toEqual({ ok: true, value: { type: 'openRecent', path: 'a.json' } });
    expect(checkMenuCommand({ type: 'openRecent', path: '/etc/passwd' })).toMatchObject({ ok: false });
    expect(checkMenuCommand({ type: 'rm -rf' })).toEqual({ ok: false, reason: 'unknown menu command "rm -rf"' });
  });

  it('trusts only the app page (the built index.html, or the dev server in development)', () => {
    const allowed = { indexUrl: 'file:///app/out/renderer/index.html' };
    expect(isTrustedSender('file:///app/out/renderer/index.html', allowed)).toBe(true);
    expect(isTrustedSender('file:///app/out/renderer/index.html#x', allowed)).toBe(true);
    expect(isTrustedSender('file:///app/out/renderer/index.html.evil', allowed)).toBe(false);
    expect(isTrustedSender('https://example.org/', allowed)).toBe(false);
    expect(isTrustedSender(undefined, allowed)).toBe(false);
    expect(isTrustedSender('http://localhost:5173/src/x', { ...allowed, devUrl: 'http://localhost:5173' })).toBe(true);
    expect(isTrustedSender('http://localhost:5174/', { ...allowed, devUrl: 'http://localhost:5173' })).toBe(false);
  });
});

describe('what the dialogs do with the picked file', () => {
  const graphs = path.join(tmp.dir, 'graphs');
  const elsewhere = path.join(tmp.dir, 'elsewhere');
  mkdirSync(path.join(graphs, 'sub'), { recursive: true });
  mkdirSync(elsewhere, { recursive: true });

  it('names a graph in the graphs folder by its graph path; anything else is outside', () => {
    expect(graphPathOf(path.join(graphs, 'sub', 'a.json'), graphs)).toBe('sub/a.json');
    expect(graphPathOf(path.join(elsewhere, 'a.json'), graphs)).toBeUndefined();
    expect(graphPathOf(path.join(graphs, 'notes.txt'), graphs)).toBeUndefined();
  });

  it('opens: a graph of the folder by path, other JSON and PNG files with their content', () => {
    writeFileSync(path.join(graphs, 'in.json'), '{"format":"steer-graph"}');
    writeFileSync(path.join(elsewhere, 'out.json'), '{"format":"steer-graph","x":1}');
    writeFileSync(path.join(elsewhere, 'pic.png'), Buffer.from([137, 80, 78, 71]));
    writeFileSync(path.join(elsewhere, 'notes.txt'), 'hello');
    expect(readPicked(path.join(graphs, 'in.json'), graphs)).toEqual({ kind: 'graph', graphPath: 'in.json' });
    expect(readPicked(path.join(elsewhere, 'out.json'), graphs)).toEqual({ kind: 'json', name: 'out', text: '{"format":"steer-graph","x":1}' });
    expect(readPicked(path.join(elsewhere, 'pic.png'), graphs)).toEqual({ kind: 'png', name: 'pic', base64: 'iVBORw==' });
    expect(() => readPicked(path.join(elsewhere, 'notes.txt'), graphs)).toThrow(PickedFileError);
  });

  it('saves: into the graphs folder through the engine (nothing written here), elsewhere atomically as an export', () => {
    expect(savePicked(path.join(graphs, 'sub', 'new'), graphs, '{}')).toEqual({ kind: 'graph', graphPath: 'sub/new.json' });
    expect(readdirSync(path.join(graphs, 'sub'))).toEqual([]);
    const target = path.join(elsewhere, 'copy.json');
    writeFileSync(target, 'old');
    expect(savePicked(target, graphs, '{"a":1}\n')).toEqual({ kind: 'exported', path: target });
    expect(readFileSync(target, 'utf8')).toBe('{"a":1}\n');
    // No temp file left beside it.
    expect(readdirSync(elsewhere).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
