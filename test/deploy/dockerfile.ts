/**
 * Reads the repository's Dockerfile into its stages, as far as the tests need: what a target's
 * container starts with (ENTRYPOINT, CMD, ENV, USER, WORKDIR, HEALTHCHECK), its labels, volumes
 * and the files it copies. A stage built FROM another stage inherits that stage's settings, as
 * in Docker. ENTRYPOINT, CMD and HEALTHCHECK must be in exec form (a JSON array): the shell form
 * would make /bin/sh PID 1, which does not forward SIGTERM to node.
 */
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { REPO_ROOT } from '../helpers/spawn-process.ts';

export const DOCKERFILE = join(REPO_ROOT, 'Dockerfile');

export interface Copy {
  /** The stage copied from (--from), or undefined for the build context. */
  from: string | undefined;
  sources: string[];
  /** Absolute, resolved against the stage's WORKDIR. */
  dest: string;
}

export interface HealthCheck {
  /** --interval=30s and the like, by option name. */
  options: Record<string, string>;
  /** The exec form's command. */
  command: string[];
}

export interface Stage {
  name: string;
  /** The image or stage it is built FROM. */
  base: string;
  args: Record<string, string>;
  env: Record<string, string>;
  labels: Record<string, string>;
  user: string | undefined;
  workdir: string;
  entrypoint: string[] | undefined;
  cmd: string[] | undefined;
  healthcheck: HealthCheck | undefined;
  volumes: string[];
  expose: string[];
  stopSignal: string | undefined;
  copies: Copy[];
  runs: string[];
}

/** Logical lines: continuations joined, comments and blank lines dropped. */
function instructions(text: string): { keyword: string; rest: string }[] {
  const result: { keyword: string; rest: string }[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    const match = /^(\S+)\s+(.*)$/.exec(full);
    if (!match) throw new Error(`Dockerfile: cannot read "${full}"`);
    result.push({ keyword: match[1]!.toUpperCase(), rest: match[2]! });
  }
  return result;
}

/** `KEY=value KEY2="two words"` as ENV, LABEL and ARG write them. */
function assignments(rest: string, vars: Record<string, string>): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const match of rest.matchAll(/([A-Za-z_][\w.-]*)(?:=("(?:[^"\\]|\\.)*"|\S*))?/g)) {
    const raw = match[2] ?? '';
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    pairs[match[1]!] = substitute(value, vars);
  }
  return pairs;
}

function substitute(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_all, braced: string | undefined, bare: string | undefined) => vars[(braced ?? bare)!] ?? '');
}

function execForm(keyword: string, text: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`Dockerfile: ${keyword} ${text} is not in exec form (a JSON array)`);
  }
  if (!Array.isArray(parsed) || !parsed.every((word) => typeof word === 'string')) throw new Error(`Dockerfile: ${keyword} must be a JSON array of strings`);
  return parsed as string[];
}

function healthCheck(rest: string): HealthCheck {
  const options: Record<string, string> = {};
  let remaining = rest;
  for (let option = /^--([\w-]+)=(\S+)\s+/.exec(remaining); option; option = /^--([\w-]+)=(\S+)\s+/.exec(remaining)) {
    options[option[1]!] = option[2]!;
    remaining = remaining.slice(option[0].length);
  }
  if (!remaining.startsWith('CMD ')) throw new Error(`Dockerfile: HEALTHCHECK ${rest} has no CMD`);
  return { options, command: execForm('HEALTHCHECK CMD', remaining.slice(4).trim()) };
}

function copyOf(rest: string, workdir: string): Copy {
  const words = rest.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  const dest = words.pop()!;
  return { from, sources: words, dest: posix.resolve(workdir, dest) };
}

/** Every stage, in file order; unnamed stages are named by their index. */
export function readDockerfile(text = readFileSync(DOCKERFILE, 'utf8')): Stage[] {
  const stages: Stage[] = [];
  const globalArgs: Record<string, string> = {};
  let stage: Stage | undefined;
  for (const { keyword, rest } of instructions(text)) {
    if (keyword === 'FROM') {
      const [image, as, name] = rest.split(/\s+/);
      const base = substitute(image!, globalArgs);
      const parent = stages.find((candidate) => candidate.name === base);
      stage = {
        name: as?.toUpperCase() === 'AS' && name ? name : String(stages.length),
        base,
        args: {},
        env: { ...parent?.env },
        labels: { ...parent?.labels },
        user: parent?.user,
        workdir: parent?.workdir ?? '/',
        entrypoint: parent?.entrypoint,
        cmd: parent?.cmd,
        healthcheck: parent?.healthcheck,
        volumes: [...(parent?.volumes ?? [])],
        expose: [...(parent?.expose ?? [])],
        stopSignal: parent?.stopSignal,
        copies: [],
        runs: [],
      };
      stages.push(stage);
      continue;
    }
    if (keyword === 'ARG' && !stage) {
      Object.assign(globalArgs, assignments(rest, globalArgs));
      continue;
    }
    if (!stage) throw new Error(`Dockerfile: ${keyword} before the first FROM`);
    const vars = { ...globalArgs, ...stage.args, ...stage.env };
    switch (keyword) {
      case 'ARG':
        // A stage sees a global ARG only when it declares it again.
        for (const [key, value] of Object.entries(assignments(rest, vars))) stage.args[key] = value || globalArgs[key] || '';
        break;
      case 'ENV':
        Object.assign(stage.env, assignments(rest, vars));
        break;
      case 'LABEL':
        Object.assign(stage.labels, assignments(rest, vars));
        break;
      case 'USER':
        stage.user = substitute(rest.trim(), vars);
        break;
      case 'WORKDIR':
        stage.workdir = posix.resolve(stage.workdir, substitute(rest.trim(), vars));
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = execForm(keyword, rest);
        break;
      case 'CMD':
        stage.cmd = execForm(keyword, rest);
        break;
      case 'HEALTHCHECK':
        stage.healthcheck = healthCheck(rest);
        break;
      case 'VOLUME':
        stage.volumes.push(...execForm(keyword, rest));
        break;
      case 'EXPOSE':
        stage.expose.push(...rest.split(/\s+/));
        break;
      case 'STOPSIGNAL':
        stage.stopSignal = rest.trim();
        break;
      case 'COPY':
        stage.copies.push(copyOf(rest, stage.workdir));
        break;
      case 'RUN':
        stage.runs.push(rest);
        break;
      default:
        throw new Error(`Dockerfile: ${keyword} is not read by test/deploy/dockerfile.ts`);
    }
  }
  return stages;
}

export function dockerStage(name: string, stages = readDockerfile()): Stage {
  const stage = stages.find((candidate) => candidate.name === name);
  if (!stage) throw new Error(`Dockerfile: no stage named ${name}`);
  return stage;
}

/** The command a container of the stage starts: ENTRYPOINT followed by CMD. */
export function startCommand(stage: Stage): string[] {
  return [...(stage.entrypoint ?? []), ...(stage.cmd ?? [])];
}

/** The stage's user as numbers: "1000:1000" -> { uid: 1000, gid: 1000 }; a name cannot be checked by Kubernetes' runAsNonRoot. */
export function numericUser(stage: Stage): { uid: number; gid: number } {
  const match = /^(\d+)(?::(\d+))?$/.exec(stage.user ?? '');
  if (!match) throw new Error(`Dockerfile: USER of ${stage.name} is "${stage.user}", not numeric`);
  return { uid: Number(match[1]), gid: Number(match[2] ?? match[1]) };
}

/** A start command `node [flags] script [args]` split up; the script is absolute (resolved against WORKDIR). */
export function nodeCommand(stage: Stage): { nodeArgs: string[]; script: string; args: string[] } {
  const [program, ...words] = startCommand(stage);
  if (program !== 'node') throw new Error(`Dockerfile: ${stage.name} starts ${program}, not node`);
  const at = words.findIndex((word) => !word.startsWith('-'));
  if (at < 0) throw new Error(`Dockerfile: ${stage.name} runs no script`);
  return { nodeArgs: words.slice(0, at), script: posix.resolve(stage.workdir, words[at]!), args: words.slice(at + 1) };
}
