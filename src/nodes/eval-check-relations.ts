import { checkPromptRelations } from '../engine/eval/prompt-relations.ts';
import { defineNode } from './api.ts';

export default defineNode({
  type: 'eval.check-relations',
  version: 1,
  title: 'Check Relations',
  category: 'Evaluation',
  description:
    'Judges every spatial relation of the prompt against the detections with the GenEval position rule (both objects must be detected). Relations it cannot judge are listed, not counted.',
  inputs: [
    { id: 'prompt', label: 'Prompt', type: 'PROMPT' },
    { id: 'detections', label: 'Detections', type: 'DETECTIONS' },
  ],
  outputs: [{ id: 'metrics', label: 'Metrics', type: 'METRICS' }],
  params: {},
  execute(ctx, { prompt, detections }) {
    const report = checkPromptRelations(prompt, detections);
    ctx.preview({
      kind: 'table',
      label: 'Relations',
      columns: ['subject', 'relation', 'object', 'holds', 'why'],
      rows: report.checks.map((c) => [c.subject, c.relation, c.object, c.ok, c.reason]),
    });
    return { metrics: { kind: 'relations' as const, report } };
  },
});
