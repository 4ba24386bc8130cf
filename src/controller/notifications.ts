// The one emitter of notifications: the event sink. Where the controller records a Kubernetes
// event that webhook targets care about, it passes the notification along with it, and this sink
// hands it to the notifier (which queues it and returns at once) besides recording the event.
import type { Consumer } from '../api/schema.js';
import type { Notification } from '../notify/cloudevent.js';
import type { Notifier } from '../notify/notifier.js';
import type { EventSink, EventType } from './events.js';

export class NotifyingEventSink implements EventSink {
  constructor(
    private readonly inner: EventSink,
    private readonly notifier: Notifier,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  emit(
    consumer: Consumer,
    type: EventType,
    reason: string,
    message: string,
    notification?: Notification,
  ): void {
    this.inner.emit(consumer, type, reason, message, notification);
    if (!notification) return;
    const { namespace, name, uid } = consumer.metadata;
    this.notifier.publish(notification, { namespace, name, uid }, this.clock());
  }
}
