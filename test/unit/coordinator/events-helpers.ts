import { PassThrough } from 'node:stream';
import type { MonitorObservation } from '../../../src/coordinator/monitor/component-checks.ts';
import { EventRecorder } from '../../../src/coordinator/monitor/event-recorder.ts';
import { createLogger } from '../../../src/shared/logger.ts';
import type { Harness } from '../../helpers/coordinator-harness.ts';

/** A fixed observation and a recorder on a harness's store and clock, for the monitor tests. */
export const HEALTHY: MonitorObservation = {
  api: { accepting: true, version: '0.1.0', uptimeSecs: 1, leader: true, replicas: 1 },
  compiler: { store: 'sqlite', storeError: null, pingMs: 1, lastSweep: null, sweepOverdueMs: null, massSilenceHolds: 0, graceUntil: null, graceReason: null },
  runner: { instances: 0, expected: 0, active: 0, timedOut: 0, failing: 0, disabled: 0, capacity: 0, consumed: 0, stalledAgents: 0 },
};

export function recorderFor(h: Harness, observation: () => MonitorObservation = () => HEALTHY, keepaliveMs = 1000): EventRecorder {
  return new EventRecorder({
    store: h.store,
    clock: h.clock,
    logger: createLogger({ level: 'error', component: 'test', pretty: false, stream: new PassThrough() }),
    schedule: '*/10 * * * * *',
    keepaliveMs,
    observe: async () => observation(),
  });
}
