/** A plain aligned table for humans; scripts use --json. */
export function printTable(rows: readonly Record<string, unknown>[], columns: readonly string[], out: NodeJS.WritableStream = process.stdout): void {
  const text = (value: unknown) => (value === null || value === undefined ? '' : String(value));
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => text(row[column]).length)));
  const line = (cells: string[]) => cells.map((cell, index) => cell.padEnd(widths[index] ?? 0)).join('  ').trimEnd();
  out.write(`${line(columns.map((column) => column.toUpperCase()))}\n`);
  for (const row of rows) out.write(`${line(columns.map((column) => text(row[column])))}\n`);
}
