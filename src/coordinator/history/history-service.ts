import { ApiError } from '../../shared/errors.ts';
import { pageLinks, pageStart } from '../http/awx-page.ts';
import { INSTANCES_PATH } from '../instances/instance-service.ts';
import type { Store } from '../store/store.ts';
import type { HistoryPage, HistoryQuery } from './history-schemas.ts';
import { toHistoryEntry } from './history-view.ts';

/** An instance's history: every transition of its nodes, newest first, in AWX's pages. */
export class HistoryService {
  constructor(private readonly store: Store) {}

  async list(instanceId: number, query: HistoryQuery): Promise<HistoryPage> {
    if (!(await this.store.getInstance(instanceId))) throw new ApiError('InstanceNotFound', undefined, { id: instanceId });
    const count = await this.store.countInstanceHistory(instanceId);
    const links = pageLinks(historyPath(instanceId), query, count);
    const transitions = await this.store.instanceHistory(instanceId, pageStart(query), query.page_size);
    return { count, ...links, results: transitions.map(toHistoryEntry) };
  }
}

export const historyPath = (instanceId: number) => `${INSTANCES_PATH}${instanceId}/history/`;
