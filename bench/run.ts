/**
 * `npm run bench [-- --scale smoke|full] [--only heartbeat,sweep] [--no-build]`: runs the
 * benchmarks, prints their figures as tables and writes bench/results/<name>.json.
 */
import { parseArgs } from 'node:util';
import { BENCHMARKS, runSuite } from './suite.ts';
import type { Scale } from './lib/types.ts';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: 'full' },
    only: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(`npm run bench -- [--scale smoke|full] [--only ${BENCHMARKS.map((b) => b.name).join(',')}] [--no-build]\n`);
  process.exit(0);
}
if (values.scale !== 'smoke' && values.scale !== 'full') {
  process.stderr.write(`--scale must be smoke or full, not ${values.scale}\n`);
  process.exit(2);
}

const only = values.only?.split(',').map((name) => name.trim()).filter(Boolean);
try {
  await runSuite({ scale: values.scale as Scale, only, build: values['no-build'] ? false : undefined });
  process.exit(0);
} catch (error) {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
