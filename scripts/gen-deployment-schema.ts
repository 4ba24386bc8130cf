// Derives the structural schema of `spec.deploymentTemplate` (an apps/v1 DeploymentSpec) from a
// real API server's OpenAPI v3 document and writes src/api/deployment-template.schema.json.
//
//   npx tsx scripts/gen-deployment-schema.ts                      starts its own test plane
//   npx tsx scripts/gen-deployment-schema.ts --kubeconfig FILE    uses a running API server
//   ... --out FILE                                                 writes elsewhere (default above)
//
// The OpenAPI document describes the built-in types; a CRD's schema has stricter rules (a
// "structural" schema: every node typed, no $ref, no oneOf, defaults pruned and validated). The
// mapping, node by node:
// - every $ref and allOf is inlined; the field's own description wins over its type's;
// - IntOrString → `x-kubernetes-int-or-string` with anyOf integer/string;
//   Quantity → the same plus the Quantity pattern (what controller-gen emits: a YAML float such as
//   `cpu: 0.5` must be written "0.5" or "500m", exactly as with the original's CRD);
//   Time → string/date-time;
// - a type met again inside itself (none in apps/v1 today) and an object without any property
//   (FieldsV1) become `x-kubernetes-preserve-unknown-fields` objects;
// - `default` is dropped everywhere (CRD defaults are applied on every read and write, which would
//   change the stored template and so the rendered Deployments), except on a key of an
//   `x-kubernetes-list-type: map` list that is not required, where the API server demands one
//   (ports[].protocol = TCP, imagePullSecrets[].name = ""; the original's CRD had the first too);
// - `enum` is kept with "" added: the enums are documentation in the built-in API, which accepts ""
//   for most of them (it means "unset" and is defaulted, e.g. imagePullPolicy, or has a meaning of
//   its own, e.g. tolerations' operator and effect);
// - x-kubernetes-list-type, -list-map-keys, -map-type are kept; x-kubernetes-patch-*, -unions and
//   the other extensions, which a CRD schema cannot carry, are dropped;
// - three rules that the built-in API enforces in code for a Deployment's pod template are added,
//   so that `kubectl apply` shows them too (see DEPLOYMENT_RULES): containers must not be empty,
//   restartPolicy can only be Always, and ephemeralContainers are forbidden (their schema, a
//   third copy of the container schema, is replaced by `maxItems: 0`, which saves ~60 kB);
// - descriptions (shown by `kubectl explain`) longer than 200 characters are cut to their first
//   sentence: with every description whole the CRD is ~390 kB of JSON, over the 256 KiB that a
//   client-side `kubectl apply` can store in its last-applied-configuration annotation.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import * as prettier from 'prettier';
import { QUANTITY_PATTERN } from '../src/util/units.js';
import { REPO_ROOT } from '../src/testplane/binaries.js';
import { startTestPlane } from '../src/testplane/index.js';

export const SCHEMA_FILE = join(REPO_ROOT, 'src', 'api', 'deployment-template.schema.json');
const ROOT_TYPE = 'io.k8s.api.apps.v1.DeploymentSpec';
const OPENAPI_PATH = '/openapi/v3/apis/apps/v1';

/** A node of an OpenAPI v3 schema, as the API server serves it. */
interface OpenApiNode {
  [key: string]: unknown;
  $ref?: string;
  allOf?: OpenApiNode[];
  oneOf?: OpenApiNode[];
  description?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, OpenApiNode>;
  additionalProperties?: OpenApiNode | boolean;
  items?: OpenApiNode;
  default?: unknown;
}

interface OpenApiDocument {
  components: { schemas: Record<string, OpenApiNode> };
}

/** A node of the CRD's structural schema (JSONSchemaProps). */
export type SchemaNode = { [key: string]: unknown };

/** Keys of an OpenAPI node that are read by the conversion; anything else fails loudly. */
const HANDLED = new Set([
  '$ref',
  'allOf',
  'description',
  'type',
  'format',
  'enum',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'default',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
]);
/** Keys dropped on purpose: a CRD schema has no room for them (see the header). */
const DROPPED = new Set([
  'x-kubernetes-patch-strategy',
  'x-kubernetes-patch-merge-key',
  'x-kubernetes-unions',
]);

const TYPE_PREFIX = '#/components/schemas/';
const FULL_DESCRIPTION_MAX = 200;

/** A sentence's end: a period (not of e.g., i.e., etc.) before a capital, a quote or the end. */
const SENTENCE_END = /(?<!\b(?:e\.g|i\.e|etc|vs|ex|Ex|approx|incl))\.(?=\s+[A-Z(`"]|\s*$)/g;
const MIN_SHORT_DESCRIPTION = 40;

/**
 * `text` itself when short, else its first sentence (or first sentences, when the first is as
 * short as "Deprecated.").
 */
export function shortDescription(text: string): string {
  if (text.length <= FULL_DESCRIPTION_MAX) return text;
  for (const match of text.matchAll(SENTENCE_END)) {
    const end = match.index + 1;
    if (end >= MIN_SHORT_DESCRIPTION) return text.slice(0, end).trim();
  }
  return text.trim();
}
const intOrString = (description: string | undefined, pattern?: string): SchemaNode => ({
  ...(description ? { description } : {}),
  anyOf: [{ type: 'integer' }, { type: 'string' }],
  ...(pattern ? { pattern } : {}),
  'x-kubernetes-int-or-string': true,
});
const opaqueObject = (description: string | undefined): SchemaNode => ({
  ...(description ? { description } : {}),
  type: 'object',
  'x-kubernetes-preserve-unknown-fields': true,
});

/** Types replaced by a fixed structural form (their OpenAPI form is a oneOf or has no fields). */
const SPECIAL: Record<string, (description: string | undefined) => SchemaNode> = {
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': (d) => intOrString(d),
  'io.k8s.apimachinery.pkg.api.resource.Quantity': (d) => intOrString(d, QUANTITY_PATTERN),
  'io.k8s.apimachinery.pkg.apis.meta.v1.Time': (d) => ({
    ...(d ? { description: d } : {}),
    type: 'string',
    format: 'date-time',
  }),
  'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime': (d) => ({
    ...(d ? { description: d } : {}),
    type: 'string',
    format: 'date-time',
  }),
};

export interface ConversionStats {
  /** Types met inside themselves, replaced by preserve-unknown-fields objects. */
  recursive: string[];
  /** Defaults kept because a list-map key needs one. */
  keptDefaults: string[];
}

/** Converts `rootType` of an OpenAPI v3 document into a self-contained structural schema. */
export function toStructuralSchema(
  doc: OpenApiDocument,
  rootType = ROOT_TYPE,
): { schema: SchemaNode; stats: ConversionStats } {
  const types = doc.components.schemas;
  const stats: ConversionStats = { recursive: [], keptDefaults: [] };

  const typeOf = (ref: string): { name: string; node: OpenApiNode } => {
    if (!ref.startsWith(TYPE_PREFIX)) throw new Error(`unsupported $ref ${ref}`);
    const name = ref.slice(TYPE_PREFIX.length);
    const node = types[name];
    if (!node) throw new Error(`$ref ${ref} names no schema of the document`);
    return { name, node };
  };

  /**
   * `node` flattened: its $ref (or single allOf element) followed, with the node's own keys
   * (description, default...) on top. Returns the type name when it came through a $ref.
   */
  const flatten = (node: OpenApiNode): { node: OpenApiNode; typeName?: string } => {
    const { $ref, allOf, ...own } = node;
    const refs = [...(allOf ?? []), ...($ref ? [{ $ref }] : [])];
    if (refs.length === 0) return { node };
    if (refs.length > 1 || !refs[0]!.$ref || Object.keys(refs[0]!).length > 1) {
      throw new Error(`unsupported allOf: ${JSON.stringify(node).slice(0, 200)}`);
    }
    const { name, node: target } = typeOf(refs[0]!.$ref);
    const merged: OpenApiNode = { ...target, ...own };
    if (own.description === undefined && target.description !== undefined)
      merged.description = target.description;
    return { node: merged, typeName: name };
  };

  const convert = (input: OpenApiNode, path: string, stack: readonly string[]): SchemaNode => {
    const { node, typeName } = flatten(input);
    const description = node.description === undefined ? undefined : shortDescription(node.description);
    if (typeName !== undefined) {
      const special = SPECIAL[typeName];
      if (special) return special(description);
      if (stack.includes(typeName)) {
        stats.recursive.push(`${path} (${typeName})`);
        return opaqueObject(description);
      }
    }
    const inner = typeName === undefined ? stack : [...stack, typeName];
    for (const key of Object.keys(node)) {
      if (!HANDLED.has(key) && !DROPPED.has(key) && key !== 'oneOf')
        throw new Error(`${path}: unsupported OpenAPI key ${key}`);
    }
    if (node.oneOf) throw new Error(`${path}: unsupported oneOf (type ${typeName ?? 'inline'})`);
    if (!node.type) throw new Error(`${path}: no type`);

    const out: SchemaNode = {};
    if (description !== undefined) out.description = description;
    out.type = node.type;
    if (node.format !== undefined) out.format = node.format;
    if (node.enum !== undefined) {
      out.enum = node.type === 'string' && !node.enum.includes('') ? ['', ...node.enum] : node.enum;
    }
    if (node.type === 'object') {
      const properties = Object.entries(node.properties ?? {});
      const additional = node.additionalProperties;
      if (properties.length === 0 && (additional === undefined || additional === false)) {
        return opaqueObject(description);
      }
      if (properties.length > 0) {
        out.properties = Object.fromEntries(
          properties.map(([name, child]) => [name, convert(child, `${path}.${name}`, inner)]),
        );
      }
      if (node.required?.length) out.required = [...node.required];
      if (additional === true) out['x-kubernetes-preserve-unknown-fields'] = true;
      else if (additional) out.additionalProperties = convert(additional, `${path}[*]`, inner);
    }
    if (node.type === 'array') {
      if (!node.items) throw new Error(`${path}: array without items`);
      const items = convert(node.items, `${path}[]`, inner);
      const keys = node['x-kubernetes-list-map-keys'] as string[] | undefined;
      if (node['x-kubernetes-list-type'] === 'map' && keys)
        keepListMapKeyDefaults(node.items, items, keys, path);
      out.items = items;
    }
    for (const key of ['x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type']) {
      if (node[key] !== undefined) out[key] = node[key];
    }
    return out;
  };

  /** The API server refuses a list-map key that is neither required nor defaulted. */
  const keepListMapKeyDefaults = (source: OpenApiNode, items: SchemaNode, keys: string[], path: string) => {
    const { node } = flatten(source);
    const required = new Set(node.required ?? []);
    const properties = items.properties as Record<string, SchemaNode>;
    for (const key of keys) {
      if (required.has(key)) continue;
      const keyNode = flatten(node.properties?.[key] ?? {}).node;
      if (keyNode.default === undefined)
        throw new Error(`${path}: list-map key ${key} is neither required nor defaulted`);
      properties[key] = { ...properties[key], default: keyNode.default };
      stats.keptDefaults.push(`${path}[].${key} = ${JSON.stringify(keyNode.default)}`);
    }
  };

  const schema = convert({ $ref: TYPE_PREFIX + rootType }, 'deploymentTemplate', []);
  return { schema: rootType === ROOT_TYPE ? withDeploymentRules(schema) : schema, stats };
}

type PodSpecOverride = (node: SchemaNode) => SchemaNode;

/** What apps/v1 validation checks in code on a Deployment's pod template, as schema constraints. */
const DEPLOYMENT_RULES: Record<string, PodSpecOverride> = {
  containers: (node) => ({ ...node, minItems: 1 }),
  restartPolicy: (node) => ({
    ...node,
    description: 'Restart policy for all containers within the pod: a Deployment only accepts Always.',
    enum: ['', 'Always'],
  }),
  ephemeralContainers: (node) => ({
    description: 'Not allowed in the pod template of a Deployment.',
    type: 'array',
    maxItems: 0,
    items: opaqueObject(undefined),
    ...(node['x-kubernetes-list-type'] ? { 'x-kubernetes-list-type': 'atomic' } : {}),
  }),
};

/** Applies DEPLOYMENT_RULES to the converted DeploymentSpec. */
function withDeploymentRules(schema: SchemaNode): SchemaNode {
  type WithProperties = SchemaNode & { properties: Record<string, SchemaNode> };
  const template = (schema as WithProperties).properties.template as WithProperties;
  const podSpec = template.properties.spec as WithProperties;
  for (const [field, override] of Object.entries(DEPLOYMENT_RULES)) {
    const node = podSpec.properties[field];
    if (!node) throw new Error(`PodSpec has no field ${field}`);
    podSpec.properties[field] = override(node);
  }
  return schema;
}

/** GET `path` from the API server of `kubeConfig`'s current context. */
export async function getFromApiServer(kubeConfig: KubeConfig, path: string): Promise<string> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(path, cluster.server);
  const options: https.RequestOptions = { headers: { accept: 'application/json' } };
  await kubeConfig.applyToHTTPSOptions(options);
  return new Promise((resolvePromise, reject) => {
    const req = https.get(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 200) resolvePromise(body);
        else reject(new Error(`GET ${url.href}: HTTP ${res.statusCode}: ${body.slice(0, 300)}`));
      });
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`GET ${url.href}: timeout`)));
    req.on('error', reject);
  });
}

/** The DeploymentSpec schema derived from the API server of `kubeConfig`. */
export async function deploymentSchemaFrom(kubeConfig: KubeConfig) {
  const doc = JSON.parse(await getFromApiServer(kubeConfig, OPENAPI_PATH)) as OpenApiDocument;
  return toStructuralSchema(doc);
}

/** The file's content: the schema as JSON, formatted the way the project's prettier does. */
export async function renderSchemaFile(schema: SchemaNode): Promise<string> {
  const options = (await prettier.resolveConfig(SCHEMA_FILE)) ?? {};
  return prettier.format(JSON.stringify(schema), { ...options, parser: 'json', filepath: SCHEMA_FILE });
}

async function withOwnPlane<T>(work: (kubeConfig: KubeConfig) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(REPO_ROOT, '.testplane', 'gen-schema-'));
  const plane = await startTestPlane({ dir, withControllers: false });
  try {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(plane.kubeconfigPath);
    return await work(kubeConfig);
  } finally {
    await plane.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { kubeconfig: { type: 'string' }, out: { type: 'string' } } });
  const out = resolve(values.out ?? SCHEMA_FILE);
  const generate = async (kubeConfig: KubeConfig) => {
    const { schema, stats } = await deploymentSchemaFrom(kubeConfig);
    return { text: await renderSchemaFile(schema), stats };
  };
  let result;
  if (values.kubeconfig) {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(values.kubeconfig);
    result = await generate(kubeConfig);
  } else {
    result = await withOwnPlane(generate);
  }
  writeFileSync(out, result.text);
  console.log(`wrote ${relative(process.cwd(), out)} (${result.text.length} bytes)`);
  for (const d of result.stats.keptDefaults.filter((d) => !d.includes('ephemeralContainers')))
    console.log(`  kept default ${d}`);
  for (const r of result.stats.recursive) console.log(`  recursive ${r}: preserve-unknown-fields`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
