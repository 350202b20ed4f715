/**
 * Well-framed HTTP requests for the fuzz campaign, one arbitrary per operation of /openapi.json:
 * its parameters and body from the operation's schemas, valid or mutated, sent with every kind
 * of token. What only the running coordinator knows (node tokens, instance and event ids) is
 * picked by index when the request is generated and looked up in the World when it is sent, so
 * a seed always gives the same requests.
 */
import fc from 'fast-check';
import { HOSTILE_STRINGS, type JsonSchema, OWN_NODE_ID, type Operation, type Parameter, mutationOf, valueOf, wrongValueOf } from './fuzz-schema.ts';

export type Role = 'admin' | 'reader' | 'enroll';

/** Who a request claims to be. */
export type TokenChoice =
  | { kind: 'none' }
  | { kind: Role }
  | { kind: 'node'; pick: number }
  | { kind: 'node with a wrong secret'; pick: number }
  | { kind: 'unknown node'; nodeId: string }
  | { kind: 'garbage'; text: string }
  | { kind: 'jwt'; role: Role }
  | { kind: 'jwt mutated'; role: Role; mutation: JwtMutation; at: number }
  | { kind: 'jwt-shaped garbage'; text: string };

type JwtMutation = 'signature flipped' | 'payload flipped' | 'alg none' | 'segment dropped' | 'segment added';

/** A path parameter: one that exists in the coordinator (by index), or a literal. */
type ParamChoice = { known: number } | { literal: string };

export interface Draft {
  operation: Operation;
  method: string;
  /** Added in front of the path, or after it, so no route matches; usually empty. */
  pathMutation: { prefix: string; suffix: string };
  params: Record<string, ParamChoice>;
  /** Query pairs, in order (a name may repeat). */
  query: [string, string][];
  token: TokenChoice;
  /** `Bearer %s` mostly; other schemes and spacings too. */
  scheme: string;
  contentType: string | undefined;
  body: string | undefined;
}

/** What the running coordinator has, for the requests to name: tokens, nodes, instances, events. */
export interface World {
  tokens: Record<Role, string>;
  jwts: Record<Role, string>;
  nodes: { nodeId: string; nodeToken: string }[];
  /** Instance ids run from 1 to about this (deleted ones leave gaps). */
  instanceIdsUpTo: number;
  eventIds: string[];
}

export interface FuzzRequest {
  method: string;
  /** Path and query, as sent. */
  target: string;
  headers: Record<string, string>;
  body: string | undefined;
  /** How the token was chosen (its value never printed). */
  tokenKind: string;
  /** The node a pool node token names, to follow what happens to it. */
  nodeId: string | undefined;
}

const ROLES: Role[] = ['admin', 'reader', 'enroll'];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'MKCOL', 'QUERY'];
const base64url = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), minLength: 0, maxLength: 60 });
const uuid = fc.uuid();

/** Admin and node tokens most often (between them they may call every route), so many requests get past authentication. */
const tokenChoice: fc.Arbitrary<TokenChoice> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 4, arbitrary: fc.constant({ kind: 'admin' as const }) },
  { weight: 2, arbitrary: fc.constantFrom<Role>('reader', 'enroll').map((kind) => ({ kind })) },
  { weight: 4, arbitrary: fc.nat().map((pick) => ({ kind: 'node' as const, pick })) },
  { weight: 1, arbitrary: fc.nat().map((pick) => ({ kind: 'node with a wrong secret' as const, pick })) },
  { weight: 1, arbitrary: uuid.map((nodeId) => ({ kind: 'unknown node' as const, nodeId })) },
  { weight: 1, arbitrary: fc.oneof(fc.string({ minLength: 1, maxLength: 80 }), fc.constantFrom('np_', 'npn_', 'np__', `npn_${'0'.repeat(36)}_`)).map((text) => ({ kind: 'garbage' as const, text })) },
  { weight: 2, arbitrary: fc.constantFrom(...ROLES).map((role) => ({ kind: 'jwt' as const, role })) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('jwt mutated' as const),
      role: fc.constantFrom(...ROLES),
      mutation: fc.constantFrom<JwtMutation>('signature flipped', 'payload flipped', 'alg none', 'segment dropped', 'segment added'),
      at: fc.nat(),
    }),
  },
  { weight: 1, arbitrary: fc.tuple(base64url, base64url, base64url).map(([a, b, c]) => ({ kind: 'jwt-shaped garbage' as const, text: `${a || 'e30'}.${b || 'e30'}.${c}` })) },
);

const scheme = fc.oneof({ weight: 20, arbitrary: fc.constant('Bearer %s') }, { weight: 1, arbitrary: fc.constantFrom('bearer %s', 'Bearer  %s ', 'Basic %s', '%s', 'Bearer', 'Bearer %s extra', 'Token %s') });

const contentType = fc.oneof(
  { weight: 20, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom(undefined, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'APPLICATION/JSON', 'application/jsonx', 'application/merge-patch+json', '*/*') },
);

/** A JSON text nested `depth` levels deep, a `__proto__` key at the bottom when asked (the parser's guard walks it). */
const deepJson = (depth: number, proto: boolean) => `${'{"a":'.repeat(depth)}${proto ? '{"__proto__":{"x":1}}' : '1'}${'}'.repeat(depth)}`;

/** Bodies no schema describes: broken JSON, other JSON than an object, other text, too much. */
const strangeBody: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', ' ', '{', '{"a":', '}', 'null', '[]', '[1,2]', '"text"', '42', 'true', '{"a":1,"a":2}', '\ufeff{}', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}'),
  fc.string({ maxLength: 200 }),
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  fc.tuple(fc.integer({ min: 1, max: 12_000 }), fc.boolean()).map(([depth, proto]) => deepJson(depth, proto)),
  fc.integer({ min: 60_000, max: 200_000 }).map((size) => JSON.stringify({ padding: 'x'.repeat(size) })),
);

function bodyOf(schema: JsonSchema | undefined): fc.Arbitrary<string | undefined> {
  if (!schema) return fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: strangeBody });
  const valid = valueOf(schema);
  return fc.oneof(
    { weight: 5, arbitrary: valid.map((value) => JSON.stringify(value)) },
    { weight: 4, arbitrary: valid.chain((value) => mutationOf(value, schema)).map((value) => JSON.stringify(value)) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: strangeBody },
  );
}

function pathParamOf(parameter: Parameter): fc.Arbitrary<ParamChoice> {
  const literal = fc.oneof(
    valueOf(parameter.schema).map(String),
    wrongValueOf(parameter.schema).map((value) => (typeof value === 'string' ? value : JSON.stringify(value))),
    fc.constantFrom('0', '-1', '1.0', '01', '1e3', '9'.repeat(30), 'x'.repeat(121), 'LATEST', '%zz', '..'),
  );
  return fc.oneof({ weight: 3, arbitrary: fc.nat().map((known) => ({ known })) }, { weight: 2, arbitrary: literal.map((text) => ({ literal: text })) });
}

function queryOf(parameters: Parameter[]): fc.Arbitrary<[string, string][]> {
  const text = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));
  const pairs = parameters.map((parameter) =>
    fc.oneof(
      { weight: 5, arbitrary: fc.constant<[string, string][]>([]) },
      { weight: 5, arbitrary: valueOf(parameter.schema, parameter.name).map((value): [string, string][] => [[parameter.name, text(value)]]) },
      { weight: 1, arbitrary: wrongValueOf(parameter.schema).map((value): [string, string][] => [[parameter.name, text(value)]]) },
      { weight: 1, arbitrary: fc.tuple(valueOf(parameter.schema, parameter.name), fc.constantFrom(...HOSTILE_STRINGS)).map(([value, other]): [string, string][] => [[parameter.name, text(value)], [parameter.name, other]]) },
    ),
  );
  const unknown = fc.oneof({ weight: 6, arbitrary: fc.constant<[string, string][]>([]) }, { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 })).map((pair) => [pair]) });
  return fc.tuple(...pairs, unknown).map((all) => all.flat());
}

const pathMutation = fc.oneof(
  { weight: 30, arbitrary: fc.constant({ prefix: '', suffix: '' }) },
  { weight: 1, arbitrary: fc.constantFrom({ prefix: '/zz', suffix: '' }, { prefix: '', suffix: 'x' }, { prefix: '', suffix: '/extra' }, { prefix: '/', suffix: '' }, { prefix: '/API', suffix: '' }) },
);

/** Every request of one operation the campaign may send. */
export function draftsOf(operation: Operation): fc.Arbitrary<Draft> {
  const parameters = operation.spec.parameters ?? [];
  const pathParams = parameters.filter((parameter) => parameter.in === 'path');
  const bodySchema = operation.spec.requestBody?.content['application/json']?.schema;
  return fc.record({
    operation: fc.constant(operation),
    method: fc.oneof({ weight: 15, arbitrary: fc.constant(operation.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
    pathMutation,
    params: fc.record(Object.fromEntries(pathParams.map((parameter) => [parameter.name, pathParamOf(parameter)]))),
    query: queryOf(parameters.filter((parameter) => parameter.in === 'query')),
    token: operation.spec.security ? tokenChoice : fc.oneof({ weight: 3, arbitrary: fc.constant<TokenChoice>({ kind: 'none' }) }, { weight: 1, arbitrary: tokenChoice }),
    scheme,
    contentType,
    body: bodyOf(bodySchema),
  });
}

/** A request to any operation, each equally likely. */
export function anyDraft(operations: Operation[]): fc.Arbitrary<Draft> {
  return fc.oneof(...operations.map(draftsOf));
}

/** The character at `at` of a segment replaced by another base64url character. */
function flipped(segment: string, at: number): string {
  if (segment.length === 0) return 'A';
  const index = at % segment.length;
  return `${segment.slice(0, index)}${segment[index] === 'A' ? 'B' : 'A'}${segment.slice(index + 1)}`;
}

function mutatedJwt(jwt: string, mutation: JwtMutation, at: number): string {
  const [header = '', payload = '', signature = ''] = jwt.split('.');
  switch (mutation) {
    case 'signature flipped':
      return [header, payload, flipped(signature, at)].join('.');
    case 'payload flipped':
      return [header, flipped(payload, at), signature].join('.');
    case 'alg none':
      return [Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url'), payload, ''].join('.');
    case 'segment dropped':
      return [header, payload].join('.');
    case 'segment added':
      return [header, payload, signature, signature].join('.');
  }
}

function tokenValue(choice: TokenChoice, world: World): { token: string | undefined; nodeId: string | undefined } {
  const node = 'pick' in choice ? world.nodes[choice.pick % Math.max(1, world.nodes.length)] : undefined;
  switch (choice.kind) {
    case 'none':
      return { token: undefined, nodeId: undefined };
    case 'admin':
    case 'reader':
    case 'enroll':
      return { token: world.tokens[choice.kind], nodeId: undefined };
    case 'node':
      return { token: node?.nodeToken, nodeId: node?.nodeId };
    case 'node with a wrong secret':
      return { token: node ? `${node.nodeToken.slice(0, -4)}0000` : undefined, nodeId: undefined };
    case 'unknown node':
      return { token: `npn_${choice.nodeId}_${'0'.repeat(48)}`, nodeId: undefined };
    case 'garbage':
    case 'jwt-shaped garbage':
      return { token: choice.text, nodeId: undefined };
    case 'jwt':
      return { token: world.jwts[choice.role], nodeId: undefined };
    case 'jwt mutated':
      return { token: mutatedJwt(world.jwts[choice.role], choice.mutation, choice.at), nodeId: undefined };
  }
}

function paramValue(choice: ParamChoice, name: string, world: World): string {
  if ('literal' in choice) return choice.literal;
  if (name === 'event_id') return world.eventIds[choice.known % Math.max(1, world.eventIds.length)] ?? 'latest';
  // Mostly existing instances, a few just past the newest.
  return String(1 + (choice.known % (world.instanceIdsUpTo + 5)));
}

/** The concrete request of a draft, in the coordinator as it is now. */
export function resolve(draft: Draft, world: World): FuzzRequest {
  // A lone surrogate cannot be percent-encoded: it goes as U+FFFD, as URLSearchParams sends it in a query.
  const encoded = (text: string) => encodeURIComponent(text.replace(/\p{Surrogate}/gu, '\ufffd'));
  const path = draft.operation.path.replace(/\{(\w+)\}/g, (_match, name: string) => encoded(paramValue(draft.params[name] ?? { known: 0 }, name, world)));
  const query = new URLSearchParams(draft.query).toString();
  const target = `${draft.pathMutation.prefix}${path}${draft.pathMutation.suffix}${query ? `?${query}` : ''}`;
  const { token, nodeId } = tokenValue(draft.token, world);
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = draft.scheme.replace('%s', token);
  if (draft.body !== undefined && draft.contentType !== undefined) headers['content-type'] = draft.contentType;
  const body = draft.body?.replaceAll(OWN_NODE_ID, nodeId ?? 'not-a-node');
  return { method: draft.method, target, headers, body, tokenKind: draft.token.kind, nodeId: draft.token.kind === 'node' ? nodeId : undefined };
}
