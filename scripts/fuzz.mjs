#!/usr/bin/env node
// `npm run fuzz -- --runs N [--seed S [--path P]]`: the fuzz suite (test/fuzz) with N cases per
// property instead of its CI share; --seed/--path replay a failure fast-check reported.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const env = { ...process.env };
const take = (flag, name) => {
  const i = args.indexOf(flag);
  if (i < 0) return;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) {
    console.error(`${flag} needs a value`);
    process.exit(2);
  }
  env[name] = v;
  args.splice(i, 2);
};
take('--runs', 'FUZZ_RUNS');
take('--seed', 'FUZZ_SEED');
take('--path', 'FUZZ_PATH');
if (env.FUZZ_RUNS !== undefined && !/^\d+$/.test(env.FUZZ_RUNS)) {
  console.error(`--runs must be a positive integer, got '${env.FUZZ_RUNS}'`);
  process.exit(2);
}
const r = spawnSync('npx', ['vitest', 'run', 'test/fuzz', ...args], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
