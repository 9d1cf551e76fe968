/**
 * The engine's Electron utility process. It does NOT import electron (the engine runs in plain
 * Node everywhere): the main process sends it MessagePorts through `process.parentPort`, one per
 * renderer page load, and each port carries the protocol — RequestMessage in,
 * ResponseMessage and EventMessage out — to one EngineHost shared by all ports.
 *
 * argv: --graphs <dir> [--cache <dir>] [--output <dir>]
 */
import { EngineHost } from '../engine/host.ts';
import { attachPort, type ParentPortLike } from './engine-relay.ts';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function main(): void {
  const parentPort = (process as unknown as { parentPort?: ParentPortLike }).parentPort;
  if (!parentPort) {
    process.stderr.write('engine-process: no parentPort; start this file with Electron utilityProcess.fork\n');
    process.exit(1);
  }
  const graphsDir = argValue('--graphs') ?? process.cwd();
  const engine = new EngineHost({ graphsDir, cacheDir: argValue('--cache'), outputDir: argValue('--output') });
  parentPort.on('message', (e) => {
    for (const port of e.ports) attachPort(engine, port);
  });
}

main();
