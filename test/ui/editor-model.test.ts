/**
 * The editor's document model without a browser: edits through the store, undo/redo grouping,
 * link checks with their reasons, compatible node types for a dropped link, copy/paste, and
 * lenient opening. The catalogue is the real one (testRegistry), the engine a tiny in-memory
 * stand-in for the requests these need.
 */
import { describe, expect, it } from 'vitest';
import type { EngineApi } from '../../src/shared/protocol.ts';
import { copySelection, preparePaste } from '../../src/renderer/src/editor/clipboard.ts';
import { checkLink, compatibleTypes, wouldCycle } from '../../src/renderer/src/editor/connect.ts';
import { docFromJson } from '../../src/renderer/src/editor/doc.ts';
import { emptyHistory, MERGE_WINDOW_MS, recordEdit, redo, undo } from '../../src/renderer/src/editor/history.ts';
import { createStudioStore, isDirty } from '../../src/renderer/src/store.ts';
import { searchEntries, searchNodes } from '../../src/renderer/src/components/AddNodeMenu.tsx';
import { MISSING_TYPE_GRAPH, RUNNABLE_GRAPH, testRegistry } from './helpers.ts';

const catalogue = testRegistry().catalogue();

function engine(): EngineApi {
  return {
    async request(method, params) {
      if (method === 'catalogue') return catalogue as never;
      if (method === 'validate') return { ok: true, issues: [] } as never;
      if (method === 'writeGraph') return { path: (params as { path: string }).path, revision: 'r' } as never;
      if (method === 'listGraphs') return { graphs: [] } as never;
      if (method === 'upgradeGraph') return { graph: (params as { graph: unknown }).graph, notes: [] } as never;
      throw new Error(`not in this test: ${method}`);
    },
    onEvent: () => () => {},
  };
}

async function storeWithEmptyDoc() {
  const store = createStudioStore(engine());
  await store.getState().loadCatalogue();
  store.getState().newGraph();
  return store;
}

describe('editor model', () => {
  it('adds nodes with schema defaults, wires them, and refuses a type mismatch with the reason', async () => {
    const store = await storeWithEmptyDoc();
    const s = () => store.getState();
    const text = s().addNode('primitive.text', { x: 0, y: 0 })!;
    const parse = s().addNode('prompt.parse', { x: 300, y: 0 })!;
    expect(text).toBe('text1');
    expect(s().doc!.nodes.find((n) => n.id === parse)!.params).toEqual({ text: catalogue.nodes.find((n) => n.type === 'prompt.parse')!.params.text!.default });
    expect(s().connect({ source: text, sourceHandle: 'text', target: parse, targetHandle: 'text' })).toEqual({ ok: true });
    expect(s().doc!.edges).toEqual([{ id: 'e1', from: { node: text, output: 'text' }, to: { node: parse, input: 'text' } }]);
    const encode = s().addNode('prompt.encode', { x: 600, y: 0 })!;
    const refused = s().connect({ source: text, sourceHandle: 'text', target: encode, targetHandle: 'prompt' });
    expect(refused.ok).toBe(false);
    expect(refused.reason).toMatch(/STRING output cannot feed a PROMPT input/);
    expect(s().doc!.edges).toHaveLength(1);
    expect(isDirty(s())).toBe(true);
  });

  it('says when a link would make a cycle, and replaces a taken input', async () => {
    const store = await storeWithEmptyDoc();
    const s = () => store.getState();
    const a = s().addNode('image.preview', { x: 0, y: 0 })!;
    const b = s().addNode('image.preview', { x: 300, y: 0 })!;
    const c = s().addNode('image.preview', { x: 600, y: 0 })!;
    expect(s().connect({ source: a, sourceHandle: 'image', target: b, targetHandle: 'image' }).ok).toBe(true);
    expect(wouldCycle(s().doc!.edges, b, a)).toBe(true);
    const check = checkLink(s().doc!, s().types, { source: b, sourceHandle: 'image', target: a, targetHandle: 'image' });
    expect(check).toMatchObject({ ok: false, reason: expect.stringContaining('cycle') });
    const replace = checkLink(s().doc!, s().types, { source: c, sourceHandle: 'image', target: b, targetHandle: 'image' });
    expect(replace).toMatchObject({ ok: true, hint: expect.stringContaining('already taken') });
    s().connect({ source: c, sourceHandle: 'image', target: b, targetHandle: 'image' });
    expect(s().doc!.edges.map((e) => `${e.from.node}->${e.to.node}`)).toEqual([`${c}->${b}`]);
  });

  it('lists only node types that take a dropped link, and wires the one picked', async () => {
    const store = await storeWithEmptyDoc();
    const s = () => store.getState();
    const fromLatent = compatibleTypes(catalogue.nodes, 'LATENT', 'source').map((c) => c.info.type);
    expect(fromLatent).toContain('latent.decode');
    expect(fromLatent).toContain('diffusion.sample');
    expect(fromLatent).not.toContain('prompt.parse');
    const noise = s().addNode('latent.noise', { x: 0, y: 0 })!;
    const decode = s().addNode('latent.decode', { x: 300, y: 0 }, { nodeId: noise, handleId: 'latent', handleType: 'source', socketType: 'LATENT' })!;
    expect(s().doc!.edges).toEqual([expect.objectContaining({ from: { node: noise, output: 'latent' }, to: { node: decode, input: 'latent' } })]);
    // From an input backwards: a Decode's model input offers Load Model.
    expect(compatibleTypes(catalogue.nodes, 'MODEL', 'target').map((c) => c.info.type)).toEqual(['model.load']);
  });

  it('undoes and redoes each edit; a drag and typing in one field are one step each', async () => {
    const store = await storeWithEmptyDoc();
    const s = () => store.getState();
    const id = s().addNode('primitive.text', { x: 0, y: 0 })!;
    for (let i = 1; i <= 20; i++) s().moveNodes([{ id, position: { x: i * 5, y: i } }], 'drag:1');
    s().setParam(id, 'text', 'a');
    s().setParam(id, 'text', 'a cat');
    expect(s().history.undo).toHaveLength(3);
    s().undo();
    expect(s().doc!.nodes[0]!.params.text).toBe('');
    expect(s().doc!.nodes[0]!.position).toEqual({ x: 100, y: 20 });
    s().undo();
    expect(s().doc!.nodes[0]!.position).toEqual({ x: 0, y: 0 });
    s().undo();
    expect(s().doc!.nodes).toHaveLength(0);
    expect(isDirty(s())).toBe(false);
    s().redo();
    s().redo();
    s().redo();
    expect(isDirty(s())).toBe(true);
    expect(s().doc!.nodes[0]).toMatchObject({ position: { x: 100, y: 20 }, params: { text: 'a cat' } });
    // A new edit after undo clears the redo stack.
    s().undo();
    s().setParam(id, 'text', 'other');
    expect(s().history.redo).toHaveLength(0);
  });

  it('knows unsaved changes: clean after a save, dirty after an edit, clean again after undoing it', async () => {
    const store = await storeWithEmptyDoc();
    const s = () => store.getState();
    const id = s().addNode('primitive.text', { x: 0, y: 0 })!;
    s().setParam(id, 'text', 'a');
    expect(isDirty(s())).toBe(true);
    expect(await s().saveAs('mine')).toBe(true);
    expect(s().selectedPath).toBe('mine.json');
    expect(s().doc!.meta.name).toBe('mine');
    expect(isDirty(s())).toBe(false);
    // Typing on in the same field right after the save is a new step, so undo returns to the saved text.
    s().setParam(id, 'text', 'ab');
    expect(isDirty(s())).toBe(true);
    s().undo();
    expect(s().doc!.nodes[0]!.params.text).toBe('a');
    expect(isDirty(s())).toBe(false);
    s().undo();
    expect(isDirty(s())).toBe(true);
  });

  it('aligns and distributes the selected nodes, one undo step each', async () => {
    const store = await storeWithEmptyDoc();
    const s = () => store.getState();
    const a = s().addNode('primitive.text', { x: 10, y: 0 })!;
    const b = s().addNode('primitive.text', { x: 50, y: 100 })!;
    const c = s().addNode('primitive.text', { x: 30, y: 400 })!;
    s().setSelection([a, b, c], []);
    s().alignSelection('left');
    expect(s().doc!.nodes.map((n) => n.position.x)).toEqual([10, 10, 10]);
    s().distributeSelection('y');
    expect(s().doc!.nodes.map((n) => n.position.y)).toEqual([0, 200, 400]);
    s().undo();
    expect(s().doc!.nodes.map((n) => n.position.y)).toEqual([0, 100, 400]);
    s().undo();
    expect(s().doc!.nodes.map((n) => n.position.x)).toEqual([10, 50, 30]);
  });

  it('ranks the node search like a user expects: partial words, title before type id', () => {
    const entries = searchEntries(catalogue.nodes);
    expect(searchNodes(entries, 'sav img')[0]?.title).toBe('Save Image');
    expect(searchNodes(entries, 'prompt parse')[0]?.title).toBe('Prompt Parse');
    expect(searchNodes(entries, 'diffusion.sample')[0]?.type).toBe('diffusion.sample');
    if (catalogue.nodes.some((n) => n.type === 'latent.optimize')) expect(searchNodes(entries, 'lat opt')[0]?.type).toBe('latent.optimize');
    expect(searchNodes(entries, 'zzzzqqq')).toEqual([]);
    // An empty query lists everything, by category.
    expect(searchNodes(entries, '', 500)).toHaveLength(catalogue.nodes.length);
  });

  it('does not merge edits of one field that are far apart in time', () => {
    const doc = { n: 0 };
    const a = recordEdit(doc, emptyHistory(), (d) => void (d.n = 1), 'g', 1000)!;
    const b = recordEdit(a.doc, a.history, (d) => void (d.n = 2), 'g', 1000 + MERGE_WINDOW_MS + 1)!;
    expect(b.history.undo).toHaveLength(2);
    const back = undo(b.doc, b.history)!;
    expect(back.doc.n).toBe(1);
    expect(redo(back.doc, back.history)!.doc.n).toBe(2);
  });

  it('deletes selected nodes with their links, in one undo step', async () => {
    const store = await storeWithEmptyDoc();
    const s = () => store.getState();
    const a = s().addNode('primitive.text', { x: 0, y: 0 })!;
    const b = s().addNode('prompt.parse', { x: 300, y: 0 })!;
    s().connect({ source: a, sourceHandle: 'text', target: b, targetHandle: 'text' });
    s().setSelection([a], []);
    s().deleteSelection();
    expect(s().doc!.nodes.map((n) => n.id)).toEqual([b]);
    expect(s().doc!.edges).toEqual([]);
    s().undo();
    expect(s().doc!.nodes.map((n) => n.id)).toEqual([a, b]);
    expect(s().doc!.edges).toHaveLength(1);
  });

  it('copies nodes with the links between them as graph JSON, and pastes them with fresh ids', async () => {
    const store = await storeWithEmptyDoc();
    const s = () => store.getState();
    await s().openDocument(RUNNABLE_GRAPH, 'parse');
    const text = copySelection(s().doc!, new Set(['text', 'parse']))!;
    expect(JSON.parse(text)).toMatchObject({ format: 'steer-graph', nodes: [{ id: 'text' }, { id: 'parse' }], edges: [{ from: { node: 'text' } }] });
    expect(s().pasteText(text, { x: 1000, y: 500 })).toBe(true);
    const ids = s().doc!.nodes.map((n) => n.id);
    expect(ids).toEqual(['text', 'parse', 'text1', 'parse1']);
    expect(s().doc!.nodes[2]!.position).toEqual({ x: 1000, y: 500 });
    expect(s().doc!.edges.at(-1)).toMatchObject({ from: { node: 'text1', output: 'text' }, to: { node: 'parse1', input: 'text' } });
    expect(s().selectedNodeIds).toEqual(['text1', 'parse1']);
    // Only one node copied: the link to the one left behind stays behind.
    expect(JSON.parse(copySelection(s().doc!, new Set(['parse']))!).edges).toEqual([]);
    expect(preparePaste(s().doc!, 'not json')).toBeUndefined();
    expect(preparePaste(s().doc!, '{"format":"other"}')).toBeUndefined();
    s().setSelection(['parse'], []);
    s().duplicateSelection();
    expect(s().doc!.nodes.at(-1)).toMatchObject({ id: 'parse2', type: 'prompt.parse' });
  });

  it('opens broken files leniently: unknown types kept, bad ids renamed, dangling edges dropped with a note', () => {
    const { doc, problems } = docFromJson(
      {
        format: 'steer-graph',
        nodes: [...MISSING_TYPE_GRAPH.nodes, { id: 'parse', type: 'prompt.parse' }, 'junk'],
        edges: [...MISSING_TYPE_GRAPH.edges, { id: 'e9', from: { node: 'nowhere', output: 'x' }, to: { node: 'parse', input: 'text' } }],
      },
      catalogue,
    );
    expect(doc.nodes.map((n) => n.id)).toEqual(['parse', 'ghost', 'n1']);
    expect(doc.nodes[1]).toMatchObject({ type: 'vendor.ghost-node', params: { strength: 0.5 } });
    expect(doc.edges).toHaveLength(1);
    expect(problems.join('\n')).toMatch(/"parse" \(unusable or repeated\); it is now "n1"/);
    expect(problems.join('\n')).toMatch(/nodes\[3\] is not an object/);
    expect(problems.join('\n')).toMatch(/does not exist \("nowhere"\)/);
  });
});
