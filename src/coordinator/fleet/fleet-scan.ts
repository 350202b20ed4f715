import { siblingModule, startWorker } from '../../shared/worker-thread.ts';
import type { Store } from '../store/store.ts';
import { type FleetSnapshot, SnapshotBuilder } from './fleet-snapshot.ts';
import { summaryFromRow } from './instance-summary.ts';

/** One look at every instance in the store, which its owner may end early. */
export interface FleetScan {
  result: Promise<FleetSnapshot>;
  cancel(): Promise<void>;
}

/** Instances per page of the store scan. */
const PAGE = 2000;

/**
 * The store file of a SQLite store that a second connection can open (not `:memory:`): the
 * store's own driver handle names it.
 */
function sqliteFileOf(store: Store): string | undefined {
  const db = (store as { db?: { name?: unknown; memory?: unknown } }).db;
  return store.kind === 'sqlite' && typeof db?.name === 'string' && db.memory === false ? db.name : undefined;
}

/** Scans in a worker thread where the store is a SQLite file, else through the store's own (asynchronous) queries. */
export function scanFleet(store: Store): FleetScan {
  const file = sqliteFileOf(store);
  return file === undefined ? scanThroughStore(store) : scanInWorker(file);
}

export function scanThroughStore(store: Store): FleetScan {
  let cancelled = false;
  return {
    result: readPages(store, () => cancelled),
    cancel: async () => {
      cancelled = true;
    },
  };
}

/**
 * Key-based pages of the store's instance summaries, on PostgreSQL (where the queries do not
 * block the event loop) and on an in-memory SQLite store. Pages are not one snapshot: an
 * instance deleted meanwhile may be read or not, so the snapshot says it is incomplete when the
 * number of instances changed during the read.
 */
async function readPages(store: Store, cancelled: () => boolean): Promise<FleetSnapshot> {
  const before = await store.countInstances({});
  const builder = new SnapshotBuilder();
  for (let afterId = 0; !cancelled(); ) {
    const page = await store.instanceSummaries(afterId, PAGE);
    for (const row of page) builder.add(row.id, summaryFromRow(row));
    if (page.length < PAGE) break;
    afterId = page[page.length - 1]!.id;
  }
  return builder.build((await store.countInstances({})) === before);
}

function scanInWorker(file: string): FleetScan {
  const worker = startWorker(siblingModule('fleet-scan-worker', import.meta.url), { file });
  const result = new Promise<FleetSnapshot>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the fleet scan's worker ended (exit code ${code}) without a result`)));
  });
  return { result, cancel: async () => void (await worker.terminate()) };
}
