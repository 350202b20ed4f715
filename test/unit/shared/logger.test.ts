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

it('escapes control and bidirectional characters in every string and key, so a logged value cannot forge a line or reorder one', () => {
  const hostile = 'web-1\n{"level":"error","message":"forged"}\r\u001b[31m\u009b2J\u0085\u2028\u202eevil\u2066\u200e\u061c';
  const forbidden = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;
  for (const pretty of [false, true]) {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'info', component: 'test', pretty, stream });
    logger.warn(`registration refused for ${hostile}`, { hostname: hostile, labels: { [hostile]: hostile }, error: new Error(hostile) });
    expect(lines).toHaveLength(1);
    const line = lines[0]!.replace(/\n$/, '');
    // Pretty lines are coloured by the logger itself (ESC [ ... m around the level): everything else is escaped.
    expect(line.replace(/\u001b\[\d+m/g, ''), `pretty: ${pretty}`).not.toMatch(forbidden);
    expect(line).toContain('\\u202eevil');
    expect(line).toContain('\\u009b2J');
  }
  const { lines, stream } = capture();
  createLogger({ level: 'info', component: 'test', pretty: false, stream }).info('seen', { hostname: hostile });
  expect(JSON.parse(lines[0]!).hostname).toBe('web-1\\n{"level":"error","message":"forged"}\\r\\u001b[31m\\u009b2J\\u0085\\u2028\\u202eevil\\u2066\\u200e\\u061c');
});
