// Carries out the recreate steps the plan decided (see src/plan/recreate.ts): marks the old
// Deployment's ReplicaSets and deletes them held by a finalizer, deletes the Deployment with its
// ReplicaSets orphaned, and takes the finalizer off once the replacements are available. Each
// write is conditional (uid or resourceVersion), so a step repeated after a restart never hits
// anything else.
import type { V1Deployment, V1OwnerReference, V1ReplicaSet } from '@kubernetes/client-node';
import type { KubeClient } from '../kube/client.js';
import type { KubeList } from '../kube/informer.js';
import { Annotation, REPLACED_FINALIZER, REPLACED_LABEL } from '../api/constants.js';
import type { Consumer } from '../api/schema.js';
import type { Plan, Recreate } from '../plan/consumer-plan.js';
import { ownerReference } from '../plan/render.js';
import { strayReplaced, type ReplacedReplicaSet } from '../plan/recreate.js';
import { withConcurrency } from '../util/concurrency.js';
import type { Logger } from '../util/log.js';
import type { EventSink } from './events.js';
import { deploymentPath, describeApiError } from './kube.js';
import type { ResourceCache } from './cache.js';

export interface RecreateDeps {
  client: KubeClient;
  deployments: ResourceCache<V1Deployment>;
  replicaSets: ResourceCache<V1ReplicaSet>;
  events: EventSink;
  log: Logger;
  writeConcurrency?: number;
}

export interface RecreateOutcome {
  failures: string[];
  /** A conditional write met a newer object: look again soon (not a failure). */
  retrySoon: boolean;
}

/** Up to this many steps of one kind get an event each; more get one summary. */
const EVENTS_UP_TO = 5;

const replicaSetPath = (namespace: string, name?: string) =>
  `/apis/apps/v1/namespaces/${namespace}/replicasets${name === undefined ? '' : `/${name}`}`;

const isConflict = (code: number | undefined) => code === 409;

export class Recreator {
  constructor(private readonly deps: RecreateDeps) {}

  async run(consumer: Consumer, plan: Plan): Promise<RecreateOutcome> {
    const outcome: RecreateOutcome = { failures: [], retrySoon: false };
    if (plan.recreates.length === 0 && plan.replacedToDelete.length === 0) return outcome;
    const concurrency = this.deps.writeConcurrency ?? 8;
    const replaced: Recreate[] = [];
    if (plan.recreates.length > 0) {
      const namespace = consumer.metadata.namespace;
      let replicaSets: V1ReplicaSet[];
      try {
        replicaSets = (await this.deps.client.get<KubeList<V1ReplicaSet>>(replicaSetPath(namespace))).items;
      } catch (error) {
        outcome.failures.push(this.failed(consumer, 'listing ReplicaSets', error));
        return outcome;
      }
      await withConcurrency(plan.recreates, concurrency, async (step) => {
        const result = await this.replace(consumer, step, replicaSets);
        if (result === 'done') replaced.push(step);
        else if (result === 'conflict') outcome.retrySoon = true;
        else outcome.failures.push(result.failure);
      });
    }
    this.announce(
      consumer,
      'Recreating',
      replaced.map((r) => r.name),
      (name) => {
        const fields = replaced.find((r) => r.name === name)!.fields.join(', ');
        return `Deployment ${name}: ${fields} changed, which Kubernetes does not update; replacing the Deployment while its pods keep running`;
      },
      (names) =>
        `replacing ${names} Deployments whose immutable fields changed, while their pods keep running`,
    );
    const deleted: ReplacedReplicaSet[] = [];
    await withConcurrency(plan.replacedToDelete, concurrency, async (replicaSet) => {
      const failure = await this.deleteReplaced(consumer, replicaSet);
      if (failure) outcome.failures.push(failure);
      else deleted.push(replicaSet);
    });
    this.announce(
      consumer,
      'Recreated',
      deleted.map((r) => r.instance),
      (instance) => {
        const names = deleted.filter((r) => r.instance === instance).map((r) => r.name);
        return `Deployment ${instance} replaced: its new pods are available; deleted the old ReplicaSet ${names.join(', ')} and its pods`;
      },
      (names) => `replaced ${names} Deployments: their new pods are available; deleted the old ReplicaSets`,
    );
    return outcome;
  }

  /** Marks the Deployment's ReplicaSets and deletes them (held), then deletes it leaving them running. */
  private async replace(
    consumer: Consumer,
    step: Recreate,
    replicaSets: readonly V1ReplicaSet[],
  ): Promise<'done' | 'conflict' | { failure: string }> {
    const { client } = this.deps;
    const namespace = consumer.metadata.namespace;
    const own = (rs: V1ReplicaSet) =>
      (rs.metadata?.ownerReferences ?? []).some((r) => r.controller && r.uid === step.uid);
    try {
      for (const replicaSet of replicaSets.filter(own)) {
        await this.mark(consumer, replicaSet, step.name);
        if (replicaSet.metadata?.deletionTimestamp !== undefined) continue;
        await client.delete(replicaSetPath(namespace, replicaSet.metadata!.name!), {
          preconditions: { uid: replicaSet.metadata!.uid! },
          propagationPolicy: 'Background',
        });
      }
      await client.delete(deploymentPath(namespace, step.name), {
        preconditions: { uid: step.uid, resourceVersion: step.resourceVersion },
        propagationPolicy: 'Orphan',
      });
      // The next reconcile plans from the deleting (or deleted) Deployment, not from this one.
      const { deployments } = this.deps;
      await deployments.waitUntil(() => {
        const seen = deployments.get(step.name, namespace);
        return seen?.metadata?.uid !== step.uid || seen.metadata.deletionTimestamp !== undefined;
      });
      return 'done';
    } catch (error) {
      const { code } = describeApiError(error);
      // A newer version of the Deployment or of a ReplicaSet than the one read: decided again
      // from the newer one. 404: it is gone already.
      if (isConflict(code)) return 'conflict';
      if (code === 404) return 'done';
      return { failure: this.failed(consumer, `recreating Deployment ${step.name}`, error) };
    }
  }

  /** Adds the Consumer as an owner (not the controller), the marks and the finalizer, at the version read. */
  private async mark(consumer: Consumer, replicaSet: V1ReplicaSet, instance: string): Promise<void> {
    const meta = replicaSet.metadata!;
    const owners = meta.ownerReferences ?? [];
    const finalizers = meta.finalizers ?? [];
    const marked =
      owners.some((r) => r.uid === consumer.metadata.uid) &&
      finalizers.includes(REPLACED_FINALIZER) &&
      meta.labels?.[REPLACED_LABEL] !== undefined &&
      meta.annotations?.[Annotation.replacedInstance] === instance;
    if (marked) return;
    const consumerOwner: V1OwnerReference = {
      ...ownerReference(consumer),
      controller: false,
      blockOwnerDeletion: false,
    };
    await this.deps.client.patch(
      replicaSetPath(meta.namespace!, meta.name!),
      {
        metadata: {
          // Only over the version listed: the lists are replaced as a whole.
          resourceVersion: meta.resourceVersion,
          labels: { [REPLACED_LABEL]: 'true' },
          annotations: { [Annotation.replacedInstance]: instance },
          ownerReferences: [...owners.filter((r) => r.uid !== consumer.metadata.uid), consumerOwner],
          finalizers: [...finalizers.filter((f) => f !== REPLACED_FINALIZER), REPLACED_FINALIZER],
        },
      },
      'merge',
    );
  }

  /** Takes the finalizer off: the ReplicaSet, deleted already, goes with its pods. */
  private async release(namespace: string, replicaSet: ReplacedReplicaSet): Promise<void> {
    const { client, replicaSets } = this.deps;
    const seen = replicaSets.get(replicaSet.name, namespace);
    if (seen?.metadata?.uid !== replicaSet.uid) return;
    try {
      await client.patch(
        replicaSetPath(namespace, replicaSet.name),
        {
          metadata: {
            resourceVersion: replicaSet.resourceVersion,
            finalizers: (seen.metadata.finalizers ?? []).filter((f) => f !== REPLACED_FINALIZER),
          },
        },
        'merge',
      );
    } catch (error) {
      if (describeApiError(error).code === 404) return;
      throw error;
    }
    await replicaSets.waitUntil(
      () => replicaSets.get(replicaSet.name, namespace)?.metadata?.uid !== replicaSet.uid,
    );
  }

  private async deleteReplaced(
    consumer: Consumer,
    replicaSet: ReplacedReplicaSet,
  ): Promise<string | undefined> {
    try {
      await this.release(consumer.metadata.namespace, replicaSet);
      return undefined;
    } catch (error) {
      if (isConflict(describeApiError(error).code)) return undefined;
      return this.failed(consumer, `deleting the replaced ReplicaSet ${replicaSet.name}`, error);
    }
  }

  /**
   * Releases the held ReplicaSets of a Consumer that is gone, or was made anew under the same
   * name (`liveUid`): nothing will replace them.
   */
  async releaseStray(
    namespace: string,
    owner: { apiVersion: string; kind: string; name: string },
    liveUid: string | undefined,
  ): Promise<void> {
    const stray = strayReplaced(this.deps.replicaSets.list(namespace), owner, liveUid);
    for (const replicaSet of stray) {
      try {
        await this.release(namespace, replicaSet);
        this.deps.log.info(
          { namespace, replicaSet: replicaSet.name, consumer: owner.name },
          'released the old ReplicaSet of a recreated instance whose Consumer is gone',
        );
      } catch (error) {
        const { code, message } = describeApiError(error);
        this.deps.log.warn({ namespace, replicaSet: replicaSet.name, code }, message);
      }
    }
  }

  private failed(consumer: Consumer, what: string, error: unknown): string {
    const { code, message } = describeApiError(error);
    const text = `${what} failed${code ? ` (${code})` : ''}: ${message}`;
    this.deps.log.warn(
      { consumer: consumer.metadata.name, namespace: consumer.metadata.namespace, code },
      text,
    );
    this.deps.events.emit(consumer, 'Warning', 'RecreateFailed', text);
    return text;
  }

  /** One event per instance, or past a handful one summary. */
  private announce(
    consumer: Consumer,
    reason: 'Recreating' | 'Recreated',
    instances: readonly string[],
    one: (instance: string) => string,
    many: (names: string) => string,
  ): void {
    const unique = [...new Set(instances)].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    if (unique.length === 0) return;
    if (unique.length <= EVENTS_UP_TO) {
      for (const instance of unique) this.deps.events.emit(consumer, 'Normal', reason, one(instance));
      return;
    }
    const names = `${unique.length} (${unique.slice(0, 3).join(', ')} … ${unique.at(-1)})`;
    this.deps.events.emit(consumer, 'Normal', reason, many(names));
  }
}
