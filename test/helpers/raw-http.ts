import { once } from 'node:events';
import net from 'node:net';

/** An answer read off a raw TCP connection. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection after the answer. */
  closed: boolean;
  /** The socket error seen, if any (EPIPE, ECONNRESET). */
  error: string | undefined;
}

/**
 * A connection to a server that writes bytes exactly as given, so tests can send what no HTTP
 * client would (malformed, slow, oversized requests) and read what comes back.
 */
export class RawConnection {
  private received = Buffer.alloc(0);
  private closedFlag = false;
  private errorCode: string | undefined;
  private waiters: (() => void)[] = [];
  private readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.wake();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.errorCode ??= error.code;
      this.wake();
    });
    socket.on('close', () => {
      this.closedFlag = true;
      this.wake();
    });
    socket.on('drain', () => this.wake());
  }

  static async open(port: number): Promise<RawConnection> {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new RawConnection(socket);
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  get error(): string | undefined {
    return this.errorCode;
  }

  /** Stops reading (the bytes wait in the kernel), as a client busy writing a large body does. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Writes and waits until the socket took the bytes; false once the connection is gone. */
  async write(data: string | Buffer): Promise<boolean> {
    if (!this.usable()) return false;
    this.socket.write(data);
    while (this.socket.writableNeedDrain && this.usable()) await this.change(1000);
    return this.usable();
  }

  /** Waits until a whole answer arrived (by its Content-Length), or the connection closed, or the deadline passed. */
  async answer(deadlineMs = 10_000): Promise<RawAnswer> {
    const deadline = Date.now() + deadlineMs;
    while (!this.complete() && !this.closedFlag && Date.now() < deadline) await this.change(deadline - Date.now());
    return { ...parse(this.received), closed: this.closedFlag, error: this.errorCode };
  }

  /** Waits until the server closed the connection, or the deadline passed. */
  async closedWithin(deadlineMs: number): Promise<boolean> {
    const deadline = Date.now() + deadlineMs;
    while (!this.closedFlag && Date.now() < deadline) await this.change(deadline - Date.now());
    return this.closedFlag;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private usable(): boolean {
    return !this.socket.destroyed && !this.closedFlag && this.errorCode === undefined;
  }

  /** Resolves at the next event on the socket, or after `ms`. */
  private change(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, ms));
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  private complete(): boolean {
    const { headers, body } = parse(this.received);
    const length = headers['content-length'];
    return length !== undefined && Buffer.byteLength(body) >= Number(length);
  }
}

function parse(bytes: Buffer): Omit<RawAnswer, 'closed' | 'error'> {
  const text = bytes.toString('utf8');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: '' };
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: text.slice(end + 4) };
}

/** Sends `request` on a new connection and reads the answer. */
export async function rawExchange(port: number, request: string | Buffer, deadlineMs?: number): Promise<RawAnswer> {
  const connection = await RawConnection.open(port);
  try {
    await connection.write(request);
    return await connection.answer(deadlineMs);
  } finally {
    connection.destroy();
  }
}
