import { describe, expect, it, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder, float, makeAttribute } from '../../src/engine/onnx/builder.ts';
import {
  loadModel,
  saveModel,
  parseModel,
  serializeModel,
  externalizeInitializers,
  tensorValues,
  ModelFileError,
  onnxOpset,
  allTensors,
} from '../../src/engine/onnx/model.ts';
import { createSession, SessionManager, ProviderUnavailableError, availableProviders } from '../../src/engine/onnx/session.ts';
import { differentiate } from '../../src/engine/onnx/autodiff/index.ts';
import { AttributeProto_AttributeType, TensorProto_DataLocation } from 'onnx-buf';

const tmp = mkdtempSync(join(tmpdir(), 'steer-onnx-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function linearModel() {
  const g = new GraphBuilder({ opset: 17 });
  const x = g.input('x', 'float32', [2, 64]);
  const w = g.initializer('w', Float32Array.from({ length: 64 * 8 }, (_, i) => ((i % 13) - 6) / 10), [64, 8]);
  const b = g.initializer('b', Float32Array.from({ length: 8 }, (_, i) => i), [8]);
  g.output(g.op('Add', [g.op('MatMul', [x, w]), b]), 'y', 'float32', [2, 8]);
  return g.toModel();
}

const xFeed = { data: Float32Array.from({ length: 128 }, (_, i) => Math.sin(i)), dims: [2, 64] };

describe('model.ts: ModelProto bytes <-> object, external data', () => {
  it('round-trips bytes', () => {
    const m = linearModel();
    const bytes = serializeModel(m);
    const back = parseModel(bytes);
    expect(onnxOpset(back)).toBe(17);
    expect(back.graph!.node.map((n) => n.opType)).toEqual(['MatMul', 'Add', 'Identity']);
    expect(Array.from(tensorValues(back.graph!.initializer[1]!).data as Float32Array)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('rejects garbage with the file name', () => {
    const p = join(tmp, 'garbage.onnx');
    writeFileSync(p, Buffer.from('definitely not protobuf \xff\xff\xff'));
    expect(() => loadModel(p)).toThrow(ModelFileError);
    expect(() => loadModel(p)).toThrow(/garbage\.onnx/);
    expect(() => loadModel(join(tmp, 'missing.onnx'))).toThrow(/missing\.onnx.*ENOENT/);
  });

  it('loads a model with external data, keeps references valid when saved elsewhere, or inlines', async () => {
    const dirA = join(tmp, 'a');
    const ext = externalizeInitializers(linearModel(), dirA, 'weights.pb', 256);
    const w = ext.graph!.initializer.find((t) => t.name === 'w')!;
    expect(w.dataLocation).toBe(TensorProto_DataLocation.EXTERNAL);
    expect(ext.graph!.initializer.find((t) => t.name === 'b')!.dataLocation).toBe(TensorProto_DataLocation.DEFAULT); // small: inline
    saveModel(ext, join(dirA, 'model.onnx'), { baseDir: dirA });
    const ref = await (await createSession(linearModel())).run({ x: xFeed });

    const loaded = loadModel(join(dirA, 'model.onnx'));
    expect(loaded.baseDir).toBe(dirA);
    expect(Array.from(tensorValues(loaded.model.graph!.initializer[0]!, loaded.baseDir).data as Float32Array).slice(0, 3)).toEqual([-0.6, -0.5, -0.4].map((v) => Math.fround(v)));
    const s1 = await createSession(join(dirA, 'model.onnx'));
    expect(Array.from((await s1.run({ x: xFeed })).y!.data as Float32Array)).toEqual(Array.from(ref.y!.data as Float32Array));

    // keep, into a subfolder's parent: location rewritten relative to the new model
    saveModel(loaded.model, join(tmp, 'parent.onnx'), { baseDir: loaded.baseDir });
    const up = loadModel(join(tmp, 'parent.onnx'));
    expect(up.model.graph!.initializer[0]!.externalData.find((e) => e.key === 'location')!.value).toBe('a/weights.pb');
    const s0 = await createSession(join(tmp, 'parent.onnx'));
    expect(Array.from((await s0.run({ x: xFeed })).y!.data as Float32Array)).toEqual(Array.from(ref.y!.data as Float32Array));
    await s0.release();

    // keep, into an unrelated folder: onnxruntime rejects '../' locations, so the file is linked in
    const dirB = join(tmp, 'b', 'nested');
    saveModel(loaded.model, join(dirB, 'copy.onnx'), { baseDir: loaded.baseDir });
    const copy = loadModel(join(dirB, 'copy.onnx'));
    const loc = copy.model.graph!.initializer[0]!.externalData.find((e) => e.key === 'location')!.value;
    expect(loc).toBe('weights.pb');
    expect(statSync(join(dirB, 'weights.pb')).ino).toBe(statSync(join(dirA, 'weights.pb')).ino);
    const s2 = await createSession(join(dirB, 'copy.onnx'));
    expect(Array.from((await s2.run({ x: xFeed })).y!.data as Float32Array)).toEqual(Array.from(ref.y!.data as Float32Array));

    // inline
    saveModel(loaded.model, join(tmp, 'inline.onnx'), { baseDir: loaded.baseDir, externalData: 'inline' });
    const inl = loadModel(join(tmp, 'inline.onnx'));
    expect(allTensors(inl.model).every((t) => t.dataLocation !== TensorProto_DataLocation.EXTERNAL)).toBe(true);
    const s3 = await createSession(inl.model);
    expect(Array.from((await s3.run({ x: xFeed })).y!.data as Float32Array)).toEqual(Array.from(ref.y!.data as Float32Array));

    // differentiate an external-data model, save next to it (keep), run from the path
    const gm = await differentiate(loaded.model, { of: 'y', wrt: ['x', 'b'], baseDir: loaded.baseDir });
    saveModel(gm, join(tmp, 'grad', 'grad.onnx'), { baseDir: loaded.baseDir });
    const s4 = await createSession(join(tmp, 'grad', 'grad.onnx'));
    const r = await s4.run({ x: xFeed, b: { data: new Float32Array(8), dims: [8] } });
    expect(r.x_grad!.dims).toEqual([2, 64]);
    expect(Array.from(r.b_grad!.data as Float32Array)).toEqual(new Array(8).fill(2));
    for (const s of [s1, s2, s3, s4]) await s.release();
  });

  it('names the missing external data file', () => {
    const dir = join(tmp, 'c');
    mkdirSync(dir, { recursive: true });
    const ext = externalizeInitializers(linearModel(), dir, 'gone.onnx_data', 256);
    saveModel(ext, join(dir, 'model.onnx'), { baseDir: dir });
    rmSync(join(dir, 'gone.onnx_data'));
    expect(existsSync(join(dir, 'model.onnx'))).toBe(true);
    expect(() => loadModel(join(dir, 'model.onnx'))).toThrow(/model\.onnx: tensor 'w' refers to external data file 'gone\.onnx_data'/);
  });
});

describe('builder.ts', () => {
  it('types attributes, names uniquely, annotates shapes', () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', ['batch', 3]);
    const a = g.op('Relu', [x], {}, { name: '/act' });
    const b = g.op('Relu', [a], {}, { name: '/act' });
    expect(a).not.toBe(b);
    expect(g.nodes.map((n) => n.name)).toEqual(['/act', '/act_1']);
    g.annotate(a, 'float32', ['batch', 3]);
    g.output(b, 'y', 'float32', ['batch', 3]);
    const m = g.toModel();
    expect(m.graph!.valueInfo[0]!.name).toBe(a);
    expect(m.graph!.input[0]!.type!.value.case).toBe('tensorType');
    const A = AttributeProto_AttributeType;
    expect(makeAttribute('k', 3).type).toBe(A.INT);
    expect(makeAttribute('k', 0.5).type).toBe(A.FLOAT);
    expect(makeAttribute('k', float(1)).type).toBe(A.FLOAT);
    expect(makeAttribute('k', [1, 2]).type).toBe(A.INTS);
    expect(makeAttribute('k', [1.5, 2]).type).toBe(A.FLOATS);
    expect(makeAttribute('k', 'nearest').type).toBe(A.STRING);
    expect(makeAttribute('k', ['a', 'b']).type).toBe(A.STRINGS);
    expect(() => g.input('x', 'float32', [1])).toThrow(/already used/);
  });

  it('builds a Conv model onnxruntime runs', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [1, 4, 16, 16]);
    const w = g.initializer('w', Float32Array, [8, 4, 3, 3]);
    const y = g.op('Conv', [x, w], { strides: [2, 2], pads: [1, 1, 1, 1] }, { name: '/down/conv' });
    g.output(y, 'y');
    const s = await createSession(g.toModel());
    const r = await s.run({ x: { data: new Float32Array(4 * 256), dims: [1, 4, 16, 16] } });
    expect(r.y!.dims).toEqual([1, 8, 8, 8]);
    await s.release();
  });
});

describe('session.ts', () => {
  it('caches by content hash and options, releases', async () => {
    const mgr = new SessionManager();
    const m = linearModel();
    const s1 = await mgr.get(m);
    const s2 = await mgr.get(serializeModel(m));
    expect(s2).toBe(s1);
    const s3 = await mgr.get(m, { intraOpNumThreads: 1 });
    expect(s3).not.toBe(s1);
    expect(mgr.size).toBe(2);
    const r = await s3.run({ x: xFeed });
    expect(r.y!.dims).toEqual([2, 8]);
    await s1.release();
    expect(mgr.size).toBe(1);
    await expect(s1.run({ x: xFeed })).rejects.toThrow(/released/);
    await mgr.dispose();
    expect(mgr.size).toBe(0);
  });

  it('caches path sessions by file content', async () => {
    const mgr = new SessionManager();
    const p = join(tmp, 'cached.onnx');
    saveModel(linearModel(), p);
    const a = await mgr.get(p);
    expect(await mgr.get(p)).toBe(a);
    const g = new GraphBuilder({ opset: 17 });
    g.output(g.op('Neg', [g.input('x', 'float32', [2, 64])]), 'y');
    saveModel(g.toModel(), p);
    const b = await mgr.get(p);
    expect(b).not.toBe(a);
    expect((await b.run({ x: xFeed })).y!.dims).toEqual([2, 64]);
    await mgr.dispose();
  });

  it('reports unavailable execution providers clearly', async () => {
    expect(availableProviders()).toContain('cpu');
    // cuda / webgpu: either they work here or the error says which provider failed and why
    for (const provider of ['cuda', 'webgpu'] as const) {
      const r = await createSession(linearModel(), { provider }).then(
        async (s) => {
          await s.release();
          return 'ok';
        },
        (e: unknown) => e,
      );
      if (r !== 'ok') {
        expect(r).toBeInstanceOf(ProviderUnavailableError);
        expect((r as Error).message).toMatch(new RegExp(`'${provider}'`));
      }
    }
    await expect(createSession(linearModel(), { provider: 'dml' as never })).rejects.toThrow(/'dml' is not available/);
  });
});
