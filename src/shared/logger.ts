import winston from 'winston';
import { escapeControls } from './control-characters.ts';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

const SECRET_KEY = /token|secret|password|authorization|cookie/i;
const BEARER = /\b(Bearer\s+)[^\s"']+/gi;
const TOKEN_SHAPE = /\bnp[an]?_[A-Za-z0-9_.-]{8,}/g;

/**
 * Replaces anything that looks like a secret, by key or by shape, before a line is written, and
 * escapes control and bidirectional characters in every string and key: a hostile value logged
 * anywhere can neither forge a line nor reorder one.
 */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return escapeControls(value.replace(BEARER, '$1[redacted]').replace(TOKEN_SHAPE, '[redacted]'));
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: redact(value.message, depth + 1), stack: redact(value.stack, depth + 1) };
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[escapeControls(key)] = SECRET_KEY.test(key) && !key.endsWith('Hash') ? '[redacted]' : redact(item, depth + 1);
  }
  return out;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    info[key] = SECRET_KEY.test(key) && !key.endsWith('Hash') ? '[redacted]' : redact(info[key]);
  }
  return info;
});

export interface LoggerOptions {
  level: LogLevel;
  /** Human-readable lines; by default when stdout is a terminal. */
  pretty?: boolean;
  component: string;
  /** Where lines go; stdout unless a test captures them. */
  stream?: NodeJS.WritableStream;
}

export type Logger = winston.Logger;

/** JSON lines on stdout (journald and container runtimes collect them), readable on a terminal. */
export function createLogger(options: LoggerOptions): Logger {
  const pretty = options.pretty ?? Boolean(process.stdout.isTTY);
  // winston runs every format before its transports compare levels: drop a line below the
  // logger's level (which a reload may change) first, so a debug line at level info costs nothing.
  const enabled = winston.format((info) => (logger.isLevelEnabled(info.level) ? info : false));
  const format = pretty
    ? winston.format.combine(
        enabled(),
        redactFormat(),
        winston.format.timestamp(),
        winston.format.colorize(),
        winston.format.printf(({ timestamp, level, message, component, ...rest }) => {
          const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
          return `${String(timestamp)} ${level} [${String(component)}] ${String(message)}${extra}`;
        }),
      )
    : winston.format.combine(enabled(), redactFormat(), winston.format.timestamp(), winston.format.json());
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console();
  const logger: Logger = winston.createLogger({
    level: options.level,
    defaultMeta: { component: options.component },
    format,
    transports: [transport],
  });
  return logger;
}
