/**
 * The agent's status in `<stateDir>/status.json`, rewritten after every attempt (one small
 * atomic write per heartbeat), so `nodepulse agent status` works on a host without the status
 * endpoint. A state directory that cannot be written is reported once; the agent runs on.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../shared/logger.ts';
import type { AgentStatusReport } from './agent-status.ts';

export const STATUS_FILE = 'status.json';

export function statusFileWriter(stateDir: string, logger: Logger): (report: AgentStatusReport) => void {
  const path = join(stateDir, STATUS_FILE);
  let warned = false;
  return (report) => {
    try {
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      writeFileSync(`${path}.tmp`, `${JSON.stringify(report)}\n`, { mode: 0o644 });
      renameSync(`${path}.tmp`, path);
    } catch (error) {
      if (!warned) logger.warn('cannot write the status file; `nodepulse agent status` needs the status endpoint (statusListen) then', { path, error: (error as Error).message });
      warned = true;
    }
  };
}

/** The last status the agent wrote, or undefined when there is none. */
export function readStatusFile(stateDir: string): AgentStatusReport | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDir, STATUS_FILE), 'utf8')) as AgentStatusReport;
  } catch {
    return undefined;
  }
}
