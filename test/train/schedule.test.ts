import { describe, expect, it } from 'vitest';
import { ConstantSchedule, CosineSchedule, ReduceLROnPlateau, WarmupSchedule } from '../../src/engine/train/schedule.ts';
import { EMA } from '../../src/engine/train/ema.ts';
import type { JsonValue, TensorMap } from '../../src/engine/train/types.ts';

describe('schedules', () => {
  it('constant', () => {
    const s = new ConstantSchedule(3e-4);
    expect(s.lrAt(0)).toBe(3e-4);
    expect(s.lrAt(12345)).toBe(3e-4);
    expect(() => s.lrAt(-1)).toThrow(/step/);
  });

  it('cosine with min lr', () => {
    const base = 1e-3;
    const min = 1e-5;
    const s = new CosineSchedule({ baseLr: base, totalSteps: 100, minLr: min });
    expect(s.lrAt(0)).toBe(base);
    expect(s.lrAt(25)).toBeCloseTo(min + ((base - min) * (1 + Math.SQRT1_2)) / 2, 15);
    expect(s.lrAt(50)).toBeCloseTo((base + min) / 2, 15);
    expect(s.lrAt(100)).toBeCloseTo(min, 15);
    expect(s.lrAt(150)).toBeCloseTo(min, 15);
    expect(() => new CosineSchedule({ baseLr: 1, totalSteps: 0 })).toThrow(/totalSteps/);
  });

  it('warmup + cosine equals diffusers get_cosine_schedule_with_warmup', () => {
    const base = 2e-4;
    const W = 10;
    const N = 110;
    const s = new WarmupSchedule({ warmupSteps: W, inner: new CosineSchedule({ baseLr: base, totalSteps: N - W }) });
    // diffusers: step < W -> step / W; else progress = (step - W) / (N - W), 0.5 * (1 + cos(pi * progress))
    const ref = (step: number): number => (step < W ? (base * step) / W : base * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * ((step - W) / (N - W))))));
    for (const step of [0, 1, 5, 9, 10, 11, 35, 60, 109, 110]) expect(s.lrAt(step)).toBeCloseTo(ref(step), 15);
    expect(s.lrAt(0)).toBe(0);
    expect(s.lrAt(5)).toBeCloseTo(base / 2, 15);
  });

  it('warmup with a start factor over a constant schedule', () => {
    const s = new WarmupSchedule({ warmupSteps: 4, inner: new ConstantSchedule(1), startFactor: 0.2 });
    expect([0, 1, 2, 3, 4, 100].map((i) => s.lrAt(i))).toEqual([0.2, 0.4, 0.6000000000000001, 0.8, 1, 1].map((x) => expect.closeTo(x, 12)));
    expect(s.state()).toEqual({ kind: 'warmup', warmup_steps: 4, start_factor: 0.2, inner: { kind: 'constant', lr: 1 } });
  });
});

describe('ReduceLROnPlateau', () => {
  const metrics = [10, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 8.0, 7.5, 7.1, 7.1, 7.1, 7.1, 7.1, 7.1, 7.1, 7.1];
  // Traced by hand with PyTorch's rules (mode min, rel threshold 0.1, patience 2, cooldown 1):
  //  #1 best=10; #2-#4 not < 9 -> bad 1,2,3 -> reduce to 0.5 (cooldown 1); #5 cooldown eats it;
  //  #6-#8 bad 1,2,3 -> 0.25; #9 8 < 8.55 -> best 8 (cooldown ends); #10 7.5 !< 7.2 -> bad 1;
  //  #11 7.1 < 7.2 -> best 7.1; #12-#14 bad -> max(0.125, minLr 0.2) = 0.2; #15 cooldown;
  //  #16-#18 bad -> max(0.1, 0.2) = 0.2, no change (difference <= eps).
  const expectedLr = [1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2, 0.2];
  const expectedReduced = [3, 7, 13];
  const make = (): ReduceLROnPlateau => new ReduceLROnPlateau({ lr: 1, factor: 0.5, patience: 2, threshold: 0.1, cooldown: 1, minLr: 0.2 });

  it('follows PyTorch semantics (patience, threshold, cooldown, min lr)', () => {
    const s = make();
    const lrs: number[] = [];
    const reduced: number[] = [];
    metrics.forEach((m, i) => {
      if (s.step(m)) reduced.push(i);
      lrs.push(s.lrAt(i));
    });
    expect(lrs).toEqual(expectedLr);
    expect(reduced).toEqual(expectedReduced);
  });

  it('state survives JSON and resumes identically', () => {
    const a = make();
    metrics.slice(0, 10).forEach((m) => a.step(m));
    const b = make();
    b.loadState(JSON.parse(JSON.stringify(a.state())) as JsonValue);
    const rest = metrics.slice(10).map((m) => [a.step(m), a.lrAt(), b.step(m), b.lrAt()]);
    for (const [ra, la, rb, lb] of rest) {
      expect(rb).toBe(ra);
      expect(lb).toBe(la);
    }
    expect(b.state()).toEqual(a.state());
    expect(make().state().best).toBeNull();
  });

  it('treats NaN as a bad value and supports mode max / abs threshold', () => {
    const s = new ReduceLROnPlateau({ lr: 1, patience: 0 });
    s.step(1);
    expect(s.step(NaN)).toBe(true);
    expect(s.lrAt()).toBeCloseTo(0.1, 15);
    const m = new ReduceLROnPlateau({ lr: 1, mode: 'max', thresholdMode: 'abs', threshold: 0.5, patience: 0, factor: 0.5 });
    m.step(1);
    expect(m.step(1.6)).toBe(false); // 1.6 > 1.5: better
    expect(m.step(2.0)).toBe(true); // 2.0 !> 2.1: bad, patience 0 -> reduce
    expect(m.lrAt()).toBe(0.5);
  });

  it('composes with warmup', () => {
    const p = new ReduceLROnPlateau({ lr: 1, patience: 0, factor: 0.5 });
    const s = new WarmupSchedule({ warmupSteps: 2, inner: p });
    expect(s.lrAt(1)).toBe(0.5);
    p.step(1);
    p.step(2);
    expect(s.lrAt(1)).toBe(0.25);
    expect(s.lrAt(10)).toBe(0.5);
  });
});

describe('EMA', () => {
  const tm = (v: number[]): TensorMap => new Map([['w', Float32Array.from(v)]]);

  it('decay follows diffusers EMAModel.get_decay', () => {
    const e = new EMA(tm([0]), { decay: 0.9999 });
    expect(e.getDecay(1)).toBe(0);
    expect(e.getDecay(2)).toBeCloseTo(2 / 11, 15);
    expect(e.getDecay(3)).toBeCloseTo(3 / 12, 15);
    expect(e.getDecay(101)).toBeCloseTo(101 / 110, 15);
    expect(e.getDecay(10_000_000)).toBe(0.9999);
    const late = new EMA(tm([0]), { decay: 0.99, updateAfterStep: 2 });
    expect(late.getDecay(3)).toBe(0);
    expect(late.getDecay(4)).toBeCloseTo(2 / 11, 15);
    const none = new EMA(tm([0]), { decay: 0.9, warmup: 'none', minDecay: 0.5 });
    expect(none.getDecay(1)).toBe(0);
    expect(none.getDecay(2)).toBe(0.9);
    const pw = new EMA(tm([0]), { decay: 0.999, warmup: { invGamma: 1, power: 2 / 3 } });
    expect(pw.getDecay(11)).toBeCloseTo(1 - (1 + 10) ** (-2 / 3), 15);
  });

  it('averages weights as shadow -= (1 - d) * (shadow - param)', () => {
    const p = tm([1, -1]);
    const e = new EMA(p, { decay: 0.5, warmup: 'none' });
    const ref = [1, -1];
    const seq = [
      [2, 0],
      [4, 2],
      [0, 0],
    ];
    seq.forEach((v, k) => {
      p.get('w')!.set(v);
      const d = e.update(p);
      const want = k === 0 ? 0 : 0.5;
      expect(d).toBe(want);
      for (let i = 0; i < 2; i++) ref[i] = ref[i]! - (1 - want) * (ref[i]! - v[i]!);
    });
    expect(Array.from(e.weights.get('w')!)).toEqual(ref); // [2,0] -> [3,1] -> [1.5,0.5]
    expect(ref).toEqual([1.5, 0.5]);
    const out = tm([0, 0]);
    e.copyTo(out);
    expect(Array.from(out.get('w')!)).toEqual([1.5, 0.5]);
  });

  it('state round trip', () => {
    const p = tm([1, 2, 3]);
    const e = new EMA(p);
    for (let k = 0; k < 5; k++) {
      p.get('w')!.forEach((x, i, a) => (a[i] = x * 0.9 + k));
      e.update(p);
    }
    const f = new EMA(tm([0, 0, 0]));
    f.loadState(e.state());
    expect(f.step).toBe(5);
    p.get('w')![0] = 7;
    e.update(p);
    f.update(p);
    expect(Array.from(f.weights.get('w')!)).toEqual(Array.from(e.weights.get('w')!));
    expect(() => new EMA(tm([0, 0])).loadState(e.state())).toThrow(/has 3 elements, expected 2/);
  });
});
