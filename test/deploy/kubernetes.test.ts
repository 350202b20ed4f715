/**
 * deploy/kubernetes/: every manifest validated against the Kubernetes API's schemas (the
 * kubernetes-models package's validators), then the fields deploy/kubernetes/README.md relies
 * on, checked against the Dockerfile and the daemons' own settings: the probes' paths and ports,
 * the store's volume, the tokens' Secret, the identities from the downward API, the stop
 * deadline, and only NODEPULSE_* variables and flags that nodepulse reads.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonSet, type IDaemonSet, type IStatefulSet, StatefulSet } from 'kubernetes-models/apps/v1';
import { type IContainer, type IEnvVar, type IPodSpec, type IService, Namespace, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { REPO_ROOT } from '../helpers/spawn-process.ts';
import { dockerStage, numericUser } from './dockerfile.ts';
import { AGENT_DEFAULTS, COORDINATOR_DEFAULTS, type Daemon, readByNeither, unknownEnv, unknownFlags } from './known-names.ts';

const DIR = join(REPO_ROOT, 'deploy', 'kubernetes');
const README = readFileSync(join(DIR, 'README.md'), 'utf8');
const SECRET = 'nodepulse-tokens';
/** A variable the README names as one nodepulse does not read: Kubernetes' service link for the coordinator Service. */
const SERVICE_LINK_EXAMPLE = 'NODEPULSE_COORDINATOR_PORT';

/** The kinds the manifests may hold, each with its schema's validator (validate() throws on a violation). */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'apps/v1/StatefulSet': StatefulSet,
  'apps/v1/DaemonSet': DaemonSet,
};

interface Manifest {
  file: string;
  object: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } };
}

const manifests: Manifest[] = readdirSync(DIR)
  .filter((file) => file.endsWith('.yaml'))
  .sort()
  .flatMap((file) =>
    YAML.parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((document) => {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]!.message}`);
      return { file, object: document.toJS() as Manifest['object'] };
    }),
  );

const ofKind = <T>(kind: string) => manifests.filter((manifest) => manifest.object.kind === kind).map((manifest) => manifest.object as unknown as T);
const statefulSets = ofKind<IStatefulSet>('StatefulSet');
const daemonSets = ofKind<IDaemonSet>('DaemonSet');
const services = ofKind<IService>('Service');
const pods: { name: string; spec: IPodSpec; labels: Record<string, string> }[] = [...statefulSets, ...daemonSets].map((workload) => ({
  name: workload.metadata!.name!,
  spec: workload.spec!.template.spec!,
  labels: workload.spec!.template.metadata!.labels!,
}));

function daemonOf(container: IContainer): Daemon | undefined {
  return /\/nodepulse-(agent|coordinator):/.exec(container.image ?? '')?.[1] as Daemon | undefined;
}
const nodepulseContainers = pods.flatMap((pod) => pod.spec.containers.filter((container) => daemonOf(container)).map((container) => ({ pod, container, daemon: daemonOf(container)! })));
const agentContainers = nodepulseContainers.filter((entry) => entry.daemon === 'agent');

const coordinatorSet = statefulSets.find((set) => set.spec!.template.spec!.containers.some((container) => daemonOf(container) === 'coordinator'))!;
const coordinatorContainer = coordinatorSet.spec!.template.spec!.containers.find((container) => daemonOf(container) === 'coordinator')!;
const coordinatorService = services.find((service) => service.metadata!.name === coordinatorSet.spec!.serviceName)!;
const daemonSetAgent = daemonSets[0]!.spec!.template.spec!.containers.find((container) => daemonOf(container) === 'agent')!;
const sidecar = agentContainers.find((entry) => entry.pod.spec.containers.length > 1)!;

const envVar = (container: IContainer, name: string): IEnvVar | undefined => container.env?.find((variable) => variable.name === name);

describe('deploy/kubernetes', () => {
  it('holds a namespace, the coordinator, the agent DaemonSet and the sidecar example, each valid against the Kubernetes schemas', () => {
    expect(manifests.map((manifest) => `${manifest.file}: ${manifest.object.kind}/${manifest.object.metadata.name}`)).toEqual([
      'agent-daemonset.yaml: DaemonSet/nodepulse-agent',
      'agent-sidecar-example.yaml: Service/example-web',
      'agent-sidecar-example.yaml: StatefulSet/example-web',
      'coordinator.yaml: Service/nodepulse-coordinator',
      'coordinator.yaml: StatefulSet/nodepulse-coordinator',
      'namespace.yaml: Namespace/nodepulse',
    ]);
    for (const { file, object } of manifests) {
      const Model = MODELS[`${object.apiVersion}/${object.kind}`];
      expect(Model, `${file}: ${object.apiVersion} ${object.kind}`).toBeDefined();
      expect(() => new Model!(object as never).validate(), file).not.toThrow();
      if (object.kind !== 'Namespace') expect(object.metadata.namespace, file).toBe('nodepulse');
    }
  });

  it('runs every pod as Pod Security "restricted" asks: non-root, no privilege escalation or capabilities, no host access', () => {
    for (const { name, spec } of pods) {
      expect(spec.securityContext, name).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(spec.automountServiceAccountToken, name).toBe(false);
      expect([spec.hostNetwork, spec.hostPID, spec.hostIPC].filter(Boolean), name).toEqual([]);
      for (const volume of spec.volumes ?? []) expect(Object.keys(volume).filter((key) => key !== 'name'), name).toEqual(['emptyDir']);
      for (const container of spec.containers) {
        expect(container.securityContext, `${name}/${container.name}`).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      }
    }
    // nodepulse's containers as the image's numeric user, on a read-only root file system.
    for (const { pod, container, daemon } of nodepulseContainers) {
      expect(container.securityContext?.runAsUser ?? pod.spec.securityContext?.runAsUser).toBe(numericUser(dockerStage(daemon)).uid);
      expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
    }
  });

  it("turns service links off in every pod: the coordinator Service's NODEPULSE_COORDINATOR_* variables would reach nodepulse", () => {
    for (const { name, spec } of pods) expect(spec.enableServiceLinks, name).toBe(false);
  });

  it('runs one coordinator with its store on a volume claim mounted where the image keeps it', () => {
    const stage = dockerStage('coordinator');
    expect(coordinatorSet.spec!.replicas).toBe(1);
    const [claim] = coordinatorSet.spec!.volumeClaimTemplates!;
    expect(claim!.spec!.accessModes).toEqual(['ReadWriteOnce']);
    expect(coordinatorContainer.volumeMounts).toEqual([{ name: claim!.metadata!.name, mountPath: stage.volumes[0] }]);
    expect(coordinatorSet.spec!.template.spec!.securityContext?.fsGroup).toBe(numericUser(stage).gid);
    expect(envVar(coordinatorContainer, 'NODEPULSE_STORE')).toBeUndefined();
    expect(COORDINATOR_DEFAULTS.store.startsWith('./')).toBe(true);
  });

  it("probes the coordinator's /healthz (startup, liveness) and /readyz (readiness) on the port its Service targets", () => {
    const port = Number(dockerStage('coordinator').env.NODEPULSE_PORT ?? COORDINATOR_DEFAULTS.port);
    const [containerPort] = coordinatorContainer.ports!;
    expect(containerPort).toMatchObject({ containerPort: port });
    const probe = (path: string) => expect.objectContaining({ httpGet: { path, port: containerPort!.name } });
    expect(coordinatorContainer).toMatchObject({ startupProbe: probe('/healthz'), livenessProbe: probe('/healthz'), readinessProbe: probe('/readyz') });
    expect(coordinatorService.spec!.ports).toEqual([{ name: containerPort!.name, port, targetPort: containerPort!.name }]);
    expect(coordinatorService.spec!.selector).toEqual(coordinatorSet.spec!.selector.matchLabels);
    expect(coordinatorSet.spec!.template.metadata!.labels).toMatchObject(coordinatorService.spec!.selector!);
  });

  it('takes the tokens from the Secret the README creates: admin and enroll for the coordinator, only enroll for agents', () => {
    const secretKey = (container: IContainer, name: string) => envVar(container, name)?.valueFrom?.secretKeyRef;
    expect(secretKey(coordinatorContainer, 'NODEPULSE_ADMIN_TOKEN')).toEqual({ name: SECRET, key: 'admin-token' });
    expect(secretKey(coordinatorContainer, 'NODEPULSE_ENROLL_TOKEN')).toEqual({ name: SECRET, key: 'enroll-token' });
    for (const { container } of agentContainers) {
      expect(secretKey(container, 'NODEPULSE_ENROLL_TOKEN')).toEqual({ name: SECRET, key: 'enroll-token' });
      expect(container.env?.filter((variable) => variable.valueFrom?.secretKeyRef).map((variable) => variable.name)).toEqual(['NODEPULSE_ENROLL_TOKEN']);
    }
    expect(README).toContain(`create secret generic ${SECRET}`);
    for (const key of ['admin-token', 'enroll-token']) expect(README).toContain(`--from-literal=${key}=`);
  });

  it('points every agent at the coordinator Service by its cluster name and port', () => {
    const service = coordinatorService.metadata!;
    for (const { container } of agentContainers) {
      expect(envVar(container, 'NODEPULSE_COORDINATOR')?.value).toBe(`http://${service.name}.${service.namespace}.svc:${coordinatorService.spec!.ports![0]!.port}`);
    }
  });

  it("makes the DaemonSet's agent stand for its node: identity and hostname from spec.nodeName, address from status.hostIP", () => {
    expect(envVar(daemonSetAgent, 'NODE_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('spec.nodeName');
    expect(envVar(daemonSetAgent, 'HOST_IP')?.valueFrom?.fieldRef?.fieldPath).toBe('status.hostIP');
    expect(envVar(daemonSetAgent, 'NODEPULSE_IDENTITY')?.value).toBe('$(NODE_NAME)');
    expect(envVar(daemonSetAgent, 'NODEPULSE_HOSTNAME')?.value).toBe('$(NODE_NAME)');
    expect(envVar(daemonSetAgent, 'NODEPULSE_ADVERTISE_ADDRESS')?.value).toBe('$(HOST_IP)');
  });

  it("gives the sidecar its pod's name and namespace as identity and hostname, and its workload's limits as capacity", () => {
    const { container, pod } = sidecar;
    expect(envVar(container, 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(envVar(container, 'POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
    expect(envVar(container, 'NODEPULSE_IDENTITY')?.value).toBe('$(POD_NAME).$(POD_NAMESPACE)');
    expect(envVar(container, 'NODEPULSE_HOSTNAME')?.value).toBe('$(POD_NAME).$(POD_NAMESPACE)');
    const workload = pod.spec.containers.find((other) => other !== container)!;
    for (const name of ['NODEPULSE_MEMORY_OVERRIDE_MIB', 'NODEPULSE_CPU_OVERRIDE']) {
      expect(envVar(container, name)?.valueFrom?.resourceFieldRef?.containerName).toBe(workload.name);
    }
    // It must not take its workload out of a Service.
    expect(container.readinessProbe).toBeUndefined();
  });

  it("probes every agent's liveness with the image's HEALTHCHECK and lets it deregister on SIGTERM within the grace period", () => {
    const stage = dockerStage('agent');
    for (const { pod, container } of agentContainers) {
      expect(container.livenessProbe?.exec?.command).toEqual(stage.healthcheck!.command);
      // The probe asks the image's status endpoint, on loopback.
      expect(envVar(container, 'NODEPULSE_STATUS_LISTEN')).toBeUndefined();
      expect(container.lifecycle?.preStop).toBeUndefined();
      expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(2 * AGENT_DEFAULTS.deregisterTimeoutSecs);
      expect(container.volumeMounts).toContainEqual(expect.objectContaining({ mountPath: AGENT_DEFAULTS.stateDir }));
    }
  });

  it('refers in $(VAR) only to variables defined before, in the same container, as Kubernetes expands no others', () => {
    for (const { spec } of pods) {
      for (const container of spec.containers) {
        const defined = new Set<string>();
        for (const variable of container.env ?? []) {
          for (const [, name] of (variable.value ?? '').matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) expect([...defined], `${container.name}: ${variable.name}`).toContain(name);
          defined.add(variable.name);
        }
      }
    }
  });

  it('names only NODEPULSE_* variables and flags that the daemons read, in the manifests and their README', () => {
    for (const { container, daemon } of nodepulseContainers) {
      expect(unknownEnv(daemon, (container.env ?? []).map((variable) => variable.name))).toEqual([]);
      expect(unknownFlags(daemon, [...(container.command ?? []), ...(container.args ?? [])])).toEqual([]);
    }
    expect(readByNeither(new Set(README.match(/NODEPULSE_[A-Z0-9_]+/g)))).toEqual([SERVICE_LINK_EXAMPLE]);
  });
});
