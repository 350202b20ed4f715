/**
 * The operator commands' output. A reader that goes away early (`nodepulse instances show 1 |
 * head -5`) makes the next write fail with EPIPE: the output simply ends and the command exits
 * 0, as standard tools do, instead of dying with an unhandled stream error.
 */
const endsQuietly = new WeakSet<NodeJS.WritableStream>();

function quietOnClosedReader(out: NodeJS.WritableStream): NodeJS.WritableStream {
  if (!endsQuietly.has(out)) {
    endsQuietly.add(out);
    out.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
  return out;
}

/** Writes text as it is (add the newline yourself). */
export function print(text: string, out: NodeJS.WritableStream = process.stdout): void {
  quietOnClosedReader(out).write(text);
}

/** JSON for scripts, one document per call. */
export function printJson(data: unknown): void {
  print(`${JSON.stringify(data, null, 2)}\n`);
}

/** A plain aligned table for humans (a multi-line cell is joined with "; "); scripts use --json. */
export function printTable(rows: readonly Record<string, unknown>[], columns: readonly string[], out: NodeJS.WritableStream = process.stdout): void {
  const text = (value: unknown) => (value === null || value === undefined ? '' : String(value).replace(/\n/g, '; '));
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => text(row[column]).length)));
  const line = (cells: string[]) => cells.map((cell, index) => cell.padEnd(widths[index] ?? 0)).join('  ').trimEnd();
  const lines = [line(columns.map((column) => column.toUpperCase())), ...rows.map((row) => line(columns.map((column) => text(row[column]))))];
  print(`${lines.join('\n')}\n`, out);
}
