// Guest mode (`run --namespace`): Consumers defined in annotated ConfigMaps instead of the CRD, and
// their status kept in the ConfigMap's annotations. Pure: a ConfigMap in, a Consumer (or the
// reasons it is not one) out, and status to annotations and back. The annotation keys of the
// original operator are kept; the rule for the data key is new (the original took the first key
// of a Go map, so a random one when there were several).
import type { V1ConfigMap } from '@kubernetes/client-node';
import { parseDocument } from 'yaml';
import { API_VERSION, GROUP, KIND } from './constants.js';
import type { Condition, Consumer, ConsumerSpec, ConsumerStatus } from './schema.js';
import { checkConsumerSpec } from './check-spec.js';
import type { SpecProblem } from './validate.js';
import { canonicalJson } from '../util/hash.js';

const prefix = `${GROUP}/`;

export const GuestAnnotation = {
  /** A ConfigMap is a Consumer when it carries this annotation (any value), as in the original. */
  managed: `${prefix}managed`,
  /** (new) Names the data key that holds the spec, when the ConfigMap has several. */
  specKey: `${prefix}spec-key`,
  // The original's status annotations.
  expected: `${prefix}status.expected`,
  running: `${prefix}status.running`,
  paused: `${prefix}status.paused`,
  lagging: `${prefix}status.lagging`,
  missing: `${prefix}status.missing`,
  outdated: `${prefix}status.outdated`,
  lastSyncTime: `${prefix}status.last-sync-time`,
  lastSyncState: `${prefix}status.last-sync-state`,
  /** (new) The status conditions as JSON, as a Consumer resource has them in status.conditions. */
  conditions: `${prefix}status.conditions`,
  /** (new) Why the Consumer is not Ready (bad spec, failed writes, name clashes); absent when it is fine. */
  error: `${prefix}status.error`,
} as const;

/** The data key used when the ConfigMap has several and no spec-key annotation. */
export const DEFAULT_SPEC_KEY = 'consumer.yaml';

const COUNTERS = ['expected', 'running', 'paused', 'lagging', 'missing', 'outdated'] as const;

/** Every annotation the operator writes; it removes those of them a status no longer has. */
export const STATUS_ANNOTATIONS: readonly string[] = [
  ...COUNTERS.map((c) => GuestAnnotation[c]),
  GuestAnnotation.lastSyncTime,
  GuestAnnotation.lastSyncState,
  GuestAnnotation.conditions,
  GuestAnnotation.error,
];

export const CONFIGMAP_KIND = 'ConfigMap';

/**
 * The kind of object a Consumer was read from: a Consumer resource, or in guest mode a ConfigMap.
 * Its Deployments are owned by that object and its events are recorded on it.
 */
export function sourceTypeOf(consumer: Pick<Consumer, 'kind'>): { apiVersion: string; kind: string } {
  return consumer.kind === CONFIGMAP_KIND
    ? { apiVersion: 'v1', kind: CONFIGMAP_KIND }
    : { apiVersion: API_VERSION, kind: KIND };
}

export const isManaged = (configMap: V1ConfigMap) =>
  configMap.metadata?.annotations?.[GuestAnnotation.managed] !== undefined;

export interface DecodedConsumer {
  /** The Consumer; its spec is only meaningful when `problems` is empty. */
  consumer: Consumer;
  /** Why the ConfigMap does not hold a valid spec (key rule, YAML/JSON syntax, schema). */
  problems: SpecProblem[];
  /** The data key the spec was read from, if one was found. */
  key?: string;
}

/**
 * Which data key holds the spec: the one the spec-key annotation names; else the only key; else
 * `consumer.yaml`. Anything else is an error that names the keys, never a guess.
 */
export function specKeyOf(configMap: V1ConfigMap): { key: string } | { problem: SpecProblem } {
  const data = configMap.data ?? {};
  const keys = Object.keys(data).sort();
  const named = configMap.metadata?.annotations?.[GuestAnnotation.specKey];
  if (named !== undefined) {
    if (named in data) return { key: named };
    return {
      problem: {
        field: `metadata.annotations[${GuestAnnotation.specKey}]`,
        message: `names data key "${named}", which the ConfigMap does not have (keys: ${keys.join(', ') || 'none'})`,
      },
    };
  }
  if (keys.length === 1) return { key: keys[0]! };
  if (DEFAULT_SPEC_KEY in data) return { key: DEFAULT_SPEC_KEY };
  if (keys.length === 0) {
    const binary = Object.keys(configMap.binaryData ?? {});
    return {
      problem: {
        field: 'data',
        message:
          'is empty: put the Consumer spec (YAML or JSON) under one data key' +
          (binary.length ? ` (binaryData is not read: ${binary.join(', ')})` : ''),
      },
    };
  }
  return {
    problem: {
      field: 'data',
      message: `has several keys (${keys.join(', ')}): name the one with the spec in the ${GuestAnnotation.specKey} annotation, or call it ${DEFAULT_SPEC_KEY}`,
    },
  };
}

/** The spec text as YAML (JSON is YAML too): a mapping, or the syntax errors with their lines. */
export function parseSpec(text: string, key: string): { value: unknown } | { problems: SpecProblem[] } {
  const field = `data[${JSON.stringify(key)}]`;
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.slice(0, 5).map((e) => ({
        field,
        message: `is not valid YAML or JSON: ${e.message.split('\n')[0]}`,
      })),
    };
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      problems: [
        {
          field,
          message: `must be a mapping (the Consumer spec), got ${value === null || value === undefined ? 'nothing' : Array.isArray(value) ? 'a list' : typeof value}`,
        },
      ],
    };
  }
  return { value };
}

/** The ConfigMap as a Consumer: name, namespace, uid and annotations are the ConfigMap's. */
export function consumerFromConfigMap(configMap: V1ConfigMap): DecodedConsumer {
  const meta = configMap.metadata ?? {};
  const annotations = meta.annotations ?? {};
  const consumer: Consumer = {
    apiVersion: 'v1',
    kind: CONFIGMAP_KIND,
    metadata: {
      name: meta.name ?? '',
      namespace: meta.namespace ?? '',
      uid: meta.uid ?? '',
      ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
      annotations,
      ...(meta.labels ? { labels: meta.labels } : {}),
      ...(meta.deletionTimestamp ? { deletionTimestamp: meta.deletionTimestamp } : {}),
      ...(meta.creationTimestamp ? { creationTimestamp: meta.creationTimestamp } : {}),
    },
    spec: {} as ConsumerSpec,
    status: statusFromAnnotations(annotations),
  };
  const found = specKeyOf(configMap);
  if ('problem' in found) return { consumer, problems: [found.problem] };
  const field = `data[${JSON.stringify(found.key)}]`;
  try {
    const parsed = parseSpec(configMap.data![found.key]!, found.key);
    if ('problems' in parsed) return { consumer, problems: parsed.problems, key: found.key };
    const problems = checkConsumerSpec(parsed.value);
    consumer.spec = parsed.value as ConsumerSpec;
    return { consumer, problems, key: found.key };
  } catch (error) {
    // Hostile input (alias bombs, absurd nesting) must not escape into the informer or the reconcile.
    return {
      consumer,
      problems: [
        { field, message: `could not be read: ${error instanceof Error ? error.message : String(error)}` },
      ],
      key: found.key,
    };
  }
}

const isCount = (text: string | undefined) => text !== undefined && /^[0-9]{1,9}$/.test(text);

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The status as last written to the annotations (unreadable values count as absent). */
export function statusFromAnnotations(annotations: Record<string, string>): ConsumerStatus {
  const status: ConsumerStatus = {};
  for (const counter of COUNTERS) {
    const text = annotations[GuestAnnotation[counter]];
    if (isCount(text)) status[counter] = Number(text);
  }
  const time = annotations[GuestAnnotation.lastSyncTime];
  if (time) status.lastSyncTime = time;
  const state = parseJson(annotations[GuestAnnotation.lastSyncState]);
  if (state && typeof state === 'object' && !Array.isArray(state))
    status.lastSyncState = state as ConsumerStatus['lastSyncState'];
  const conditions = parseJson(annotations[GuestAnnotation.conditions]);
  if (Array.isArray(conditions)) status.conditions = conditions as Condition[];
  return status;
}

/** The annotations that carry `status`: the original's keys plus conditions and error. */
export function statusToAnnotations(status: ConsumerStatus): Record<string, string> {
  const out: Record<string, string> = {};
  for (const counter of COUNTERS) {
    const value = status[counter];
    if (value !== undefined) out[GuestAnnotation[counter]] = String(value);
  }
  if (status.lastSyncTime) out[GuestAnnotation.lastSyncTime] = status.lastSyncTime;
  if (status.lastSyncState) out[GuestAnnotation.lastSyncState] = canonicalJson(status.lastSyncState);
  if (status.conditions?.length) out[GuestAnnotation.conditions] = canonicalJson(status.conditions);
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  const degraded = status.conditions?.find((c) => c.type === 'Degraded');
  if (degraded?.status === 'True') out[GuestAnnotation.error] = `${degraded.reason}: ${degraded.message}`;
  else if (ready?.status === 'False' && ready.reason !== 'Progressing')
    out[GuestAnnotation.error] = `${ready.reason}: ${ready.message}`;
  return out;
}

/**
 * A merge patch of only the status annotations that differ (null removes one), or undefined when
 * the ConfigMap already carries exactly this status. Other annotations are never touched.
 */
export function statusAnnotationPatch(
  current: Record<string, string> | undefined,
  status: ConsumerStatus,
): Record<string, string | null> | undefined {
  const desired = statusToAnnotations(status);
  const patch: Record<string, string | null> = {};
  for (const key of STATUS_ANNOTATIONS) {
    const want = desired[key];
    const have = current?.[key];
    if (want !== have) patch[key] = want ?? null;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}
