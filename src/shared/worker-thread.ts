import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * A worker on `file`: the compiled .js as it is, or, running from the TypeScript sources (tests,
 * bin/nodepulse), the .ts loaded through tsx. `file` is a module URL whose name ends in .ts or .js
 * as the caller's own does (`import.meta.url`).
 */
export function startWorker(file: URL, workerData: unknown): Worker {
  if (file.pathname.endsWith('.js')) return new Worker(file, { workerData });
  // tsx's ESM entry (the package's `import` export), beside the CommonJS one require() resolves.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const source = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(file.href)}); })`;
  return new Worker(source, { eval: true, workerData });
}

/** The URL of a sibling module `name` (without extension) in the caller's own form, .ts or .js. */
export function siblingModule(name: string, callerUrl: string): URL {
  return new URL(`./${name}${callerUrl.endsWith('.ts') ? '.ts' : '.js'}`, callerUrl);
}
