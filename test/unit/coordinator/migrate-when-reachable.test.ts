import { PassThrough } from 'node:stream';
import { expect, it } from 'vitest';
import { migrateWhenReachable } from '../../../src/coordinator/store/migrate-when-reachable.ts';
import type { Store } from '../../../src/coordinator/store/store.ts';
import { createLogger } from '../../../src/shared/logger.ts';

function logged() {
  const sink = new PassThrough();
  let text = '';
  sink.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { logger: createLogger({ level: 'info', component: 'coordinator', pretty: false, stream: sink }), text: () => text };
}
const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

it('waits for an unreachable store with growing delays, logging once, then migrates', async () => {
  let attempts = 0;
  const store = { migrate: async () => { if (++attempts < 4) throw refused(); } } as unknown as Store;
  const waits: number[] = [];
  const { logger, text } = logged();
  await migrateWhenReachable(store, logger, { firstDelayMs: 100, maxDelayMs: 250, sleep: async (ms) => void waits.push(ms) });
  expect(attempts).toBe(4);
  expect(waits).toEqual([100, 200, 250]);
  await new Promise((resolve) => setImmediate(resolve));
  expect(text().match(/store unreachable at start/g)).toHaveLength(1);
  expect(text()).toContain('store reachable: migrations done');
});

it('gives up at once on an error that is not about reaching the store', async () => {
  const store = { migrate: async () => { throw new Error('syntax error at or near "TABLE"'); } } as unknown as Store;
  await expect(migrateWhenReachable(store, logged().logger, { firstDelayMs: 1, maxDelayMs: 1, sleep: async () => {} })).rejects.toThrow(/syntax error/);
});
