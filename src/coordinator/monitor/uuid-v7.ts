import { randomBytes } from 'node:crypto';

/**
 * UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then random bits, so ids sort by time.
 * Ids from one generator are strictly increasing even within one millisecond or when the clock
 * steps back: the 12-bit counter after the timestamp (method 1 of the RFC) carries on.
 */
export function uuidV7Generator(): (ms: number) => string {
  let lastMs = -1;
  let counter = 0;
  return (now: number) => {
    let ms = Math.max(0, Math.floor(now));
    if (ms > lastMs) {
      lastMs = ms;
      counter = randomBytes(2).readUInt16BE(0) & 0x7ff;
    } else {
      ms = lastMs;
      counter++;
      if (counter > 0xfff) {
        lastMs = ++ms;
        counter = 0;
      }
    }
    const random = randomBytes(8);
    random[0] = (random[0]! & 0x3f) | 0x80;
    const hex = ms.toString(16).padStart(12, '0') + (0x7000 | counter).toString(16) + random.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  };
}

export const UUID_PATTERN = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
