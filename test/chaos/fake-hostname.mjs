// Preloaded (node --import) into a real agent process of a fault campaign: the host's name is
// CHAOS_HOSTNAME, as if the process ran on a host of that name. Several agents on this one
// machine are then several hosts to the coordinator (one instance each), which they must be:
// agents sharing a hostname are one host, and the coordinator refuses the second.
import { createRequire, syncBuiltinESMExports } from 'node:module';

const name = process.env.CHAOS_HOSTNAME;
if (name) {
  const os = createRequire(import.meta.url)('node:os');
  os.hostname = () => name;
  syncBuiltinESMExports();
}
