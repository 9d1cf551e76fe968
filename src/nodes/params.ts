/**
 * Param descriptors: each pairs a zod schema (what is valid) with UI hints (how the editor
 * draws it). Node files declare params with these helpers; the catalogue and validation are
 * both derived from them, so they never disagree.
 */
import { z } from 'zod';
import type { ParamUi } from '../shared/catalogue.ts';

export interface ParamSpec<T> {
  schema: z.ZodType<T>;
  ui: ParamUi;
}

interface Common<T> {
  label: string;
  description?: string;
  default: T;
}

interface NumberOpts extends Common<number> {
  min?: number;
  max?: number;
  step?: number;
  widget?: 'number' | 'slider';
}

function ranged(base: z.ZodNumber, o: NumberOpts): z.ZodNumber {
  let s = base;
  if (o.min !== undefined) s = s.min(o.min);
  if (o.max !== undefined) s = s.max(o.max);
  return s;
}

export const param = {
  int(o: NumberOpts): ParamSpec<number> {
    return {
      schema: ranged(z.number().int(), o),
      ui: { kind: 'int', widget: o.widget ?? 'number', step: o.step ?? 1, ...pick(o) },
    };
  },
  float(o: NumberOpts): ParamSpec<number> {
    return {
      schema: ranged(z.number().finite(), o),
      ui: { kind: 'float', widget: o.widget ?? 'number', step: o.step, ...pick(o) },
    };
  },
  string(o: Common<string> & { multiline?: boolean; minLength?: number; maxLength?: number }): ParamSpec<string> {
    let s = z.string();
    if (o.minLength !== undefined) s = s.min(o.minLength);
    if (o.maxLength !== undefined) s = s.max(o.maxLength);
    return { schema: s, ui: { kind: 'string', widget: o.multiline ? 'textarea' : 'text', ...pickCommon(o) } };
  },
  boolean(o: Common<boolean>): ParamSpec<boolean> {
    return { schema: z.boolean(), ui: { kind: 'boolean', widget: 'toggle', ...pickCommon(o) } };
  },
  enum<const C extends readonly [string, ...string[]]>(o: Common<C[number]> & { choices: C }): ParamSpec<C[number]> {
    return {
      schema: z.enum(o.choices as unknown as [C[number], ...C[number][]]) as unknown as z.ZodType<C[number]>,
      ui: { kind: 'enum', widget: 'select', choices: o.choices, ...pickCommon(o) },
    };
  },
  /** A seed: a non-negative integer below 2^53. */
  seed(o: Common<number>): ParamSpec<number> {
    return {
      schema: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      ui: { kind: 'seed', widget: 'seed', min: 0, max: Number.MAX_SAFE_INTEGER, ...pickCommon(o) },
    };
  },
  /** A path, relative paths resolved against the graph file's folder. Empty string = not set. */
  path(o: Common<string>): ParamSpec<string> {
    return { schema: z.string(), ui: { kind: 'path', widget: 'file', ...pickCommon(o) } };
  },
  json<T>(o: Common<T> & { schema: z.ZodType<T> }): ParamSpec<T> {
    return { schema: o.schema, ui: { kind: 'json', widget: 'json', ...pickCommon(o) } };
  },
};

function pickCommon<T>(o: Common<T>): Pick<ParamUi, 'label' | 'description' | 'default'> {
  return { label: o.label, default: o.default, ...(o.description ? { description: o.description } : {}) };
}

function pick(o: NumberOpts): Pick<ParamUi, 'label' | 'description' | 'default' | 'min' | 'max'> {
  return {
    ...pickCommon(o),
    ...(o.min !== undefined ? { min: o.min } : {}),
    ...(o.max !== undefined ? { max: o.max } : {}),
  };
}

export type ParamValues<P extends Record<string, ParamSpec<any>>> = {
  [K in keyof P]: P[K] extends ParamSpec<infer T> ? T : never;
};
