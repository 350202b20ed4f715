import pg from 'pg';

/**
 * The connection pool of the PostgreSQL store: BIGINT (int8) columns and counts arrive as
 * JavaScript numbers (millisecond timestamps stay far below 2^53).
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
