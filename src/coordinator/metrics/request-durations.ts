import type { Metric, Registry } from 'prom-client';

/** Upper bounds in seconds: a heartbeat answered from memory takes well under a millisecond, a store-bound request a few. */
export const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** One route, method and status class: the count per bucket (not cumulative) and the sum. */
class Series {
  readonly counts = new Float64Array(REQUEST_BUCKETS.length + 1);
  sum = 0;

  constructor(readonly labels: { route: string; method: string; status_class: string }) {}

  observe(seconds: number): void {
    // `le` is inclusive: the first bound at or above the value; past the last one, +Inf.
    let bucket = 0;
    while (bucket < REQUEST_BUCKETS.length && seconds > REQUEST_BUCKETS[bucket]!) bucket++;
    this.counts[bucket]! += 1;
    this.sum += seconds;
  }
}

/** The series of one route and method, by status class, each made on its first request. */
export class RouteTimer {
  private readonly byClass: (Series | undefined)[] = [];

  constructor(
    private readonly route: string,
    private readonly method: string,
    private readonly all: Series[],
  ) {}

  observe(statusCode: number, seconds: number): void {
    const index = Math.min(Math.max(Math.floor(statusCode / 100) - 1, 0), STATUS_CLASSES.length - 1);
    let series = this.byClass[index];
    if (!series) {
      series = new Series({ route: this.route, method: this.method, status_class: STATUS_CLASSES[index]! });
      this.byClass[index] = series;
      this.all.push(series);
    }
    series.observe(seconds);
  }
}

/**
 * `nodepulse_http_request_duration_seconds{route, method, status_class}`, a Prometheus histogram
 * kept in typed arrays. Every request is observed, heartbeats included (the hot path), so the
 * observation must cost next to nothing: each route resolves its timer once, when it is
 * registered, and an observation is a short loop over the bounds and two additions, no label
 * hashing and no allocation (prom-client's Histogram hashes the label set on every observe).
 * prom-client renders it at scrape time like one of its own.
 */
export class RequestDurations {
  readonly name = 'nodepulse_http_request_duration_seconds';
  readonly help = 'Time from the request’s routing to its answer’s last byte, by route pattern, method and status class';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series: Series[] = [];

  /** The timer of a route pattern (never a raw URL: the label's values stay as few as the routes). */
  timer(route: string, method: string): RouteTimer {
    return new RouteTimer(route, method, this.series);
  }

  register(registry: Registry): void {
    // A collector of the shape prom-client's registry reads (name, help, type, get()); its Metric type names only its own classes.
    registry.registerMetric(this as unknown as Metric);
  }

  /** Zeroes every series (prom-client's registry.resetMetrics()); the timers keep writing to them. */
  reset(): void {
    for (const series of this.series) {
      series.counts.fill(0);
      series.sum = 0;
    }
  }

  /** The exposition values, as prom-client's Histogram gives them: cumulative buckets, +Inf, sum, count. */
  async get() {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    for (const series of this.series) {
      let cumulative = 0;
      REQUEST_BUCKETS.forEach((le, bucket) => {
        cumulative += series.counts[bucket]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { le, ...series.labels }, value: cumulative });
      });
      cumulative += series.counts[REQUEST_BUCKETS.length]!;
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...series.labels }, value: cumulative });
      values.push({ metricName: `${this.name}_sum`, labels: series.labels, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: series.labels, value: cumulative });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
