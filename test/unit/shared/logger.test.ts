import { Writable } from 'node:stream';
import { expect, it } from 'vitest';
import { createLogger } from '../../../src/shared/logger.ts';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) });
  return { lines, stream };
}

it('writes JSON lines with secrets redacted by key and by shape', () => {
  const { lines, stream } = capture();
  const logger = createLogger({ level: 'info', component: 'test', pretty: false, stream });
  logger.info('registered', { nodeToken: 'npn_0123456789abcdef', note: 'header Bearer abcdef123456 seen', tokenHash: 'kept' });
  const line = JSON.parse(lines[0]!);
  expect(line).toMatchObject({ message: 'registered', component: 'test', nodeToken: '[redacted]', note: 'header Bearer [redacted] seen', tokenHash: 'kept' });
});

it('drops a line below the level before any format reads it, and follows a level changed at run time', () => {
  const { lines, stream } = capture();
  const logger = createLogger({ level: 'info', component: 'test', pretty: false, stream });
  // The formats (redaction, JSON) walk every value; logging itself only copies the reference.
  let reads = 0;
  const walked = new Proxy({ costly: true }, { ownKeys: (target) => (reads++, Reflect.ownKeys(target)) });
  const meta = { detail: walked };
  logger.debug('heartbeat accepted', meta);
  expect(reads).toBe(0);
  expect(lines).toEqual([]);
  logger.level = 'debug';
  logger.debug('heartbeat accepted', meta);
  expect(lines).toHaveLength(1);
  expect(reads).toBeGreaterThan(0);
  expect(JSON.parse(lines[0]!)).toMatchObject({ message: 'heartbeat accepted', detail: { costly: true } });
});
