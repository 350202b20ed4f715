import { defineConfig } from 'vitest/config';

/**
 * `npm run chaos`: the fault campaigns of test/chaos at full size (NODEPULSE_CHAOS=full unless
 * set otherwise), each in a world of its own, with the table of every campaign's row printed at
 * the end. `npm test` runs the same campaigns at their short size in test/chaos/campaigns.test.ts.
 */
export default defineConfig({
  test: {
    // Each campaign at full size in a world of its own (test/chaos/full/), and the other chaos
    // tests; not the short world npm test runs (campaigns.test.ts).
    include: ['test/chaos/full/*.ts', 'test/chaos/**/*.test.ts'],
    exclude: ['test/chaos/campaigns.test.ts', '**/node_modules/**'],
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
