/**
 * Electron main process: one window, the engine in a utility process, and a MessagePort pair
 * per page load connecting the two (the renderer never talks to the main process otherwise).
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, MessageChannelMain, session, shell, utilityProcess, type UtilityProcess } from 'electron';

const HERE = path.dirname(fileURLToPath(import.meta.url));

let engine: UtilityProcess | null = null;
let quitting = false;

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

  const devUrl = process.env.ELECTRON_RENDERER_URL;
  if (!app.isPackaged && devUrl) void win.loadURL(devUrl);
  else {
    const index = path.join(HERE, '../renderer/index.html');
    if (!existsSync(index)) console.error(`renderer not built: ${index} is missing (run npm run build)`);
    void win.loadFile(index);
  }
}

app.whenReady().then(() => {
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
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
