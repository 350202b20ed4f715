import { chunks } from './chunks.ts';
import type { OutboxEntry, WebhookOutbox } from './outbox.ts';
import type { Db } from './schema.ts';
import { transitionFromRow } from './sql-history.ts';

/** Outbox rows per insert: three values each, far below SQLite's limit on bound values. */
const ROWS_PER_INSERT = 1000;

/** The webhook outbox (migration 9, outbox.ts), written once for both engines. */
export class SqlWebhookOutbox implements WebhookOutbox {
  constructor(private readonly db: Db) {}

  async cursor(sink: string): Promise<number | null> {
    const row = await this.db.selectFrom('webhook_cursors').select('last_event_id').where('sink', '=', sink).executeTakeFirst();
    return row ? Number(row.last_event_id) : null;
  }

  async startCursor(sink: string, eventId: number, now: number): Promise<void> {
    await this.db
      .insertInto('webhook_cursors')
      .values({ sink, last_event_id: eventId, updated_at: now })
      .onConflict((conflict) => conflict.column('sink').doNothing())
      .execute();
  }

  async enqueue(sink: string, eventIds: readonly number[], cursor: number, now: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const ids of chunks(eventIds, ROWS_PER_INSERT)) {
        await trx
          .insertInto('webhook_outbox')
          .values(ids.map((eventId) => ({ sink, event_id: eventId, enqueued_at: now, next_attempt_at: now })))
          .onConflict((conflict) => conflict.columns(['sink', 'event_id']).doNothing())
          .execute();
      }
      // Never back: another replica that led a moment ago may have moved it further.
      await trx
        .insertInto('webhook_cursors')
        .values({ sink, last_event_id: cursor, updated_at: now })
        .onConflict((conflict) =>
          conflict
            .column('sink')
            .doUpdateSet((eb) => ({ last_event_id: eb.ref('excluded.last_event_id'), updated_at: eb.ref('excluded.updated_at') }))
            .where((eb) => eb('webhook_cursors.last_event_id', '<', eb.ref('excluded.last_event_id'))),
        )
        .execute();
    });
  }

  async next(sink: string): Promise<OutboxEntry | undefined> {
    // The partial index webhook_outbox_pending, in event order.
    const row = await this.db
      .selectFrom('webhook_outbox')
      .select(['event_id', 'attempts', 'next_attempt_at'])
      .where('sink', '=', sink)
      .where('delivered_at', 'is', null)
      .orderBy('event_id')
      .limit(1)
      .executeTakeFirst();
    if (!row) return undefined;
    const eventId = Number(row.event_id);
    const transition = await this.db.selectFrom('node_transitions').selectAll().where('id', '=', eventId).executeTakeFirst();
    return { eventId, attempts: Number(row.attempts), nextAttemptAt: Number(row.next_attempt_at), transition: transition ? transitionFromRow(transition) : null };
  }

  async delivered(sink: string, eventId: number, now: number): Promise<void> {
    await this.db.updateTable('webhook_outbox').set({ delivered_at: now }).where('sink', '=', sink).where('event_id', '=', eventId).execute();
  }

  async failed(sink: string, eventId: number, failure: { attempts: number; nextAttemptAt: number; error: string }): Promise<void> {
    await this.db
      .updateTable('webhook_outbox')
      .set({ attempts: failure.attempts, next_attempt_at: failure.nextAttemptAt, last_error: failure.error })
      .where('sink', '=', sink)
      .where('event_id', '=', eventId)
      .where('delivered_at', 'is', null)
      .execute();
  }

  async discard(sink: string, eventId: number): Promise<void> {
    await this.db.deleteFrom('webhook_outbox').where('sink', '=', sink).where('event_id', '=', eventId).execute();
  }

  async depth(): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('webhook_outbox')
      .select((eb) => ['sink', eb.fn.countAll<number>().as('pending')])
      .where('delivered_at', 'is', null)
      .groupBy('sink')
      .execute();
    return new Map(rows.map((row) => [row.sink, Number(row.pending)]));
  }

  async prune(deliveredBefore: number, limit: number): Promise<number> {
    // Delivered a while ago (index webhook_outbox_delivered).
    const delivered = this.db
      .selectFrom('webhook_outbox')
      .select('event_id')
      .where('delivered_at', 'is not', null)
      .where('delivered_at', '<', deliveredBefore)
      .orderBy('delivered_at')
      .limit(limit);
    const old = await this.db
      .deleteFrom('webhook_outbox')
      .where('delivered_at', 'is not', null)
      .where('delivered_at', '<', deliveredBefore)
      .where('event_id', 'in', delivered)
      .executeTakeFirst();
    // Below the log's oldest id, the event is gone (history retention): nothing left to send (index webhook_outbox_by_event).
    const range = await this.db.selectFrom('node_transitions').select((eb) => eb.fn.min('id').as('oldest')).executeTakeFirstOrThrow();
    const oldestEvent = range.oldest === null ? Number.MAX_SAFE_INTEGER : Number(range.oldest);
    const gone = this.db.selectFrom('webhook_outbox').select('event_id').where('event_id', '<', oldestEvent).orderBy('event_id').limit(limit);
    const orphans = await this.db.deleteFrom('webhook_outbox').where('event_id', '<', oldestEvent).where('event_id', 'in', gone).executeTakeFirst();
    return Number(old.numDeletedRows) + Number(orphans.numDeletedRows);
  }
}
