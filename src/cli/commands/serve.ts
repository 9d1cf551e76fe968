/**
 * `steer serve`: browser mode. Serves the built renderer (out/renderer, from
 * `npm run build:renderer`) and a token-protected WebSocket to the engine, then waits for
 * Ctrl+C. Builds nothing itself.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';

const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

interface ServeOptions {
  port: string;
  host: string;
  open: boolean;
  graphs: string;
  token?: string;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('Open Steer Studio in a web browser (no Electron needed): serves the built UI and the engine on this machine.')
    .option('--port <n>', 'port to listen on (0 picks a free one)', '5174')
    .option('--host <host>', 'interface to bind; anything but 127.0.0.1 exposes the engine to your network', '127.0.0.1')
    .option('--graphs <dir>', 'the folder of graph files the UI lists', 'graphs')
    .option('--token <token>', 'session token the page must present (random by default)')
    .option('--no-open', 'do not open a browser, only print the URL')
    .action(async (opts: ServeOptions) => {
      await serve(opts);
    });
}

async function serve(opts: ServeOptions): Promise<void> {
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be an integer from 0 to 65535, got "${opts.port}"`);
  }
  if (opts.token !== undefined && !/^[A-Za-z0-9_-]{16,}$/.test(opts.token)) {
    throw new UsageError('--token must be at least 16 letters, digits, "-" or "_"');
  }
  // STEER_RENDERER_DIR: serve a renderer built elsewhere (packaging, tests).
  const staticDir = path.resolve(process.env.STEER_RENDERER_DIR || path.join(PACKAGE_ROOT, 'out', 'renderer'));
  if (!existsSync(path.join(staticDir, 'index.html'))) {
    throw new UsageError(`the browser UI is not built (${path.relative(process.cwd(), staticDir) || staticDir}/index.html is missing)`, [
      'build it first:  npm run build:renderer',
      'then run again:  npx steer serve',
    ]);
  }
  const graphsDir = path.resolve(opts.graphs);
  if (!existsSync(graphsDir)) {
    throw new UsageError(`graphs folder not found: ${graphsDir}`, ['pass one with --graphs <dir>']);
  }

  const { startServer } = await import('../../server/index.ts');
  let server;
  try {
    server = await startServer({ host: opts.host, port, token: opts.token, graphsDir, staticDir });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UsageError(`port ${port} is in use; pick another with --port <n> (0 = any free port)`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UsageError(`cannot bind to host "${opts.host}"`);
    throw err;
  }

  process.stdout.write(`Steer Studio is running at\n\n  ${server.url}\n\n`);
  process.stdout.write(`graphs: ${graphsDir}\noutputs: ${server.outputDir}\n`);
  if (!LOOPBACK.has(opts.host)) {
    process.stderr.write(`warning: listening on ${opts.host}: anyone on your network who has the URL (with its token) can run graphs on this machine.\n`);
  }
  process.stdout.write('Press Ctrl+C to stop.\n');
  if (opts.open) openBrowser(server.url);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  process.stdout.write('stopping...\n');
  await server.close();
}

/** Best effort: a missing opener only means the user clicks the printed URL. */
function openBrowser(url: string): void {
  const [cmd, args] =
    process.platform === 'darwin' ? ['open', [url]]
    : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]]
    : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => process.stderr.write('(could not open a browser; open the URL above yourself)\n'));
    child.unref();
  } catch {
    process.stderr.write('(could not open a browser; open the URL above yourself)\n');
  }
}
