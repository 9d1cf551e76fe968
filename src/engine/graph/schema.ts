/**
 * zod schemas for the parts of a graph file (format v1). Validation (validate.ts) applies them
 * piece by piece so that one malformed node does not hide the problems of the others.
 */
import { z } from 'zod';
import { GRAPH_FORMAT, GRAPH_VERSION } from '../../shared/graph.ts';

/** Node and edge ids: letters, digits, `_` and `-`, so `--set NODE.PARAM=V` stays unambiguous. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const id = z.string().regex(ID_PATTERN, 'must be 1-64 letters, digits, "_" or "-"');

export const headerSchema = z.object({
  format: z.literal(GRAPH_FORMAT),
  version: z.literal(GRAPH_VERSION),
  meta: z.record(z.string(), z.unknown()),
  nodes: z.array(z.unknown()),
  edges: z.array(z.unknown()),
}).strict();

export const nodeSchema = z.object({
  id,
  type: z.string().min(1),
  typeVersion: z.number().int().min(1),
  title: z.string().optional(),
  params: z.record(z.string(), z.unknown()),
  position: z.object({ x: z.number().finite(), y: z.number().finite() }).strict(),
}).strict();

export const edgeSchema = z.object({
  id,
  from: z.object({ node: z.string(), output: z.string() }).strict(),
  to: z.object({ node: z.string(), input: z.string() }).strict(),
}).strict();

/** Turn zod issues into "where: what" pairs with JSON paths rooted at `base`. */
export function zodProblems(error: z.ZodError, base: string): { path: string; message: string }[] {
  return error.issues.map((issue) => ({
    path: base + issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join(''),
    message: describeZodIssue(issue),
  }));
}

function describeZodIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_type':
      return issue.input === undefined ? `is missing (expected ${issue.expected})` : `must be ${article(issue.expected)}, got ${typeName(issue.input)}`;
    case 'invalid_value':
      return `must be ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}, got ${JSON.stringify(issue.input)}`;
    case 'too_small':
      return `must be ${issue.inclusive === false ? 'greater than' : 'at least'} ${String(issue.minimum)}${issue.origin === 'string' ? ' characters long' : ''}, got ${JSON.stringify(issue.input)}`;
    case 'too_big':
      return `must be ${issue.inclusive === false ? 'less than' : 'at most'} ${String(issue.maximum)}${issue.origin === 'string' ? ' characters long' : ''}, got ${JSON.stringify(issue.input)}`;
    default:
      return issue.message;
  }
}

function article(t: string): string {
  if (t === 'int') return 'an integer';
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

export function typeName(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' && !Number.isInteger(v)) return `the number ${v}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}
