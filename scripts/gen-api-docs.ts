// Writes docs/api.md, the field reference of the Consumer CRD, from the schema the CRD is built
// from (src/api/crd.ts) and, to mark what is new, the fields of the original operator's CRD
// (test/fixtures/original/crd.ts). `npm run gen` writes it with the other generated files, and
// test/unit/generated-files.test.ts fails when the committed one is stale.
//
//   npx tsx scripts/gen-api-docs.ts [--out docs/api.md]
import { writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as prettier from 'prettier';
import { consumerCrd } from '../src/api/crd.js';
import {
  CRD_NAME,
  DEFAULT_ACTUATION,
  DEFAULT_CONTROLLED_VALUES,
  Env,
  GROUP,
  KIND,
  VERSION,
} from '../src/api/constants.js';
import {
  DEFAULT_CPU_INCREMENT,
  DEFAULT_PENDING_SCALE_DOWN,
  DEFAULT_PENDING_SCALE_UP,
} from '../src/api/resolve.js';
import { GO_DURATION_PATTERN, QUANTITY_PATTERN } from '../src/util/units.js';
import { REPO_ROOT } from '../src/testplane/binaries.js';
import { originalCrd } from '../test/fixtures/original/crd.js';

const OUT = join(REPO_ROOT, 'docs', 'api.md');
type Node = { [key: string]: unknown } & {
  type?: string;
  description?: string;
  properties?: Record<string, Node>;
  additionalProperties?: Node;
  items?: Node;
  required?: string[];
  'x-kubernetes-validations'?: Array<{ rule: string; message: string; fieldPath?: string }>;
};

/** Defaults applied in code (the CRD has no defaults: stored objects stay as written). */
const DEFAULTS: Record<string, string> = {
  'spec.numPartitionsPerInstance': '1 (unset or 0)',
  'spec.partitionEnvKey': `\`${Env.partition}\` (unset or "")`,
  'spec.autoscaler.pendingScaleUpDuration': `\`${DEFAULT_PENDING_SCALE_UP}\``,
  'spec.autoscaler.pendingScaleDownDuration': `\`${DEFAULT_PENDING_SCALE_DOWN}\``,
  'spec.autoscaler.prometheus.fallbackStrategy': '`min` (unset or "")',
  'spec.autoscaler.prometheus.cpuIncrement': `\`${DEFAULT_CPU_INCREMENT}\``,
  'spec.resourcePolicy.containerPolicies[].mode': '`Auto`',
  'spec.resourcePolicy.containerPolicies[].controlledValues': `\`${DEFAULT_CONTROLLED_VALUES}\``,
  'spec.autoscaler.actuation': `\`${DEFAULT_ACTUATION}\``,
  'spec.autoscaler.learnRatePerCore':
    '`true`, but `false` with `actuation: Rollout` (always off with predictor `naive`)',
  ...Object.fromEntries(
    ['prometheus', 'kafka'].flatMap((mode) => [
      [`spec.autoscaler.${mode}.tls.caSecretRef.key`, '`ca.crt`'],
      [`spec.autoscaler.${mode}.tls.certSecretRef.certKey`, '`tls.crt`'],
      [`spec.autoscaler.${mode}.tls.certSecretRef.keyKey`, '`tls.key`'],
    ]),
  ),
  'spec.autoscaler.kafka.sasl.usernameKey': '`username`',
  'spec.autoscaler.kafka.sasl.passwordKey': '`password`',
};

/** Meaning beyond the schema's one-line description, for the fields where it matters. */
const NOTES: Record<string, string> = {
  'spec.namespace':
    'Checked by the controller, reported on status (the original created un-owned Deployments it then never found).',
  'spec.autoscaler.mode':
    'The original accepted any string and treated everything but `prometheus` as "no metrics"; `none` is the new explicit spelling of that.',
  'spec.autoscaler.prometheus':
    'Optional in the original schema but a nil section crashed the original; required here whenever mode is `prometheus`.',
  'spec.autoscaler.prometheus.consumption':
    'Stored in status.lastSyncState; the original never used it otherwise.',
  'spec.resourcePolicy.containerPolicies[].containerName': '`*` is new.',
  'spec.resourcePolicy.containerPolicies[].mode': 'The original parsed it but ignored it.',
  'spec.resourcePolicy.containerPolicies[].maxAllowed':
    'A resource missing from maxAllowed is not capped (the original capped it to 0).',
  'spec.resourcePolicy.globalPolicy.maxAllowed':
    'The original only capped the increases made within one reconcile, so totals grew past the cap.',
  'spec.autoscaler.actuation':
    'The original always changed the pod template (a rolling update per resize); see [in-place-resize.md](in-place-resize.md).',
  'spec.resourcePolicy.containerPolicies[].controlledValues':
    'The default is the original rule; `RequestsAndLimits` and `RequestsOnly` have the meaning of the VPA values of the same names.',
  'status.observedGeneration':
    'The original stored a hash of spec.deploymentTemplate here; it is now metadata.generation, as in every Kubernetes API.',
};

const escape = (text: string) => text.replace(/\|/g, '\\|').replace(/\n+/g, ' ');

function typeOf(node: Node): string {
  if (node['x-kubernetes-int-or-string'])
    return node.pattern === QUANTITY_PATTERN ? 'quantity' : 'int-or-string';
  if (node.type === 'array') return `[]${node.items ? typeOf(node.items) : 'any'}`;
  if (node.type === 'object' && node.additionalProperties && !node.properties)
    return `map[string]${typeOf(node.additionalProperties)}`;
  if (node.type === 'string' && node.pattern === GO_DURATION_PATTERN) return 'duration';
  if (node.type === 'string' && node.format === 'date-time') return 'time (RFC 3339)';
  if (node.type === 'integer' && node.format) return `integer (${String(node.format)})`;
  return String(node.type ?? 'any');
}

function constraints(node: Node, isRequired: boolean): string[] {
  const out: string[] = [];
  if (isRequired) out.push('required');
  const bound = (key: string, label: string) => {
    if (node[key] !== undefined) out.push(`${label} ${String(node[key])}`);
  };
  bound('minimum', '≥');
  bound('maximum', '≤');
  bound('minLength', 'length ≥');
  bound('maxLength', 'length ≤');
  bound('minItems', 'items ≥');
  bound('maxItems', 'items ≤');
  bound('maxProperties', 'entries ≤');
  if (Array.isArray(node.enum))
    out.push(`one of ${node.enum.map((v) => `\`${JSON.stringify(v)}\``).join(', ')}`);
  if (typeof node.pattern === 'string') {
    if (node.pattern === GO_DURATION_PATTERN) out.push('Go duration syntax (`90s`, `5m`, `1h30m`)');
    else if (node.pattern === QUANTITY_PATTERN) out.push('Kubernetes quantity syntax (`500m`, `2`, `512Mi`)');
    else out.push(`matches \`${node.pattern}\``);
  }
  if (node['x-kubernetes-list-type'] === 'map') {
    const keys = (node['x-kubernetes-list-map-keys'] as string[]).join(', ');
    out.push(`no two items with the same ${keys}`);
  }
  for (const rule of node['x-kubernetes-validations'] ?? []) {
    out.push(`${rule.message}${rule.fieldPath ? ` (reported on \`${rule.fieldPath.slice(1)}\`)` : ''}`);
  }
  return out;
}

interface Row {
  path: string;
  type: string;
  default: string;
  validation: string[];
  description: string;
  isNew: boolean;
}

/** Every field under `node`, depth first; the pod template's inside is summarised separately. */
function fields(node: Node, path: string, isRequired: boolean, original: Set<string>, rows: Row[]): Row[] {
  const note = NOTES[path];
  rows.push({
    path,
    type: typeOf(node),
    default: DEFAULTS[path] ?? '',
    validation: constraints(node, isRequired),
    description: [node.description ?? '', note ?? ''].filter(Boolean).join(' '),
    isNew: !original.has(path),
  });
  if (path === 'spec.deploymentTemplate') return rows;
  const required = new Set(node.required ?? []);
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    fields(child, `${path}.${name}`, required.has(name), original, rows);
  }
  if (node.items?.properties) {
    const itemRequired = new Set(node.items.required ?? []);
    for (const [name, child] of Object.entries(node.items.properties)) {
      fields(child, `${path}[].${name}`, itemRequired.has(name), original, rows);
    }
  }
  const values = node.additionalProperties;
  if (values?.properties) {
    for (const [name, child] of Object.entries(values.properties)) {
      fields(child, `${path}.<key>.${name}`, false, original, rows);
    }
  }
  return rows;
}

/** The field paths of the original CRD, in the same notation. */
function originalPaths(): Set<string> {
  const crd = originalCrd() as unknown as {
    spec: { versions: Array<{ schema: { openAPIV3Schema: Node } }> };
  };
  const root = crd.spec.versions[0]!.schema.openAPIV3Schema;
  const paths = new Set<string>();
  const walk = (node: Node, path: string) => {
    paths.add(path);
    if (path === 'spec.deploymentTemplate') return;
    for (const [name, child] of Object.entries(node.properties ?? {})) walk(child, `${path}.${name}`);
    for (const [name, child] of Object.entries(node.items?.properties ?? {}))
      walk(child, `${path}[].${name}`);
    for (const [name, child] of Object.entries(node.additionalProperties?.properties ?? {}))
      walk(child, `${path}.<key>.${name}`);
  };
  walk(root.properties!.spec!, 'spec');
  walk(root.properties!.status!, 'status');
  return paths;
}

function table(rows: Row[]): string {
  const lines = [
    '| Field | Type | Default | Validation | Meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| \`${r.path}\`${r.isNew ? ' **(new)**' : ''} | ${escape(r.type)} | ${escape(r.default)} | ${escape(r.validation.join('; '))} | ${escape(r.description)} |`,
    ),
  ];
  return lines.join('\n');
}

export async function renderApiDocs(): Promise<string> {
  const crd = consumerCrd();
  const version = crd.spec.versions[0]!;
  const root = version.schema!.openAPIV3Schema as unknown as Node;
  const spec = root.properties!.spec!;
  const status = root.properties!.status!;
  const original = originalPaths();
  const specRows = fields(spec, 'spec', true, original, []).slice(1);
  const statusRows = fields(status, 'status', false, original, []).slice(1);
  const columns = (version.additionalPrinterColumns ?? [])
    .map((c) => `\`${c.name}\` (${c.jsonPath})`)
    .join(', ');
  // Only the outermost new fields: the fields inside a new object are new too.
  const newPaths = [...specRows, ...statusRows].filter((r) => r.isNew).map((r) => r.path);
  const newFields = newPaths
    .filter((p) => !newPaths.some((q) => q !== p && (p.startsWith(`${q}.`) || p.startsWith(`${q}[]`))))
    .map((p) => `\`${p}\` (and the fields inside it)`);

  const text = `<!-- Generated by \`npm run gen\` (scripts/gen-api-docs.ts) from src/api/schema.ts; do not edit by hand. -->

# Consumer API reference

\`${KIND}\` (\`${GROUP}/${VERSION}\`, CRD \`${CRD_NAME}\`) is namespaced and has the \`status\`
subresource and (new) the \`scale\` subresource on \`spec.replicas\`/\`status.replicas\`: pods per instance,
\`kubectl scale consumer/<name> --replicas=0\` stops every instance (see docs/operations.md).
\`kubectl get consumers\` shows ${columns}.

The API is that of the original operator (lwolf/konsumerator v1.2.2): every field keeps its name,
type and meaning, and every field it did not have is optional, so an existing manifest applies
unchanged. Fields marked **(new)** did not exist in the original's CRD. The CRD has **no
defaults**: defaults are applied in code, so a stored Consumer stays as it was written (the one
exception is inside \`deploymentTemplate\`, see below). Validation happens at \`kubectl apply\`:
OpenAPI constraints plus CEL rules (\`x-kubernetes-validations\`); the messages name the field.

## spec

${table(specRows)}

### spec.deploymentTemplate

A full \`apps/v1\` DeploymentSpec. Its schema is derived from the Kubernetes API server's own
OpenAPI document by \`scripts/gen-deployment-schema.ts\` (committed as
\`src/api/deployment-template.schema.json\`; an e2e test fails when it no longer matches the test
plane's kube-apiserver), so the pod template is validated like a Deployment's, and
\`kubectl explain consumer.spec.deploymentTemplate.template.spec.containers\` works. The original's
CRD had the same kind of schema (generated by controller-gen from k8s.io/api v0.25).

- Types, required fields and enums are those of Kubernetes (each enum also accepts \`""\`, which
  the built-in API accepts for most of them); a quantity is a string or an integer (\`cpu: 0.5\`
  must be written \`"0.5"\` or \`500m\`, as with the original's CRD).
- Lists that Kubernetes merges by key (\`containers\` and \`volumes\` by name, \`env\` by name,
  \`ports\` by containerPort and protocol, \`volumeMounts\` by mountPath, ...) refuse two items with
  the same key. The built-in API only warns about some of these duplicates, but server-side apply,
  which the operator uses to write Deployments, cannot handle them.
- The only values the API server fills in: \`ports[].protocol\` (\`TCP\`) and
  \`imagePullSecrets[].name\` (\`""\`) when missing, because they are list keys (the original's CRD
  also defaulted the protocol).
- Added, because a Deployment refuses them anyway: \`containers\` must not be empty,
  \`restartPolicy\` can only be \`Always\`, and \`ephemeralContainers\` are not allowed.
- A field Kubernetes does not know is refused by \`kubectl apply\` (strict field validation, the
  default of kubectl) and dropped by clients that do not ask for strict validation.
- Descriptions longer than 200 characters are cut to their first sentence: the CRD must stay under
  the 256 KiB that a client-side \`kubectl apply\` stores in its last-applied annotation.

## status

Written by the operator only.

${table(statusRows)}

## Refused at \`kubectl apply\`

Each of these is covered by \`test/e2e/crd-validation.test.ts\` or \`test/e2e/hostile-specs.test.ts\`
against a real kube-apiserver (HTTP 422, the message names the field); the whole list of bad
inputs tried, with where each is caught, is the bad input catalogue in
[reliability.md](reliability.md#bad-input-catalogue):

- a missing \`autoscaler\`, \`resourcePolicy\`, \`deploymentTemplate\`, \`deploymentTemplate.selector\` or
  \`deploymentTemplate.template\` (the original crashed on a missing \`autoscaler\`);
- \`autoscaler.mode: prometheus\` without the \`prometheus\` section (crashed the original), and an
  unknown mode;
- \`numPartitions\` below 1 (or above 100000, fractional or a string), a negative
  \`numPartitionsPerInstance\` (or above 100000), \`deploymentTemplate.replicas\` outside 0–1000;
- \`assignment: Balanced\` with \`numPartitionsPerInstance\` above 1 or with a \`partitionEnvKey\`
  (its replicas subscribe: there are no buckets and no partition list; see
  [balanced.md](balanced.md));
- \`recoveryTime\` of 0 or unparseable, \`ratePerCore\` 0 (both divided by in the original),
  \`cpuIncrement\` below 1m (modulo by zero in the original), \`ramPerCore\` 0;
- an unparseable duration anywhere (\`minSyncPeriod\`, \`tolerableLag\`, \`criticalLag\`,
  \`pendingScale*Duration\`), a duration above 8760h (one year; beyond Go's range the API server
  could not even parse it), \`tolerableLag\` or \`recoveryTime\` below 1s (a 0 tolerableLag made
  every instance lag forever; the predictor counts in whole seconds), and \`tolerableLag\`
  greater than \`criticalLag\`;
- a container policy whose \`minAllowed\` cpu or memory is above its \`maxAllowed\` (the original
  swapped them and logged an error), a \`maxAllowed\` cpu or memory of 0, a negative quantity or a
  malformed quantity in any policy;
- an unknown container policy \`mode\` or \`fallbackStrategy\`;
- two container policies with the same \`containerName\`, or a name that is neither \`*\` nor a
  container name;
- a Prometheus \`auth\` with both \`bearerTokenKey\` and \`usernameKey\`/\`passwordKey\`, or with
  neither a bearer token key nor both basic-auth keys; Kafka \`tls\` settings with \`enabled: false\`;
- an empty Prometheus \`address\` list, an address that is not an http(s) URL with a host and a
  port from 1 to 65535, an empty query, a \`partitionLabel\` that is not a Prometheus label name;
  a Kafka broker whose port is not from 1 to 65535; \`static.partitions\` keys that are not
  partition numbers below \`numPartitions\`;
- a \`name\` that cannot prefix a Deployment name (e.g. uppercase), a \`namespace\` that is not a
  namespace name, a \`partitionEnvKey\` that is not an env var name or is one of the variables
  the operator sets itself (\`KONSUMERATOR_INSTANCE\`, \`KONSUMERATOR_NUM_*\`, \`GOMAXPROCS\`,
  \`GOMEMLIMIT\`);
- an invalid pod template: no containers, a wrong type anywhere (e.g. a string
  \`containerPort\`), a container without a name, duplicate containers, env vars or ports, an
  unknown enum value (e.g. \`imagePullPolicy\`), a malformed quantity in \`resources\`, a
  \`restartPolicy\` other than \`Always\`, ephemeral containers.

## Checked by the controller, not by the schema

The API server cannot see these at apply time; the operator reports them on the Consumer's
status conditions and as events, without stopping the other Consumers:

- \`spec.namespace\` different from the Consumer's namespace (CEL rules cannot read
  \`metadata.namespace\`);
- a \`deploymentTemplate.selector\` that is empty or does not match the pod template's labels
  (\`matchLabels\` and \`matchExpressions\`), and everything
  else that only the Deployment's own validation checks (label syntax, names of volumes referred
  to by mounts, port names, resource requests above limits, ...); such an error appears when the
  operator creates the Deployment;
- Deployment names (\`<spec.name>-<instanceId>\`) longer than 242 characters (their ReplicaSets
  add \`-<pod-template-hash>\` and must stay within 253);
- an \`autoscaler.container\` the template does not have;
- warning events, the Consumer still runs: container policies naming a container the template
  does not have, \`numPartitionsPerInstance\` above \`numPartitions\` (one instance takes every
  partition), template env vars the operator overwrites (the partition key, \`KONSUMERATOR_*\`,
  \`GOMAXPROCS\`, \`GOMEMLIMIT\`), a global budget below the instances' \`minAllowed\` total;
- Deployments of the instances' names that the Consumer does not control (another Consumer's, a
  hand-made one, one that copies the operator's annotations): \`Degraded\` \`NameConflict\` and a Warning event, never
  written or deleted;
- the Secrets that hold the metrics sources' credentials: a missing Secret or key, or a Secret the
  operator may not read, makes \`MetricsAvailable\` False with a message naming
  \`namespace/secret\` and the key ([credentials.md](credentials.md)).

## New compared with the original

${newFields.length ? newFields.map((f) => `- ${f}`).join('\n') : '- none'}
- \`autoscaler.mode: none\` (the original had no explicit spelling for "no metrics").
- \`containerPolicies[].containerName: "*"\`, the default policy.
`;
  const options = (await prettier.resolveConfig(OUT)) ?? {};
  return prettier.format(text, { ...options, parser: 'markdown', filepath: OUT });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const out = resolve(values.out ?? OUT);
  const text = await renderApiDocs();
  writeFileSync(out, text);
  console.log(`wrote ${relative(process.cwd(), out)} (${text.length} bytes)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
