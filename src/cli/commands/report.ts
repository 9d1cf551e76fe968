/**
 * `steer report classifiers --data DIR --classifier NAME=DIR [--classifier NAME=DIR ...] --out DIR`
 *
 * Evaluates relation classifiers on a relation dataset's held-out splits (in-distribution test,
 * prompts stating a wrong relation, unseen pairs) and writes report.json, report.md and SVG
 * plots (src/engine/steer/classifier-report.ts). With a dual-inversion classifier and a
 * --positive-only one it is the leakage ablation.
 */
import type { Command } from 'commander';
import { basename, resolve } from 'node:path';
import { SessionManager } from '../../engine/onnx/session.ts';
import { classifierReport, reportMarkdown, writeClassifierReport } from '../../engine/steer/classifier-report.ts';
import { DatasetError, loadRelationDataset } from '../../engine/steer/relation-dataset.ts';
import { ClassifierError } from '../../engine/steer/classifier.ts';
import { UsageError } from '../errors.ts';

export function register(program: Command): void {
  const report = program.command('report').description('Reports on trained steering components.');
  report
    .command('classifiers')
    .description('Accuracy of relation classifiers on held-out maps (test, wrong-relation prompts, unseen pairs), per relation and step, with confusion matrices and plots.')
    .requiredOption('--data <dir>', 'a relation dataset')
    .requiredOption('--classifier <name=dir...>', 'classifiers to compare (NAME=DIR, or DIR)')
    .requiredOption('--out <dir>', 'report folder')
    .action(async (o: { data: string; classifier: string[]; out: string }) => {
      const classifiers = o.classifier.map((c) => {
        const eq = c.indexOf('=');
        const dir = resolve(eq > 0 ? c.slice(eq + 1) : c);
        return { name: eq > 0 ? c.slice(0, eq) : basename(dir), dir };
      });
      const sessions = new SessionManager();
      try {
        const ds = loadRelationDataset(resolve(o.data));
        const r = await classifierReport(ds, resolve(o.data), classifiers, sessions);
        const files = await writeClassifierReport(r, resolve(o.out));
        process.stdout.write(reportMarkdown(r));
        process.stderr.write(`wrote ${files.join(', ')}\n`);
      } catch (err) {
        if (err instanceof DatasetError || err instanceof ClassifierError) throw new UsageError(err.message);
        throw err;
      } finally {
        await sessions.dispose();
      }
    });
}
