import { defineConfig } from 'vitest/config';

/**
 * `npm run chaos`: the fault campaigns of test/chaos at full size (NODEPULSE_CHAOS=full unless
 * set otherwise), with the table of every campaign's row printed at the end. `npm test` runs the
 * same files at their short size.
 */
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    globalSetup: ['test/helpers/postgres-global-setup.ts', 'test/chaos/global-setup.ts'],
    env: { NODEPULSE_CHAOS: process.env.NODEPULSE_CHAOS ?? 'full' },
    // Campaigns run for minutes with real processes and real timers.
    testTimeout: 30 * 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One file at a time (its SQLite and PostgreSQL campaigns run side by side): on a small
    // shared machine, more campaigns at once starve each other's coordinators and fleets.
    maxWorkers: 1,
  },
});
