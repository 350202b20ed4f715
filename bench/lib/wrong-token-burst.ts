import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { spawnProcess } from '../../test/helpers/spawn-process.ts';
import { type PacedOptions, type PacedResult, runPaced } from './paced-client.ts';

export type BurstOptions = Omit<PacedOptions, 'tokenFor' | 'startSignal'>;

/** Wrong tokens of both kinds: operator-shaped (a store lookup by hash) and node tokens of unknown nodes (a store lookup by id). */
export function wrongToken(index: number): string {
  const secret = randomBytes(24).toString('hex');
  return index % 2 === 0 ? `np_${randomBytes(6).toString('hex')}_${secret}` : `npn_${randomUUID()}_${secret}`;
}

const READY = 'burst-ready';
const RESULT_PREFIX = 'burst-result ';
const START_SIGNAL = 'SIGUSR2';

/**
 * A burst of wrong tokens from a process of its own, as from an attacker elsewhere: in the
 * runner's process it would share the event loop that times the agents' heartbeats. The process
 * starts and connects first; `start()` begins the burst, so its start-up is not measured.
 */
export async function prepareWrongTokenBurst(options: BurstOptions): Promise<{ start: () => Promise<PacedResult> }> {
  const child = spawnProcess(process.execPath, ['--import', 'tsx', import.meta.filename, JSON.stringify(options)], { name: 'wrong-token burst' });
  await child.waitForLine(new RegExp(`^${READY}$`), 60_000);
  return {
    async start() {
      child.kill(START_SIGNAL);
      const line = await child.waitForLine(new RegExp(`^${RESULT_PREFIX}`), (options.durationSecs + 60) * 1000);
      await child.waitForExit(10_000);
      return JSON.parse(line.slice(RESULT_PREFIX.length)) as PacedResult;
    },
  };
}

if (process.argv[1] === import.meta.filename) {
  const options = JSON.parse(process.argv[2] ?? '{}') as BurstOptions;
  const started = new Promise<void>((resolve) => process.once(START_SIGNAL, () => resolve()));
  const result = await runPaced({
    ...options,
    tokenFor: wrongToken,
    startSignal: () => {
      process.stdout.write(`${READY}\n`);
      return started;
    },
  });
  // The latencies of wrong tokens are not measured: only how they were answered.
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify({ ...result, latenciesMs: [] })}\n`);
}
