// The heartbeat benchmark's baseline: a bare Fastify route that parses a small JSON body and
// returns {}. Plain JS (no build step) so it starts the same way under every runtime.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/api/v1/actions/invoke/cluster_ReportNodeHeartbeat', async () => ({}));
const shutdown = () => void app.close().then(() => process.exit(0));
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0) });
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ message: 'listening', port: typeof address === 'object' && address ? address.port : 0 })}\n`);
