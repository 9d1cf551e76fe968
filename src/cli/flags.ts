/**
 * One place that maps CLI flags to graph params and back. A command that runs a graph lists its
 * bindings ({ flag: '--steps', node: 'sample', param: 'steps' }) and hands `flagSets(...)` to
 * loadGraphForCli; every message about such a param (conversion, range, validation) then names
 * the flag and the text the user typed ("--steps abc: ...") instead of the graph's internals
 * (`--set sample.steps=abc`, `$.nodes[5].params.steps`).
 */
import type { GraphIssue } from '../shared/graph.ts';

export interface FlagBinding {
  /** As the user types it: "--steps". */
  flag: string;
  node: string;
  param: string;
}

/** A param override: from `--set NODE.PARAM=VALUE`, or from a flag bound to that param. */
export interface CliSet {
  assignment: string;
  /** The flag and text the user typed, when the override came from a flag. */
  flag?: string;
  text?: string;
}

/** Overrides for the flags that were given (undefined values are skipped). */
export function flagSets(bindings: readonly FlagBinding[], values: Record<string, string | undefined>): CliSet[] {
  const out: CliSet[] = [];
  for (const b of bindings) {
    const text = values[b.flag];
    if (text !== undefined) out.push({ assignment: `${b.node}.${b.param}=${text}`, flag: b.flag, text });
  }
  return out;
}

/** How a message names an override: "--steps abc" or "--set sample.steps=abc". */
export function setLabel(s: CliSet): string {
  return s.flag ? `${s.flag} ${s.text}` : `--set ${s.assignment}`;
}

/** The flag behind a param of a node, if a given override set it from a flag. */
export function flagFor(sets: readonly CliSet[], nodeId: string, param: string): CliSet | undefined {
  return sets.find((s) => s.flag && s.assignment.startsWith(`${nodeId}.${param}=`));
}

/**
 * A validation issue about a flag-bound param, restated in the flag's terms: path = the flag,
 * message = "--steps 5000: must be at most 1000, got 5000". Other issues come back unchanged.
 */
export function issueInFlagTerms(issue: GraphIssue, sets: readonly CliSet[]): GraphIssue {
  const param = /\.params\.([A-Za-z0-9_]+)$/.exec(issue.path)?.[1];
  const set = issue.nodeId !== undefined && param ? flagFor(sets, issue.nodeId, param) : undefined;
  if (!set) return issue;
  const detail = /: param "[^"]*" \([^)]*\) (.*)$/s.exec(issue.message)?.[1] ?? issue.message;
  return { ...issue, path: set.flag!, message: `${setLabel(set)}: ${detail}` };
}
