import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The version of nodepulse, read once from package.json. */
export const VERSION: string = pkg.version;
