/**
 * The gradient rule table: op type -> rule. Rules live next to their op name in
 * elementwise.ts, tensor.ts and nn.ts.
 */
import type { GradRule } from '../context.ts';
import { ELEMENTWISE_RULES } from './elementwise.ts';
import { TENSOR_RULES } from './tensor.ts';
import { NN_RULES } from './nn.ts';

export const RULES: Record<string, GradRule> = { ...ELEMENTWISE_RULES, ...TENSOR_RULES, ...NN_RULES };

/**
 * Ops whose outputs carry no gradient (integer/boolean results, shape computations, piecewise
 * constant functions, random generators). Gradients stop at them; they are passed through as
 * part of the forward graph.
 */
export const NON_DIFFERENTIABLE = new Set<string>([
  'Shape', 'Size', 'Constant', 'ConstantOfShape', 'Range', 'EyeLike', 'NonZero', 'OneHot',
  'Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf',
  'ArgMax', 'ArgMin', 'Sign', 'Floor', 'Ceil', 'Round', 'Hardmax',
  'RandomNormal', 'RandomNormalLike', 'RandomUniform', 'RandomUniformLike', 'Multinomial', 'Bernoulli',
]);
