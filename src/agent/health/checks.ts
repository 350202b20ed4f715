/**
 * One run of one configured health check. Each returns passing / warning / critical with a short
 * output; the caller bounds it with the check's timeout.
 */
import { spawn } from 'node:child_process';
import { statfs } from 'node:fs/promises';
import { connect } from 'node:net';
import { got } from 'got';
import type { CheckStatus } from '../../shared/protocol.ts';
import type { CheckConfig } from '../config.ts';

export interface CheckResult {
  status: CheckStatus;
  output: string;
}

export interface CheckDeps {
  /** Effective (cgroup-aware) memory, for the memory check. */
  readMemory(): Promise<{ totalBytes: number; availableBytes?: number } | undefined>;
  outputLimit: number;
}

export function truncate(text: string, limit: number): string {
  const trimmed = text.trim();
  if (trimmed.length <= limit) return trimmed;
  return `${trimmed.slice(0, Math.max(0, limit - 15))}… [truncated]`;
}

async function httpCheck(url: string, expected: number | undefined, timeoutMs: number): Promise<CheckResult> {
  const response = await got(url, { timeout: { request: timeoutMs }, retry: { limit: 0 }, throwHttpErrors: false, followRedirect: false });
  const ok = expected === undefined ? response.statusCode >= 200 && response.statusCode < 400 : response.statusCode === expected;
  const want = expected === undefined ? '2xx/3xx' : String(expected);
  return { status: ok ? 'passing' : 'critical', output: `HTTP GET ${url}: ${response.statusCode} (expected ${want})` };
}

function tcpCheck(host: string, port: number, timeoutMs: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (result: CheckResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.once('connect', () => done({ status: 'passing', output: `TCP connect ${host}:${port}: ok` }));
    socket.once('timeout', () => done({ status: 'critical', output: `TCP connect ${host}:${port}: timed out` }));
    socket.once('error', (error) => done({ status: 'critical', output: `TCP connect ${host}:${port}: ${error.message}` }));
  });
}

/** Exit 0 passing, 1 warning, anything else (or a timeout, or a spawn error) critical. */
export function commandCheck(command: readonly string[], timeoutMs: number, outputLimit: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    const [file, ...args] = command;
    const child = spawn(file ?? '', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      if (output.length < outputLimit * 2) output += chunk.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ status: 'critical', output: truncate(`cannot run ${file}: ${error.message}`, outputLimit) });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return resolve({ status: 'critical', output: truncate(`timed out after ${timeoutMs} ms\n${output}`, outputLimit) });
      const status: CheckStatus = code === 0 ? 'passing' : code === 1 ? 'warning' : 'critical';
      const how = signal ? `killed by ${signal}` : `exit ${code}`;
      resolve({ status, output: truncate(output || how, outputLimit) });
    });
  });
}

function thresholdStatus(percent: number, bytes: number, critical: number, warning: number, minBytes?: number): CheckStatus {
  if (percent < critical || (minBytes !== undefined && bytes < minBytes)) return 'critical';
  return percent < warning ? 'warning' : 'passing';
}

async function diskCheck(check: Extract<CheckConfig, { type: 'disk' }>): Promise<CheckResult> {
  const stats = await statfs(check.path);
  const free = stats.bavail * stats.bsize;
  const total = stats.blocks * stats.bsize;
  const percent = total > 0 ? (free / total) * 100 : 0;
  const status = thresholdStatus(percent, free, check.minFreePercent ?? 5, check.warnFreePercent ?? 10, check.minFreeBytes);
  return { status, output: `${check.path}: ${percent.toFixed(1)}% free (${gib(free)} of ${gib(total)})` };
}

async function memoryCheck(check: Extract<CheckConfig, { type: 'memory' }>, deps: CheckDeps): Promise<CheckResult> {
  const memory = await deps.readMemory();
  if (!memory || memory.availableBytes === undefined) return { status: 'warning', output: 'available memory is unknown' };
  const percent = (memory.availableBytes / memory.totalBytes) * 100;
  const status = thresholdStatus(percent, memory.availableBytes, check.minAvailablePercent ?? 5, check.warnAvailablePercent ?? 10, check.minAvailableBytes);
  return { status, output: `${percent.toFixed(1)}% memory available (${gib(memory.availableBytes)} of ${gib(memory.totalBytes)})` };
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 10_000;

/** Runs one check; never throws (an error is a critical result with its message). */
export async function runCheck(check: CheckConfig, deps: CheckDeps): Promise<CheckResult> {
  const timeoutMs = (check.timeout ?? DEFAULT_CHECK_TIMEOUT_MS / 1000) * 1000;
  try {
    switch (check.type) {
      case 'http':
        return await httpCheck(check.url, check.expectedStatus, timeoutMs);
      case 'tcp':
        return await tcpCheck(check.host, check.port, timeoutMs);
      case 'command':
        return await commandCheck(check.command, timeoutMs, deps.outputLimit);
      case 'disk':
        return await diskCheck(check);
      case 'memory':
        return await memoryCheck(check, deps);
    }
  } catch (error) {
    return { status: 'critical', output: truncate((error as Error).message, deps.outputLimit) };
  }
}
