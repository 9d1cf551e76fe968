/**
 * Fuzz: the browser-mode server's message handling (src/server: JSON text -> parseRequest ->
 * handleSafely) in front of a real EngineHost, with random and near-valid protocol messages.
 * Property: every message is refused with a reason or answered with a response carrying its id;
 * nothing throws, nothing hangs.
 */
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EngineHost } from '../../src/engine/host.ts';
import { handleSafely, parseRequest, REQUEST_METHODS } from '../../src/server/engine.ts';
import { protocolParams as params, protocolText as text } from './arbitraries.ts';
import { counts, FUZZ_TIMEOUT, fuzz } from './harness.ts';

const graphsDir = mkdtempSync(join(tmpdir(), 'steer-fuzz-proto-'));
cpSync('graphs/parse-relations.json', join(graphsDir, 'parse-relations.json'));
const host = new EngineHost({ graphsDir, outputDir: join(graphsDir, 'out'), cacheDir: join(graphsDir, 'cache') });
describe('fuzz: server message handler', () => {
  afterAll(() => {
    host.dispose();
    console.log(`fuzz protocol: ${counts.cases} cases over ${counts.properties} properties`);
  });

  it('every message gets a reason or a response with its id', async () => {
    await fuzz(
      text,
      async (raw) => {
        let data: unknown;
        try {
          data = JSON.parse(raw);
        } catch {
          return; // the server closes the socket: "message is not JSON"
        }
        const parsed = parseRequest(data);
        if (!parsed.ok) {
          expect(parsed.reason.length).toBeGreaterThan(0);
          return;
        }
        const res = await handleSafely(host, parsed.msg);
        expect(res.kind).toBe('response');
        expect(res.id).toBe(parsed.msg.id);
        if (!res.ok) {
          expect(typeof res.error.message).toBe('string');
          expect(res.error.message).not.toMatch(/undefined undefined|\[object Object\]|^$/);
          expect(res.error.message).not.toMatch(/^Cannot read properties|is not a function|is not iterable/);
        }
        expect(() => JSON.stringify(res)).not.toThrow();
      },
      { ci: 5000, hangMs: 15_000 },
    );
  }, FUZZ_TIMEOUT);

  it('the engine answers directly sent requests too (the Electron path skips parseRequest)', async () => {
    await fuzz(
      fc.record({ method: fc.constantFrom(...REQUEST_METHODS), params: fc.oneof(params, fc.constant(undefined)) }),
      async ({ method, params: p }) => {
        const res = await host.handle({ kind: 'request', id: 7, method, params: p as never });
        expect(res.id).toBe(7);
        if (!res.ok) expect(res.error.message).not.toMatch(/^Cannot read properties|is not a function|is not iterable|undefined undefined/);
      },
      { ci: 2000, hangMs: 15_000 },
    );
  }, FUZZ_TIMEOUT);
});
