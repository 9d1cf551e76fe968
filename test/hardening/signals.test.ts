/**
 * Ctrl+C on every long command: start the real CLI, SIGINT it mid-work, and check that it stopped
 * within about a second, said where, kept what it had finished and exited 130.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SessionManager } from '../../src/engine/onnx/session.ts';
import { loadPipeline } from '../../src/engine/pipeline/load.ts';
import { buildRelationDataset, DEFAULT_RECIPE, type DatasetRecipe } from '../../src/engine/steer/relation-dataset.ts';
import { interruptSteer } from './spawn.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'steer-sig-'));
/** Generous for a loaded 2-core CI box; a command that ignores the signal runs on for many seconds. */
const STOP_MS = 1500;

describe('Ctrl+C', () => {
  it('steer eval stops after the current image, writes partial results and exits 130', async () => {
    const out = tmp();
    const r = await interruptSteer(['eval', 'objects', '--seeds', '4', '--steps', '10', '--out', out], /objects: image 1\//);
    expect(r.code, r.err).toBe(130);
    expect(r.stopMs).toBeLessThan(STOP_MS);
    expect(r.err).toMatch(/stopped at suite objects, image \d+\/\d+/);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.partial).toBe(true);
    expect(results.records.length).toBeGreaterThanOrEqual(1);
    expect(results.records.length).toBeLessThan(20);
    expect(readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n')).toHaveLength(results.records.length + 1);
    expect(existsSync(join(out, 'samples-objects.png'))).toBe(true);
  }, 90_000);

  it('steer generate stops inside the Sampler, names the node and step, writes no PNG and exits 130', async () => {
    const out = join(tmp(), 'g.png');
    const r = await interruptSteer(['generate', 'a red circle', '--steps', '500', '--out', out], /done\s+encode/);
    expect(r.code, r.err).toBe(130);
    expect(r.stopMs).toBeLessThan(STOP_MS);
    expect(r.err).toMatch(/stopped at node "sample" \(Sampler\)/);
    expect(existsSync(out)).toBe(false);
  }, 90_000);

  it('steer run stops the running node, keeps what earlier nodes saved and exits 130', async () => {
    const out = tmp();
    const r = await interruptSteer(['run', 'graphs/generate.json', '--out', out, '--set', 'sample.steps=500'], /done\s+encode/);
    expect(r.code, r.err).toBe(130);
    expect(r.stopMs).toBeLessThan(STOP_MS);
    expect(r.err).toMatch(/stopped at node "sample" \(Sampler\)/);
    expect(r.err).toContain(`files they saved are kept in ${out}`);
  }, 90_000);
});

describe('Ctrl+C on training', () => {
  it('steer train saves a checkpoint for the last finished step, says so and exits 130', async () => {
    const out = tmp();
    const r = await interruptSteer(['train', 'shape-world', '--out', out, '--stage', 'vae', '--steps', '100000', '--batch', '1', '--log-every', '1', '--checkpoint-every', '0'], /vae step 3\/100000/);
    expect(r.code, r.err).toBe(130);
    expect(r.stopMs).toBeLessThan(STOP_MS);
    const m = /stopped at vae step (\d+)\/100000/.exec(r.err);
    expect(m, r.err).not.toBeNull();
    const step = Number(m![1]);
    expect(r.err).toContain(`checkpoint-${String(step).padStart(8, '0')}.safetensors`);
    expect(existsSync(join(out, 'vae', `checkpoint-${String(step).padStart(8, '0')}.safetensors`))).toBe(true);
    expect(readFileSync(join(out, 'vae', 'losses.csv'), 'utf8').trim().split('\n')).toHaveLength(step + 1);
  }, 90_000);
});

describe('Ctrl+C on the steering commands', () => {
  it('steer dataset relations keeps finished shards and exits 130', async () => {
    const out = tmp();
    const r = await interruptSteer(['dataset', 'relations', '--out', out, '--count', '100', '--steps', '10', '--record', '5,9', '--batch', '1', '--shard-images', '2', '--no-progress'], /shard-00000:/);
    expect(r.code, r.err).toBe(130);
    expect(r.stopMs).toBeLessThan(STOP_MS);
    expect(r.err).toMatch(/stopped at image \d+ of 100/);
    expect(existsSync(join(out, 'shard-00000.bin'))).toBe(true);
  }, 90_000);

  it('steer train classifier stops between epochs and exits 130', async () => {
    const data = tmp();
    const sessions = new SessionManager();
    const pipe = await loadPipeline('resources/models/shape-world', sessions);
    const recipe: DatasetRecipe = { ...DEFAULT_RECIPE, count: 8, source: 'rendered', seed: 5, steps: 10, record: [4, 9], batch: 4, shardImages: 4, fractions: { val: 0.25, test: 0.125, unseen: 0.125 } };
    await buildRelationDataset(pipe, sessions, { out: data, recipe });
    await sessions.dispose();
    const r = await interruptSteer(['train', 'classifier', '--data', data, '--out', tmp(), '--epochs', '100000', '--patience', '100000', '--no-progress'], /epoch 2:/);
    expect(r.code, r.err).toBe(130);
    expect(r.stopMs).toBeLessThan(STOP_MS);
    expect(r.err).toMatch(/stopped at/);
  }, 120_000);
});
