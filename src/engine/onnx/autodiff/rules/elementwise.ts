/**
 * Gradient rules for elementwise operators (with numpy broadcasting) and activations.
 * Notation: x inputs, y = output, g = dL/dy; each rule returns dL/dx per input. Broadcast inputs
 * get their gradient summed over the broadcast axes (Emitter.unbroadcast).
 */
import { FOLDED, type GradRule, type RuleContext } from '../context.ts';

/** g reduced to input k's shape. */
function unb(c: RuleContext, grad: string, k: number): string {
  return c.e.unbroadcast(grad, c.shape(c.outputs[0]!), c.inputs[k]!, c.shape(c.inputs[k]!), c.outputs[0]!);
}

/** Unary op whose derivative is a function of x and y: dx = g * d(x, y). */
function unary(deriv: (c: RuleContext, x: string, y: string) => string): GradRule {
  return (c) => [c.e.op('Mul', [c.gy[0]!, deriv(c, c.inputs[0]!, c.outputs[0]!)])];
}

const dt = (c: RuleContext) => c.dtype(c.outputs[0]!);
const k = (c: RuleContext, v: number) => c.e.scalar(v, dt(c));

/** Where(mask, g, 0) */
function mask(c: RuleContext, m: string, g: string): string {
  return c.e.op('Where', [m, g, k(c, 0)]);
}

/**
 * SiLU as exported, y = x * Sigmoid(x) (either operand order, same shapes): the gradient of x
 * through both factors in one expression, g * (s + y - y*s), 4 elementwise passes instead of the
 * 6 of the Mul and Sigmoid rules applied separately (Mul, Mul, Sub, Mul, Mul, Sum); the Sigmoid
 * operand gets FOLDED (other consumers of s still reach x through the Sigmoid rule).
 */
function siluGrad(c: RuleContext): (string | undefined)[] | undefined {
  const [a, b] = c.inputs as [string, string];
  const sigIdx = [b, a].findIndex((v, i) => {
    const p = c.producer(v);
    return p?.opType === 'Sigmoid' && (p.domain === '' || p.domain === 'ai.onnx') && p.input[0] === (i === 0 ? a : b);
  });
  if (sigIdx < 0) return undefined;
  const s = sigIdx === 0 ? b : a;
  const x = sigIdx === 0 ? a : b;
  const ys = c.shape(c.outputs[0]!);
  if (!c.needs[sigIdx === 0 ? 0 : 1] || [c.shape(x), c.shape(s)].some((sh) => sh.length !== ys.length || sh.some((d, i) => d !== ys[i]))) return undefined;
  const e = c.e;
  const y = c.outputs[0]!;
  const d = e.op('Add', [s, e.op('Sub', [y, e.op('Mul', [y, s])])]);
  const gx = e.op('Mul', [c.gy[0]!, d]);
  return sigIdx === 0 ? [gx, FOLDED] : [FOLDED, gx];
}

export const ELEMENTWISE_RULES: Record<string, GradRule> = {
  Add: (c) => [c.needs[0] ? unb(c, c.gy[0]!, 0) : undefined, c.needs[1] ? unb(c, c.gy[0]!, 1) : undefined],
  Sub: (c) => [c.needs[0] ? unb(c, c.gy[0]!, 0) : undefined, c.needs[1] ? unb(c, c.e.op('Neg', [c.gy[0]!]), 1) : undefined],
  Mul: (c) => {
    const [a, b] = c.inputs as [string, string];
    const g = c.gy[0]!;
    const silu = siluGrad(c);
    if (silu) return silu;
    return [c.needs[0] ? unb(c, c.e.op('Mul', [g, b]), 0) : undefined, c.needs[1] ? unb(c, c.e.op('Mul', [g, a]), 1) : undefined];
  },
  // y = a / b: da = g / b, db = -g * y / b
  Div: (c) => {
    const [, b] = c.inputs as [string, string];
    const g = c.gy[0]!;
    const y = c.outputs[0]!;
    return [
      c.needs[0] ? unb(c, c.e.op('Div', [g, b]), 0) : undefined,
      c.needs[1] ? unb(c, c.e.op('Neg', [c.e.op('Div', [c.e.op('Mul', [g, y]), b])]), 1) : undefined,
    ];
  },
  Neg: (c) => [c.e.op('Neg', [c.gy[0]!])],
  Identity: (c) => [c.gy[0]!],
  // Dropout in inference mode (no ratio/training inputs active) is the identity on its first output.
  Dropout: (c) => {
    if (c.inputs[2] && c.value(c.inputs[2])?.[0] !== 0) return c.fail('only inference-mode Dropout (training_mode false) is supported');
    return [c.gy[0]];
  },
  Cast: (c) => {
    const from = c.dtype(c.inputs[0]!);
    return [c.e.op('Cast', [c.gy[0]!], { to: from === 'float64' ? 11 : from === 'float16' ? 10 : 1 })];
  },
  // y = a^b: da = g * b * a^(b-1); db = g * y * log(a). A constant scalar exponent (initializer or
  // Constant, the usual x^2 of an exported LayerNorm/variance) is folded: b = 2 gives g * 2a
  // instead of a generic Pow(a, 1) per element; 1, 0.5, -1 and other values likewise.
  Pow: (c) => {
    const [a, b] = c.inputs as [string, string];
    const g = c.gy[0]!;
    const e = c.e;
    const pv = c.needs[1] ? undefined : c.constValue(b);
    const p = pv && pv.length > 0 && pv.every((v) => v === pv[0]) && c.shape(b).length <= c.shape(a).length ? pv[0]! : undefined;
    let da: string | undefined;
    if (c.needs[0] && p !== undefined) {
      const y = c.outputs[0]!;
      let d: string | undefined; // dy/da, or undefined for 1
      if (p === 1) d = undefined;
      else if (p === 0) d = e.op('Mul', [a, k(c, 0)]); // zero, NaN where a is (as b * a^(b-1) would be)
      else if (p === 2) d = e.op('Mul', [a, k(c, 2)]);
      else if (p === 0.5) d = e.op('Div', [k(c, 0.5), y]);
      else if (p === -1) d = e.op('Neg', [e.op('Mul', [y, y])]);
      else if (p === 3) d = e.op('Mul', [e.op('Mul', [a, a]), k(c, 3)]);
      else d = e.op('Mul', [e.op('Pow', [a, k(c, p - 1)]), k(c, p)]);
      da = unb(c, d ? e.op('Mul', [g, d]) : g, 0);
    } else if (c.needs[0]) {
      let bf = b;
      if (c.dtype(b) !== dt(c)) bf = e.op('Cast', [b], { to: dt(c) === 'float64' ? 11 : dt(c) === 'float16' ? 10 : 1 });
      da = unb(c, e.op('Mul', [g, e.op('Mul', [bf, e.op('Pow', [a, e.op('Sub', [bf, k(c, 1)])])])]), 0);
    }
    const db = c.needs[1] ? unb(c, e.op('Mul', [g, e.op('Mul', [c.outputs[0]!, e.op('Log', [a])])]), 1) : undefined;
    return [da, db];
  },
  // y = sqrt(x): dx = g * 0.5 / y
  Sqrt: (c) => [c.e.op('Div', [c.e.op('Mul', [c.gy[0]!, k(c, 0.5)]), c.outputs[0]!])],
  // y = 1/x: dx = -g * y^2
  Reciprocal: (c) => [c.e.op('Neg', [c.e.op('Mul', [c.gy[0]!, c.e.op('Mul', [c.outputs[0]!, c.outputs[0]!])])])],
  Exp: unary((_c, _x, y) => y),
  Log: (c) => [c.e.op('Div', [c.gy[0]!, c.inputs[0]!])],
  Abs: unary((c, x) => c.e.op('Sign', [x])),
  // dy/dx = 1 - y^2
  Tanh: unary((c, _x, y) => c.e.op('Sub', [k(c, 1), c.e.op('Mul', [y, y])])),
  // dy/dx = y (1 - y)
  Sigmoid: unary((c, _x, y) => c.e.op('Mul', [y, c.e.op('Sub', [k(c, 1), y])])),
  Relu: (c) => [mask(c, c.e.op('Greater', [c.inputs[0]!, k(c, 0)]), c.gy[0]!)],
  LeakyRelu: (c) => {
    const alpha = c.attr.float('alpha', 0.01);
    const g = c.gy[0]!;
    return [c.e.op('Where', [c.e.op('Greater', [c.inputs[0]!, k(c, 0)]), g, c.e.op('Mul', [g, k(c, alpha)])])];
  },
  // x > 0: 1; else alpha * exp(x) = y + alpha
  Elu: (c) => {
    const alpha = c.attr.float('alpha', 1);
    const g = c.gy[0]!;
    return [c.e.op('Where', [c.e.op('Greater', [c.inputs[0]!, k(c, 0)]), g, c.e.op('Mul', [g, c.e.op('Add', [c.outputs[0]!, k(c, alpha)])])])];
  },
  // y = x (x > 0), slope * x otherwise; slope broadcasts against x
  PRelu: (c) => {
    const [x, slope] = c.inputs as [string, string];
    const g = c.gy[0]!;
    const pos = c.e.op('Greater', [x, k(c, 0)]);
    return [
      c.needs[0] ? c.e.op('Where', [pos, g, c.e.op('Mul', [g, slope])]) : undefined,
      c.needs[1] ? unb(c, c.e.op('Where', [pos, k(c, 0), c.e.op('Mul', [g, x])]), 1) : undefined,
    ];
  },
  // y = max(0, min(1, alpha x + beta)): slope alpha strictly inside (0, 1)
  HardSigmoid: (c) => {
    const y = c.outputs[0]!;
    const inside = c.e.op('And', [c.e.op('Greater', [y, k(c, 0)]), c.e.op('Less', [y, k(c, 1)])]);
    return [mask(c, inside, c.e.op('Mul', [c.gy[0]!, k(c, c.attr.float('alpha', 0.2))]))];
  },
  // y = x * clamp(x / 6 + 1/2, 0, 1): dy/dx = 0 (x < -3), 1 (x > 3), x / 3 + 1/2 between
  HardSwish: (c) => {
    const x = c.inputs[0]!;
    const e = c.e;
    const mid = e.op('Add', [e.op('Mul', [x, k(c, 1 / 3)]), k(c, 0.5)]);
    const d = e.op('Where', [e.op('Less', [x, k(c, -3)]), k(c, 0), e.op('Where', [e.op('Greater', [x, k(c, 3)]), k(c, 1), mid])]);
    return [e.op('Mul', [c.gy[0]!, d])];
  },
  // x > 0: gamma; else gamma * alpha * e^x = y + gamma * alpha
  Selu: (c) => {
    const alpha = c.attr.float('alpha', 1.67326319217681884765625);
    const gamma = c.attr.float('gamma', 1.05070102214813232421875);
    const g = c.gy[0]!;
    const e = c.e;
    return [e.op('Where', [e.op('Greater', [c.inputs[0]!, k(c, 0)]), e.op('Mul', [g, k(c, gamma)]), e.op('Mul', [g, e.op('Add', [c.outputs[0]!, k(c, gamma * alpha)])])])];
  },
  // y = x tanh(softplus(x)): dy/dx = t + x (1 - t^2) sigmoid(x), t = tanh(softplus(x)) = y / x
  Mish: unary((c, x) => {
    const e = c.e;
    const t = e.op('Tanh', [e.op('Softplus', [x])]);
    return e.op('Add', [t, e.op('Mul', [x, e.op('Mul', [e.op('Sub', [k(c, 1), e.op('Mul', [t, t])]), e.op('Sigmoid', [x])])])]);
  }),
  Sin: unary((c, x) => c.e.op('Cos', [x])),
  Cos: unary((c, x) => c.e.op('Neg', [c.e.op('Sin', [x])])),
  // y = log(1 + e^x): dy/dx = sigmoid(x)
  Softplus: unary((c, x) => c.e.op('Sigmoid', [x])),
  // d erf(x)/dx = 2/sqrt(pi) * exp(-x^2)
  Erf: unary((c, x) => c.e.op('Mul', [k(c, 2 / Math.sqrt(Math.PI)), c.e.op('Exp', [c.e.op('Neg', [c.e.op('Mul', [x, x])])])])),
  Gelu: (c) => {
    const x = c.inputs[0]!;
    const e = c.e;
    if (c.attr.string('approximate', 'none') === 'tanh') {
      // y = 0.5 x (1 + t), t = tanh(u), u = s (x + 0.044715 x^3), s = sqrt(2/pi)
      // dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) s (1 + 3 * 0.044715 x^2)
      const s = Math.sqrt(2 / Math.PI);
      const x2 = e.op('Mul', [x, x]);
      const u = e.op('Mul', [k(c, s), e.op('Add', [x, e.op('Mul', [k(c, 0.044715), e.op('Mul', [x2, x])])])]);
      const t = e.op('Tanh', [u]);
      const a = e.op('Mul', [k(c, 0.5), e.op('Add', [k(c, 1), t])]);
      const du = e.op('Mul', [k(c, s), e.op('Add', [k(c, 1), e.op('Mul', [k(c, 3 * 0.044715), x2])])]);
      const b = e.op('Mul', [e.op('Mul', [k(c, 0.5), x]), e.op('Mul', [e.op('Sub', [k(c, 1), e.op('Mul', [t, t])]), du])]);
      return [e.op('Mul', [c.gy[0]!, e.op('Add', [a, b])])];
    }
    // y = x Phi(x): dy/dx = Phi(x) + x phi(x), Phi(x) = (1 + erf(x / sqrt2)) / 2, phi = exp(-x^2/2) / sqrt(2 pi)
    const Phi = e.op('Mul', [k(c, 0.5), e.op('Add', [k(c, 1), e.op('Erf', [e.op('Mul', [x, k(c, Math.SQRT1_2)])])])]);
    const phi = e.op('Mul', [k(c, 1 / Math.sqrt(2 * Math.PI)), e.op('Exp', [e.op('Mul', [k(c, -0.5), e.op('Mul', [x, x])])])]);
    return [e.op('Mul', [c.gy[0]!, e.op('Add', [Phi, e.op('Mul', [x, phi])])])];
  },
  // Gradient passes where min <= x <= max (opset >= 11: min/max are optional inputs).
  Clip: (c) => {
    const x = c.inputs[0]!;
    let m: string | undefined;
    if (c.inputs[1]) m = c.e.op('GreaterOrEqual', [x, c.inputs[1]]);
    if (c.inputs[2]) {
      const hi = c.e.op('LessOrEqual', [x, c.inputs[2]]);
      m = m ? c.e.op('And', [m, hi]) : hi;
    }
    return [m ? mask(c, m, c.gy[0]!) : c.gy[0]!, undefined, undefined];
  },
  // Max/Min: inputs that equal the result share the gradient (ties split equally).
  Max: (c) => minmax(c),
  Min: (c) => minmax(c),
  Where: (c) => {
    const [cond] = c.inputs as [string];
    const g = c.gy[0]!;
    const zero = k(c, 0);
    return [
      undefined,
      c.needs[1] ? unb(c, c.e.op('Where', [cond, g, zero]), 1) : undefined,
      c.needs[2] ? unb(c, c.e.op('Where', [cond, zero, g]), 2) : undefined,
    ];
  },
  // Softmax (opset >= 13: one axis): dx = y * (g - sum(g * y, axis))
  Softmax: (c) => {
    const y = c.outputs[0]!;
    const g = c.gy[0]!;
    const axis = c.attr.int('axis', -1);
    const s = c.e.reduceSum(c.e.op('Mul', [g, y]), [axis], true);
    return [c.e.op('Mul', [y, c.e.op('Sub', [g, s])])];
  },
  // LogSoftmax: dx = g - exp(y) * sum(g, axis)
  LogSoftmax: (c) => {
    const y = c.outputs[0]!;
    const g = c.gy[0]!;
    const axis = c.attr.int('axis', -1);
    const s = c.e.reduceSum(g, [axis], true);
    return [c.e.op('Sub', [g, c.e.op('Mul', [c.e.op('Exp', [y]), s])])];
  },
  Sum: (c) => c.inputs.map((_, i) => (c.needs[i] ? unb(c, c.gy[0]!, i) : undefined)),
  Mean: (c) => {
    const g = c.e.op('Div', [c.gy[0]!, k(c, c.inputs.length)]);
    return c.inputs.map((_, i) => (c.needs[i] ? unb(c, g, i) : undefined));
  },
};

/** Max/Min: inputs equal to the result share the gradient equally (so Max(x, x) has derivative 1). */
function minmax(c: RuleContext): (string | undefined)[] {
  const y = c.outputs[0]!;
  const e = c.e;
  const eq = c.inputs.map((x) => e.op('Equal', [x, y]));
  let gShared = c.gy[0]!;
  if (c.inputs.length > 1) {
    const to = dt(c) === 'float64' ? 11 : dt(c) === 'float16' ? 10 : 1;
    const count = e.op('Sum', eq.map((m) => e.op('Cast', [m], { to })));
    gShared = e.op('Div', [gShared, count]);
  }
  return c.inputs.map((_, i) => (c.needs[i] ? unb(c, mask(c, eq[i]!, gShared), i) : undefined));
}
