/**
 * A command spelled as in 0.1 (`token`, `cluster`: now `tokens`, `clusters`, one noun per
 * resource like `nodes` and `instances`) still runs, hidden from the help, after one line on
 * stderr naming the new spelling.
 */
export function deprecatedSpelling(old: string, current: string, out: NodeJS.WritableStream = process.stderr): void {
  out.write(`nodepulse: warning: \`${old}\` is now \`${current}\`; the old spelling still works in this release\n`);
}
