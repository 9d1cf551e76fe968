/**
 * `steer classify IMAGE.png --prompt TEXT [--classifier DIR] [--json]`
 *
 * Encodes and inverts the image under the prompt, records the attention maps at the classifier's
 * steps and prints, for each relation triplet of the prompt, the stated relation, the predicted
 * one and the class probabilities (src/engine/steer/classify.ts). Exit 2 for a prompt with no
 * steerable relation, an unreadable image, objects the tokenizer cannot align, or a classifier
 * that does not fit the model.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { PngFormatError, readPngFile } from '../../engine/image/png.ts';
import type { ImageRGB } from '../../engine/image/image.ts';
import { SessionManager } from '../../engine/onnx/session.ts';
import { loadPipeline } from '../../engine/pipeline/load.ts';
import { parsePrompt } from '../../engine/prompt/parse.ts';
import { attentionUNet } from '../../engine/steer/attention.ts';
import { classifierMismatch, ClassifierError, listClassifiers, loadClassifier, sha256File } from '../../engine/steer/classifier.ts';
import { classifyImage, ClassifyError, steerableRelations } from '../../engine/steer/classify.ts';
import { UsageError } from '../errors.ts';
import { interruptible, isAbort } from '../interrupt.ts';
import { CLASSIFIERS_DIR, DEFAULT_MODEL_DIR, intOption } from '../steer-args.ts';

interface Opts {
  prompt: string;
  classifier?: string;
  model?: string;
  fixedPoint: string;
  json?: boolean;
}

async function readImage(file: string): Promise<ImageRGB> {
  try {
    return (await readPngFile(file)).image;
  } catch (err) {
    if (err instanceof PngFormatError) throw new UsageError(err.message);
    throw err;
  }
}

export function register(program: Command): void {
  program
    .command('classify')
    .description('Predict the spatial relation of each object pair a prompt mentions, in an existing image, with a relation classifier (inversion + attention maps).')
    .argument('<image>', 'a PNG image (resized to the model size if needed)')
    .requiredOption('--prompt <text>', 'the prompt whose relations to check, e.g. "a red circle to the left of a blue square"')
    .option('--classifier <dir>', 'classifier folder (model.onnx + classifier.json); default: the first installed one in resources/classifiers that fits the model')
    .option('--model <dir>', 'model folder (default: the bundled Shape World model)')
    .option('--fixed-point <n>', 'fixed-point iterations per inversion step', '1')
    .option('--json', 'print {"relations":[...]} as JSON on stdout')
    .action(async (imageFile: string, o: Opts) => {
      const fixedPoint = intOption('--fixed-point', o.fixedPoint, 0, 20);
      const prompt = parsePrompt(o.prompt);
      try {
        steerableRelations(prompt);
      } catch (err) {
        if (err instanceof ClassifyError) throw new UsageError(err.message);
        throw err;
      }
      const image = await readImage(resolve(imageFile));
      const sessions = new SessionManager();
      const pipe = await loadPipeline(resolve(o.model ?? DEFAULT_MODEL_DIR), sessions);
      const stop = interruptible();
      try {
        const unet = await attentionUNet(pipe, sessions);
        const unetSha256 = sha256File(pipe.folder.unet.model);
        let dir = o.classifier ? resolve(o.classifier) : undefined;
        if (!dir) {
          const fits = listClassifiers(CLASSIFIERS_DIR).filter((c) => classifierMismatch(c.info, unetSha256, unet.spec) === '');
          if (fits.length === 0) throw new UsageError(`no installed classifier in ${CLASSIFIERS_DIR} fits ${pipe.folder.unet.model}; train one ('steer train classifier') and pass --classifier DIR`);
          dir = fits[0]!.dir;
        }
        const classifier = await loadClassifier(dir, sessions, { unetSha256, spec: unet.spec, model: pipe.folder.unet.model });
        const res = await classifyImage(pipe, sessions, unet, classifier, image, prompt, { fixedPoint, signal: stop.signal });
        if (o.json) {
          process.stdout.write(`${JSON.stringify({ relations: res.relations.map(({ steps: _s, ...r }) => r), psnr: Math.round(res.psnr * 100) / 100, classifier: classifier.dir, warnings: res.warnings })}\n`);
        } else {
          for (const w of res.warnings) process.stderr.write(`warning: ${w}\n`);
          for (const r of res.relations) {
            const probs = Object.entries(r.probs).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
            process.stdout.write(`${r.subject} ${r.stated} ${r.object}: predicted ${r.predicted}${r.predicted === r.stated ? ' (as stated)' : ' (NOT as stated)'}  [${probs}]\n`);
          }
          process.stdout.write(`inversion PSNR ${res.psnr.toFixed(1)} dB; classifier ${classifier.dir}\n`);
        }
      } catch (err) {
        if (isAbort(err, stop.signal)) throw stop.stopped('classify', []);
        if (err instanceof ClassifyError || err instanceof ClassifierError) throw new UsageError(err.message);
        throw err;
      } finally {
        stop.dispose();
        await pipe.dispose();
        await sessions.dispose();
      }
    });
}
