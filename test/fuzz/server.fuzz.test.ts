/**
 * Fuzz: the real `steer serve` server over a WebSocket, in front of a real EngineHost. Each case
 * sends one frame on a fresh connection. Property: a frame that is a request is answered with its
 * id; anything else gets a protocol close (1008) with a reason or an error response; the server
 * never goes silent, and still answers a plain request after every case.
 */
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EngineHost } from '../../src/engine/host.ts';
import { CLOSE_PROTOCOL_ERROR, startServer, type RunningServer } from '../../src/server/index.ts';
import { parseRequest } from '../../src/server/engine.ts';
import type { ResponseMessage } from '../../src/shared/protocol.ts';
import { protocolText } from './arbitraries.ts';
import { counts, FUZZ_TIMEOUT, fuzz, within } from './harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'steer-fuzz-serve-'));
const graphsDir = join(dir, 'graphs');
const staticDir = join(dir, 'static');
const host = new EngineHost({ graphsDir, outputDir: join(dir, 'out'), cacheDir: join(dir, 'cache') });
let server: RunningServer;

beforeAll(async () => {
  mkdirSync(graphsDir, { recursive: true });
  cpSync('graphs/parse-relations.json', join(graphsDir, 'parse-relations.json'));
  mkdirSync(staticDir, { recursive: true });
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>studio</title>');
  server = await startServer({ graphsDir, staticDir, engine: host });
});

afterAll(async () => {
  await server?.close();
  host.dispose();
  console.log(`fuzz server: ${counts.cases} cases over ${counts.properties} properties`);
});

type Outcome = { kind: 'response'; msg: ResponseMessage } | { kind: 'close'; code: number; reason: string };

/** Send one frame on a new connection; the first response (events skipped) or the close. */
function exchange(frame: string | Buffer): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`);
    ws.once('open', () => ws.send(frame));
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { kind: string };
      if (m.kind !== 'response') return;
      resolve({ kind: 'response', msg: m as ResponseMessage });
      ws.close();
    });
    ws.once('close', (code, reason) => resolve({ kind: 'close', code, reason: reason.toString() }));
    ws.once('error', reject);
  });
}

describe('fuzz: steer serve over a WebSocket', () => {
  it('every frame is answered or refused with a reason, and the server stays up', async () => {
    await fuzz(
      fc.oneof(protocolText, protocolText.map((t) => Buffer.from(t))),
      async (frame) => {
        const got = await exchange(frame);
        let data: unknown = undefined;
        let json = typeof frame === 'string';
        if (json) {
          try {
            data = JSON.parse(frame as string);
          } catch {
            json = false;
          }
        }
        const parsed = json ? parseRequest(data) : undefined;
        if (parsed?.ok) {
          expect(got.kind).toBe('response');
          if (got.kind === 'response') expect(got.msg.id).toBe(parsed.msg.id);
        } else if (got.kind === 'close') {
          expect(got.code).toBe(CLOSE_PROTOCOL_ERROR);
          expect(got.reason.length).toBeGreaterThan(0);
        } else expect(got.msg.ok).toBe(false);
        const alive = await within(5000, exchange(JSON.stringify({ kind: 'request', id: 1, method: 'listGraphs', params: {} })));
        expect(alive.kind).toBe('response');
      },
      { ci: 300, hangMs: 15_000 },
    );
  }, FUZZ_TIMEOUT);
});
