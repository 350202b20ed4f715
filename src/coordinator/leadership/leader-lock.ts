/**
 * The store-side half of leader election: a lock that at most one replica holds at a time and
 * that the store releases by itself when its holder dies (PostgreSQL: a session advisory lock on
 * a dedicated connection, released when that connection closes).
 */
export interface LeaderLock {
  /** Tries to take the lock without waiting; true when this replica holds it now. */
  tryAcquire(): Promise<boolean>;
  /** Whether the lock is still held (the connection that holds it still answers). Throws when the store is unreachable. */
  stillHeld(): Promise<boolean>;
  /** Gives the lock up (and closes the connection). */
  release(): Promise<void>;
}
