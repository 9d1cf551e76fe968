/**
 * `steer generate --steer`: the main job's prompt unsteered and steered through the shipped graphs;
 * the PNG records how it was sampled (steer_sampling), and the relation check is printed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPngText } from '../../src/engine/image/png.ts';

const steer = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/steer.mjs', ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const PROMPT = 'a photo of a red circle to the left of a blue square';

describe('steer generate --steer', () => {
  it('records the method and its settings in the PNG, and prints the relation check', () => {
    const dir = mkdtempSync(join(tmpdir(), 'steer-gen-'));
    const none = steer('generate', PROMPT, '--seed', '1', '--steer', 'none', '--out', join(dir, 'none.png'));
    expect(none.code, none.err).toBe(0);
    expect(none.err).toMatch(/check_none .*0\/1 relations hold/);
    const plain = JSON.parse(readPngText(readFileSync(join(dir, 'none.png'))).steer_sampling!);
    expect(plain).toEqual({ method: 'none', steps: 50, guidance: 7.5, scheduler: 'ddim' });

    const learned = steer('generate', PROMPT, '--seed', '1', '--steer', 'learned', '--out', join(dir, 'learned.png'));
    expect(learned.code, learned.err).toBe(0);
    expect(learned.err).toMatch(/check_learned .*1\/1 relations hold/);
    const text = readPngText(readFileSync(join(dir, 'learned.png')));
    const s = JSON.parse(text.steer_sampling!);
    expect(s).toMatchObject({ method: 'learned', terms: ['learned: red circle left blue square'], classifiers: ['shape-world-relations'], step_mode: 'normalized', alpha: 0.05, stop_prob: 0.8, last_step: 14, scheduler: 'ddim' });
    expect(s.evaluations).toBeGreaterThan(0);
    expect(text.steer_prompt).toBe(PROMPT);
    expect(JSON.parse(text.steer_graph!).meta.name).toBe('Compare Losses');
  }, 180_000);

  it('--classifier must name a classifier folder and goes with --steer learned', () => {
    const bad = steer('generate', PROMPT, '--steer', 'learned', '--classifier', 'resources/models', '--out', join(tmpdir(), 'x.png'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--classifier resources\/models: no classifier.json in that folder \(installed ones: .*shape-world-relations/);
    const wrong = steer('generate', PROMPT, '--steer', 'centroid', '--classifier', 'resources/classifiers/shape-world-relations', '--out', join(tmpdir(), 'x.png'));
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(/--classifier is for --steer learned/);
  });
});
