import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { installErrorHandling } from '../../src/coordinator/http/error-handler.ts';
import { STATIC_DIR, uiRoutes } from '../../src/coordinator/ui/ui-routes.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { type Harness, startHarness } from '../helpers/coordinator-harness.ts';
import { makeTempDir, removeTempDirs } from '../helpers/spawn-process.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  removeTempDirs();
});

const get = async (url: string) => h!.coordinator.app.inject({ method: 'GET', url });

describe('the web page’s files', () => {
  it('serves the page without a token under a strict CSP, and /ui redirects to /ui/', async () => {
    h = await startHarness();
    const redirect = await get('/ui');
    expect(redirect.statusCode).toBe(301);
    expect(redirect.headers.location).toBe('/ui/');
    const page = await get('/ui/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toMatch(/^default-src 'self';/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    // No inline script or style: everything the page runs is a file of its own.
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=/i);
  });

  it('serves every module the page imports, with a JavaScript type, and nothing outside its directory', async () => {
    h = await startHarness();
    const seen = new Set<string>();
    const pending = ['app.js'];
    while (pending.length > 0) {
      const name = pending.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const module = await get(`/ui/${name}`);
      expect(module.statusCode, name).toBe(200);
      expect(module.headers['content-type']).toBe('text/javascript; charset=utf-8');
      for (const [, imported] of module.body.matchAll(/from '\.\/([a-z-]+\.js)'/g)) pending.push(imported!);
    }
    expect(seen.size).toBeGreaterThan(5);
    expect((await get('/ui/style.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    for (const url of ['/ui/..%2Fui-routes.ts', '/ui/%2e%2e%2fui-routes.ts', '/ui/missing.js', '/ui/static']) {
      const refused = await get(url);
      expect(refused.statusCode, url).toBe(404);
      expect(refused.json()).toMatchObject({ error_code: 'NotFound' });
    }
  });

  it('keeps the coordinator running without its files: says so once, and /ui/ answers 404', async () => {
    const sink = new PassThrough();
    let logged = '';
    sink.on('data', (chunk: Buffer) => (logged += chunk.toString()));
    const logger = createLogger({ level: 'info', component: 'coordinator', pretty: false, stream: sink });
    const app = Fastify();
    installErrorHandling(app, logger);
    await app.register(uiRoutes, { logger, dir: makeTempDir() });
    expect((await app.inject({ method: 'GET', url: '/ui/' })).statusCode).toBe(404);
    expect(logged).toContain('web page: its files cannot be read');
    await app.close();
  });

  it('holds no secret: the token lives in sessionStorage and goes out only as a bearer header', () => {
    const api = readFileSync(join(STATIC_DIR, 'api.js'), 'utf8');
    const sse = readFileSync(join(STATIC_DIR, 'sse.js'), 'utf8');
    expect(api).toContain('sessionStorage');
    expect(`${api}${sse}`).not.toMatch(/localStorage|document\.cookie|console\.|[?&]token=/);
    expect(sse).toContain('authorization: `Bearer ${token()}`');
  });
});
