/**
 * The op vocabulary of the Shape World nets and a checker for it.
 *
 * TRAINABLE_OPS are the ops the project's ONNX autodiff differentiates and the nets may use on
 * any path that carries a gradient (from an input such as `sample` / `encoder_hidden_states`, or
 * from a weight). `Constant` has no inputs, so it never carries one. Ops that only see the
 * timestep (and constants) - the sinusoidal embedding's Sin/Cos - may be anything.
 */
import type { ModelProto } from '../onnx/model.ts';

export const TRAINABLE_OPS: ReadonlySet<string> = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Neg', 'Pow', 'Sqrt', 'Exp', 'Log', 'Tanh', 'Sigmoid', 'Relu', 'Softmax',
  'MatMul', 'Gemm', 'Conv', 'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'Concat', 'Split',
  'Slice', 'Gather', 'ReduceSum', 'ReduceMean', 'InstanceNormalization', 'LayerNormalization', 'Erf',
  'Resize', 'Identity', 'Cast', 'Expand', 'Constant',
]);

export interface OpViolation {
  node: string;
  opType: string;
}

/**
 * Nodes outside TRAINABLE_OPS that are not on a "free" path. A tensor is free when it is one of
 * `freeInputs` (e.g. ['timestep']) or computed only from free tensors and Constant nodes
 * (initializers are weights, hence not free).
 */
export function checkOps(model: ModelProto, freeInputs: readonly string[] = []): OpViolation[] {
  const g = model.graph!;
  const free = new Set<string>(freeInputs);
  const out: OpViolation[] = [];
  for (const node of g.node) {
    const ins = node.input.filter((i) => i !== '');
    const isFree = node.opType === 'Constant' || (ins.length > 0 && ins.every((i) => free.has(i)));
    if (isFree) for (const o of node.output) free.add(o);
    else if (!TRAINABLE_OPS.has(node.opType) || node.domain !== '') out.push({ node: node.name, opType: node.opType });
  }
  return out;
}

/** Op type -> count. */
export function opHistogram(model: ModelProto): Record<string, number> {
  const h: Record<string, number> = {};
  for (const n of model.graph!.node) h[n.opType] = (h[n.opType] ?? 0) + 1;
  return h;
}
