/**
 * The fuzz campaign's view of /openapi.json: its operations, and fast-check arbitraries for the
 * values their schemas describe (schema-valid ones, then mutated ones). Only the JSON Schema
 * keywords the coordinator's document uses are understood; anything else generates free JSON.
 */
import fc from 'fast-check';

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  nullable?: boolean;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  uniqueItems?: boolean;
}

export interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema: JsonSchema;
}

export interface OperationSpec {
  security?: unknown[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OperationSpec>>;
}

export interface Operation {
  /** `post /api/v1/actions/invoke/cluster_RegisterNode` */
  key: string;
  method: string;
  /** The path template, `{id}` for a parameter. */
  path: string;
  spec: OperationSpec;
  /** Matches a concrete path (no query) to this template. */
  pattern: RegExp;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function operationsOf(document: OpenApiDocument): Operation[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, spec]) => ({
      key: `${method} ${path}`,
      method: method.toUpperCase(),
      path,
      spec,
      pattern: new RegExp(`^${path.split(/\{\w+\}/).map(escapeRegExp).join('[^/]+')}$`),
    })),
  );
}

/**
 * Names, identities, hostnames and clusters come mostly from small pools, so registrations and
 * instance edits collide (supersession, clones, HostnameTaken, HostnameInUse): where the
 * one-Active-node rule is tested hardest; a node names itself mostly. The rest are whatever the
 * schema allows.
 */
/** Stands for the node id of the request's own node token; replaced when the request is sent. */
export const OWN_NODE_ID = '<own node id>';

const POOLS: Record<string, readonly string[]> = {
  nodeId: [OWN_NODE_ID],
  name: ['web-1', 'web-2', 'db-1', 'edge-1'],
  hostname: ['web-1', 'web-2', 'db-1', 'edge-1', 'cache-1'],
  identity: ['5b0e2a4c-7d0e-4c1a-9d4f-3f2a1b0c9e8d', 'fuzz-identity-a', 'fuzz-identity-b', 'derived-web-1'],
  bootId: ['boot-a', 'boot-b', 'boot-c'],
  cluster: ['default', 'edge', 'fuzz'],
  // Seed 001's page key is the last cluster id of a page: mostly one that could be, or just past what an id can be.
  next_key: ['', '1', '2', '3', '2147483648', '999999999999999'],
};

/** Strings that break naive handling: controls, bidirectional overrides, lookalikes of numbers and paths. */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  '\u0000',
  'a\u009bb',
  'evil\u202egnp.exe',
  'line\nbreak',
  '\u2028',
  '\ud800',
  '%00',
  '../../etc/passwd',
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '1e309',
  '-0',
  '0x1F',
  'NaN',
  'null',
  '__proto__',
  'x'.repeat(300),
  '\u00e9\u0301\ud83d\ude00',
];

const cap = (value: number | undefined, limit: number) => (value === undefined ? limit : Math.min(value, limit));

function stringOf(schema: JsonSchema): fc.Arbitrary<string> {
  if (schema.format === 'date-time') return fc.date({ noInvalidDate: true }).map((date) => date.toISOString());
  const minLength = schema.minLength ?? 0;
  const maxLength = schema.maxLength ?? Number.MAX_SAFE_INTEGER;
  if (schema.pattern) {
    const fits = (text: string) => text.length >= minLength && text.length <= maxLength;
    return fc.stringMatching(new RegExp(schema.pattern, 'u')).filter(fits);
  }
  const length = { minLength, maxLength: Math.max(minLength, cap(schema.maxLength, 40)) };
  // Free text may be any Unicode: NUL, controls and astral characters are what stores and logs trip on.
  const hostile = HOSTILE_STRINGS.filter((text) => text.length >= minLength && text.length <= maxLength);
  return fc.oneof(
    { weight: 4, arbitrary: fc.string(length) },
    { weight: 1, arbitrary: fc.string({ ...length, unit: 'binary' }) },
    ...(hostile.length > 0 ? [{ weight: 1, arbitrary: fc.constantFrom(...hostile) }] : []),
  );
}

function numberOf(schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const min = schema.exclusiveMinimum ?? schema.minimum ?? -1_000_000;
  const max = schema.maximum ?? 10_000_000_000;
  if (integer) return fc.integer({ min: Math.ceil(min), max: Math.min(Math.floor(max), Number.MAX_SAFE_INTEGER) });
  return fc.double({ min, max, noNaN: true, noDefaultInfinity: true }).filter((value) => schema.exclusiveMinimum === undefined || value > schema.exclusiveMinimum);
}

function objectOf(schema: JsonSchema): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {};
  const record = fc.record(
    Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, valueOf(property, name)])),
    { requiredKeys: (schema.required ?? []).filter((name) => name in properties) },
  );
  const extra = schema.additionalProperties;
  if (!extra || extra === true) return record;
  // A map such as labels: keys and values from the schema of every value.
  const keys = stringOf({ ...extra, minLength: 1, maxLength: 128 });
  const map = fc.dictionary(keys, valueOf(extra), { maxKeys: cap(schema.maxProperties, 4) });
  return fc.tuple(record, map).map(([fixed, more]) => ({ ...more, ...fixed }));
}

/** A value the schema accepts (up to the server's own checks beyond it, such as a limit's range in a string). */
export function valueOf(schema: JsonSchema, name?: string): fc.Arbitrary<unknown> {
  const pool = name === undefined ? undefined : POOLS[name];
  if (pool && schema.type === 'string') return fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: stringOf(schema) });
  const plain = plainValueOf(schema);
  return schema.nullable ? fc.oneof(fc.constant(null), plain) : plain;
}

function plainValueOf(schema: JsonSchema): fc.Arbitrary<unknown> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.anyOf) {
    // The branches carry only a type: the constraints sit beside anyOf (seed 001's limit).
    const { anyOf, ...shared } = schema;
    return fc.oneof(...anyOf.map((branch) => plainValueOf({ ...shared, ...branch })));
  }
  if (Array.isArray(schema.type)) return fc.oneof(...schema.type.map((type) => plainValueOf({ ...schema, type })));
  switch (schema.type) {
    case 'string':
      return stringOf(schema);
    case 'integer':
      return numberOf(schema, true);
    case 'number':
      return numberOf(schema, false);
    case 'boolean':
      return fc.boolean();
    case 'array': {
      const items = valueOf(schema.items ?? {});
      const constraints = { minLength: schema.minItems ?? 0, maxLength: cap(schema.maxItems, 4) };
      return schema.uniqueItems ? fc.uniqueArray(items, { ...constraints, selector: (item) => JSON.stringify(item) }) : fc.array(items, constraints);
    }
    case 'object':
      return objectOf(schema);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** A value of another kind than the schema wants, or one just past its bounds. */
export function wrongValueOf(schema: JsonSchema): fc.Arbitrary<unknown> {
  const beyond: unknown[] = [];
  if (schema.maxLength !== undefined) beyond.push('x'.repeat(schema.maxLength + 1));
  if (schema.minLength) beyond.push('');
  if (schema.maximum !== undefined) beyond.push(schema.maximum + 1, String(schema.maximum + 1));
  if (schema.minimum !== undefined) beyond.push(schema.minimum - 1, schema.minimum - 0.5);
  if (schema.maxItems !== undefined) beyond.push(Array.from({ length: schema.maxItems + 1 }, () => 'x'));
  return fc.oneof(
    fc.constantFrom(null, true, 0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, '', [], {}, [[[]]], { nested: { deeper: [1, 'two'] } }),
    fc.constantFrom(...HOSTILE_STRINGS),
    ...(beyond.length > 0 ? [fc.constantFrom(...beyond)] : []),
    fc.jsonValue({ maxDepth: 3 }),
  );
}

type Path = (string | number)[];

/** Every place in a JSON value, the value itself first. */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  const here = [prefix];
  if (Array.isArray(value)) return here.concat(value.flatMap((item, index) => pathsOf(item, [...prefix, index])));
  if (value && typeof value === 'object') return here.concat(Object.entries(value).flatMap(([key, item]) => pathsOf(item, [...prefix, key])));
  return here;
}

/** The schema that describes the value at `path`, as far as it can be followed. */
function schemaAt(schema: JsonSchema, path: Path): JsonSchema {
  let current: JsonSchema | undefined = schema;
  for (const step of path) {
    if (!current) return {};
    const extra: JsonSchema | undefined = typeof current.additionalProperties === 'object' ? current.additionalProperties : undefined;
    current = typeof step === 'number' ? current.items : (current.properties?.[step] ?? extra);
  }
  return current ?? {};
}

function withAt(value: unknown, path: Path, change: (old: unknown) => unknown): unknown {
  if (path.length === 0) return change(value);
  const [step, ...rest] = path;
  const copy: any = Array.isArray(value) ? [...value] : { ...(value as object) };
  copy[step as string] = withAt(copy[step as string], rest, change);
  return copy;
}

function withoutAt(value: unknown, path: Path): unknown {
  const parent = path.slice(0, -1);
  const last = path.at(-1);
  return withAt(value, parent, (holder) => {
    if (Array.isArray(holder)) return holder.filter((_item, index) => index !== last);
    const { [last as string]: _dropped, ...rest } = holder as Record<string, unknown>;
    return rest;
  });
}

/** One mutation of a schema-valid value: a place made wrong, removed, or joined by what no schema names. */
export function mutationOf(value: unknown, schema: JsonSchema): fc.Arbitrary<unknown> {
  const paths = pathsOf(value);
  const place = fc.constantFrom(...paths);
  const replaced = place.chain((path) => wrongValueOf(schemaAt(schema, path)).map((wrong) => withAt(value, path, () => wrong)));
  const removed = paths.length > 1 ? fc.constantFrom(...paths.slice(1)).map((path) => withoutAt(value, path)) : replaced;
  const objects = paths.filter((path) => {
    const target = path.reduce<any>((holder, step) => holder?.[step], value);
    return target !== null && typeof target === 'object' && !Array.isArray(target);
  });
  const added =
    objects.length > 0
      ? fc
          .tuple(fc.constantFrom(...objects), fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'prototype', 'nodeId')), fc.jsonValue({ maxDepth: 2 }))
          .map(([path, key, extra]) => withAt(value, path, (holder) => ({ ...(holder as object), [key]: extra })))
      : replaced;
  return fc.oneof(replaced, removed, added);
}
