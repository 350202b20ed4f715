import { type Socket, connect } from 'node:net';

export interface PacedOptions {
  url: string;
  path: string;
  /**
   * The address requests come from. Another loopback address (Linux routes all of 127/8 to lo)
   * makes the coordinator see another client than 127.0.0.1.
   */
  localAddress?: string;
  connections: number;
  /** Requests per second over all connections, evenly spaced. */
  rate: number;
  durationSecs: number;
  /** The bearer token of the i-th request. */
  tokenFor: (index: number) => string;
  /** Awaited once the connections are open, before the first request. */
  startSignal?: () => Promise<void>;
  /** Ends the run before durationSecs. */
  stop?: AbortSignal;
  /** Told of every answer as it arrives (a benchmark that splits a run into phases). */
  onAnswer?: (status: string, latencyMs: number, retryAfter: boolean) => void;
}

export interface PacedResult {
  sent: number;
  /** Answers by status. */
  statuses: Record<string, number>;
  /** Milliseconds from each request's write to its answer, in the order answered. */
  latenciesMs: number[];
  /** Requests that left later than their turn because every connection was busy. */
  late: number;
  /** Answers that carried a Retry-After header. */
  retryAfter: number;
  /** Requests whose connection closed before the answer (the server went away). */
  lost: number;
  durationSecs: number;
}

const TICK_MS = 1;
/** A request that leaves this much after its turn (every connection was busy) counts as late. */
const LATE_MS = 5;
/** How long the answers to requests in flight are awaited at the end. */
const DRAIN_MS = 5000;
/** A connection the server refused is tried again this often (a restarting server). */
const RECONNECT_MS = 100;

/**
 * POSTs (no body) at an even rate over keep-alive connections, one request in flight per
 * connection, the way a fleet of agents heartbeats: each on its own schedule, not in bursts (an
 * autocannon overallRate sends each second's quota at once, so its latencies measure that burst).
 * Raw sockets and a status-line parser keep the client's own CPU small on a shared machine.
 */
export async function runPaced(options: PacedOptions): Promise<PacedResult> {
  const target = new URL(options.url);
  const statuses: Record<string, number> = {};
  const latenciesMs: number[] = [];
  const idle: Socket[] = [];
  const sockets = new Set<Socket>();
  const sentAt = new Map<Socket, number>();
  let sent = 0;
  let late = 0;
  let retryAfter = 0;
  let lost = 0;
  let due = 0;
  let stopped = false;

  const request = (index: number) =>
    `POST ${options.path} HTTP/1.1\r\nHost: ${target.host}\r\nAuthorization: Bearer ${options.tokenFor(index)}\r\nContent-Length: 0\r\n\r\n`;

  let started = 0;
  const pump = () => {
    while (!stopped && sent < due && idle.length > 0) {
      const socket = idle.pop() as Socket;
      const now = performance.now();
      if (now - (started + (sent * 1000) / options.rate) > LATE_MS) late++;
      sentAt.set(socket, now);
      socket.write(request(sent++));
    }
  };

  const answered = (socket: Socket, status: string, withRetryAfter: boolean) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    const latencyMs = performance.now() - (sentAt.get(socket) ?? performance.now());
    sentAt.delete(socket);
    latenciesMs.push(latencyMs);
    if (withRetryAfter) retryAfter++;
    options.onAnswer?.(status, latencyMs, withRetryAfter);
    idle.push(socket);
    pump();
  };
  const reopen = () => {
    if (!stopped) open().catch(() => setTimeout(reopen, RECONNECT_MS));
  };

  const open = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const socket = connect({ host: target.hostname, port: Number(target.port), ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
      socket.setNoDelay(true);
      socket.setEncoding('latin1');
      let buffered = '';
      socket.on('data', (chunk: string) => {
        buffered += chunk;
        for (;;) {
          const end = buffered.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buffered.slice(0, end);
          const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
          if (buffered.length < end + 4 + length) return;
          buffered = buffered.slice(end + 4 + length);
          answered(socket, head.slice(9, 12), /\r\nretry-after:/i.test(head));
        }
      });
      socket.once('connect', () => {
        sockets.add(socket);
        idle.push(socket);
        resolve();
      });
      socket.on('error', reject);
      socket.once('close', () => {
        if (!sockets.delete(socket)) return;
        const at = idle.indexOf(socket);
        if (at >= 0) idle.splice(at, 1);
        if (sentAt.delete(socket)) lost++;
        // A connection the server closed is replaced (once it listens again), so the rate holds.
        reopen();
      });
    });

  await Promise.all(Array.from({ length: options.connections }, open));
  await options.startSignal?.();
  started = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - started;
      if (elapsed >= options.durationSecs * 1000 || options.stop?.aborted) {
        clearInterval(timer);
        resolve();
        return;
      }
      due = Math.floor((elapsed / 1000) * options.rate);
      pump();
    }, TICK_MS);
  });
  stopped = true;
  const durationSecs = (performance.now() - started) / 1000;
  // The answers still on their way count; a request unanswered after the drain is lost.
  const drainUntil = performance.now() + DRAIN_MS;
  while (idle.length < sockets.size && performance.now() < drainUntil) await new Promise((resolve) => setTimeout(resolve, 10));
  for (const socket of sockets) socket.destroy();
  return { sent, statuses, latenciesMs, late, retryAfter, lost, durationSecs };
}
