import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A real PostgreSQL for the store contract and replica tests: TEST_DATABASE_URL, or a throwaway server.
    globalSetup: ['test/helpers/postgres-global-setup.ts'],
    // End-to-end tests start real processes: generous deadlines, never fixed sleeps.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
