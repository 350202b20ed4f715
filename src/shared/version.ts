import { readFileSync } from 'node:fs';

/** Set by scripts/bundle.mjs (esbuild `define`): the one-file agent has no package.json beside it. */
declare const BUNDLED_VERSION: string | undefined;

function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** The version of nodepulse: the bundle's, else read once from package.json. */
export const VERSION: string = typeof BUNDLED_VERSION === 'string' ? BUNDLED_VERSION : packageVersion();
