import pg from 'pg';

/**
 * The connection pool of the PostgreSQL store and its two habits: BIGINT (int8) columns and
 * counts arrive as JavaScript numbers (millisecond timestamps stay far below 2^53), and a
 * transaction that lost a deadlock or a serialization race is retried instead of failing.
 */
const INT8_OID = 20;

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export interface PoolOptions {
  connectionString: string;
  poolSize: number;
  /** Told about errors of idle connections (the server went away): they must never crash the process. */
  onIdleError?: (error: Error) => void;
}

/** Client options shared by the pool and the dedicated leader connection. */
export function clientConfig(connectionString: string): pg.ClientConfig {
  return {
    connectionString,
    types,
    // A request during an outage fails fast (503) instead of hanging on a dead server.
    connectionTimeoutMillis: 5_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: 'nodepulse-coordinator',
  };
}

export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(options.connectionString), max: options.poolSize, idleTimeoutMillis: 30_000 });
  pool.on('error', (error) => options.onIdleError?.(error));
  return pool;
}

export type Queryable = Pick<pg.PoolClient, 'query'>;

const RETRYABLE = new Set(['40001', '40P01', '23505']);

/**
 * Runs `work` in one READ COMMITTED transaction on one pooled connection. A deadlock, a
 * serialization failure or a unique-key race with a concurrent transaction (two replicas creating
 * the same instance) rolls back and runs again, up to `attempts` times.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: Queryable) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      const code = (error as { code?: string }).code;
      if (attempt >= attempts || code === undefined || !RETRYABLE.has(code)) throw error;
    } finally {
      client.release(broken);
    }
  }
}

/** One statement, retried when it lost a deadlock against another replica's batch. */
export async function queryRetrying<R extends pg.QueryResultRow>(pool: pg.Pool, text: string, values: unknown[], attempts = 3): Promise<pg.QueryResult<R>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await pool.query<R>(text, values);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= attempts || (code !== '40P01' && code !== '40001')) throw error;
    }
  }
}
