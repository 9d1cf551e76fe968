/**
 * How `steer run` shows events: JSON lines (--json), progress bars on a terminal, or plain
 * lines when output is piped. Bars and lines go to stderr so stdout stays machine-readable.
 */
import cliProgress from 'cli-progress';
import type { EngineEvent } from '../shared/events.ts';

export type Reporter = { onEvent(e: EngineEvent): void; close(): void };

export function jsonReporter(out: NodeJS.WritableStream = process.stdout): Reporter {
  return { onEvent: (e) => out.write(`${JSON.stringify(e)}\n`), close: () => {} };
}

export function humanReporter(titles: Map<string, string>, stream: NodeJS.WriteStream = process.stderr): Reporter {
  const tty = stream.isTTY === true;
  const bars = tty
    ? new cliProgress.MultiBar(
        { stream, format: ' {bar} {percentage}% | {node} {message}', hideCursor: true, clearOnComplete: false, barsize: 24 },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const active = new Map<string, cliProgress.SingleBar>();
  const line = (text: string) => (bars ? bars.log(`${text}\n`) : stream.write(`${text}\n`));
  const name = (id: string) => `${id}${titles.get(id) ? ` (${titles.get(id)})` : ''}`;
  return {
    onEvent(e) {
      switch (e.type) {
        case 'node.progress': {
          if (!bars) return;
          let bar = active.get(e.nodeId);
          if (!bar) active.set(e.nodeId, (bar = bars.create(e.max, 0, { node: name(e.nodeId), message: '' })));
          bar.setTotal(e.max);
          bar.update(e.value, { message: e.message ?? '' });
          return;
        }
        case 'node.cached':
          line(`  cached   ${name(e.nodeId)}`);
          return;
        case 'node.finished': {
          const bar = active.get(e.nodeId);
          if (bar) {
            bars!.remove(bar);
            active.delete(e.nodeId);
          }
          const outs = Object.entries(e.outputs).map(([k, v]) => `${k}=${v.summary}`).join(' ');
          line(`  done     ${name(e.nodeId)} in ${e.durationMs} ms  ${outs}`);
          return;
        }
        case 'node.log':
          line(`  ${e.level.padEnd(8)} ${e.nodeId}: ${e.message}`);
          return;
        case 'node.preview':
          if (e.preview.kind === 'text') line(`  preview  ${e.nodeId}: ${e.preview.text}`);
          return;
        case 'node.failed':
          line(`  FAILED   ${name(e.nodeId)}: ${[e.error.message, ...e.error.causes].join(': caused by: ')}`);
          return;
        case 'run.finished':
          line(`run finished in ${e.durationMs} ms (${e.executed} executed, ${e.cached} cached)`);
          return;
        case 'run.cancelled':
          line(`run cancelled after ${e.durationMs} ms`);
          return;
        default:
          return;
      }
    },
    close() {
      bars?.stop();
    },
  };
}
