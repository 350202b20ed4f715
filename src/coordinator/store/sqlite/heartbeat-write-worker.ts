/**
 * The worker thread that writes heartbeats into a SQLite store file on a connection of its own,
 * so the UPDATEs (and the WAL writes and checkpoints they bring) never run on the coordinator's
 * event loop. It answers each batch with the ids it did not update. See heartbeat-write-thread.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { heartbeatUpdate } from './heartbeat-update.ts';
import type { WriteAnswer, WriteRequest } from './heartbeat-write-thread.ts';

/**
 * Rows per transaction. SQLite has one writer: a write on the coordinator's thread waits
 * (synchronously, up to busy_timeout) while this thread holds the lock, so transactions stay
 * short (a few ms at a million nodes), and the thread rests between them so such a write's
 * busy retries find the lock free.
 */
const SLICE = 200;
const REST_MS = 2;

const db = new Database((workerData as { file: string }).file, { fileMustExist: true });
// Per connection, as on the coordinator's own (sqlite-store.ts): a commit survives a process crash.
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');
// Checkpoints are this thread's, one per batch (below), not one per 1,000 WAL pages, SQLite's
// default: heartbeats land on random rows, so each 200-row slice dirties ~500 pages (2 MB of WAL),
// a checkpoint followed every other slice and copied the same hot pages back into the file again
// and again. One per batch: this thread's CPU per heartbeat 14 -> 10 µs at 100k nodes.
db.pragma('wal_autocheckpoint = 0');
const update = heartbeatUpdate(db);

async function write({ nodeIds, ats }: WriteRequest): Promise<string[]> {
  const { writes, unknown: dropped } = update.inRowOrder(nodeIds, ats);
  for (let start = 0; start < writes.length; start += SLICE) {
    if (start > 0) await sleep(REST_MS);
    dropped.push(...update.writeSlice(writes.slice(start, start + SLICE)));
  }
  checkpoint();
  return dropped;
}

/**
 * PASSIVE: copies what no reader still needs, without taking the write lock from the coordinator's
 * thread. A failure does not fail the batch, which is committed: the next batch's checkpoint tries
 * again, and the coordinator's connection checkpoints past its backstop meanwhile.
 */
function checkpoint(): void {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Retried after the next batch.
  }
}

// One batch at a time, in the order posted.
let queue = Promise.resolve();
parentPort!.on('message', (request: WriteRequest) => {
  queue = queue.then(async () => {
    let answer: WriteAnswer;
    try {
      answer = { id: request.id, dropped: await write(request) };
    } catch (error) {
      const { message, code } = error as { message: string; code?: string };
      answer = { id: request.id, error: { message, code } };
    }
    parentPort!.postMessage(answer);
  });
});
