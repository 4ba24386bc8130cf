// Kubernetes events on Consumers. Identical events within a short window are sent once, so a
// Consumer stuck in the same error does not flood the API server.
import { hostname } from 'node:os';
import type { KubeClient } from '../kube/client.js';
import { sourceTypeOf } from '../api/guest.js';
import type { Consumer } from '../api/schema.js';
import type { Notification } from '../notify/cloudevent.js';
import type { Logger } from '../util/log.js';

export type EventType = 'Normal' | 'Warning';

export interface EventSink {
  /** `notification`: also sent to the webhook targets (see notifications.ts), when there are any. */
  emit(
    consumer: Consumer,
    type: EventType,
    reason: string,
    message: string,
    notification?: Notification,
  ): void;
}

const REPEAT_WINDOW_MS = 10 * 60_000;

export class ApiEventSink implements EventSink {
  private readonly recent = new Map<string, number>();

  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  emit(consumer: Consumer, type: EventType, reason: string, message: string): void {
    const now = this.clock();
    const key = `${consumer.metadata.uid}/${type}/${reason}/${message}`;
    const last = this.recent.get(key);
    if (last !== undefined && now.getTime() - last < REPEAT_WINDOW_MS) return;
    this.recent.set(key, now.getTime());
    if (this.recent.size > 10_000) this.recent.clear();
    const { namespace, name, uid, resourceVersion } = consumer.metadata;
    const time = now.toISOString();
    this.client
      .create(`/api/v1/namespaces/${namespace}/events`, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${name}.`, namespace },
        involvedObject: { ...sourceTypeOf(consumer), name, namespace, uid, resourceVersion },
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component: 'konsumerator' },
        reportingComponent: 'konsumerator',
        reportingInstance: hostname(),
        firstTimestamp: time,
        lastTimestamp: time,
        count: 1,
      })
      .catch((error: unknown) => this.log.warn({ err: String(error), reason }, 'could not record event'));
  }
}
