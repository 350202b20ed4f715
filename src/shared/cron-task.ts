import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from './logger.ts';

export interface CronTaskOptions {
  /** Shown in the log lines node-cron emits for this task. */
  name: string;
  logger: Logger;
  /**
   * node-cron warns once per missed run ("missed execution", ten lines for a 10 s stall). Where
   * the caller reports a stall itself (the coordinator's stall watch), those lines are noise.
   */
  quietMissedRuns?: boolean;
}

/**
 * A node-cron task that never overlaps itself and whose own messages (missed runs, failures) are
 * JSON log lines through the process logger, never coloured text on stderr in the middle of the
 * log stream.
 */
export function scheduleCron(expression: string, run: () => unknown, options: CronTaskOptions): ScheduledTask {
  const { name, logger } = options;
  const fields = { task: name, source: 'node-cron' };
  const text = (message: string | Error) => (message instanceof Error ? message.message : message);
  return cron.schedule(expression, run, {
    name,
    noOverlap: true,
    suppressMissedWarning: options.quietMissedRuns ?? false,
    logger: {
      info: (message) => logger.debug(message, fields),
      warn: (message) => logger.warn(message, fields),
      error: (message) => logger.error(text(message), fields),
      debug: (message) => logger.debug(text(message), fields),
    },
  });
}
