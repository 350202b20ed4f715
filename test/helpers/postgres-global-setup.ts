import type { TestProject } from 'vitest/node';
import { type PostgresServer, startPostgresServer } from './postgres.ts';

/**
 * vitest globalSetup: the PostgreSQL every store test runs against. TEST_DATABASE_URL when set
 * (a server where the tests may CREATE DATABASE); otherwise a throwaway embedded server, removed
 * at the end. Never skipped: without a server the suite fails.
 */
let server: PostgresServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  const given = process.env.TEST_DATABASE_URL;
  if (given) {
    project.provide('postgresAdminUrl', given);
    return;
  }
  server = await startPostgresServer();
  project.provide('postgresAdminUrl', server.url);
}

export async function teardown(): Promise<void> {
  await server?.remove();
  server = undefined;
}
