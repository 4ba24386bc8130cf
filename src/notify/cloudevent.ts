// The CloudEvents 1.0 envelope of a notification, in structured mode (the whole event is the JSON
// body, content type application/cloudevents+json). Hand-written: the envelope is six attributes,
// and the CNCF SDK brings a JSON-schema validator and browser polyfills the operator does not need.
// Pure: the id and the time are parameters.

/** The content type of a structured-mode CloudEvent. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

const TYPE_PREFIX = 'org.lwolf.konsumerator';

/** Every notification type, as it appears in the event's `type` attribute (without the prefix). */
export const NOTIFICATION_TYPES = [
  'instance.scaled.up',
  'instance.scaled.down',
  'instance.saturated',
  'instance.saturation.cleared',
  'instance.rollout.fallback',
  'consumer.stalled',
  'consumer.metrics.lost',
  'consumer.metrics.restored',
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

export const isNotificationType = (value: string): value is NotificationType =>
  (NOTIFICATION_TYPES as readonly string[]).includes(value);

/** What the controller says happened; the envelope is added by `cloudEvent`. */
export interface Notification {
  type: NotificationType;
  /** The instance's Deployment, for instance.* types. */
  subject?: string;
  data: Record<string, unknown>;
}

/** The Consumer an event is about. */
export interface EventSource {
  namespace: string;
  name: string;
  uid: string;
}

export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject?: string;
  time: string;
  datacontenttype: 'application/json';
  data: Record<string, unknown>;
}

/** The source attribute: the Consumer's API path (unique per Consumer, readable by a person). */
export const sourceOf = (consumer: Pick<EventSource, 'namespace' | 'name'>): string =>
  `/apis/konsumerator.lwolf.org/v1/namespaces/${consumer.namespace}/consumers/${consumer.name}`;

export const fullType = (type: NotificationType): string => `${TYPE_PREFIX}.${type}`;

export function cloudEvent(
  notification: Notification,
  consumer: EventSource,
  id: string,
  now: Date,
): CloudEvent {
  return {
    specversion: '1.0',
    id,
    source: sourceOf(consumer),
    type: fullType(notification.type),
    ...(notification.subject !== undefined ? { subject: notification.subject } : {}),
    time: now.toISOString(),
    datacontenttype: 'application/json',
    data: {
      consumer: { namespace: consumer.namespace, name: consumer.name, uid: consumer.uid },
      ...notification.data,
    },
  };
}
