/**
 * A TCP proxy for fault campaigns: a load balancer in front of one or more coordinator replicas,
 * and a network partition on demand.
 *
 * - Listens on 127.0.0.1:0. Each client connection is forwarded to the next upstream in turn
 *   (round-robin, per connection: a kept-alive connection stays on its replica). When a connect
 *   fails (a killed replica: ECONNREFUSED) the next upstream is tried; when all fail the client
 *   connection is destroyed, as a load balancer with no healthy backend does.
 * - `cut()` is a black hole, in both directions: bytes already in flight and new bytes are dropped,
 *   new connections are accepted but never forwarded, and nothing answers or closes, so a client
 *   only learns about it from its own request timeout. Closing one side of a connection during the
 *   cut does not reach the other side either (no FIN crosses a partition).
 * - `restore()` destroys every connection that lived through the cut (their byte streams have
 *   holes) and forwards new connections again.
 *
 * - `freeze(port)` black-holes one upstream only (a frozen VM: its kernel answers nothing either):
 *   its connections drop their bytes, new connections that fall to it are held, never forwarded.
 *   `thaw(port)` ends it like restore() does.
 *
 * A SIGSTOPped upstream still accepts connections (its kernel completes the handshake and queues
 * the requests, which it serves on SIGCONT), so the proxy forwards to it and the client times
 * out: what a plain TCP load balancer does too. Freeze it as well for a host that froze whole.
 */
import { type Server, type Socket, connect, createServer } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
  /** The upstream port this connection goes to (once chosen). */
  port: number | undefined;
  /** Bytes were dropped (or a close was swallowed) on this connection during a cut. */
  tainted: boolean;
}

export interface ProxyStats {
  connections: number;
  forwarded: number;
  /** Connects that failed and went to the next upstream. */
  failovers: number;
  /** Client connections closed because no upstream accepted them. */
  refused: number;
  /** Connections accepted during a cut and never forwarded. */
  heldDuringCut: number;
  droppedBytes: number;
  cuts: number;
}

export class ChaosProxy {
  readonly stats: ProxyStats = { connections: 0, forwarded: 0, failovers: 0, refused: 0, heldDuringCut: 0, droppedBytes: 0, cuts: 0 };
  private readonly server: Server;
  private upstreamPorts: number[];
  private turn = 0;
  private isCut = false;
  private readonly frozen = new Set<number>();
  private readonly pairs = new Set<Pair>();
  private closed = false;

  private constructor(
    readonly name: string,
    upstreamPorts: number[],
  ) {
    this.upstreamPorts = [...upstreamPorts];
    this.server = createServer({ allowHalfOpen: false, pauseOnConnect: true }, (socket) => this.accept(socket));
    this.server.on('error', () => undefined);
  }

  /** A proxy on 127.0.0.1 (ephemeral port) in front of the given upstream ports on 127.0.0.1. */
  static async start(name: string, upstreamPorts: number[]): Promise<ChaosProxy> {
    const proxy = new ChaosProxy(name, upstreamPorts);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    const address = this.server.address();
    if (!address || typeof address !== 'object') throw new Error(`${this.name}: not listening`);
    return address.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  setUpstreams(ports: number[]): void {
    this.upstreamPorts = [...ports];
  }

  /** A network partition between the clients of this proxy and every upstream: a black hole. */
  cut(): void {
    if (this.isCut) return;
    this.isCut = true;
    this.stats.cuts += 1;
  }

  /** Ends the partition: connections that lived through it are destroyed; new ones are forwarded. */
  restore(): void {
    if (!this.isCut) return;
    this.isCut = false;
    this.destroyHealed();
  }

  /** Black-holes one upstream (a frozen host): nothing reaches it or comes back from it. */
  freeze(port: number): void {
    this.frozen.add(port);
  }

  thaw(port: number): void {
    if (this.frozen.delete(port)) this.destroyHealed();
  }

  /** Connections that lost bytes to a black hole that is gone now: their streams have holes. */
  private destroyHealed(): void {
    for (const pair of [...this.pairs]) {
      if (pair.tainted && !this.blackHoled(pair)) this.destroyPair(pair);
    }
  }

  private blackHoled(pair: Pair): boolean {
    return this.isCut || (pair.port !== undefined && this.frozen.has(pair.port));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const pair of [...this.pairs]) this.destroyPair(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.stats.connections += 1;
    const pair: Pair = { client, upstream: undefined, port: undefined, tainted: false };
    this.pairs.add(pair);
    client.setNoDelay(true);
    client.on('error', () => undefined);
    this.relay(pair, 'client');
    if (this.isCut) {
      // Accepted (the handshake is the kernel's), never forwarded, never answered.
      this.stats.heldDuringCut += 1;
      pair.tainted = true;
      client.resume();
      return;
    }
    // This connection's turn: it tries the upstreams from there on, each once.
    this.connectUpstream(pair, this.turn++, 0);
  }

  private connectUpstream(pair: Pair, start: number, attempt: number): void {
    const ports = this.upstreamPorts;
    if (this.closed || pair.client.destroyed) return this.destroyPair(pair);
    if (attempt >= ports.length) {
      this.stats.refused += 1;
      return this.destroyPair(pair);
    }
    const port = ports[(start + attempt) % ports.length]!;
    pair.port = port;
    if (this.frozen.has(port)) {
      // A frozen host answers no SYN: the connection hangs until the client gives up.
      this.stats.heldDuringCut += 1;
      pair.tainted = true;
      pair.client.resume();
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port });
    upstream.setNoDelay(true);
    let connected = false;
    upstream.on('error', () => {
      if (!connected) {
        this.stats.failovers += 1;
        upstream.destroy();
        this.connectUpstream(pair, start, attempt + 1);
      }
    });
    upstream.on('connect', () => {
      connected = true;
      pair.upstream = upstream;
      this.relay(pair, 'upstream');
      if (pair.client.destroyed) return this.destroyPair(pair);
      if (this.blackHoled(pair)) pair.tainted = true;
      else this.stats.forwarded += 1;
      pair.client.resume();
    });
  }

  /** Forwards what one side sends, and its end and close, to the other side, unless a cut lies between them. */
  private relay(pair: Pair, side: 'client' | 'upstream'): void {
    const socket = side === 'client' ? pair.client : pair.upstream!;
    socket.on('end', () => this.sideEnded(pair, side));
    socket.on('close', (hadError) => this.sideClosed(pair, side, hadError));
    socket.on('data', (chunk: Buffer) => {
      if (this.blackHoled(pair) || pair.tainted) {
        this.drop(pair, chunk.length);
        return;
      }
      (side === 'client' ? pair.upstream : pair.client)?.write(chunk);
    });
  }

  private drop(pair: Pair, bytes: number): void {
    pair.tainted = true;
    this.stats.droppedBytes += bytes;
  }

  /** One side finished sending (FIN): the other side hears of it once what was written is flushed, unless a cut lies between them. */
  private sideEnded(pair: Pair, side: 'client' | 'upstream'): void {
    if (this.blackHoled(pair) || pair.tainted) {
      pair.tainted = true;
      return;
    }
    const other = side === 'client' ? pair.upstream : pair.client;
    other?.end();
  }

  /**
   * One side closed: the other side hears of it (a reset as a reset; a clean close once what was
   * written to it is flushed), unless a cut lies between them.
   */
  private sideClosed(pair: Pair, side: 'client' | 'upstream', hadError: boolean): void {
    const other = side === 'client' ? pair.upstream : pair.client;
    if (this.blackHoled(pair) || pair.tainted) {
      pair.tainted = true;
      if (!other || other.destroyed) this.pairs.delete(pair);
      return;
    }
    if (!other || other.destroyed) {
      this.pairs.delete(pair);
      return;
    }
    if (hadError) {
      other.destroy();
      this.pairs.delete(pair);
      return;
    }
    other.end();
    other.once('close', () => this.pairs.delete(pair));
  }

  private destroyPair(pair: Pair): void {
    this.pairs.delete(pair);
    pair.client.destroy();
    pair.upstream?.destroy();
  }
}
