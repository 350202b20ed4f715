/**
 * What the page knows of the fleet: the instances (hosts), each cluster's Active nodes (fresher
 * heartbeat times than the instance list), and what the watch stream said last about each host.
 * Rows are derived from these; nothing here touches the DOM.
 */
export class Fleet {
  constructor() {
    this.instances = new Map();
    /** cluster name -> (node name -> ClusterNode) of its Active nodes. */
    this.activeNodes = new Map();
    /** instance id -> {status, reason, at}: the newest registration or termination the stream delivered. */
    this.streamed = new Map();
    this.clusterNames = new Set();
    /** cluster name -> the clusters API's record (admins only). */
    this.clusterInfo = new Map();
  }

  setClusters(clusters) {
    this.clusterInfo = new Map(clusters.map((cluster) => [cluster.name, cluster]));
    for (const cluster of clusters) this.clusterNames.add(cluster.name);
  }

  replaceInstances(list) {
    this.instances = new Map(list.map((instance) => [instance.id, instance]));
    for (const instance of list) this.clusterNames.add(clusterOf(instance));
  }

  /** A cluster's name by its id, from the instances and (for admins) the clusters API. */
  clusterName(id) {
    for (const cluster of this.clusterInfo.values()) if (Number(cluster.id) === id) return cluster.name;
    for (const instance of this.instances.values()) if (instance.summary_fields?.cluster?.id === id) return clusterOf(instance);
    return undefined;
  }

  putInstance(instance) {
    this.instances.set(instance.id, instance);
    this.clusterNames.add(clusterOf(instance));
  }

  setActiveNodes(cluster, nodes) {
    this.activeNodes.set(cluster, new Map(nodes.filter((node) => node.name !== undefined).map((node) => [node.name, node])));
  }

  /** A transition from the watch stream; true when it changes a host's node status. */
  applyTransition(entry) {
    if (entry.instance_id === null) return false;
    const at = Date.parse(entry.recorded_at);
    const known = this.streamed.get(entry.instance_id);
    if (known && known.id > entry.id) return false;
    if (entry.kind === 'node-registered') this.streamed.set(entry.instance_id, { id: entry.id, status: 'Active', at });
    else if (entry.kind === 'node-terminated') this.streamed.set(entry.instance_id, { id: entry.id, status: 'Terminated', reason: entry.reason, at });
    else return false;
    return true;
  }

  clearStreamed() {
    this.streamed.clear();
  }

  /** One table row: the instance with its node status and heartbeat time decided. */
  row(instance) {
    const cluster = clusterOf(instance);
    const node = this.activeNodes.get(cluster)?.get(instance.hostname);
    const streamed = this.streamed.get(instance.id);
    let status;
    let reason;
    if (instance.last_seen === null && !streamed) status = instance.node_state === 'installed' ? 'Not registered' : instance.node_state;
    else if (streamed) ({ status, reason } = streamed);
    else if (node || instance.node_state === 'ready' || instance.node_state === 'deprovisioning') status = 'Active';
    else status = 'Terminated';
    const seen = instance.last_seen ? Date.parse(instance.last_seen) : undefined;
    const beat = node && status === 'Active' ? Math.max(Date.parse(node.lastHeartbeat), seen ?? 0) : seen;
    const failing = instance.errors ? instance.errors.split('\n').filter(Boolean) : [];
    return {
      id: instance.id,
      cluster,
      hostname: instance.hostname,
      status,
      reason,
      maintenance: instance.maintenance === true,
      enabled: instance.enabled,
      heartbeat: beat,
      capacity: instance.capacity,
      consumed: instance.consumed_capacity,
      memory: instance.memory,
      failing,
      pending: instance.health_check_pending,
      labels: labelsOf(instance),
      lag: instance.summary_fields?.agent?.event_loop_delay_ms,
      instance,
    };
  }

  rows(cluster) {
    const out = [];
    for (const instance of this.instances.values()) if (cluster === undefined || clusterOf(instance) === cluster) out.push(this.row(instance));
    return out;
  }

  /** Per cluster: hosts, Active, Terminated, in maintenance, disabled, failing checks. */
  counts() {
    const counts = new Map([...this.clusterNames].sort().map((name) => [name, { hosts: 0, active: 0, terminated: 0, maintenance: 0, disabled: 0, failing: 0 }]));
    for (const instance of this.instances.values()) {
      const row = this.row(instance);
      const tally = counts.get(row.cluster);
      tally.hosts += 1;
      if (row.status === 'Active') tally.active += 1;
      if (row.status === 'Terminated') tally.terminated += 1;
      if (row.maintenance) tally.maintenance += 1;
      if (!row.enabled) tally.disabled += 1;
      if (row.failing.length > 0) tally.failing += 1;
    }
    return counts;
  }
}

export const clusterOf = (instance) => instance.summary_fields?.cluster?.name ?? 'default';

/** The labels the host's agent reports (the instance JSON's `labels`). */
function labelsOf(instance) {
  const labels = instance.labels;
  if (!labels || typeof labels !== 'object') return [];
  return Object.entries(labels).map(([key, value]) => `${key}=${value}`);
}
