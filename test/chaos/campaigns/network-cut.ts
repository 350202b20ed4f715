/**
 * Fault campaign: a network cut of part of a cluster whose nodes heartbeat on phases spread over
 * the interval (each node's phase comes from its identity, as the agent's does).
 *
 * The cluster: FLEET_SIZE live nodes (3 of them real agents) in groups, each group behind its own
 * proxy: 20% | 29% | 2% | 9% | 40%, so cutting the first one, two, three or four groups cuts 20%,
 * 49%, 51% or 60% of the cluster at once (the proxies black-hole them). The mass-silence
 * threshold is the default 0.5, the hold's time bound 12 s (two timeouts).
 *
 * - Below the threshold (20%, 49%): every cut node is timed out on time: terminatedAt −
 *   (lastHeartbeat + timeout) at most DETECTION_BOUND_MS.
 * - Above it (51%, 60%): the guard holds (seen in the sweeping replica's /readyz) before ANY cut
 *   node is terminated (with a timeout of three intervals, every cut node is overdue before the
 *   first one expires); the hold ends by its time bound or when an operator lifts it
 *   (coordinator_LiftSafetyHolds; on PostgreSQL through the replica that does not sweep), both
 *   ways across the trials, and then the cut nodes are terminated within a few seconds.
 * - The uncut nodes are never timed out.
 * After each trial the cut ends and the cut nodes register again (410, then a new registration);
 * the next cut waits until the fleet is whole and two timeouts passed since the last timeout.
 *
 * A cut node terminated before its hold ended counts in the row's "live timed out" column.
 * Full run: 20%, 49%, 51% (bound), 60% (operator), 51% (operator), 60% (bound). Short run: 20%,
 * and 60% ended by the operator on SQLite, by the time bound on PostgreSQL.
 */
import { waitFor } from '../../helpers/spawn-process.ts';
import { type Campaign, type GroupSpec, type PhaseSpec, sleep } from '../harness.ts';
import { DETECTION_BOUND_MS, FLEET_SIZE, FULL, MAX_HOLD_SECS, REAL_AGENTS, TIMEOUT_MS } from '../settings.ts';
import type { Member } from '../sim-fleet.ts';
import type { NodeRow } from '../store-reader.ts';

/** The cluster's live size: simulated nodes and real agents together. */
const LIVE = FLEET_SIZE;
const CUTS = [0.2, 0.49, 0.51, 0.6];
const bounds = CUTS.map((fraction) => Math.round(fraction * LIVE));
const sizes = [bounds[0]!, bounds[1]! - bounds[0]!, bounds[2]! - bounds[1]!, bounds[3]! - bounds[2]!, LIVE - bounds[3]!];
/** One real agent in the group every cut takes, one in the last group cut, one never cut. */
const AGENTS_IN = [1, 0, 0, 1, 1];
/** The cluster's groups, each behind its own proxy: a world the network-cut campaign runs in needs these. */
export const CUT_GROUPS: GroupSpec[] = sizes.map((size, index) => ({ name: `g${index + 1}`, sims: size - AGENTS_IN[index]!, agents: AGENTS_IN[index]! }));
if (AGENTS_IN.reduce((a, b) => a + b) !== REAL_AGENTS) throw new Error('the agents must all be placed');


type Ending = 'on time' | 'time bound' | 'operator';

interface Trial {
  fraction: number;
  ending: Ending;
}

const trialsFor = (store: 'sqlite' | 'postgres'): Trial[] =>
  FULL
    ? [
        { fraction: 0.2, ending: 'on time' },
        { fraction: 0.49, ending: 'on time' },
        { fraction: 0.51, ending: 'time bound' },
        { fraction: 0.6, ending: 'operator' },
        { fraction: 0.51, ending: 'operator' },
        { fraction: 0.6, ending: 'time bound' },
      ]
    : [
        { fraction: 0.2, ending: 'on time' },
        { fraction: 0.6, ending: store === 'sqlite' ? 'operator' : 'time bound' },
      ];

interface CutRecord {
  groups: Set<string>;
  at: number;
  restoredAt: number | undefined;
  /** The nodeId each cut member held when the cut began. */
  nodes: Map<Member, string>;
}

/**
 * Waits until the fleet is whole, no safety hold is in force, and (after an earlier cut) two
 * timeouts passed since the last timeout: each cut is judged on its own.
 */
async function quiet(campaign: Campaign, afterCut: boolean): Promise<void> {
  await campaign.settle('the fleet whole before a cut');
  await waitFor(
    async () => {
      const snapshot = await campaign.reader.read();
      let last = 0;
      for (const row of snapshot.nodes.values()) if (row.terminationReason === 'HeartbeatTimeout') last = Math.max(last, row.terminatedAt ?? 0);
      const latest = [...campaign.readiness].reverse().find((observation) => observation.sweeping);
      const holds = latest === undefined || latest.massSilence.length > 0;
      return (!afterCut || Date.now() - last > 2 * TIMEOUT_MS) && campaign.latestGraceUntil() === null && !holds;
    },
    120_000,
    { intervalMs: 500, message: 'a quiet cluster before the cut' },
  );
}

/** One cut, judged; true when its on-time check was inconclusive (the machine starved the campaign). */
async function runTrial(campaign: Campaign, trial: Trial, cuts: CutRecord[]): Promise<boolean> {
  const count = CUTS.indexOf(trial.fraction) + 1;
  const groups = CUT_GROUPS.slice(0, count).map((group) => group.name);
  const label = `${Math.round(trial.fraction * 100)}% (${trial.ending})`;
  await quiet(campaign, cuts.length > 0);
  const members = campaign.liveMembers().filter((member) => groups.includes(member.group));
  const nodes = new Map<Member, string>();
  for (const member of members) nodes.set(member, member.currentNodeId()!);
  const cut: CutRecord = { groups: new Set(groups), at: Date.now(), restoredAt: undefined, nodes };
  cuts.push(cut);
  for (const group of groups) campaign.proxies.get(group)!.cut();
  campaign.note(`trial ${label}: cut ${members.length} of ${campaign.liveMembers().filter((member) => CUT_GROUPS.some((group) => group.name === member.group)).length} live nodes (groups ${groups.join(', ')})`);

  const cutRows = async () => {
    const snapshot = await campaign.reader.read();
    return [...nodes].map(([member, nodeId]) => ({ member, nodeId, row: snapshot.nodes.get(nodeId) }));
  };
  const terminated = <T extends { row: NodeRow | undefined }>(rows: T[]) => rows.filter((entry) => entry.row?.status === 'Terminated');
  const holdSeen = () =>
    campaign.readiness.find((observation) => observation.sweeping && observation.at >= cut.at && observation.massSilence.length > 0);
  const failures: string[] = [];
  let inconclusive = false;

  if (trial.ending === 'on time') {
    let rows = await cutRows();
    try {
      await waitFor(async () => {
        rows = await cutRows();
        return terminated(rows).length === rows.length;
      }, TIMEOUT_MS + 60_000, { intervalMs: 500 });
    } catch {
      failures.push(`cut ${label}: ${rows.length - terminated(rows).length} of ${rows.length} cut nodes not terminated ${(TIMEOUT_MS + 60_000) / 1000} s after the cut`);
    }
    let latest = -Infinity;
    const late: string[] = [];
    for (const { member, nodeId, row } of terminated(rows)) {
      if (row!.terminationReason !== 'HeartbeatTimeout') {
        failures.push(`cut ${label}: ${member.label} node ${nodeId} ended ${row!.terminationReason} instead of HeartbeatTimeout`);
        continue;
      }
      const delay = row!.terminatedAt! - (row!.lastHeartbeat + TIMEOUT_MS);
      latest = Math.max(latest, delay);
      if (delay > DETECTION_BOUND_MS || delay < -500) late.push(`${member.label} ${delay} ms (lastHeartbeat ${campaign.t(row!.lastHeartbeat)}, terminated ${campaign.t(row!.terminatedAt!)})`);
    }
    if (late.length > 0) {
      const message = `cut ${label}: ${late.length} cut node(s) not timed out on time (bound ${DETECTION_BOUND_MS} ms):\n    ${late.slice(0, 10).join('\n    ')}`;
      // A starved campaign makes uncut nodes look silent too: a hold then is the guard's right call.
      const starved = campaign.starvedFor(Date.now(), cut.at);
      if (starved !== undefined) {
        campaign.inconclusive.push(`${message}\n    (during the trial ${starved})`);
        inconclusive = true;
      } else failures.push(message);
    }
    const hold = holdSeen();
    campaign.note(
      `trial ${label}: ${terminated(rows).length}/${rows.length} cut nodes timed out, latest ${Math.round(latest)} ms after its deadline` +
        (hold ? `; a hold was in force (${hold.massSilence[0]!.silent}/${hold.massSilence[0]!.active} silent)` : ''),
    );
  } else {
    // Above the threshold: a hold, before any cut node is terminated.
    let rows = await cutRows();
    const seen = await waitFor(
      async () => {
        const hold = holdSeen();
        if (hold) return { hold };
        rows = await cutRows();
        if (terminated(rows).length > 0 && Date.now() - cut.at > TIMEOUT_MS + 3_000) return { hold: undefined };
        return undefined;
      },
      TIMEOUT_MS + 60_000,
      { intervalMs: 200, message: `cut ${label}: a mass-silence hold or a terminated cut node` },
    ).catch(() => ({ hold: undefined }));
    // When the hold ended (no cut node may be terminated before); without a hold, never.
    let releasedAt: number;
    if (seen.hold) {
      const hold = seen.hold.massSilence[0]!;
      campaign.note(`trial ${label}: hold seen ${campaign.t(seen.hold.at)} (since ${campaign.t(hold.since)}, until ${campaign.t(hold.until)}, ${hold.silent}/${hold.active} silent)`);
      if (trial.ending === 'operator') {
        // Let it hold for a while, then lift it (on PostgreSQL through the replica that does not sweep).
        await sleep(TIMEOUT_MS);
        const sweeping = await campaign.sweepingReplica();
        const via = campaign.servingReplicas().find((replica) => replica !== sweeping) ?? sweeping;
        releasedAt = Date.now();
        const lifted = await campaign.post('coordinator_LiftSafetyHolds', {}, via);
        campaign.note(`trial ${label}: operator lifted the holds through ${via.name}: HTTP ${lifted.status} ${JSON.stringify(lifted.body)}`);
        if (lifted.status !== 200) failures.push(`cut ${label}: coordinator_LiftSafetyHolds answered ${lifted.status}`);
      } else {
        releasedAt = hold.until;
        if (hold.until - hold.since > MAX_HOLD_SECS * 1000 + 1_000) failures.push(`cut ${label}: the hold's bound is ${hold.until - hold.since} ms, not ${MAX_HOLD_SECS} s`);
      }
    } else {
      releasedAt = Infinity;
      campaign.note(`trial ${label}: no hold seen`);
    }
    // Then every cut node is terminated, within a few seconds of the release.
    const settleBy = (seen.hold ? Math.max(releasedAt, Date.now()) : Date.now()) + 10_000;
    try {
      await waitFor(async () => {
        rows = await cutRows();
        return terminated(rows).length === rows.length;
      }, settleBy - Date.now(), { intervalMs: 500 });
    } catch {
      failures.push(
        `cut ${label}: ${rows.length - terminated(rows).length} of ${rows.length} cut nodes still Active ` +
          (seen.hold ? `10 s after the hold ended (${campaign.t(releasedAt)})` : `${Math.round((Date.now() - cut.at) / 1000)} s after the cut`),
      );
    }
    const done = terminated(rows);
    const early = done.filter(({ row }) => row!.terminatedAt! < releasedAt - 250);
    for (const { member, nodeId, row } of early) {
      campaign.extraWrong.push({
        member: member.label,
        nodeId,
        terminatedAt: row!.terminatedAt!,
        detail:
          `cut ${label} at ${campaign.t(cut.at)}: terminated ${row!.terminationReason} ` +
          (seen.hold ? `before the hold ended (${campaign.t(releasedAt)})` : 'with no mass-silence hold in force at any moment') +
          `; lastHeartbeat ${campaign.t(row!.lastHeartbeat)}`,
      });
    }
    const tooSlow = seen.hold ? done.filter(({ row }) => row!.terminatedAt! > releasedAt + 5_000) : [];
    if (tooSlow.length > 0) failures.push(`cut ${label}: ${tooSlow.length} cut node(s) terminated more than 5 s after the hold ended (${campaign.t(releasedAt)})`);
    const times = done.map(({ row }) => row!.terminatedAt!).sort((a, b) => a - b);
    campaign.note(
      `trial ${label}: ${done.length}/${rows.length} cut nodes terminated` +
        (times.length > 0 ? ` between ${campaign.t(times[0]!)} and ${campaign.t(times.at(-1)!)}` : '') +
        `, ${early.length} before the hold ended`,
    );
  }
  campaign.extraFailures.push(...failures);

  for (const group of groups) campaign.proxies.get(group)!.restore();
  cut.restoredAt = Date.now();
  campaign.note(`trial ${label}: cut restored`);
  // The cut nodes hear 410 and register again.
  await campaign.settle(`the cut nodes registered again after ${label}`);
  return inconclusive;
}

/** The network-cut campaign, as one phase of a world whose groups are CUT_GROUPS. */
export const networkCutCampaign = (store: 'sqlite' | 'postgres'): PhaseSpec => ({
  name: 'network cut',
  run: async (campaign) => {
    for (const group of CUT_GROUPS) if (!campaign.proxies.has(group.name)) throw new Error(`the network-cut campaign needs the group ${group.name} (CUT_GROUPS)`);
    const cuts: CutRecord[] = [];
    // A cut node's timeout is judged by its trial, not as a live node's.
    campaign.excuse = (member, row) =>
      cuts.some(
        (cut) =>
          cut.nodes.get(member) === row.nodeId &&
          (row.terminatedAt ?? 0) >= cut.at &&
          (row.terminatedAt ?? 0) <= (cut.restoredAt ?? Infinity) + TIMEOUT_MS,
      );
    for (const trial of trialsFor(store)) {
      await campaign.trial(`cut ${Math.round(trial.fraction * 100)}% (${trial.ending})`, () => runTrial(campaign, trial, cuts));
    }
  },
});

/** What the campaign's trials are, for a test's title. */
export const cutTrialsTitle = (store: 'sqlite' | 'postgres') => trialsFor(store).map((trial) => `${Math.round(trial.fraction * 100)}% (${trial.ending})`).join(', ');
