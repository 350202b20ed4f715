import { Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { RequestDurations } from '../../../src/coordinator/metrics/request-durations.ts';

const NAME = 'nodepulse_http_request_duration_seconds';

it('renders the route timers as a Prometheus histogram: inclusive bounds, cumulative buckets, +Inf, sum and count per status class', async () => {
  const durations = new RequestDurations();
  const registry = new Registry();
  durations.register(registry);
  const timer = durations.timer('/api/v2/instances/:id/', 'GET');
  timer.observe(200, 0.0005);
  timer.observe(200, 0.003);
  timer.observe(204, 11);
  timer.observe(503, 0.02);
  const text = await registry.metrics();
  const ok = 'route="/api/v2/instances/:id/",method="GET",status_class="2xx"';
  expect(text).toContain(`# TYPE ${NAME} histogram`);
  expect(text).toContain(`${NAME}_bucket{le="0.0005",${ok}} 1`);
  expect(text).toContain(`${NAME}_bucket{le="0.0025",${ok}} 1`);
  expect(text).toContain(`${NAME}_bucket{le="0.005",${ok}} 2`);
  expect(text).toContain(`${NAME}_bucket{le="10",${ok}} 2`);
  expect(text).toContain(`${NAME}_bucket{le="+Inf",${ok}} 3`);
  expect(Number(new RegExp(`^${NAME}_sum\\{${ok}\\} (\\S+)$`, 'm').exec(text)?.[1])).toBeCloseTo(11.0035, 9);
  expect(text).toContain(`${NAME}_count{${ok}} 3`);
  expect(text).toContain(`${NAME}_count{route="/api/v2/instances/:id/",method="GET",status_class="5xx"} 1`);
  expect(text).not.toContain('status_class="4xx"');
});
