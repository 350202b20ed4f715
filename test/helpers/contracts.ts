import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/**
 * Validators for the published OpenAPI excerpts (Nexigon Hub's cluster actions for seed 000,
 * Feldera's cluster events for seed 004), copied unchanged into test/fixtures/contracts so a
 * clone tests on its own. The 000 schemas use `unevaluatedProperties: false`, so extra fields fail.
 */
const CONTRACTS = new URL('../fixtures/contracts/', import.meta.url);

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addFormat('uint32', { type: 'number', validate: (value: number) => Number.isInteger(value) && value >= 0 && value <= 0xffffffff });

for (const [id, file] of [
  ['nexigon', 'nexigon-cluster.openapi.json'],
  ['feldera', 'feldera-cluster-events.openapi.json'],
] as const) {
  ajv.addSchema(JSON.parse(readFileSync(new URL(file, CONTRACTS), 'utf8')), id);
}

/** The problems of `value` against a component schema, e.g. ('nexigon', 'nexigon_api.cluster.ClusterNode'); [] when valid. */
export function contractProblems(contract: 'nexigon' | 'feldera', component: string, value: unknown): string[] {
  const validate = ajv.getSchema(`${contract}#/components/schemas/${component}`);
  if (!validate) throw new Error(`no component ${component} in ${contract}`);
  return validate(value) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || '(root)'} ${error.message ?? ''}`);
}
