// Names shared with the original Go operator (lwolf/konsumerator v1.2.2). Changing any of them
// breaks drop-in compatibility: dashboards, scripts and consumer code read these keys.

export const GROUP = 'konsumerator.lwolf.org';
export const VERSION = 'v1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'Consumer';
export const PLURAL = 'consumers';
export const CRD_NAME = `${PLURAL}.${GROUP}`;
/** New: on the CRD, the hash of its spec; the operator checks the installed CRD is its own. */
export const CRD_SCHEMA_HASH_ANNOTATION = `${GROUP}/schema-hash`;

/** Field manager for every write the operator makes (server-side apply and status). */
export const FIELD_MANAGER = 'konsumerator';

const prefix = `${GROUP}/`;
export const Annotation = {
  partition: `${prefix}partition`,
  consumerId: `${prefix}consumer-id`,
  generation: `${prefix}generation`,
  scalingStatus: `${prefix}scaling-status`,
  scalingStatusChange: `${prefix}scaling-status-change`,
  cpuSaturationLevel: `${prefix}cpu-saturation-level`,
  disableAutoscaler: `${prefix}disable-autoscaler`,
  verbose: `${prefix}verbose`,
  /** New: hash of everything the operator rendered into the Deployment (not only the template). */
  renderHash: `${prefix}render-hash`,
  /**
   * New: the resources the scaled container's pods run with when they differ from the pod
   * template's (an in-place resize changes the pods, not the template). Absent: the template's.
   */
  resources: `${prefix}resources`,
  /**
   * New: on a ReplicaSet of an instance Deployment that was recreated (a field Kubernetes does not
   * update changed): the instance whose old pods it runs until the new Deployment's are available.
   */
  replacedInstance: `${prefix}replaced-instance`,
} as const;

/** New: marks the ReplicaSets of recreated instances (the operator watches only these). */
export const REPLACED_LABEL = `${prefix}replaced`;
/**
 * New: holds a recreated instance's old ReplicaSet (deleted, so that no Deployment adopts it, and
 * left running) until the new Deployment's pods are available.
 */
export const REPLACED_FINALIZER = `${prefix}replaced`;

/** How a resource decision reaches the pods (`spec.autoscaler.actuation`). */
export const Actuation = {
  inPlaceOrRollout: 'InPlaceOrRollout',
  inPlace: 'InPlace',
  rollout: 'Rollout',
} as const;
export type Actuation = (typeof Actuation)[keyof typeof Actuation];
export const DEFAULT_ACTUATION: Actuation = Actuation.inPlaceOrRollout;

/** How partitions reach the consumers (`spec.assignment`). */
export const Assignment = {
  /** One Deployment per partition bucket, told its partitions (the original). */
  partitioned: 'Partitioned',
  /** One Deployment whose replicas subscribe and share the partitions by Kafka's group assignment. */
  balanced: 'Balanced',
} as const;
export type Assignment = (typeof Assignment)[keyof typeof Assignment];

/** Which of a sized container's values the operator sets (`containerPolicies[].controlledValues`). */
export const ControlledValues = {
  requestsAndWholeCoreLimits: 'RequestsAndWholeCoreLimits',
  requestsAndLimits: 'RequestsAndLimits',
  requestsOnly: 'RequestsOnly',
} as const;
export type ControlledValues = (typeof ControlledValues)[keyof typeof ControlledValues];
export const DEFAULT_CONTROLLED_VALUES: ControlledValues = ControlledValues.requestsAndWholeCoreLimits;

export const Label = {
  app: 'app',
  controller: 'controller',
  partitions: 'partitions',
} as const;

export const Env = {
  partition: 'KONSUMERATOR_PARTITION',
  instance: 'KONSUMERATOR_INSTANCE',
  numPartitions: 'KONSUMERATOR_NUM_PARTITIONS',
  numInstances: 'KONSUMERATOR_NUM_INSTANCES',
  goMaxProcs: 'GOMAXPROCS',
  goMemLimit: 'GOMEMLIMIT',
} as const;

export const ScalingStatus = {
  running: 'RUNNING',
  saturated: 'SATURATED',
  pendingScaleUp: 'PENDING_SCALE_UP',
  pendingScaleDown: 'PENDING_SCALE_DOWN',
} as const;
export type ScalingStatus = (typeof ScalingStatus)[keyof typeof ScalingStatus];
