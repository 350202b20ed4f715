import type { Worker } from 'node:worker_threads';
import { siblingModule, startWorker } from '../../../shared/worker-thread.ts';
import type { HeartbeatWrite } from '../store.ts';

export interface WriteRequest {
  id: number;
  nodeIds: string[];
  ats: Float64Array;
}

export type WriteAnswer = { id: number; dropped: string[] } | { id: number; error: { message: string; code?: string | undefined } };

interface Waiting {
  resolve: (dropped: string[]) => void;
  reject: (error: Error) => void;
}

/**
 * The coordinator's side of the heartbeat write worker (heartbeat-write-worker.ts): posts each
 * batch and resolves with the ids the worker did not update. The worker starts on the first
 * batch and again after it ended; it holds the process open only while a batch is in flight.
 */
export class HeartbeatWriteThread {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;

  constructor(private readonly file: string) {}

  write(batch: readonly HeartbeatWrite[]): Promise<string[]> {
    const worker = (this.worker ??= this.start());
    const id = ++this.nextId;
    const nodeIds = batch.map((write) => write.nodeId);
    const ats = Float64Array.from(batch, (write) => write.at);
    worker.ref();
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, nodeIds, ats } satisfies WriteRequest, [ats.buffer]);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
    this.failAll(new Error('the heartbeat writer was closed'));
  }

  private start(): Worker {
    const worker = startWorker(siblingModule('heartbeat-write-worker', import.meta.url), { file: this.file });
    worker.unref();
    worker.on('message', (answer: WriteAnswer) => this.settle(answer));
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(new Error(`the heartbeat writer's worker ended (exit code ${code})`));
    });
    return worker;
  }

  private settle(answer: WriteAnswer): void {
    const waiting = this.waiting.get(answer.id);
    this.waiting.delete(answer.id);
    if (this.waiting.size === 0) this.worker?.unref();
    if (!waiting) return;
    if ('dropped' in answer) waiting.resolve(answer.dropped);
    else waiting.reject(Object.assign(new Error(answer.error.message), { code: answer.error.code }));
  }

  private failAll(error: Error): void {
    for (const waiting of this.waiting.values()) waiting.reject(error);
    this.waiting.clear();
  }
}
