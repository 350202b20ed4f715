import { cleanupAll } from '../test/helpers/spawn-process.ts';
import { agentBenchmark } from './agent-footprint.ts';
import { authBurstBenchmark } from './auth-burst.ts';
import { detectionBenchmark } from './detection.ts';
import { fleetCountsBenchmark } from './fleet-counts.ts';
import { fleetStartBenchmark } from './fleet-start.ts';
import { heartbeatBenchmark } from './heartbeat.ts';
import { formatTable, writeResult } from './lib/report.ts';
import { daemonRuntime } from './lib/runtime.ts';
import type { BenchResult, Benchmark, Scale } from './lib/types.ts';
import { memoryBenchmark } from './memory.ts';
import { millionBenchmark } from './million.ts';
import { registrationBenchmark } from './registration.ts';
import { restartBenchmark } from './restart.ts';
import { sweepBenchmark } from './sweep.ts';

/** Every benchmark, in the order a full run measures them. */
export const BENCHMARKS: readonly Benchmark[] = [
  heartbeatBenchmark,
  detectionBenchmark,
  sweepBenchmark,
  memoryBenchmark,
  registrationBenchmark,
  agentBenchmark,
  fleetStartBenchmark,
  authBurstBenchmark,
  fleetCountsBenchmark,
  millionBenchmark,
  restartBenchmark,
];

export interface SuiteOptions {
  scale: Scale;
  only?: readonly string[] | undefined;
  /** Build dist/ first so the daemons run as compiled JS (default: on for full runs). */
  build?: boolean;
  write?: boolean;
  print?: (text: string) => void;
  log?: (message: string) => void;
}

/** Runs the chosen benchmarks one after another (they would disturb each other's figures). */
export async function runSuite(options: SuiteOptions): Promise<BenchResult[]> {
  const print = options.print ?? ((text: string) => process.stdout.write(`${text}\n`));
  const log = options.log ?? ((message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`));
  const unknown = (options.only ?? []).filter((name) => !BENCHMARKS.some((bench) => bench.name === name));
  if (unknown.length > 0) throw new Error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  const chosen = options.only?.length ? BENCHMARKS.filter((bench) => options.only?.includes(bench.name)) : BENCHMARKS;
  const runtime = daemonRuntime({ build: options.build ?? options.scale === 'full', log });
  log(`scale ${options.scale}; daemons run as ${runtime.describe}`);
  const results: BenchResult[] = [];
  for (const bench of chosen) {
    log(`${bench.name}: start`);
    const started = performance.now();
    try {
      const result = await bench.run({ scale: options.scale, log, runtime });
      results.push(result);
      print(formatTable(result));
      if (options.write !== false) log(`${bench.name}: ${((performance.now() - started) / 1000).toFixed(1)} s, written to ${writeResult(result, options.scale)}`);
    } finally {
      await cleanupAll();
    }
  }
  return results;
}
