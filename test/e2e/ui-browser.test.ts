/**
 * The web page at /ui/ in a real browser: headless Chromium (Debian's `chromium`) driven by
 * playwright-core, against a coordinator child process with short timeouts and real timers.
 * Agents are simulated over HTTP. Screenshots go to test-results/ui/; what they show is checked
 * through the DOM.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installBootstrapTokens } from '../../src/coordinator/auth/bootstrap-tokens.ts';
import { SqliteStore } from '../../src/coordinator/store/sqlite/sqlite-store.ts';
import { type CoordinatorProcess, E2E_ADMIN, E2E_ENROLL, startCoordinatorProcess } from '../helpers/coordinator-process.ts';
import { SimulatedAgent } from '../helpers/simulated-agent.ts';
import { REPO_ROOT, cleanupAll, makeTempDir, waitFor } from '../helpers/spawn-process.ts';
import { FAST } from './agent-helpers.ts';
import { api } from './operator-cli-helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(REPO_ROOT, 'test-results', 'ui');
/** Hosts created in the cluster `bulk`: more than a page of the node table many times over. */
const BULK_HOSTS = 2_000;

let coordinator: CoordinatorProcess;
let browser: Browser;
const READER_TOKEN = 'np_e2e_reader_token_0123456789abcdef';
const agents = new Map<string, SimulatedAgent>();
const contexts: BrowserContext[] = [];

/** Registers a host as an agent would and heartbeats it every 500 ms; the first heartbeat reports facts, checks and the agent's lag. */
async function startSimulatedHost(hostname: string, options: { cluster?: string; failingCheck?: boolean; lagMs?: number } = {}): Promise<SimulatedAgent> {
  const registration = await coordinator.post('cluster_RegisterNode', options.cluster ? E2E_ADMIN : E2E_ENROLL, {
    name: hostname,
    hostname,
    bootId: `${hostname}-boot-1`,
    continuity: { processId: `${hostname}-agent-1`, processUptimeSecs: 5, hostUptimeSecs: 600 },
    ...(options.cluster ? { cluster: options.cluster } : {}),
    labels: { region: 'eu-west', role: hostname.split('-')[0]! },
    facts: {
      hostname,
      ipAddress: '10.0.0.7',
      agentVersion: '0.1.0',
      cpu: { cpus: 4, source: 'host' },
      memory: { totalBytes: 8 * 1024 ** 3, availableBytes: 5 * 1024 ** 3, source: 'host' },
      capacity: { cpuCapacity: 16, memCapacity: 60 },
    },
  });
  expect(registration.status).toBe(200);
  const { nodeId, nodeToken } = registration.body as { nodeId: string; nodeToken: string };
  const report = await fetch(`${coordinator.url}/api/v1/actions/invoke/cluster_ReportNodeHeartbeat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${nodeToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      health: options.failingCheck
        ? { status: 'warning', checks: [{ name: 'disk', status: 'warning', output: '/var 91% full' }, { name: 'ntp', status: 'passing' }] }
        : { status: 'passing', checks: [{ name: 'disk', status: 'passing' }] },
      agent: { eventLoopDelayMs: options.lagMs ?? 4, rssBytes: 60 * 1024 ** 2 },
    }),
  });
  expect(report.status).toBe(200);
  const agent = new SimulatedAgent(nodeId, nodeToken, () => [coordinator.url], 500);
  agent.start();
  agents.set(hostname, agent);
  return agent;
}

async function signedIn(token: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${coordinator.url}/ui`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#stream-state[data-state="live"]').waitFor({ timeout: 20_000 });
  return page;
}

const row = (page: Page, hostname: string) => page.locator(`#node-table tbody tr[data-host="${hostname}"]`);
const statusOf = async (page: Page, hostname: string) => (await row(page, hostname).getAttribute('data-status', { timeout: 1_000 })) ?? undefined;
const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

async function readyz(): Promise<{ holds: { graceUntil: string | null; massSilence: { cluster: string }[] } }> {
  return (await fetch(`${coordinator.url}/readyz`)).json() as never;
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const storePath = join(makeTempDir(), 'nodepulse.db');
  // A reader token in the store before the coordinator starts (the environment bootstraps only admin and enroll tokens).
  const store = new SqliteStore(storePath);
  await store.migrate();
  await installBootstrapTokens(store, [{ role: 'reader', token: READER_TOKEN }], Date.now());
  const bulk = await store.ensureCluster('bulk', Date.now());
  await store.close();
  // The cluster `bulk`: hosts an admin created and no agent registered yet, written in one transaction.
  const db = new Database(storePath);
  const insert = db.prepare('INSERT INTO instances (cluster_id, hostname, uuid, created_at, modified_at) VALUES (?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (let index = 0; index < BULK_HOSTS; index++) insert.run(bulk.id, `bulk-${String(index).padStart(4, '0')}`, randomUUID(), Date.now(), Date.now());
  })();
  db.close();
  coordinator = await startCoordinatorProcess({ storePath, args: FAST });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 60_000);

afterAll(async () => {
  for (const agent of agents.values()) agent.stop();
  for (const context of contexts) await context.close();
  await browser?.close();
  await cleanupAll();
});

describe('the web page at /ui/', () => {
  let admin: Page;

  it('serves the page with a strict CSP and no token, and keeps the token out of URLs', async () => {
    const page = await fetch(`${coordinator.url}/ui`, { redirect: 'manual' });
    expect(page.status).toBe(301);
    expect(page.headers.get('location')).toBe('/ui/');
    const index = await fetch(`${coordinator.url}/ui/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await index.text()).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect((await fetch(`${coordinator.url}/ui/app.js`)).headers.get('content-type')).toContain('text/javascript');
    expect((await fetch(`${coordinator.url}/ui/..%2Fui-routes.ts`)).status).toBe(404);

    admin = await signedIn(E2E_ADMIN);
    expect(await admin.locator('#role').textContent()).toBe('admin');
    expect(admin.url()).not.toContain(E2E_ADMIN);
    expect(await admin.evaluate(() => sessionStorage.getItem('nodepulse.token'))).toBe(E2E_ADMIN);
  });

  it('shows a node as soon as its agent registers, with its capacity, memory, checks, lag and its cluster’s counts and regions', async () => {
    await startSimulatedHost('web-1');
    await startSimulatedHost('db-1', { failingCheck: true, lagMs: 1_450 });
    await row(admin, 'db-1').waitFor({ timeout: 20_000 });
    await waitFor(async () => (await statusOf(admin, 'web-1')) === 'Active', 20_000, { message: 'web-1 Active in the table' });
    // The checks and the agent's lag arrive with the first heartbeat after the registration.
    const cells = await waitFor(async () => {
      const texts = await row(admin, 'db-1').locator('td').allTextContents();
      return texts[5]?.includes('disk') && texts[7] === '1450 ms' ? texts : undefined;
    }, 20_000, { message: "db-1's failing check and lag in the table" });
    expect(cells[1]).toContain('Active');
    expect(cells[2]).toMatch(/^\d+ s ago$/);
    expect(cells[3]).toContain('0 of 60 used');
    expect(cells[4]).toContain('8.0 GiB');
    expect(cells[5]).toContain('disk: warning: /var 91% full');
    await waitFor(async () => {
      const card = await admin.locator('#cluster-list [data-cluster="default"]').textContent();
      return card?.includes('2 hosts · 2 Active') && card.includes('regions: eu-west');
    }, 20_000, { message: 'the default cluster counting 2 Active hosts in region eu-west' });
  });

  it('filters the node table and sorts it by a column', async () => {
    await admin.getByLabel('Filter').fill('web');
    await waitFor(async () => (await admin.locator('#node-table tbody tr').count()) === 1, 5_000, { message: 'one row left by the filter' });
    expect(await admin.locator('#node-table tbody tr').getAttribute('data-host')).toBe('web-1');
    await admin.getByLabel('Filter').fill('');
    await waitFor(async () => (await admin.locator('#node-table tbody tr').count()) === 2, 5_000, { message: 'both rows back' });
    await admin.locator('th[data-sort="hostname"] button').click();
    expect(await admin.locator('#node-table tbody tr').first().getAttribute('data-host')).toBe('web-1');
    await admin.locator('th[data-sort="hostname"] button').click();
    expect(await admin.locator('#node-table tbody tr').first().getAttribute('data-host')).toBe('db-1');
  });

  it('turns a node Terminated when it falls silent; its host page shows the timeout newest first, then the verdict when it comes back', async () => {
    agents.get('web-1')!.stop();
    await waitFor(async () => (await statusOf(admin, 'web-1')) === 'Terminated', 40_000, { intervalMs: 200, message: 'web-1 Terminated in the table' });
    expect(await row(admin, 'web-1').locator('td.status').textContent()).toContain('HeartbeatTimeout');
    expect(await admin.locator('#transition-list li[data-kind="node-terminated"]').first().textContent()).toContain('web-1');
    await row(admin, 'web-1').getByRole('link', { name: 'web-1' }).click();
    await admin.locator('#history-table tbody tr').nth(1).waitFor({ timeout: 10_000 });
    const kinds = await admin.locator('#history-table tbody tr').evaluateAll((rows) => rows.map((tr) => tr.getAttribute('data-kind')));
    // Newest first: the timeout, then (after its health report) the registration.
    expect(kinds[0]).toBe('node-terminated');
    expect(kinds.at(-1)).toBe('node-registered');
    expect(await admin.locator('#history-table tbody tr').first().textContent()).toContain('HeartbeatTimeout');
    // The host comes back after a reboot: the page, still open, shows the registration with its verdict on top.
    const back = await coordinator.post('cluster_RegisterNode', E2E_ENROLL, {
      name: 'web-1',
      hostname: 'web-1',
      bootId: 'web-1-boot-2',
      continuity: { processId: 'web-1-agent-2', processUptimeSecs: 2, hostUptimeSecs: 4 },
    });
    expect(back.status).toBe(200);
    await waitFor(async () => (await admin.locator('#history-table tbody tr').first().textContent())?.includes('verdict rebooted'), 10_000, {
      message: 'the verdict on the host page',
    });
    expect(await admin.locator('#history-table tbody tr').first().getAttribute('data-kind')).toBe('node-registered');
    await shot(admin, 'host-history');
    await admin.goto(`${coordinator.url}/ui/#`);
  });

  it('puts a host in maintenance and takes it out again', async () => {
    const id = (await api(coordinator, 'GET', '/api/v2/instances/?hostname=db-1')).body.results[0].id as number;
    await admin.goto(`${coordinator.url}/ui/#host/${id}`);
    await admin.getByLabel('Reason').fill('kernel upgrade');
    await admin.getByRole('button', { name: 'Maintenance on' }).click();
    await waitFor(async () => (await admin.locator('#maintenance-state').textContent())?.startsWith('In maintenance'), 10_000, { message: 'the host in maintenance' });
    expect((await api(coordinator, 'GET', `/api/v2/instances/${id}/`)).body.maintenance).toBe(true);
    await admin.goto(`${coordinator.url}/ui/#`);
    await waitFor(async () => (await row(admin, 'db-1').locator('.badge.maintenance').count()) === 1, 10_000, { message: 'the maintenance badge in the table' });
    await admin.goto(`${coordinator.url}/ui/#host/${id}`);
    await admin.getByRole('button', { name: 'Maintenance off' }).click();
    await waitFor(async () => (await admin.locator('#maintenance-state').textContent()) === 'Not in maintenance', 10_000, { message: 'maintenance off' });
    expect((await api(coordinator, 'GET', `/api/v2/instances/${id}/`)).body.maintenance).toBe(false);
    await admin.goto(`${coordinator.url}/ui/#`);
  });

  it('shows a mass-silence hold and lifts it as admin', async () => {
    const edge = await Promise.all(['edge-1', 'edge-2', 'edge-3'].map((hostname) => startSimulatedHost(hostname, { cluster: 'edge' })));
    // The guard judges once the startup grace is over and every node has heartbeated.
    await waitFor(async () => (await readyz()).holds.graceUntil === null && edge.every((agent) => agent.heartbeats > 0), 30_000, { message: 'the startup grace over' });
    for (const agent of edge) agent.stop();
    const hold = admin.locator('#hold-list li[data-hold="edge"]');
    await hold.waitFor({ timeout: 20_000 });
    expect(await hold.textContent()).toMatch(/[23] silent of 3 Active/);
    await admin.locator('#cluster-list [data-cluster="edge"]').click();
    await shot(admin, 'fleet-with-hold');
    await hold.getByRole('button', { name: 'Lift hold' }).click();
    await waitFor(async () => (await admin.locator('#notice').textContent())?.includes('terminations released in edge'), 10_000, { message: 'the lift confirmed' });
    await hold.waitFor({ state: 'detached', timeout: 10_000 });
    expect((await readyz()).holds.massSilence).toEqual([]);
    for (const hostname of ['edge-1', 'edge-2', 'edge-3']) {
      await waitFor(async () => (await statusOf(admin, hostname)) === 'Terminated', 20_000, { intervalMs: 200, message: `${hostname} Terminated after the lift` });
    }
  });

  it(`pages ${BULK_HOSTS.toLocaleString('en')} hosts 200 at a time`, async () => {
    const started = Date.now();
    await admin.locator('#cluster-list [data-cluster="bulk"]').click();
    let range: string | null = null;
    await waitFor(async () => (range = await admin.locator('#row-range').textContent()) === `1–200 of ${BULK_HOSTS.toLocaleString('en')}`, 20_000, {
      message: 'the first page of bulk',
    }).catch(async (error: Error) => {
      await shot(admin, 'failed-bulk');
      throw new Error(`${error.message}: the range reads ${range}, the title ${await admin.locator('#nodes-title').textContent()}`);
    });
    expect(await admin.locator('#node-table tbody tr').count()).toBe(200);
    await admin.getByRole('button', { name: 'Next' }).click();
    expect(await admin.locator('#row-range').textContent()).toBe(`201–400 of ${BULK_HOSTS.toLocaleString('en')}`);
    expect(await admin.locator('#node-table tbody tr').first().getAttribute('data-host')).toBe('bulk-0200');
    // The tab stays responsive: a filter over every host answers within a second.
    await admin.getByLabel('Filter').fill('bulk-1999');
    await waitFor(async () => (await admin.locator('#node-table tbody tr').count()) === 1, 2_000, { message: 'the filter over every host' });
    process.stderr.write(`ui: ${BULK_HOSTS} hosts shown, paged and filtered in ${Date.now() - started} ms\n`);
    await admin.getByLabel('Filter').fill('');
    await admin.locator('#cluster-list [data-cluster="default"]').click();
  });

  it('shows a reader everything, with every change button disabled, and a forced change refused with the API’s 403', async () => {
    const reader = await signedIn(READER_TOKEN);
    expect(await reader.locator('#role').textContent()).toBe('reader (read only)');
    await waitFor(async () => (await statusOf(reader, 'db-1')) === 'Active', 20_000, { message: 'db-1 listed for the reader' });
    await reader.locator('#event-list li').first().waitFor({ timeout: 10_000 });
    const id = (await api(coordinator, 'GET', '/api/v2/instances/?hostname=db-1')).body.results[0].id as number;
    await reader.goto(`${coordinator.url}/ui/#host/${id}`);
    await reader.locator('#history-table tbody tr').first().waitFor({ timeout: 10_000 });
    for (const name of ['Maintenance on', 'Run health check']) expect(await reader.getByRole('button', { name }).isDisabled()).toBe(true);
    await shot(reader, 'reader-host');
    // A change the page would not offer, forced: the API refuses it and the page says so.
    await reader.locator('#health-check').evaluate((button) => ((button as HTMLButtonElement).disabled = false));
    await reader.locator('#health-check').click();
    await waitFor(async () => (await reader.locator('#notice').textContent())?.startsWith('Refused (403 Forbidden)'), 10_000, { message: 'the refusal shown' });
    expect(await reader.locator('#notice').textContent()).toContain('reader');
    await reader.goto(`${coordinator.url}/ui/#`);
    await admin.bringToFront();
    await shot(admin, 'fleet');
  });
});
