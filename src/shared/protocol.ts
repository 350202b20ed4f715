import { type Static, Type } from '@sinclair/typebox';
import { PRINTABLE_PATTERN } from './control-characters.ts';

/**
 * The agent protocol (seed 000, Nexigon Hub cluster actions) plus nodepulse's additive
 * extensions. These schemas validate requests on the coordinator and type both sides.
 * Unknown extra fields in requests are ignored, so older coordinators accept newer agents.
 */

export const ACTION_PREFIX = '/api/v1/actions/invoke/';

/** Printable text: no control or bidirectional formatting characters (they corrupt logs and terminals, or reorder what they show). */
export const NameText = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: PRINTABLE_PATTERN });

/** The longest hostname, and so the longest node name (a name stands in for a missing hostname): seed 003's limit. */
export const HOSTNAME_MAX_LENGTH = 250;

export const NodeStatus = Type.Union([Type.Literal('Active'), Type.Literal('Terminated')]);
export type NodeStatus = Static<typeof NodeStatus>;

export const TerminationReason = Type.Union([
  Type.Literal('Unknown'),
  Type.Literal('HeartbeatTimeout'),
  Type.Literal('Shutdown'),
]);
export type TerminationReason = Static<typeof TerminationReason>;

/** Where a figure came from: the host's /proc, or the cgroup limits of a container. */
export const FigureSource = Type.Union([Type.Literal('host'), Type.Literal('cgroup'), Type.Literal('override')]);

/** A figure the agent could not collect: reported as unknown with the reason, never as 0. */
export const UnknownFigure = Type.Object({
  figure: Type.String({ maxLength: 64 }),
  reason: Type.String({ maxLength: 1024 }),
});

export const NodeFacts = Type.Object({
  hostname: Type.Optional(NameText(HOSTNAME_MAX_LENGTH)),
  ipAddress: Type.Optional(Type.String({ maxLength: 64 })),
  agentVersion: Type.Optional(Type.String({ maxLength: 64 })),
  os: Type.Optional(Type.String({ maxLength: 256 })),
  cpu: Type.Optional(
    Type.Object({
      /** Effective cpus: a fraction under a cgroup quota. */
      cpus: Type.Number({ minimum: 0, maximum: 1_000_000 }),
      model: Type.Optional(Type.String({ maxLength: 256 })),
      source: FigureSource,
    }),
  ),
  load: Type.Optional(Type.Object({ load1: Type.Number({ minimum: 0 }), currentPercent: Type.Optional(Type.Number({ minimum: 0 })) })),
  memory: Type.Optional(
    Type.Object({
      totalBytes: Type.Integer({ minimum: 0 }),
      availableBytes: Type.Optional(Type.Integer({ minimum: 0 })),
      source: FigureSource,
    }),
  ),
  capacity: Type.Optional(
    Type.Object({
      cpuCapacity: Type.Integer({ minimum: 0 }),
      memCapacity: Type.Integer({ minimum: 0 }),
    }),
  ),
  disks: Type.Optional(
    Type.Array(
      Type.Object({
        mount: Type.String({ maxLength: 1024 }),
        freeBytes: Type.Integer({ minimum: 0 }),
        totalBytes: Type.Integer({ minimum: 0 }),
      }),
      { maxItems: 64 },
    ),
  ),
  jobsRunning: Type.Optional(Type.Integer({ minimum: 0 })),
  jobsTotal: Type.Optional(Type.Integer({ minimum: 0 })),
  unknown: Type.Optional(Type.Array(UnknownFigure, { maxItems: 64 })),
});
export type NodeFacts = Static<typeof NodeFacts>;

/** A key outside the key pattern is refused (additionalProperties), not merely left unchecked. */
export const Labels = Type.Record(Type.String({ maxLength: 128, pattern: PRINTABLE_PATTERN }), Type.String({ maxLength: 256, pattern: PRINTABLE_PATTERN }), {
  maxProperties: 64,
  additionalProperties: false,
});
export type Labels = Static<typeof Labels>;

export const CheckStatus = Type.Union([Type.Literal('passing'), Type.Literal('warning'), Type.Literal('critical')]);
export type CheckStatus = Static<typeof CheckStatus>;

/** The result of the agent's health checks; the worst check decides `status`. */
export const HealthReport = Type.Object({
  status: CheckStatus,
  checks: Type.Array(
    Type.Object({
      name: NameText(128),
      status: CheckStatus,
      output: Type.Optional(Type.String({ maxLength: 4096 })),
    }),
    { maxItems: 128 },
  ),
});
export type HealthReport = Static<typeof HealthReport>;

/** The agent's own condition, so the coordinator can tell "agent stalled" from "host gone". */
export const AgentSelfReport = Type.Object({
  eventLoopDelayMs: Type.Number({ minimum: 0 }),
  rssBytes: Type.Integer({ minimum: 0 }),
});
export type AgentSelfReport = Static<typeof AgentSelfReport>;

/** Seconds before the request: an age, so the coordinator places it on its own clock and never trusts the agent's. */
const SecsAgo = () => Type.Number({ minimum: 0, maximum: 1e10 });
const AttemptError = () => Type.String({ maxLength: 512 });

/**
 * nodepulse: what the agent process knows of its own continuity, sent on every registration, so
 * that the coordinator can say what happened to a host that comes back after a timeout (rebooted,
 * agent restarted, cut off).
 */
export const AgentContinuity = Type.Object({
  /** Random per agent process: the same one after an outage means the process kept running. */
  processId: NameText(64),
  processUptimeSecs: SecsAgo(),
  hostUptimeSecs: Type.Optional(SecsAgo()),
  /** The attempts (registrations, heartbeats) this process saw fail since its last success. */
  failedAttempts: Type.Optional(
    Type.Object({
      count: Type.Integer({ minimum: 1, maximum: 1e12 }),
      firstSecsAgo: SecsAgo(),
      firstError: AttemptError(),
      lastSecsAgo: SecsAgo(),
      lastError: AttemptError(),
    }),
  ),
});
export type AgentContinuity = Static<typeof AgentContinuity>;

// cluster_RegisterNode
export const RegisterNodeRequest = Type.Object({
  name: Type.Optional(NameText(HOSTNAME_MAX_LENGTH)),
  /** nodepulse: the agent's persistent identity, matched as sent; the instance's uuid is it when it is a UUID, else a name-based UUID of it. */
  identity: Type.Optional(NameText(253)),
  /** nodepulse: the kernel boot id, telling a restart from a clone. */
  bootId: Type.Optional(NameText(128)),
  hostname: Type.Optional(NameText(HOSTNAME_MAX_LENGTH)),
  /** nodepulse: with an admin token only; an enroll token implies its own cluster. */
  cluster: Type.Optional(NameText(128)),
  labels: Type.Optional(Labels),
  facts: Type.Optional(NodeFacts),
  continuity: Type.Optional(AgentContinuity),
});
export type RegisterNodeRequest = Static<typeof RegisterNodeRequest>;

/**
 * Seconds the coordinator hands out (interval, backoff cap), within its own config bounds: an agent
 * must not adopt 0, or a value beyond what a timer can hold (Node fires such a timer at once).
 */
const HandedOutSecs = () => Type.Integer({ minimum: 1, maximum: 3_600 });

export const RegisterNodeResponse = Type.Object({
  nodeId: Type.String({ minLength: 1 }),
  nodeToken: Type.String({ minLength: 1 }),
  heartbeatIntervalSecs: HandedOutSecs(),
  /** nodepulse: the longest retry backoff to use; the coordinator's grace after its own downtime is built on it. */
  retryMaxDelaySecs: Type.Optional(HandedOutSecs()),
});
export type RegisterNodeResponse = Static<typeof RegisterNodeResponse>;

// cluster_ReportNodeHeartbeat: seed 000 has no fields; everything here is optional.
export const HeartbeatRequest = Type.Object({
  nodeId: Type.Optional(Type.String({ maxLength: 64 })),
  facts: Type.Optional(NodeFacts),
  health: Type.Optional(HealthReport),
  agent: Type.Optional(AgentSelfReport),
  /** nodepulse: the agent's labels, sent when they changed (config reload) without re-registering. */
  labels: Type.Optional(Labels),
});
export type HeartbeatRequest = Static<typeof HeartbeatRequest>;

/** `{}` unless the coordinator has something to ask, so the usual answer is seed 000's Empty. */
export const HeartbeatResponse = Type.Object({
  healthCheckRequested: Type.Optional(Type.Boolean()),
  heartbeatIntervalSecs: Type.Optional(HandedOutSecs()),
});
export type HeartbeatResponse = Static<typeof HeartbeatResponse>;

// cluster_DeregisterNode (nodepulse)
export const DeregisterReason = Type.Union([Type.Literal('Shutdown'), Type.Literal('Unknown')]);
export const DeregisterRequest = Type.Object({
  nodeId: Type.Optional(Type.String({ maxLength: 64 })),
  reason: Type.Optional(DeregisterReason),
});
export type DeregisterRequest = Static<typeof DeregisterRequest>;
/** `{}` today; any object is accepted, so a newer coordinator may add fields. */
export const DeregisterResponse = Type.Object({});

// cluster_GetDetails
export const GetDetailsRequest = Type.Object({
  includeTerminated: Type.Optional(Type.Boolean()),
  cluster: Type.Optional(NameText(128)),
});
export type GetDetailsRequest = Static<typeof GetDetailsRequest>;

/** Exactly seed 000's ClusterNode: no extra properties. */
export const ClusterNode = Type.Object(
  {
    nodeId: Type.String(),
    name: Type.Optional(Type.String()),
    status: NodeStatus,
    joinedAt: Type.String(),
    uptimeSecs: Type.Integer({ minimum: 0 }),
    lastHeartbeat: Type.String(),
    terminatedAt: Type.Optional(Type.String()),
    terminationReason: Type.Optional(TerminationReason),
  },
  { additionalProperties: false },
);
export type ClusterNode = Static<typeof ClusterNode>;

export const GetDetailsResponse = Type.Object({ nodes: Type.Array(ClusterNode) }, { additionalProperties: false });
export type GetDetailsResponse = Static<typeof GetDetailsResponse>;

/**
 * A body with no fields: cluster_CleanupInactiveNodes (seed 000's CleanupInactiveClusterNodesAction
 * sweeps every cluster) and coordinator_LiftSafetyHolds (lifts the holds of every cluster).
 */
export const NoFieldsRequest = Type.Object({});
export const EmptyResponse = Type.Object({}, { additionalProperties: false });

/** `{error_code, message, details}`: the body of every error answer of the agent's actions. */
export const ErrorBody = Type.Object({
  error_code: Type.String(),
  message: Type.String(),
  details: Type.Object({}, { additionalProperties: true }),
});
export type ErrorBody = Static<typeof ErrorBody>;
