import type { Logger } from '../../shared/logger.ts';
import { isStoreUnavailable } from './store-unavailable.ts';
import type { Store } from './store.ts';

export interface MigrateRetry {
  /** First wait after a failed attempt; doubles up to `maxDelayMs`. */
  firstDelayMs: number;
  maxDelayMs: number;
  sleep?: (ms: number) => Promise<void>;
}

const DEFAULT_RETRY: MigrateRetry = { firstDelayMs: 500, maxDelayMs: 10_000 };

/**
 * Runs the migrations, waiting for the store when it cannot be reached yet (a replica started
 * during a database outage keeps trying rather than exiting, so a whole fleet of replicas does
 * not crash-loop with the database). Any other failure (a bad query, a broken file) is thrown.
 * Logged once when waiting starts and once when the store answers.
 */
export async function migrateWhenReachable(store: Store, logger: Logger, retry: MigrateRetry = DEFAULT_RETRY): Promise<void> {
  const sleep = retry.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let delayMs = retry.firstDelayMs;
  let waiting = false;
  for (;;) {
    try {
      await store.migrate();
      if (waiting) logger.info('store reachable: migrations done');
      return;
    } catch (error) {
      if (!isStoreUnavailable(error)) throw error;
      if (!waiting) logger.warn('store unreachable at start; retrying until it answers', { error: (error as Error).message });
      waiting = true;
      await sleep(delayMs);
      delayMs = Math.min(retry.maxDelayMs, delayMs * 2);
    }
  }
}
