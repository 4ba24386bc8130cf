// Wires the operator together: informers on Consumers (or, in guest mode, the ConfigMaps of one
// namespace) and Deployments feed a keyed work queue; workers run the reconciler; a periodic
// resync re-enqueues every Consumer.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { KubeClient, type KubeClientOptions } from '../kube/client.js';
import { toClusterAccess, type ClusterSource } from '../kube/config.js';
import { ResourceCache } from './cache.js';
import { CrdConsumerSource, type ConsumerSource } from './consumer-source.js';
import { ConfigMapConsumerSource } from './configmap-source.js';
import { trimDeployment, trimReplicaSet } from './trim.js';
import { Recreator } from './recreate.js';
import { AutoscalerWatch } from './autoscaler-watch.js';
import { REPLACED_LABEL } from '../api/constants.js';
import { DEFAULT_BACKOFF, WorkQueue } from './queue.js';
import { Reconciler, consumerKey } from './reconciler.js';
import { DEFAULT_READ_LIMITS, MetricsSources, type ReadLimits } from './metrics-sources.js';
import { DEFAULT_TENANT_LIMITS, type TenantLimits } from './limits.js';
import { EndpointPolicy } from '../net/endpoint-policy.js';
import { LeaderElector, type LeaderElectionOptions } from './leader.js';
import { ApiSecretReader } from './credentials.js';
import { ScalingMemory } from './autoscaling.js';
import { KubeWriter } from './kube.js';
import type { WatchTiming } from './cache.js';
import { ApiEventSink, type EventSink } from './events.js';
import { NotifyingEventSink } from './notifications.js';
import { Notifier, notifyTargets, type NotifierOptions } from '../notify/notifier.js';
import { OperatorMetrics } from './metrics.js';
import { metricsRoute, serve, type Endpoint } from './http.js';
import { CrdGuard } from './crd-guard.js';
import { expectedCrdHash } from '../api/crd.js';
import type { Logger } from '../util/log.js';
import { instanceIdFromName } from '../plan/render.js';
import { DEFAULT_PENDING_BOUND_MS, InPlaceActuation, ResizeSupport } from './in-place.js';
import { PodCaches, deploymentNameOf } from './pod-caches.js';
import { PodResizeApi } from '../actuate/resize-api.js';
import { ActuationMemory } from '../actuate/memory.js';
import type { V1Pod } from '@kubernetes/client-node';

/**
 * A Consumer changing all the time (its Deployments rolling out) is reconciled at most this share
 * of the time: after a reconcile of 300 ms the next waits 900 ms (1 s at most). Small Consumers,
 * a few milliseconds each, see no difference.
 */
const RECONCILE_BUSY_SHARE = 0.25;

export interface OperatorOptions {
  /** The API server and credentials: ours, or a kubeconfig held as client-node's KubeConfig (tests, other verbs). */
  kubeConfig: ClusterSource;
  log: Logger;
  version: string;
  workers?: number;
  /** Every Consumer is reconciled at least this often (the original used 1 minute). */
  resyncMs?: number;
  /** `host:port` for /metrics (the original's --metrics-bind-address); undefined serves none. */
  metricsAddress?: string;
  /** `host:port` for /healthz and /readyz; undefined serves none. */
  healthAddress?: string;
  clock?: () => Date;
  events?: EventSink;
  /**
   * Guest mode: watch only this namespace and read Consumers from its ConfigMaps annotated
   * `konsumerator.lwolf.org/managed` (the original's --namespace); needs no CRD and no ClusterRole.
   */
  namespace?: string;
  /** Deadlines of API requests (default 30 s each). */
  deadlines?: Pick<KubeClientOptions, 'requestMs' | 'watchIdleMs'>;
  /** How long the informers' watches last before they are renewed. */
  watchTiming?: WatchTiming;
  /** How often the installed CRD is checked against this version's (default 5 s; not in guest mode). */
  crdCheckIntervalMs?: number;
  /**
   * How long a resize may stay Deferred by its node (or in progress with an error) before
   * InPlaceOrRollout rolls the instance out instead (default 5 minutes, as the VPA).
   */
  resizePendingBoundMs?: number;
  /**
   * Whether the API server has the pods/resize subresource; default: its discovery answer. (Tests
   * give a cluster without it this way.)
   */
  resizeSupported?: () => Promise<boolean>;
  /**
   * Where Consumers' metrics sources may connect (default: everything but the built-in ranges,
   * see src/net/endpoint-policy.ts). The operator's own ports and API server are added at start.
   */
  endpointPolicy?: EndpointPolicy;
  /** Instances per Consumer and Consumers per namespace (default DEFAULT_TENANT_LIMITS). */
  limits?: Partial<TenantLimits>;
  /** Webhook targets that receive scaling events as CloudEvents (`--notify-url`; docs/notifications.md). */
  notifyUrls?: readonly string[];
  /** `--notify-header` values: headers of those targets read from files (mounted Secrets). */
  notifyHeaders?: readonly string[];
  /** Delivery settings for those targets (tests shorten the timeout and the retries). */
  notifyOptions?: NotifierOptions;
  /** The floor on minSyncPeriod and the reads at once (default DEFAULT_READ_LIMITS). */
  readLimits?: Partial<ReadLimits>;
  /** Run only while holding this Lease (several replicas for high availability). */
  leaderElection?: Omit<LeaderElectionOptions, 'client' | 'log'> & {
    /** Called when the Lease could not be renewed; the default exits the process, as controller-runtime does. */
    onLost?: () => void;
  };
}

export class Operator {
  readonly metrics: OperatorMetrics;
  private readonly consumers: ConsumerSource;
  private readonly deployments: ResourceCache<V1Deployment>;
  /** Only the ReplicaSets of recreated instances (labelled), to finish their replacement. */
  private readonly replicaSets: ResourceCache<V1ReplicaSet>;
  /** HPAs and VPAs, which must not target instance Deployments. */
  private readonly autoscalers: AutoscalerWatch;
  private readonly pods: PodCaches;
  private readonly queue: WorkQueue;
  private readonly sources: MetricsSources;
  private readonly reconciler: Reconciler;
  private readonly endpoints: Endpoint[] = [];
  private readonly workerLoops: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private synced = false;
  private elector: LeaderElector | undefined;
  private electionRun: Promise<void> | undefined;
  private readonly electionAbort = new AbortController();
  private stopping = false;
  private readonly log: Logger;
  /** Whether the installed CRD is this version's; none in guest mode, which has no CRD. */
  private readonly crdGuard: CrdGuard | undefined;

  private readonly kubeConfig: KubeClient;
  readonly endpointPolicy: EndpointPolicy;
  private readonly notifier: Notifier | undefined;
  private readonly limits: TenantLimits;
  private readonly readLimits: ReadLimits;

  constructor(private readonly options: OperatorOptions) {
    const { log } = options;
    this.metrics = new OperatorMetrics(options.version);
    // Deadlines outermost: the informers look their watch deadline up on this very object.
    const kubeConfig = new KubeClient(toClusterAccess(options.kubeConfig), {
      ...options.deadlines,
      report: (...r) => this.metrics.apiRequest(...r),
    });
    this.kubeConfig = kubeConfig;
    this.log = log;
    // Named as controller-runtime names a controller's queue: the lower-case kind.
    this.queue = new WorkQueue(DEFAULT_BACKOFF, this.metrics.queueObserver('consumer'), {
      busyShare: RECONCILE_BUSY_SHARE,
    });
    this.metrics.watchQueue('consumer', this.queue);
    this.endpointPolicy = options.endpointPolicy ?? new EndpointPolicy();
    this.limits = { ...DEFAULT_TENANT_LIMITS, ...options.limits };
    this.readLimits = { ...DEFAULT_READ_LIMITS, ...options.readLimits };
    this.sources = new MetricsSources((consumer) => this.metrics.providerObserver(consumer.metadata.name), {
      secrets: new ApiSecretReader(kubeConfig),
      limits: this.readLimits,
      endpointPolicy: this.endpointPolicy,
      // A read that went on in the background ended: reconcile its Consumer with it.
      onReadDone: (consumer) =>
        this.queue.add(consumerKey(consumer.metadata.namespace, consumer.metadata.name)),
      log,
    });
    const writer = new KubeWriter(kubeConfig);
    const guest = options.namespace;
    this.consumers = guest
      ? new ConfigMapConsumerSource(kubeConfig, guest, log, options.watchTiming)
      : new CrdConsumerSource(kubeConfig, writer, log, options.watchTiming);
    this.crdGuard = guest
      ? undefined
      : new CrdGuard({
          kubeConfig,
          log,
          expectedHash: expectedCrdHash(),
          ...(options.crdCheckIntervalMs ? { intervalMs: options.crdCheckIntervalMs } : {}),
          // Every Consumer is reconciled again: an event while the CRD is wrong, the held writes
          // once it is right.
          onChange: () => this.enqueueAll(),
        });
    this.deployments = new ResourceCache<V1Deployment>(
      kubeConfig,
      guest ? `/apis/apps/v1/namespaces/${guest}/deployments` : '/apis/apps/v1/deployments',
      log.child({ cache: 'deployments' }),
      trimDeployment,
      options.watchTiming,
    );
    this.replicaSets = new ResourceCache<V1ReplicaSet>(
      kubeConfig,
      guest ? `/apis/apps/v1/namespaces/${guest}/replicasets` : '/apis/apps/v1/replicasets',
      log.child({ cache: 'replicasets' }),
      trimReplicaSet,
      options.watchTiming,
      REPLACED_LABEL,
    );
    this.autoscalers = new AutoscalerWatch({
      kubeConfig,
      log,
      ...(guest ? { namespace: guest } : {}),
      onChange: (namespace) => this.enqueueNamespace(namespace),
      ...(options.watchTiming ? { watchTiming: options.watchTiming } : {}),
    });
    this.pods = new PodCaches(kubeConfig, log, (pod) => this.enqueueForPod(pod), options.watchTiming);
    const recorded = options.events ?? new ApiEventSink(kubeConfig, log);
    const notifyTargetList = notifyTargets(options.notifyUrls ?? [], options.notifyHeaders ?? []);
    this.notifier =
      notifyTargetList.length > 0
        ? new Notifier(notifyTargetList, this.metrics.deliveryObserver, log, options.notifyOptions)
        : undefined;
    const events = this.notifier ? new NotifyingEventSink(recorded, this.notifier) : recorded;
    const resizeApi = new PodResizeApi(kubeConfig);
    const inPlace = new InPlaceActuation({
      pods: this.pods,
      api: resizeApi,
      support: new ResizeSupport(options.resizeSupported ?? (() => resizeApi.supported())),
      memory: new ActuationMemory(),
      metrics: this.metrics,
      events,
      log,
      pendingBoundMs: options.resizePendingBoundMs ?? DEFAULT_PENDING_BOUND_MS,
      writeConcurrency: 8,
    });
    this.reconciler = new Reconciler({
      consumers: this.consumers,
      deployments: this.deployments,
      replicaSets: this.replicaSets,
      autoscalers: this.autoscalers,
      recreator: new Recreator({
        client: kubeConfig,
        deployments: this.deployments,
        replicaSets: this.replicaSets,
        events,
        log,
      }),
      writer,
      events,
      metrics: this.metrics,
      log,
      clock: options.clock ?? (() => new Date()),
      sources: this.sources,
      scalingMemory: new ScalingMemory(),
      limits: this.limits,
      ...(this.crdGuard ? { crdProblem: () => this.crdGuard?.problem } : {}),
      inPlace,
    });
  }

  /**
   * Adds the operator's own endpoints to the endpoint policy: its metrics and health ports on this
   * host, and the API server it talks to (by name and by address).
   */
  private async protectOwnEndpoints(): Promise<void> {
    const local = Object.values(networkInterfaces())
      .flatMap((list) => list ?? [])
      .map((i) => i.address);
    this.endpointPolicy.protectOwnPorts(
      this.endpoints.map((e) => e.port),
      local,
    );
    const server = this.kubeConfig.access.server;
    if (!server) return;
    const url = new URL(server);
    const port = Number(url.port) || (url.protocol === 'http:' ? 80 : 443);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const label = 'the Kubernetes API server the operator uses';
    this.endpointPolicy.protectOwnEndpoint({ host, port }, label);
    if (isIP(host)) return;
    const addresses = await lookup(host, { all: true }).catch(() => []);
    for (const { address } of addresses)
      this.endpointPolicy.protectOwnEndpoint({ host: address, port }, label);
  }

  get metricsPort(): number | undefined {
    return this.endpoints.find((e) => e.server.listening && e.port)?.port;
  }

  get ready(): boolean {
    return this.notReadyReason === undefined;
  }

  /** Why /readyz fails: caches not synced, stopping, or a CRD this version does not expect. */
  get notReadyReason(): string | undefined {
    if (this.stopping) return 'stopping';
    const crd = this.crdGuard?.problem;
    if (crd) return crd;
    return this.synced ? undefined : 'caches not synced yet';
  }

  async start(): Promise<void> {
    const { metricsAddress, healthAddress } = this.options;
    if (metricsAddress)
      this.endpoints.push(await serve(metricsAddress, { '/metrics': metricsRoute(this.metrics.registry) }));
    if (healthAddress) {
      const healthy = async () => ({ status: 200, body: 'ok\n' });
      const ready = async () => {
        const reason = this.notReadyReason;
        return reason === undefined
          ? { status: 200, body: 'ok\n' }
          : { status: 503, body: `not ready: ${reason}\n` };
      };
      this.endpoints.push(await serve(healthAddress, { '/healthz': healthy, '/readyz': ready }));
    }
    await this.protectOwnEndpoints();
    this.log.info(
      {
        endpointPolicy: this.endpointPolicy.describe(),
        limits: this.limits,
        readLimits: this.readLimits,
        notifyTargets: this.notifier?.targetNames ?? [],
      },
      'tenant limits',
    );
    // Before the caches: without the CRD their first list would wait, silently, for it to appear.
    await this.crdGuard?.start();
    this.consumers.onChange((c) => this.queue.add(consumerKey(c.metadata.namespace, c.metadata.name)));
    this.deployments.onChange((d) => this.enqueueOwnerOf(d));
    this.replicaSets.onChange((r) => this.enqueueReplacedOwner(r));
    await Promise.all([this.consumers.start(), this.deployments.start(), this.replicaSets.start()]);
    // stop() during the first list ends the caches' start: nothing may start after it.
    if (this.stopping) return;
    this.autoscalers.start();
    this.synced = true;
    this.enqueueAll();
    const election = this.options.leaderElection;
    if (!election) return this.startWorkers();
    // Caches stay warm on every replica; only the leader reconciles.
    this.elector = new LeaderElector({ ...election, client: this.kubeConfig, log: this.log });
    this.electionRun = this.elector
      .run(() => this.startWorkers(), this.electionAbort.signal)
      .then((outcome) => {
        if (outcome === 'lost') (election.onLost ?? (() => process.exit(1)))();
      });
  }

  /**
   * Stops reconciling and renewing without releasing the Lease, as a killed process would: for
   * tests of the hand-over.
   */
  async abandonLeadership(): Promise<void> {
    this.electionAbort.abort();
    await this.electionRun;
    this.elector = undefined;
    this.queue.shutDown();
    await Promise.all(this.workerLoops);
  }

  /** Whether this replica reconciles (always true without leader election). */
  get isLeader(): boolean {
    if (this.options.leaderElection) return this.elector?.isLeader ?? false;
    return this.workerLoops.length > 0;
  }

  private startWorkers(): void {
    if (this.stopping) return;
    const workers = this.options.workers ?? 4;
    for (let i = 0; i < workers; i++) this.workerLoops.push(this.work());
    const resyncMs = this.options.resyncMs ?? 60_000;
    this.resyncTimer = setInterval(() => this.enqueueAll(), resyncMs);
    this.log.info({ workers, resyncMs }, 'operator started');
  }

  private enqueueAll(): void {
    for (const c of this.consumers.list()) this.queue.add(consumerKey(c.metadata.namespace, c.metadata.name));
  }

  /** Deployments enqueue their controlling Consumer, or Consumers whose instance name they take. */
  private enqueueOwnerOf(deployment: V1Deployment): void {
    const namespace = deployment.metadata?.namespace ?? '';
    const owner = deployment.metadata?.ownerReferences?.find((r) => r.controller);
    const { apiVersion, kind } = this.consumers.ownerType;
    if (owner?.apiVersion === apiVersion && owner.kind === kind) {
      this.queue.add(consumerKey(namespace, owner.name));
      return;
    }
    const name = deployment.metadata?.name ?? '';
    for (const consumer of this.consumers.list(namespace)) {
      const prefix = consumer.spec?.name;
      if (prefix && instanceIdFromName(name, prefix) !== undefined) {
        this.queue.add(consumerKey(namespace, consumer.metadata.name));
      }
    }
  }

  /** An HPA or VPA changed: the Consumers of its namespace look at whom it targets. */
  private enqueueNamespace(namespace: string): void {
    for (const c of this.consumers.list(namespace)) this.queue.add(consumerKey(namespace, c.metadata.name));
  }

  /** A marked ReplicaSet changed: the Consumer that owns it finishes its replacement. */
  private enqueueReplacedOwner(replicaSet: V1ReplicaSet): void {
    const namespace = replicaSet.metadata?.namespace ?? '';
    const { apiVersion, kind } = this.consumers.ownerType;
    for (const owner of replicaSet.metadata?.ownerReferences ?? []) {
      if (owner.apiVersion === apiVersion && owner.kind === kind)
        this.queue.add(consumerKey(namespace, owner.name));
    }
  }

  /** A pod of an instance changed: its Consumer looks at it (a new pod may need a resize). */
  private enqueueForPod(pod: V1Pod): void {
    const name = deploymentNameOf(pod);
    const namespace = pod.metadata?.namespace;
    if (!name || !namespace) return;
    const deployment = this.deployments.get(name, namespace);
    if (deployment) this.enqueueOwnerOf(deployment);
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        const result = await this.reconciler.reconcile(key);
        if (result.failures.length > 0) {
          this.metrics.reconcileErrors.inc({ consumer: key.split('/')[1]! });
          this.queue.addRateLimited(key);
        } else {
          this.queue.forget(key);
          if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
        }
      } catch (error) {
        // A bug or an unexpected API answer: keep this Consumer retrying, keep the others going.
        this.metrics.reconcileErrors.inc({ consumer: key.split('/')[1]! });
        const delayMs = this.queue.addRateLimited(key);
        this.log.error(
          { key, err: error instanceof Error ? error.stack : String(error), delayMs },
          'reconcile failed',
        );
      } finally {
        this.queue.done(key);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.crdGuard?.stop();
    this.electionAbort.abort();
    await this.electionRun;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.queue.shutDown();
    await Promise.all(this.workerLoops);
    // Only after the last write: the next leader may start at once.
    await this.elector?.release();
    await Promise.all([
      this.consumers.stop(),
      this.deployments.stop(),
      this.replicaSets.stop(),
      this.autoscalers.stop(),
      this.pods.stop(),
    ]);
    await this.sources.closeAll();
    await this.notifier?.close();
    this.kubeConfig.close();
    await Promise.all(this.endpoints.map((e) => new Promise((r) => e.server.close(r))));
    this.log.info('operator stopped');
  }
}
