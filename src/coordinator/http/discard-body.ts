import type { IncomingMessage } from 'node:http';

/**
 * How much of an oversized body is read and dropped before the 413 answer. Ordinary clients
 * (fetch, got) write the whole body before they read the answer, and a connection closed while
 * they still write reaches them as a reset instead of the answer. Past this the connection is
 * closed anyway; the request receive timeout bounds the time it may take.
 */
export const OVERSIZE_DISCARD_BYTES = 4 * 1024 * 1024;

/** Reads and drops the rest of a request body, at most `maxBytes`; resolves once it ended, the bound was passed, or the client went away. */
export function discardBody(raw: IncomingMessage, maxBytes: number): Promise<void> {
  if (raw.complete || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let dropped = 0;
    const stop = () => {
      raw.off('data', onData);
      raw.off('end', stop);
      raw.off('close', stop);
      raw.off('error', stop);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped <= maxBytes) return;
      raw.pause();
      stop();
    };
    raw.on('data', onData);
    raw.once('end', stop);
    raw.once('close', stop);
    raw.once('error', stop);
    raw.resume();
  });
}
