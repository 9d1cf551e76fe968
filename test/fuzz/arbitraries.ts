/**
 * Generators for the fuzz suite: JSON-ish values, graph documents (random, and mutations of the
 * sample graphs in graphs/), `--set` strings, param values and protocol messages.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { BUILTIN_NODES } from '../../src/nodes/registry.ts';
import { REQUEST_METHODS } from '../../src/server/engine.ts';

/** Any JSON value, with strings that look like our ids and numbers at the edges. */
export const jsonValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, true, false, 0, -1, 1, 1e308, -0, 2 ** 53, 2 ** 64, 0.5, '', 'a', 'x'.repeat(300)),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string(),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 4 }),
  ),
})).value;

const sampleGraphs: unknown[] = readdirSync('graphs')
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join('graphs', f), 'utf8')));

const nodeTypes = BUILTIN_NODES.map((d) => d.type);
const nodeIds = ['prompt', 'parse', 'save', 'model', 'noise', 'sample', 'n0', 'n1', 'x'];
const socketNames = [...new Set(BUILTIN_NODES.flatMap((d) => [...d.inputs, ...d.outputs].map((s) => s.id)))];
const paramNames = [...new Set(BUILTIN_NODES.flatMap((d) => Object.keys(d.params)))];

export const id = fc.oneof(fc.constantFrom(...nodeIds), fc.string({ maxLength: 6 }));

const node = fc.record(
  {
    id,
    type: fc.oneof(fc.constantFrom(...nodeTypes), fc.string({ maxLength: 12 })),
    typeVersion: fc.oneof(fc.constant(1), fc.integer({ min: -2, max: 5 }), jsonValue),
    title: fc.string({ maxLength: 10 }),
    params: fc.oneof(fc.dictionary(fc.constantFrom(...paramNames), jsonValue, { maxKeys: 4 }), jsonValue),
    position: fc.oneof(fc.record({ x: fc.double(), y: fc.double() }), jsonValue),
  },
  { requiredKeys: ['id', 'type'] },
);

const edge = fc.record(
  {
    id: fc.string({ maxLength: 4 }),
    from: fc.record({ node: id, output: fc.constantFrom(...socketNames) }),
    to: fc.record({ node: id, input: fc.constantFrom(...socketNames) }),
  },
  { requiredKeys: [] },
);

/** A document shaped like a graph file, mostly wrong in the details. */
export const randomGraph = fc.record(
  {
    format: fc.oneof(fc.constant('steer-graph'), fc.string({ maxLength: 6 })),
    version: fc.oneof(fc.constantFrom(0, 1, 2), jsonValue),
    meta: jsonValue,
    nodes: fc.oneof(fc.array(node, { maxLength: 8 }), jsonValue),
    edges: fc.oneof(fc.array(edge, { maxLength: 8 }), jsonValue),
    links: jsonValue,
  },
  { requiredKeys: [] },
);

type Path = (string | number)[];

/** Every path into a JSON value (objects and arrays), the root included. */
function paths(v: unknown, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function setAt(doc: unknown, path: Path, value: unknown, remove: boolean): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let cur = copy;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (remove) {
    if (Array.isArray(cur)) cur.splice(Number(last), 1);
    else delete cur[last];
  } else cur[last] = value;
  return copy;
}

/** A sample graph with 1-4 mutations: a value replaced or removed, a node duplicated. */
export const mutatedGraph: fc.Arbitrary<unknown> = fc
  .tuple(fc.constantFrom(...sampleGraphs), fc.array(fc.tuple(fc.nat(), fc.oneof(jsonValue, fc.constantFrom(...nodeTypes, ...nodeIds)), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 4 }))
  .map(([g, muts]) => {
    let doc: unknown = g;
    for (const [pick, value, op] of muts) {
      const all = paths(doc);
      const path = all[pick % all.length]!;
      const isDoc = typeof doc === 'object' && doc !== null;
      if (op === 3 && isDoc && Array.isArray((doc as { nodes?: unknown }).nodes) && (doc as { nodes: unknown[] }).nodes.length > 0) {
        const nodes = (doc as { nodes: unknown[] }).nodes;
        doc = { ...(doc as object), nodes: [...nodes, structuredClone(nodes[pick % nodes.length])] };
      } else doc = setAt(doc, path, value, op === 2 && path.length > 0);
    }
    return doc;
  });

/** Graph documents: random, mutated samples, and arbitrary JSON. */
export const graphDoc = fc.oneof(randomGraph, mutatedGraph, mutatedGraph, jsonValue);

/** `--set` strings: well-formed ones on real nodes and params with odd values, and garbage. */
export const setString = fc.oneof(
  fc.tuple(fc.constantFrom(...nodeIds), fc.constantFrom(...paramNames), fc.oneof(fc.string(), fc.constantFrom('1e309', '-0', 'NaN', 'Infinity', '0x10', '18446744073709551616', 'true', '{"a":1', '[]', ' 7 ', '')))
    .map(([n, p, v]) => `${n}.${p}=${v}`),
  fc.string(),
  fc.string().map((s) => `prompt.text=${s}`),
);

/** A value for a param of a real node type (the schema of one spec). */
export const paramCase = fc.tuple(fc.constantFrom(...BUILTIN_NODES), fc.nat(), jsonValue).map(([def, k, value]) => {
  const names = Object.keys(def.params);
  return { def, name: names.length ? names[k % names.length]! : undefined, value };
});

const parseGraph = JSON.parse(readFileSync('graphs/parse-relations.json', 'utf8'));

/** Graphs a run request may carry: only the cheap Prompt Parse graph is runnable (no model loads). */
const runnableGraph = fc.oneof(fc.constant(parseGraph), mutatedGraph.filter((g) => !JSON.stringify(g).includes('model.load')));

/** Params of protocol requests: near-valid for each method, and arbitrary JSON. */
export const protocolParams = fc.oneof(
  fc.record({ graph: graphDoc }, { requiredKeys: [] }),
  fc.record({ runId: fc.oneof(fc.string({ maxLength: 4 }), jsonValue), graph: runnableGraph, targets: fc.oneof(fc.array(fc.constantFrom('prompt', 'parse', 'save', 'zz')), jsonValue) }, { requiredKeys: [] }),
  fc.record({ path: fc.oneof(fc.constantFrom('parse-relations.json', '../x.json', '/etc/passwd', 'new.json', '', 'a/b.json', '.'), jsonValue) }, { requiredKeys: [] }),
  fc.record({ path: fc.constantFrom('w1.json', 'w2.json', '../escape.json'), graph: graphDoc, baseRevision: fc.oneof(fc.string(), jsonValue), overwrite: fc.oneof(fc.boolean(), jsonValue) }, { requiredKeys: [] }),
  fc.record({ pngBase64: fc.oneof(fc.base64String(), fc.string(), jsonValue) }, { requiredKeys: [] }),
  jsonValue,
);

/** Protocol messages: requests with odd fields, and arbitrary JSON. */
export const protocolMessage = fc.oneof(
  fc.record({ kind: fc.constant('request'), id: fc.oneof(fc.nat(), jsonValue), method: fc.oneof(fc.constantFrom(...REQUEST_METHODS), fc.string({ maxLength: 8 })), params: protocolParams }, { requiredKeys: ['kind', 'id', 'method'] }),
  jsonValue,
);

/** What the socket receives: JSON text, sometimes garbled. */
export const protocolText = fc.oneof(
  protocolMessage.map((m) => JSON.stringify(m) ?? 'null'),
  fc.tuple(protocolMessage, fc.nat()).map(([m, cut]) => (JSON.stringify(m) ?? '').slice(0, cut)),
  fc.string(),
);

