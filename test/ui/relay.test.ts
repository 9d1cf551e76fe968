import { EventEmitter } from 'node:events';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { attachPort, type PortLike } from '../../src/main/engine-relay.ts';
import type { ServerMessage } from '../../src/shared/protocol.ts';
import { makeHost, RUNNABLE_GRAPH, tempDir } from './helpers.ts';

/** Stands in for Electron's MessagePortMain: 'message' events carry { data }. */
class FakePort extends EventEmitter implements PortLike {
  sent: ServerMessage[] = [];
  started = false;
  postMessage(message: unknown): void {
    this.sent.push(structuredClone(message) as ServerMessage);
  }
  start(): void {
    this.started = true;
  }
  close(): void {
    this.emit('close');
  }
  deliver(data: unknown): void {
    this.emit('message', { data });
  }
}

const tmp = tempDir('relay');
const host = makeHost(path.join(tmp.dir, 'graphs'), path.join(tmp.dir, 'cache'));
afterAll(() => {
  host.dispose();
  tmp.cleanup();
});

async function until(fn: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !fn(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(fn()).toBe(true);
}

describe('electron utility process: MessagePort relay', () => {
  it('relays requests, responses and events; stops relaying after the port closes', async () => {
    const port = new FakePort();
    attachPort(host, port);
    expect(port.started).toBe(true);
    port.deliver({ kind: 'request', id: 1, method: 'catalogue', params: {} });
    port.deliver({ kind: 'request', id: 2, method: 'bogus', params: {} });
    port.deliver({ kind: 'request', id: 3, method: 'run', params: { runId: 'relay-1', graph: RUNNABLE_GRAPH } });
    await until(() => port.sent.some((m) => m.kind === 'response' && m.id === 3));
    const byId = (id: number) => port.sent.find((m) => m.kind === 'response' && m.id === id);
    expect(byId(1)).toMatchObject({ ok: true });
    expect(byId(2)).toMatchObject({ ok: false });
    expect(byId(3)).toMatchObject({ ok: true, result: { status: 'finished' } });
    expect(port.sent.filter((m) => m.kind === 'event').map((m) => m.kind === 'event' && m.event.type)).toContain('run.finished');

    port.close();
    const before = port.sent.length;
    const other = new FakePort();
    attachPort(host, other);
    other.deliver({ kind: 'request', id: 9, method: 'run', params: { runId: 'relay-2', graph: RUNNABLE_GRAPH } });
    await until(() => other.sent.some((m) => m.kind === 'response'));
    expect(port.sent.length).toBe(before);
  });
});
