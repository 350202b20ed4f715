import { ConfigError } from '../../src/shared/errors.ts';

/** The problems a ConfigError thrown by `fn` names; none when `fn` accepts its input. Other errors propagate. */
export function configProblems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}
