import pg from 'pg';
import type { LeaderLock } from '../../leadership/leader-lock.ts';
import { clientConfig } from './pg-pool.ts';

/** The advisory lock key of the sweeping replica ("npsw"). */
export const SWEEPER_LOCK_KEY = 0x6e70_7377;

/**
 * A session-level advisory lock held on one dedicated connection outside the pool. PostgreSQL
 * releases it the moment that connection closes: when the holding process dies (kill -9), the
 * kernel closes its socket and another replica can take the lock on its next try.
 */
export class PgAdvisoryLock implements LeaderLock {
  private client: pg.Client | undefined;
  private held = false;

  constructor(
    private readonly connectionString: string,
    private readonly key = SWEEPER_LOCK_KEY,
    private readonly onError: (error: Error) => void = () => undefined,
  ) {}

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    // query_timeout: a leader whose connection went silent (a partition) stops leading within seconds.
    const client = new pg.Client({ ...clientConfig(this.connectionString), application_name: 'nodepulse-leader', query_timeout: 5_000 });
    client.on('error', (error) => {
      // The connection broke: the server released the lock with it.
      this.onError(error);
      this.drop(client);
    });
    await client.connect().catch((error: unknown) => {
      void client.end().catch(() => undefined);
      throw error;
    });
    this.client = client;
    return client;
  }

  private drop(client: pg.Client): void {
    if (this.client === client) {
      this.client = undefined;
      this.held = false;
    }
    void client.end().catch(() => undefined);
  }

  /** One boolean query on the lock's connection; a failure drops the connection (and with it the lock). */
  private async ask(client: pg.Client, text: string): Promise<boolean> {
    try {
      const { rows } = await client.query<{ answer: boolean }>(text, [this.key]);
      this.held = rows[0]?.answer === true;
      return this.held;
    } catch (error) {
      this.drop(client);
      throw error;
    }
  }

  async tryAcquire(): Promise<boolean> {
    return this.ask(await this.connection(), 'SELECT pg_try_advisory_lock($1) AS answer');
  }

  async stillHeld(): Promise<boolean> {
    const client = this.client;
    if (!client || !this.held) return false;
    // Our own session's lock, as the server sees it: proves both the connection and the lock.
    return this.ask(
      client,
      "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND objid = $1 AND granted) AS answer",
    );
  }

  async release(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    this.held = false;
    await client.end().catch(() => undefined);
  }
}
