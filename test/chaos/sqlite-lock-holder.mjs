// A SQLite "outage" for the store-outage campaign: another process holds the database's write
// lock (BEGIN IMMEDIATE) on the coordinator's file for argv[3] milliseconds, then lets go.
// Usage: node sqlite-lock-holder.mjs <db file> <hold ms>
import Database from 'better-sqlite3';

const [path, holdMs] = process.argv.slice(2);
const db = new Database(path);
db.pragma('busy_timeout = 30000');
db.exec('BEGIN IMMEDIATE');
process.stdout.write('locked\n');
setTimeout(() => {
  db.exec('ROLLBACK');
  db.close();
  process.stdout.write('released\n');
  process.exit(0);
}, Number(holdMs));
