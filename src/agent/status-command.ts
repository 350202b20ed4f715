/**
 * `nodepulse agent status`: the status of the agent running with this config, from its status
 * endpoint when statusListen is set, else from the status file in its state directory. Prints the
 * status as JSON; exits 0 while the agent makes progress, 1 when it does not or none runs.
 */
import { request } from 'node:http';
import type { AgentStatusReport } from './agent-status.ts';
import { stillHealthy } from './agent-status.ts';
import type { AgentConfig } from './config.ts';
import { STATUS_FILE, readStatusFile } from './status-file.ts';
import { parseListenAddress } from './status-server.ts';

const ENDPOINT_TIMEOUT_MS = 3_000;

export type StatusLookup = { report: AgentStatusReport; source: string } | { problem: string };

/** A wildcard listen address is reached on loopback. */
function connectHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

function fromEndpoint(listen: string): Promise<StatusLookup> {
  const { host, port } = parseListenAddress(listen);
  const url = `http://${listen}/status`;
  return new Promise((resolve) => {
    const outgoing = request({ host: connectHost(host), port, path: '/status', timeout: ENDPOINT_TIMEOUT_MS }, (response) => {
      let text = '';
      response.on('data', (chunk) => (text += String(chunk)));
      response.on('end', () => {
        try {
          resolve({ report: JSON.parse(text) as AgentStatusReport, source: url });
        } catch {
          resolve({ problem: `${url} answered ${response.statusCode ?? '?'} with something that is not an agent's status` });
        }
      });
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${ENDPOINT_TIMEOUT_MS} ms`)));
    outgoing.on('error', (error) => resolve({ problem: `no agent answers at ${url} (${error.message})` }));
    outgoing.end();
  });
}

/** The file is the agent's last word: it counts only while that process lives. */
function fromFile(stateDir: string): StatusLookup {
  const report = readStatusFile(stateDir);
  if (!report) return { problem: `no status file in ${stateDir} (${STATUS_FILE}): no agent has run with this state directory, or it cannot write there` };
  try {
    process.kill(report.pid, 0);
  } catch (error) {
    // EPERM: the process lives, as another user (systemd's dynamic user).
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return { problem: `the agent that wrote ${stateDir}/${STATUS_FILE} (pid ${report.pid}) is not running` };
  }
  return { report: { ...report, healthy: stillHealthy(report, Date.now()) }, source: `${stateDir}/${STATUS_FILE}` };
}

export function lookUpStatus(config: AgentConfig): Promise<StatusLookup> {
  return config.statusListen ? fromEndpoint(config.statusListen) : Promise.resolve(fromFile(config.stateDir));
}
