#!/usr/bin/env node
/**
 * `npm run build` step 2: bundles the agent's commands (src/cli/agent-main.ts) into
 * dist/nodepulse-agent.mjs, one file that runs `nodepulse agent run|facts|check|status` with
 * nothing but Node.js 20+: every package it uses is inside, no node_modules beside it, no native
 * module. The systemd unit and the container run it (docs/agent.md). The rest of the CLI runs
 * from tsc's dist/cli/main.js.
 *
 * It also replaces tsc's dist/cli/yargs-runtime.js with a bundle of yargs (one file instead of
 * 45: ~100 ms off every `nodepulse` call), and copies the coordinator's web page (src/coordinator/ui/static: HTML, ES modules, CSS,
 * which tsc does not emit) to coordinator/ui/static beside the bundle (dist/), where tsc's
 * ui-routes.js serves it from.
 *
 * The build fails when the agent's import graph reaches the coordinator (its config schema
 * aside, whose NODEPULSE_* names the agent must not warn about) or a store driver.
 *
 *   node scripts/bundle.mjs [--outfile dist/nodepulse-agent.mjs]
 */
import { build } from 'esbuild';
import { cp, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { outfile: { type: 'string', default: 'dist/nodepulse-agent.mjs' } } });
const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));

/** Modules the agent must never load: the coordinator's code and its packages (native, or server-side). */
const FORBIDDEN = [/[\\/]src[\\/]coordinator[\\/](?!config\.ts$)/, /[\\/]node_modules[\\/](better-sqlite3|pg|pg-[a-z-]+|fastify|@fastify[\\/][^\\/]+|kysely|bindings)[\\/]/];

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

const result = await build({
  entryPoints: ['src/cli/agent-main.ts'],
  outfile: values.outfile,
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  metafile: true,
  define: { BUNDLED_VERSION: JSON.stringify(version) },
  plugins: [lazyListFormat],
  // Bundled CommonJS packages call require() for Node's built-ins.
  banner: { js: "import { createRequire as __nodepulseRequire } from 'node:module'; const require = __nodepulseRequire(import.meta.url);" },
  logLevel: 'warning',
});

const forbidden = Object.keys(result.metafile.inputs).filter((input) => FORBIDDEN.some((pattern) => pattern.test(input)));
if (forbidden.length > 0) {
  process.stderr.write(`bundle: the agent's import graph reaches modules it must never load:\n  ${forbidden.join('\n  ')}\n`);
  process.exit(1);
}

// The whole CLI (tsc's dist/cli/main.js) loads yargs through one module: replaced by a bundle of
// yargs, one file instead of 45, which takes ~100 ms off every call (`nodepulse --help` included).
await build({
  entryPoints: ['src/cli/yargs-runtime.ts'],
  outfile: join(dirname(values.outfile), 'cli', 'yargs-runtime.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});

// Beside tsc's output for the coordinator, in the dist directory the agent bundle goes to.
await cp(fileURLToPath(new URL('../src/coordinator/ui/static/', import.meta.url)), join(dirname(values.outfile), 'coordinator', 'ui', 'static'), { recursive: true });
