/**
 * Fuzz: the browser-mode server's message handling (src/server: JSON text -> parseRequest ->
 * handleSafely) in front of a real EngineHost, with random and near-valid protocol messages.
 * Property: every message is refused with a reason or answered with a response carrying its id;
 * nothing throws, nothing hangs.
 */
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EngineHost } from '../../src/engine/host.ts';
import { handleSafely, parseRequest, REQUEST_METHODS } from '../../src/server/engine.ts';
import { graphDoc, jsonValue, mutatedGraph } from './arbitraries.ts';
import { counts, FUZZ_TIMEOUT, fuzz } from './harness.ts';

const graphsDir = mkdtempSync(join(tmpdir(), 'steer-fuzz-proto-'));
cpSync('graphs/parse-relations.json', join(graphsDir, 'parse-relations.json'));
const host = new EngineHost({ graphsDir, outputDir: join(graphsDir, 'out'), cacheDir: join(graphsDir, 'cache') });
const parseGraph = JSON.parse(readFileSync('graphs/parse-relations.json', 'utf8'));

/** Graphs a run request may carry: only the cheap Prompt Parse graph is runnable (no model loads). */
const runnableGraph = fc.oneof(fc.constant(parseGraph), mutatedGraph.filter((g) => !JSON.stringify(g).includes('model.load')));

const params = fc.oneof(
  fc.record({ graph: graphDoc }, { requiredKeys: [] }),
  fc.record({ runId: fc.oneof(fc.string({ maxLength: 4 }), jsonValue), graph: runnableGraph, targets: fc.oneof(fc.array(fc.constantFrom('prompt', 'parse', 'save', 'zz')), jsonValue) }, { requiredKeys: [] }),
  fc.record({ path: fc.oneof(fc.constantFrom('parse-relations.json', '../x.json', '/etc/passwd', 'new.json', '', 'a/b.json', '.'), jsonValue) }, { requiredKeys: [] }),
  fc.record({ path: fc.constantFrom('w1.json', 'w2.json', '../escape.json'), graph: graphDoc, baseRevision: fc.oneof(fc.string(), jsonValue), overwrite: fc.oneof(fc.boolean(), jsonValue) }, { requiredKeys: [] }),
  fc.record({ pngBase64: fc.oneof(fc.base64String(), fc.string(), jsonValue) }, { requiredKeys: [] }),
  jsonValue,
);

const message = fc.oneof(
  fc.record({ kind: fc.constant('request'), id: fc.oneof(fc.nat(), jsonValue), method: fc.oneof(fc.constantFrom(...REQUEST_METHODS), fc.string({ maxLength: 8 })), params }, { requiredKeys: ['kind', 'id', 'method'] }),
  jsonValue,
);

/** What the socket receives: JSON text, sometimes garbled. */
const text = fc.oneof(
  message.map((m) => JSON.stringify(m) ?? 'null'),
  fc.tuple(message, fc.nat()).map(([m, cut]) => (JSON.stringify(m) ?? '').slice(0, cut)),
  fc.string(),
);

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
