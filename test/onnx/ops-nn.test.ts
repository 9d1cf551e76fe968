import { describe, expect, it } from 'vitest';
import { GraphBuilder, float, type Attrs } from '../../src/engine/onnx/builder.ts';
import { gradcheck, opTypes, randn } from './gradcheck.ts';
import { CONV_GRAD, NORM_GRAD } from '../../src/engine/onnx/autodiff/rules/nn.ts';

const TOL = 2e-3;

function f32(dims: number[], seed: number, scale = 0.5): Float32Array {
  return randn(dims, seed, 'float32', scale).data as Float32Array;
}

async function expectOk(r: { errors: Record<string, number> }, label: string, tol = TOL) {
  for (const [k, v] of Object.entries(r.errors)) expect(v, `${label} d/d${k}`).toBeLessThan(tol);
}

describe('convolutions', () => {
  const convCases: { x: number[]; w: number[]; attrs: Attrs; label: string }[] = [
    { x: [2, 3, 6, 6], w: [4, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] }, label: 'same 3x3' },
    { x: [1, 2, 7, 6], w: [3, 2, 3, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] }, label: 'strided, odd size' },
    { x: [1, 2, 6, 6], w: [2, 2, 3, 3], attrs: { strides: [2, 2] }, label: 'strided, uncovered rows' },
    { x: [1, 2, 7, 7], w: [2, 2, 3, 2], attrs: { dilations: [2, 1], pads: [2, 0, 1, 1] }, label: 'dilated, asymmetric pads' },
    { x: [2, 4, 5, 5], w: [6, 2, 3, 3], attrs: { group: 2, pads: [1, 1, 1, 1] }, label: 'groups' },
    { x: [1, 4, 5, 5], w: [4, 1, 3, 3], attrs: { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] }, label: 'depthwise strided' },
    { x: [1, 3, 5, 5], w: [2, 3, 1, 1], attrs: {}, label: '1x1' },
    { x: [1, 2, 5, 4], w: [3, 2, 3, 3], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] }, label: 'auto_pad SAME_UPPER' },
    { x: [2, 3, 9], w: [2, 3, 3], attrs: { strides: [2], pads: [1, 1] }, label: '1-D' },
    { x: [1, 2, 5, 6], w: [3, 2, 3, 3], attrs: { dilations: [2, 2], pads: [2, 2, 2, 2] }, label: 'dilated same, stride 1' },
    { x: [1, 2, 5, 6], w: [3, 2, 3, 3], attrs: { pads: [2, 0, 3, 1] }, label: 'pads larger than kernel reach' },
    // 'auto' picks 'taps' here (16 input channels, N*HW = 144 > 128) and 'eyeconv' in the small cases
    { x: [1, 16, 12, 12], w: [5, 16, 3, 3], attrs: { pads: [1, 1, 1, 1] }, label: 'wider 3x3 (auto: taps)' },
    { x: [2, 16, 9, 9], w: [3, 16, 3, 3], attrs: { strides: [2, 2], dilations: [1, 2], pads: [0, 1, 1, 2] }, label: 'wider strided dilated' },
    { x: [1, 2, 4, 4, 3], w: [2, 2, 3, 2, 3], attrs: { pads: [1, 0, 1, 1, 1, 1] }, label: '3-D' },
  ];
  for (const c of convCases) {
    it(`Conv ${c.label} (all gradient strategies)`, async () => {
      const g = new GraphBuilder({ opset: 17 });
      const x = g.input('x', 'float32', c.x);
      const w = g.initializer('w', f32(c.w, 3), c.w);
      const b = g.initializer('b', f32([c.w[0]!], 4), [c.w[0]!]);
      g.output(g.op('Conv', [x, w, b], c.attrs), 'y');
      const saved = { ...CONV_GRAD };
      try {
        for (const [weight, input] of [['auto', 'auto'], ['im2col', 'auto'], ['conv', 'convtranspose'], ['taps', 'auto'], ['eyeconv', 'convtranspose'], ['auto', 'conv']] as const) {
          CONV_GRAD.weight = weight;
          CONV_GRAD.input = input;
          await expectOk(await gradcheck(g.toModel(), { wrt: ['x', 'w', 'b'], samples: 5 }), `${c.label} ${weight}/${input}`);
        }
        // w constant: 'auto' takes the flipped-kernel Conv for dx at stride 1 (ConvTranspose when w gets a gradient)
        CONV_GRAD.input = 'auto';
        await expectOk(await gradcheck(g.toModel(), { wrt: ['x'], samples: 5 }), `${c.label} dx only`);
      } finally {
        Object.assign(CONV_GRAD, saved);
      }
    });
  }

  const convTCases: { x: number[]; w: number[]; attrs: Attrs; label: string }[] = [
    { x: [1, 3, 4, 4], w: [3, 2, 3, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }, label: 'x2 upsample' },
    { x: [2, 4, 3, 3], w: [4, 1, 2, 2], attrs: { strides: [2, 2], group: 2 }, label: 'groups' },
    { x: [1, 2, 3, 4], w: [2, 3, 3, 3], attrs: { dilations: [2, 1], pads: [1, 0, 1, 2] }, label: 'dilated' },
    { x: [1, 2, 3, 3], w: [2, 2, 3, 3], attrs: { strides: [2, 2], output_shape: [6, 5] }, label: 'output_shape' },
    { x: [1, 2, 3, 3], w: [2, 2, 3, 3], attrs: { strides: [2, 2], auto_pad: 'SAME_UPPER' }, label: 'auto_pad SAME_UPPER' },
    { x: [1, 2, 3, 3], w: [2, 2, 4, 4], attrs: { strides: [2, 2], auto_pad: 'SAME_LOWER' }, label: 'auto_pad SAME_LOWER' },
    { x: [1, 2, 3, 3], w: [2, 2, 3, 3], attrs: { strides: [3, 3], output_padding: [2, 1] }, label: 'output_padding beyond kernel' },
  ];
  for (const c of convTCases) {
    it(`ConvTranspose ${c.label} (all weight strategies)`, async () => {
      const g = new GraphBuilder({ opset: 17 });
      const x = g.input('x', 'float32', c.x);
      const w = g.initializer('w', f32(c.w, 3), c.w);
      const cout = c.w[1]! * ((c.attrs.group as number) ?? 1);
      const b = g.initializer('b', f32([cout], 4), [cout]);
      g.output(g.op('ConvTranspose', [x, w, b], c.attrs), 'y');
      const saved = CONV_GRAD.weight;
      try {
        for (const weight of ['auto', 'im2col', 'conv', 'taps', 'eyeconv'] as const) {
          CONV_GRAD.weight = weight;
          await expectOk(await gradcheck(g.toModel(), { wrt: ['x', 'w', 'b'], samples: 5 }), `${c.label} ${weight}`);
        }
      } finally {
        CONV_GRAD.weight = saved;
      }
    });
  }
});

describe('normalizations', () => {
  // opset 13: statistics recomputed in the backward; 17: forward rebuilt around LayerNormalization
  // (affine step kept for a non-unit scale); both modes at 17. (onnxruntime has no float64
  // InstanceNormalization kernel, so float32 only.)
  for (const [opset, stats] of [[13, 'forward'], [17, 'forward'], [17, 'recompute']] as const) {
    it(`InstanceNormalization opset ${opset} (${stats} statistics)`, async () => {
      const g = new GraphBuilder({ opset });
      const x = g.input('x', 'float32', [2, 3, 4, 4]);
      const s = g.initializer('s', f32([3], 1, 1), [3]);
      const b = g.initializer('b', f32([3], 2), [3]);
      g.output(g.op('InstanceNormalization', [x, s, b], { epsilon: float(1e-5) }), 'y');
      const saved = NORM_GRAD.stats;
      NORM_GRAD.stats = stats;
      try {
        const r = await gradcheck(g.toModel(), { wrt: ['x', 's', 'b'], samples: 8 });
        await expectOk(r, 'IN');
        expect(r.gradModel.graph!.node.some((n) => n.opType === 'LayerNormalization')).toBe(opset >= 17 && stats === 'forward');
      } finally {
        NORM_GRAD.stats = saved;
      }
    });
  }

  for (const [axis, shape, ps] of [[-1, [2, 3, 8], [8]], [1, [2, 3, 4], [3, 4]]] as const) {
    it(`LayerNormalization axis=${axis}`, async () => {
      const g = new GraphBuilder({ opset: 17 });
      const x = g.input('x', 'float32', [...shape]);
      const s = g.initializer('s', f32([...ps], 1, 1), [...ps]);
      const b = g.initializer('b', f32([...ps], 2), [...ps]);
      g.output(g.op('LayerNormalization', [x, s, b], { axis, epsilon: float(1e-5) }), 'y');
      await expectOk(await gradcheck(g.toModel(), { wrt: ['x', 's', 'b'], samples: 8 }), 'LN');
    });
  }

  for (const opset of [18, 21]) {
    for (const stats of ['forward', 'recompute'] as const) {
      it(`GroupNormalization opset ${opset} (${stats} statistics)`, async () => {
        const g = new GraphBuilder({ opset });
        const x = g.input('x', 'float32', [2, 4, 3, 3]);
        const n = opset >= 21 ? 4 : 2;
        const s = g.initializer('s', f32([n], 1, 1), [n]);
        const b = g.initializer('b', f32([n], 2), [n]);
        g.output(g.op('GroupNormalization', [x, s, b], { num_groups: 2, epsilon: float(1e-5) }), 'y');
        const saved = NORM_GRAD.stats;
        NORM_GRAD.stats = stats;
        try {
          const r = await gradcheck(g.toModel(), { wrt: ['x', 's', 'b'], samples: 8 });
          await expectOk(r, 'GN');
          expect(r.gradModel.graph!.node.some((m) => m.opType === 'GroupNormalization')).toBe(stats === 'recompute');
        } finally {
          NORM_GRAD.stats = saved;
        }
      });
    }
  }

  it('BatchNormalization (inference) w.r.t. x, scale, B, mean, var', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [2, 3, 2, 2]);
    const s = g.initializer('s', f32([3], 1, 1), [3]);
    const b = g.initializer('b', f32([3], 2), [3]);
    const m = g.initializer('m', f32([3], 3), [3]);
    const v = g.initializer('v', Float32Array.of(0.5, 1, 2), [3]);
    g.output(g.op('BatchNormalization', [x, s, b, m, v]), 'y');
    await expectOk(await gradcheck(g.toModel(), { wrt: ['x', 's', 'b', 'm', 'v'] }), 'BN');
  });
});

describe('pooling and resizing', () => {
  const poolCases: { attrs: Attrs; x: number[]; label: string }[] = [
    { attrs: { kernel_shape: [2, 2], strides: [2, 2] }, x: [1, 2, 4, 6], label: '2x2/2' },
    { attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, x: [2, 2, 5, 5], label: '3x3/2 pad, exclude pad' },
    { attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 }, x: [1, 2, 6, 5], label: '3x3/2 pad, include pad' },
    { attrs: { kernel_shape: [3, 2], strides: [1, 2] }, x: [1, 1, 5, 5], label: 'overlapping, uncovered cols' },
  ];
  for (const c of poolCases) {
    it(`AveragePool ${c.label}`, async () => {
      const g = new GraphBuilder({ opset: 17 });
      g.output(g.op('AveragePool', [g.input('x', 'float32', c.x)], c.attrs), 'y');
      await expectOk(await gradcheck(g.toModel(), { wrt: ['x'], samples: 8 }), c.label);
    });
    it(`MaxPool ${c.label}`, async () => {
      const g = new GraphBuilder({ opset: 17 });
      const attrs = { ...c.attrs };
      delete attrs.count_include_pad;
      g.output(g.op('MaxPool', [g.input('x', 'float32', c.x)], attrs), 'y');
      // distinct, well-separated values so finite differences do not cross an argmax switch
      const n = c.x.reduce((a, b) => a * b, 1);
      const perm = Array.from({ length: n }, (_, i) => (i * 7919) % n);
      const x = { data: Float32Array.from(perm, (p) => p * 0.1), dims: c.x };
      await expectOk(await gradcheck(g.toModel(), { wrt: ['x'], samples: 10, feeds: { x } }), c.label);
    });
  }

  it('MaxPool before opset 16: disjoint windows work, overlapping ones are refused', async () => {
    const mk = (attrs: Attrs) => {
      const g = new GraphBuilder({ opset: 13 });
      g.output(g.op('MaxPool', [g.input('x', 'float32', [1, 2, 4, 4])], attrs, { name: '/pool' }), 'y');
      return g.toModel();
    };
    const x = { data: Float32Array.from({ length: 32 }, (_, i) => ((i * 13) % 32) * 0.1), dims: [1, 2, 4, 4] };
    await expectOk(await gradcheck(mk({ kernel_shape: [2, 2], strides: [2, 2] }), { wrt: ['x'], feeds: { x }, samples: 10 }), 'disjoint');
    await expect(gradcheck(mk({ kernel_shape: [3, 3], strides: [1, 1] }), { wrt: ['x'], feeds: { x } })).rejects.toThrow(/'MaxPool' \(node '\/pool'\).*opset >= 16/);
  });

  it('GlobalMaxPool', async () => {
    const g = new GraphBuilder({ opset: 17 });
    g.output(g.op('GlobalMaxPool', [g.input('x', 'float32', [2, 3, 2, 3])]), 'y');
    const x = { data: Float32Array.from({ length: 36 }, (_, i) => ((i * 17) % 36) * 0.1), dims: [2, 3, 2, 3] };
    await expectOk(await gradcheck(g.toModel(), { wrt: ['x'], samples: 12, feeds: { x } }), 'GMP');
  });

  it('GlobalAveragePool', async () => {
    const g = new GraphBuilder({ opset: 17 });
    g.output(g.op('GlobalAveragePool', [g.input('x', 'float32', [2, 3, 4, 5])]), 'y');
    await expectOk(await gradcheck(g.toModel(), { wrt: ['x'] }), 'GAP');
  });

  const resizeCases: { attrs: Attrs; scales?: number[]; sizes?: number[]; x: number[]; label: string }[] = [
    { attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, scales: [1, 1, 2, 2], x: [1, 2, 3, 4], label: 'nearest x2 (PyTorch export)' },
    { attrs: { mode: 'nearest' }, scales: [1, 1, 1.5, 0.5], x: [2, 1, 4, 6], label: 'nearest half_pixel fractional' },
    { attrs: { mode: 'linear' }, scales: [1, 1, 2, 2], x: [1, 2, 3, 4], label: 'linear half_pixel x2' },
    { attrs: { mode: 'linear', coordinate_transformation_mode: 'align_corners' }, sizes: [1, 2, 5, 7], x: [1, 2, 3, 4], label: 'linear align_corners sizes' },
    { attrs: { mode: 'cubic' }, scales: [1, 1, 2, 1], x: [1, 1, 4, 3], label: 'cubic one axis' },
    { attrs: { mode: 'nearest' }, scales: [1, 2, 2], x: [2, 3, 4], label: 'nearest 3-D tensor (block fast path, half_pixel)' },
    { attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric' }, scales: [1, 1, 3, 2], x: [1, 2, 3, 4], label: 'nearest asymmetric round_prefer_floor (not blocky)' },
    { attrs: { mode: 'nearest', coordinate_transformation_mode: 'pytorch_half_pixel', nearest_mode: 'ceil' }, sizes: [1, 2, 9, 4], x: [1, 2, 3, 4], label: 'nearest pytorch_half_pixel ceil x3 via sizes' },
  ];
  it('Resize nearest x2 as PyTorch exports it uses the block-sum fast path (no interpolation matrices)', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', ['batch', 2, 3, 4]);
    g.output(g.op('Resize', [x, '', g.initializer('scales', Float32Array.of(1, 1, 2, 2), [4])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }), 'y');
    const r = await gradcheck(g.toModel(), { wrt: ['x'] });
    expect(opTypes(r.gradModel).has('MatMul')).toBe(false);
    // float32 spatial block sums run as a depthwise Conv with a ones kernel
    expect(r.gradModel.graph!.node.filter((n) => n.opType === 'Conv').length).toBe(1);
    await expectOk(r, 'fast path');
  });

  it('Resize nearest block sums that include the channel axis fall back to a ReduceSum over the block axes', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [2, 3, 4]);
    g.output(g.op('Resize', [x, '', g.initializer('scales', Float32Array.of(1, 2, 3), [3])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }), 'y');
    const r = await gradcheck(g.toModel(), { wrt: ['x'], samples: 8 });
    expect(opTypes(r.gradModel).has('Conv')).toBe(false);
    await expectOk(r, 'channel-axis blocks');
  });

  it('Resize nearest x3 and x2 on two of the three spatial axes of a 5-D tensor (3-D depthwise Conv block sum)', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [1, 2, 2, 3, 2]);
    g.output(g.op('Resize', [x, '', g.initializer('scales', Float32Array.of(1, 1, 1, 3, 2), [5])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }), 'y');
    const r = await gradcheck(g.toModel(), { wrt: ['x'], samples: 8 });
    expect(opTypes(r.gradModel).has('Conv')).toBe(true);
    await expectOk(r, '5-D blocks');
  });

  it('Resize linear antialias downscale (opset 18)', async () => {
    const g = new GraphBuilder({ opset: 18 });
    const x = g.input('x', 'float32', [1, 2, 6, 8]);
    g.output(g.op('Resize', [x, '', g.initializer('scales', Float32Array.of(1, 1, 0.5, 0.25), [4])], { mode: 'linear', antialias: 1 }), 'y');
    await expectOk(await gradcheck(g.toModel(), { wrt: ['x'], samples: 8 }), 'antialias');
  });

  for (const c of resizeCases) {
    it(`Resize ${c.label}`, async () => {
      const g = new GraphBuilder({ opset: 17 });
      const x = g.input('x', 'float32', c.x);
      const scales = c.scales ? g.initializer('scales', Float32Array.from(c.scales), [c.scales.length]) : '';
      const sizes = c.sizes ? g.initializer('sizes', BigInt64Array.from(c.sizes.map(BigInt)), [c.sizes.length]) : undefined;
      g.output(g.op('Resize', [x, '', scales, sizes], c.attrs), 'y');
      await expectOk(await gradcheck(g.toModel(), { wrt: ['x'], samples: 8 }), c.label);
    });
  }
});
