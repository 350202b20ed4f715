/** Ids per IN list: SQLite binds at most 32,766 values per statement. */
export const ID_CHUNK = 1000;

/** The items in consecutive parts of at most `size`, for statements that bind each item. */
export function chunks<T>(items: readonly T[], size = ID_CHUNK): T[][] {
  const parts: T[][] = [];
  for (let start = 0; start < items.length; start += size) parts.push(items.slice(start, start + size));
  return parts;
}
