/**
 * Electron main process: one window, the engine in a utility process, and a MessagePort pair
 * per page load connecting the two. Besides the engine's port, the page talks to this process
 * only through the shell's IPC (protocol.ts SHELL_CHANNELS): the native menu's commands go to
 * it, and it may ask for the native open and save dialogs; every message is checked
 * (protocol.ts checkSaveRequest, checkRecent; shell-files.ts isTrustedSender) before use.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, Menu, MessageChannelMain, session, shell, utilityProcess, type IpcMainEvent, type IpcMainInvokeEvent, type UtilityProcess } from 'electron';
import { checkRecent, checkSaveRequest, SHELL_CHANNELS, type MenuCommand } from '../shared/protocol.ts';
import { menuTemplate } from './menu.ts';
import { isTrustedSender, readPicked, savePicked } from './shell-files.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));

let engine: UtilityProcess | null = null;
let quitting = false;
let recent: string[] = [];
const INDEX_HTML = path.join(HERE, '../renderer/index.html');
const DEV_URL = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined;

function graphsDir(): string {
  // Development: the repository's graphs/. Packaged: a folder in the user's documents.
  const dir = app.isPackaged ? path.join(app.getPath('documents'), 'Steer Studio', 'graphs') : path.join(app.getAppPath(), 'graphs');
  mkdirSync(dir, { recursive: true });
  return dir;
}

function startEngine(): UtilityProcess {
  const userData = app.getPath('userData');
  const child = utilityProcess.fork(
    path.join(HERE, 'engine-process.js'),
    ['--graphs', graphsDir(), '--cache', path.join(userData, 'cache'), '--output', path.join(userData, 'outputs')],
    { serviceName: 'Steer Studio engine', stdio: 'inherit' },
  );
  child.on('exit', (code) => {
    if (engine !== child) return;
    engine = null;
    if (quitting) return;
    // A crashed engine is restarted and every open page gets a fresh port (its pending
    // requests fail with "engine restarted" in the preload).
    console.error(`steer engine exited with code ${code}; restarting it`);
    for (const win of BrowserWindow.getAllWindows()) if (!win.webContents.isLoading()) connectPage(win);
  });
  return child;
}

/** A fresh channel for the page that just loaded: one end to the engine, one to the renderer. */
function connectPage(win: BrowserWindow): void {
  engine ??= startEngine();
  const { port1, port2 } = new MessageChannelMain();
  engine.postMessage({ type: 'engine-port' }, [port1]);
  win.webContents.postMessage('engine-port', null, [port2]);
}

function createWindow(): void {
  const win = new BrowserWindow({
    width: 1440,
    height: 900,
    title: 'Steer Studio',
    backgroundColor: '#0a0a0a',
    show: false,
    webPreferences: {
      preload: path.join(HERE, '../preload/index.cjs'),
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true,
    },
  });
  win.once('ready-to-show', () => win.show());
  win.webContents.on('did-finish-load', () => connectPage(win));
  // The app never navigates; links open in the system browser.
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });

  if (DEV_URL) void win.loadURL(DEV_URL);
  else {
    if (!existsSync(INDEX_HTML)) console.error(`renderer not built: ${INDEX_HTML} is missing (run npm run build)`);
    void win.loadFile(INDEX_HTML);
  }
}

function sendCommand(command: MenuCommand): void {
  const win = BrowserWindow.getFocusedWindow() ?? BrowserWindow.getAllWindows()[0];
  win?.webContents.send(SHELL_CHANNELS.menu, command);
}

function buildMenu(): void {
  Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate({ platform: process.platform, recent, dev: !app.isPackaged, send: sendCommand })));
}

/** Only the app's own page may use the shell's IPC. */
function trusted(e: IpcMainEvent | IpcMainInvokeEvent): boolean {
  return isTrustedSender(e.senderFrame?.url, { indexUrl: pathToFileURL(INDEX_HTML).href, ...(DEV_URL ? { devUrl: DEV_URL } : {}) });
}

function handleShellIpc(): void {
  ipcMain.handle(SHELL_CHANNELS.open, async (e) => {
    if (!trusted(e)) throw new Error('refused: not the app page');
    const win = BrowserWindow.fromWebContents(e.sender);
    const options = { defaultPath: graphsDir(), properties: ['openFile' as const], filters: [{ name: 'Graphs and PNGs made by Save Image', extensions: ['json', 'png'] }] };
    const r = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
    const file = r.canceled ? undefined : r.filePaths[0];
    return file ? readPicked(file, graphsDir()) : null;
  });
  ipcMain.handle(SHELL_CHANNELS.save, async (e, request: unknown) => {
    if (!trusted(e)) throw new Error('refused: not the app page');
    const checked = checkSaveRequest(request);
    if (!checked.ok) throw new Error(`refused save request: ${checked.reason}`);
    const win = BrowserWindow.fromWebContents(e.sender);
    const options = { defaultPath: path.join(graphsDir(), checked.value.suggestedName), filters: [{ name: 'Graphs', extensions: ['json'] }] };
    const r = win ? await dialog.showSaveDialog(win, options) : await dialog.showSaveDialog(options);
    return r.canceled || !r.filePath ? null : savePicked(r.filePath, graphsDir(), checked.value.contents);
  });
  ipcMain.on(SHELL_CHANNELS.recent, (e, list: unknown) => {
    if (!trusted(e)) return;
    const checked = checkRecent(list);
    if (!checked.ok || checked.value.join('\0') === recent.join('\0')) return;
    recent = checked.value;
    buildMenu();
  });
}

app.whenReady().then(() => {
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  handleShellIpc();
  buildMenu();
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

app.on('before-quit', () => {
  quitting = true;
  engine?.kill();
  engine = null;
});
