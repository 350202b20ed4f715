/**
 * Helpers for the operator CLI's end-to-end tests: call the coordinator's HTTP API as an admin,
 * and run `nodepulse <command>` against it as a real child process.
 */
import { type CoordinatorProcess, E2E_ADMIN } from '../helpers/coordinator-process.ts';
import { type Exit, spawnNodepulse } from '../helpers/spawn-process.ts';

export async function api(coordinator: CoordinatorProcess, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${coordinator.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${E2E_ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

export interface CliResult {
  exit: Exit;
  stdout: string;
  stderr: string;
}

/** Runs `nodepulse <args>` with an admin token, whatever its outcome. */
export async function runNodepulse(args: string[]): Promise<CliResult> {
  const proc = spawnNodepulse(args, { env: { NODEPULSE_API_TOKEN: E2E_ADMIN } });
  const exit = await proc.waitForExit(30_000);
  return { exit, stdout: proc.stdoutLines.join('\n'), stderr: proc.stderrLines.join('\n') };
}

/** Runs an operator command against the coordinator; it must succeed. Resolves with its stdout. */
export async function cli(coordinator: CoordinatorProcess, args: string[]): Promise<string> {
  const result = await runNodepulse([...args, '--coordinator', coordinator.url]);
  if (result.exit.code !== 0) throw new Error(`nodepulse ${args.join(' ')} exited ${result.exit.code}: ${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** The rows of a table the CLI printed, as objects keyed by its lower-case headers. */
export function tableRows(text: string): Record<string, string>[] {
  const [header, ...lines] = text.split('\n').filter((line) => line.trim() !== '');
  if (header === undefined) return [];
  const starts = [...header.matchAll(/\S+/g)].map((match) => ({ name: match[0].toLowerCase(), at: match.index }));
  return lines.map((line) =>
    Object.fromEntries(starts.map(({ name, at }, index) => [name, line.slice(at, starts[index + 1]?.at ?? line.length).trim()])),
  );
}
