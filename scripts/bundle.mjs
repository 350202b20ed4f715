#!/usr/bin/env node
/**
 * `npm run build` step 2: bundles the CLI (src/cli/main.ts) into dist/bundle/nodepulse.js, the
 * agent's production entry point (systemd/nodepulse-agent.service, Dockerfile). One tree-shaken
 * module graph instead of some 600 files loaded one by one: `agent run` under the unit's flags
 * takes ~57.5 MiB RSS instead of 66 MiB from dist/cli/main.js (measured, docs/performance.md).
 *
 * Only the agent's own packages are bundled; every other package (the coordinator's: fastify,
 * better-sqlite3, pg, ...) and yargs (it finds its locales and package.json relative to its own
 * files) stay in node_modules and load when a command that needs them runs. Every command of the
 * CLI works from the bundle.
 *
 *   node scripts/bundle.mjs [--outdir dist/bundle]
 */
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { outdir: { type: 'string', default: 'dist/bundle' } } });

const BUNDLED = new Set(['got', 'winston', 'yaml', '@sinclair/typebox', 'node-cron', 'systeminformation']);

/** A bare import from our own sources stays external unless it is one of BUNDLED (whose own dependencies are bundled with them). */
const agentPackagesOnly = {
  name: 'agent-packages-only',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:') || args.importer.includes('/node_modules/')) return undefined;
      const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
      return BUNDLED.has(name) ? undefined : { path: args.path, external: true };
    });
  },
};

/**
 * @sindresorhus/is (got's) constructs two Intl.ListFormat objects when it loads, only to word the
 * message of a failed assertion; the first Intl object of a process maps about 5 MiB of ICU
 * locale data (measured: 5-6 MiB of `agent run`'s RSS). In the bundle they are constructed on
 * first use instead. If a new version words it differently, the bundle keeps the eager objects.
 */
const lazyListFormat = {
  name: 'lazy-list-format',
  setup(b) {
    b.onLoad({ filter: /[\\/]@sindresorhus[\\/]is[\\/]distribution[\\/]index\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('new Intl.ListFormat(')) {
        process.stderr.write('bundle: @sindresorhus/is no longer builds Intl.ListFormat at load; nothing to defer\n');
        return undefined;
      }
      const helper = 'const lazyListFormat = (...options) => { let formatter; return { format: (list) => (formatter ??= new Intl.ListFormat(...options)).format(list) }; };\n';
      return { contents: helper + source.replaceAll('new Intl.ListFormat(', 'lazyListFormat('), loader: 'js' };
    });
  },
};

await build({
  entryPoints: { nodepulse: 'src/cli/main.ts' },
  outdir: values.outdir,
  bundle: true,
  splitting: true, // each command's dynamic import stays a separate chunk, loaded only when it runs
  minify: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  plugins: [agentPackagesOnly, lazyListFormat],
  // Bundled CommonJS packages call require() for Node's built-ins.
  banner: { js: "import { createRequire as __nodepulseRequire } from 'node:module'; const require = __nodepulseRequire(import.meta.url);" },
  logLevel: 'warning',
});
