// Operator metrics under the original's names and labels (reference 9.5), so existing dashboards
// keep working. Series of a deleted Consumer are removed (the original kept them forever).
import { Counter, Gauge, Registry, Summary, collectDefaultMetrics } from 'prom-client';

const percentiles = [0.5, 0.9, 0.99, 0.999, 1];

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal = this.counter('konsumerator_consumer_reconcile_total', 'Reconciles started.');
  readonly reconcileErrors = this.counter(
    'konsumerator_consumer_reconcile_errors_total',
    'Reconciles that failed.',
  );
  readonly reconcileDuration = new Summary({
    name: 'konsumerator_consumer_reconcile_duration_seconds',
    help: 'Duration of a reconcile.',
    labelNames: ['consumer'],
    percentiles,
    registers: [this.registry],
  });
  readonly statusUpdateDuration = new Summary({
    name: 'konsumerator_consumer_status_update_duration_seconds',
    help: 'Duration of a status write.',
    labelNames: ['consumer'],
    percentiles,
    registers: [this.registry],
  });
  readonly creates = this.counter('konsumerator_consumer_deployments_create_total', 'Deployments created.');
  readonly createErrors = this.counter(
    'konsumerator_consumer_deployments_create_errors',
    'Failed Deployment creates.',
  );
  readonly deletes = this.counter('konsumerator_consumer_deployments_delete_total', 'Deployments deleted.');
  readonly deleteErrors = this.counter(
    'konsumerator_consumer_deployments_delete_errors',
    'Failed Deployment deletes.',
  );
  readonly updates = this.counter('konsumerator_consumer_deployments_update_total', 'Deployments updated.');
  readonly updateErrors = this.counter(
    'konsumerator_consumer_deployments_update_errors',
    'Failed Deployment updates.',
  );
  readonly consumerStatus = new Gauge({
    name: 'konsumerator_consumer_status',
    help: 'Status counters of a Consumer.',
    labelNames: ['consumer', 'type'],
    registers: [this.registry],
  });
  readonly metaInfo = new Gauge({
    name: 'konsumerator_meta_info',
    help: 'Build information.',
    labelNames: ['go_version', 'binary_version', 'node_version'],
    registers: [this.registry],
  });

  constructor(version: string) {
    collectDefaultMetrics({ register: this.registry });
    // go_version stays for dashboard compatibility; it carries the runtime's version.
    this.metaInfo.set(
      { go_version: process.version, binary_version: version, node_version: process.version },
      1,
    );
  }

  private counter(name: string, help: string) {
    return new Counter({ name, help, labelNames: ['consumer'], registers: [this.registry] });
  }

  setStatusCounts(consumer: string, counts: Record<string, number>): void {
    for (const [type, value] of Object.entries(counts)) this.consumerStatus.set({ consumer, type }, value);
  }

  forgetConsumer(consumer: string): void {
    for (const metric of [
      this.reconcileTotal,
      this.reconcileErrors,
      this.creates,
      this.createErrors,
      this.deletes,
    ]) {
      metric.remove({ consumer });
    }
    for (const metric of [this.deleteErrors, this.updates, this.updateErrors]) metric.remove({ consumer });
    this.reconcileDuration.remove({ consumer });
    this.statusUpdateDuration.remove({ consumer });
    for (const type of ['running', 'paused', 'lagging', 'outdated', 'expected', 'missing', 'redundant']) {
      this.consumerStatus.remove({ consumer, type });
    }
  }
}
