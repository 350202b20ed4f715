/**
 * A simulated agent for multi-replica tests: plain HTTP heartbeats with its node token, sent to
 * the replicas in turn (like a round-robin load balancer); a replica that does not answer at the
 * network level is skipped for the next one. Every non-200 answer is recorded.
 */
export interface AgentAnswer {
  status: number;
  body: unknown;
}

export class SimulatedAgent {
  readonly failures: AgentAnswer[] = [];
  heartbeats = 0;
  private timer: NodeJS.Timeout | undefined;
  private turn = 0;
  private running = false;

  constructor(
    readonly nodeId: string,
    private readonly nodeToken: string,
    private readonly replicas: () => string[],
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.running = true;
    const beat = async () => {
      await this.heartbeat();
      if (this.running) this.timer = setTimeout(() => void beat(), this.intervalMs);
    };
    void beat();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  private async heartbeat(): Promise<void> {
    const urls = this.replicas();
    for (let attempt = 0; attempt < urls.length; attempt++) {
      const url = urls[this.turn++ % urls.length];
      try {
        const response = await fetch(`${url}/api/v1/actions/invoke/cluster_ReportNodeHeartbeat`, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.nodeToken}`, 'content-type': 'application/json' },
          body: '{}',
          signal: AbortSignal.timeout(5_000),
        });
        const text = await response.text();
        if (response.status === 200) this.heartbeats += 1;
        else this.failures.push({ status: response.status, body: text ? JSON.parse(text) : undefined });
        return;
      } catch {
        // That replica is down: the next one takes the heartbeat.
      }
    }
  }
}
