/** Reading the JSON descriptors of steering artefacts (dataset manifests, classifier.json). */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';

/**
 * Reads `<dir>/<name>` and checks its `format` and `version` fields; every failure is an `error`
 * (the caller's error class) whose message names the file.
 */
export function readDescriptor<T extends { format: string; version: number }>(dir: string, name: string, format: string, version: number, missing: string, error: new (message: string) => Error): T {
  const file = join(dir, name);
  if (!existsSync(file)) throw new error(`${dir}: no ${name} (${missing})`);
  let v: T;
  try {
    v = JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw new error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (v.format !== format) throw new error(`${file}: format '${String(v.format)}' is not ${format}`);
  if (v.version !== version) throw new error(`${file}: version ${v.version}; this build reads version ${version}`);
  return v;
}

/** A path as artefacts record it: relative to the working folder when inside it (so shipped files carry no machine paths). */
export function recordedPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p;
}
