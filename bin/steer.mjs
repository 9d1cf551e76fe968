#!/usr/bin/env node
// The `steer` CLI. Sources are TypeScript; tsx compiles them on the fly so `npx steer` works
// straight after `npm install`, with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/index.ts');
process.exitCode = await main(process.argv.slice(2));
