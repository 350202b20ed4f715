import { ApiError } from '../../shared/errors.ts';

/** The paging of AWX's lists (page, page_size; count, next, previous), shared by every /api/v2 list. */
export interface AwxPageQuery {
  page: number;
  page_size: number;
}

/** The offset of the requested page. */
export function pageStart(query: AwxPageQuery): number {
  return (query.page - 1) * query.page_size;
}

/**
 * The links to the next and previous pages, keeping the query's other parameters; a page past
 * the end (but the first) is AWX's `404 Invalid page.`.
 */
export function pageLinks(path: string, query: AwxPageQuery & Record<string, unknown>, count: number): { next: string | null; previous: string | null } {
  const start = pageStart(query);
  if (query.page > 1 && start >= count) throw new ApiError('NotFound', 'Invalid page.', { page: query.page });
  const link = (pageNumber: number) => {
    const params = new URLSearchParams({ page: String(pageNumber) });
    for (const [key, value] of Object.entries(query)) if (key !== 'page' && value !== undefined) params.set(key, String(value));
    return `${path}?${params.toString()}`;
  };
  return { next: start + query.page_size < count ? link(query.page + 1) : null, previous: query.page > 1 ? link(query.page - 1) : null };
}
