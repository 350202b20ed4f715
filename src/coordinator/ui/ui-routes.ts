import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { ApiError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';

/**
 * The web page at /ui/: static files (ES modules, one stylesheet, one HTML page) read once from
 * ./static beside this module, which is src/coordinator/ui/static under tsx and
 * dist/coordinator/ui/static after `npm run build` (scripts/copy-ui.mjs copies it). The files hold
 * no data, so no token is needed for them; every call the page makes goes to the API with the
 * token the operator signed in with.
 */
export const UI_PATH = '/ui/';
export const STATIC_DIR = join(fileURLToPath(new URL('.', import.meta.url)), 'static');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** Nothing but the page's own files: no inline script or style, no other origin, no framing. */
export const UI_CSP = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'";

interface StaticFile {
  body: Buffer;
  type: string;
}

/** Every file of the directory by name, read at start: a request can name nothing else (no path is ever joined from a request). */
export function loadStaticFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const type = CONTENT_TYPES[extname(entry.name)];
    if (entry.isFile() && type) files.set(entry.name, { body: readFileSync(join(dir, entry.name)), type });
  }
  if (!files.has('index.html')) throw new Error(`the web page's files are missing: no index.html in ${dir}`);
  return files;
}

/**
 * `dir`: where the files are (tests name another). Without them (a build that did not copy them)
 * the coordinator still runs and says so once; /ui/ answers 404.
 */
export const uiRoutes: FastifyPluginAsync<{ logger: Logger; dir?: string }> = async (app, { logger, dir = STATIC_DIR }) => {
  let files: Map<string, StaticFile>;
  try {
    files = loadStaticFiles(dir);
  } catch (error) {
    logger.error('web page: its files cannot be read; /ui/ answers 404 (rebuild with npm run build)', { dir, error: (error as Error).message });
    files = new Map();
  }
  const send = (name: string) => {
    const file = files.get(name);
    if (!file) throw new ApiError('NotFound', 'No such file of the web page', { file: name });
    return file;
  };
  const schema = { hide: true };

  app.get('/ui', { schema }, async (_request, reply) => reply.redirect(UI_PATH, 301));

  const serve = (name: string, reply: FastifyReply) => {
    const found = send(name);
    return reply
      .type(found.type)
      .header('content-security-policy', UI_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .send(found.body);
  };
  app.get(UI_PATH, { schema }, async (_request, reply) => serve('index.html', reply));
  app.get(`${UI_PATH}:file`, { schema }, async (request, reply) => serve((request.params as { file: string }).file || 'index.html', reply));
};
