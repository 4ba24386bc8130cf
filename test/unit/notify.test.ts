// Webhook notifications: the CloudEvent envelope, the retry schedule, the bounded queue, and one
// target's delivery loop over a scripted sender (real HTTP receivers are in test/e2e/notifications).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/util/log.js';
import { BoundedQueue } from '../../src/notify/bounded-queue.js';
import { cloudEvent, CLOUDEVENTS_CONTENT_TYPE, type CloudEvent } from '../../src/notify/cloudevent.js';
import { notifyTargets, parseNotifyUrl } from '../../src/notify/notifier.js';
import {
  backoffDelayMs,
  nextAttemptDelayMs,
  retryAfterMs,
  type AttemptOutcome,
  type RetryPolicy,
} from '../../src/notify/retry.js';
import {
  WebhookTarget,
  type DeliveryObserver,
  type DropReason,
  type Send,
} from '../../src/notify/webhook.js';

const consumer = { namespace: 'team-a', name: 'orders', uid: 'u-1' };
const now = new Date('2026-01-02T03:04:05.678Z');

test('a notification becomes a CloudEvents 1.0 structured event', () => {
  const event = cloudEvent(
    { type: 'instance.scaled.up', subject: 'orders-1', data: { instance: 1, to: { cpuRequest: '3' } } },
    consumer,
    'id-1',
    now,
  );
  assert.deepEqual(event, {
    specversion: '1.0',
    id: 'id-1',
    source: '/apis/konsumerator.lwolf.org/v1/namespaces/team-a/consumers/orders',
    type: 'org.lwolf.konsumerator.instance.scaled.up',
    subject: 'orders-1',
    time: '2026-01-02T03:04:05.678Z',
    datacontenttype: 'application/json',
    data: { consumer, instance: 1, to: { cpuRequest: '3' } },
  });
  const plain = cloudEvent({ type: 'consumer.stalled', data: {} }, consumer, 'id-2', now);
  assert.equal('subject' in plain, false, 'no subject for a Consumer-wide event');
  assert.match(CLOUDEVENTS_CONTENT_TYPE, /^application\/cloudevents\+json/);
});

const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 1000, maxDelayMs: 5000 };

test('backoff doubles per attempt, with jitter in the upper half, within the maximum', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((a) => backoffDelayMs(a, policy, () => 0)),
    [500, 1000, 2000, 2500, 2500],
  );
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((a) => backoffDelayMs(a, policy, () => 1)),
    [1000, 2000, 4000, 5000, 5000],
  );
});

test('Retry-After in seconds or as a date, bounded; anything else is ignored', () => {
  assert.equal(retryAfterMs('3', now, 5000), 3000);
  assert.equal(retryAfterMs('120', now, 5000), 5000, 'bounded by the maximum delay');
  assert.equal(
    retryAfterMs(new Date(now.getTime() + 2000).toUTCString(), now, 5000),
    1322,
    'an HTTP date (whole seconds)',
  );
  assert.equal(
    retryAfterMs(new Date(now.getTime() - 60_000).toUTCString(), now, 5000),
    0,
    'a date in the past',
  );
  assert.equal(retryAfterMs('soon', now, 5000), undefined);
  assert.equal(retryAfterMs(undefined, now, 5000), undefined);
});

test('what is retried, how long after, and when it is given up', () => {
  const half = () => 0.5;
  const next = (attempt: number, outcome: AttemptOutcome) =>
    nextAttemptDelayMs(attempt, outcome, policy, now, half);
  assert.equal(next(1, { kind: 'http_error', status: 500 }), 750);
  assert.equal(next(2, { kind: 'timeout' }), 1500);
  assert.equal(next(1, { kind: 'network_error', code: 'ECONNREFUSED' }), 750);
  assert.equal(next(4, { kind: 'http_error', status: 500 }), undefined, 'after the last attempt');
  assert.equal(next(1, { kind: 'http_error', status: 400 }), undefined, 'a 4xx is not retried');
  assert.equal(next(1, { kind: 'http_error', status: 302 }), undefined, 'a redirect is not followed');
  assert.equal(next(1, { kind: 'http_error', status: 429, retryAfter: '4' }), 4000, 'Retry-After honoured');
  assert.equal(next(1, { kind: 'http_error', status: 503, retryAfter: '3600' }), 5000, 'within the maximum');
  assert.equal(
    next(1, { kind: 'http_error', status: 429, retryAfter: '0' }),
    750,
    'never sooner than the backoff',
  );
  assert.equal(next(1, { kind: 'http_error', status: 500, retryAfter: '4' }), 750, 'only for 429 and 503');
});

test('the bounded queue keeps order and refuses what does not fit', () => {
  const q = new BoundedQueue<number>(3);
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => q.push(n)),
    [true, true, true, false],
  );
  assert.equal(q.shift(), 1);
  assert.equal(q.push(5), true);
  assert.deepEqual(q.clear(), [2, 3, 5]);
  assert.equal(q.length, 0);
  for (let i = 0; i < 500; i++) {
    q.push(i);
    assert.equal(q.shift(), i);
  }
  assert.throws(() => new BoundedQueue(0), /capacity/);
});

test('--notify-url: http(s) only, no credentials; labels are host:port, numbered when shared', () => {
  assert.throws(() => parseNotifyUrl('ftp://x'), /ftp: is not supported/);
  assert.throws(() => parseNotifyUrl('not a url'), /not a URL/);
  assert.throws(() => parseNotifyUrl('https://u:p@x'), /credentials/);
  assert.deepEqual(
    notifyTargets([
      'https://hooks.example/T/secret',
      'http://10.0.0.1:8080/a',
      'https://hooks.example/other',
    ]).map((t) => t.name),
    ['hooks.example', '10.0.0.1:8080', 'hooks.example#2'],
  );
});

/** Records what a target reports. */
function recorder() {
  const attempts: string[] = [];
  const drops: DropReason[] = [];
  const depths: number[] = [];
  const observer: DeliveryObserver = {
    attempt: (_t, outcome) => attempts.push(outcome),
    dropped: (_t, reason) => drops.push(reason),
    depth: (_t, d) => depths.push(d),
  };
  return { attempts, drops, depths, observer };
}

const event = (id: string): CloudEvent =>
  cloudEvent({ type: 'consumer.stalled', data: {} }, consumer, id, now);

function target(
  send: Send,
  observer: DeliveryObserver,
  overrides: Partial<RetryPolicy> & { capacity?: number } = {},
) {
  return new WebhookTarget(
    {
      name: 't',
      url: new URL('http://receiver.example/hook'),
      headers: { authorization: 'Bearer x' },
      queueCapacity: overrides.capacity ?? 10,
      timeoutMs: 1000,
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5, ...overrides },
    },
    send,
    observer,
    silentLogger(),
  );
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(check(), 'condition reached');
};

test('a target retries a failure, delivers in order, and sends the CloudEvent with its headers', async () => {
  const script: AttemptOutcome[] = [
    { kind: 'http_error', status: 500 },
    { kind: 'delivered', status: 200 },
  ];
  const sent: Array<{ id: string; headers: Record<string, string> }> = [];
  const send: Send = async (_url, body, headers) => {
    sent.push({ id: (JSON.parse(body) as CloudEvent).id, headers });
    return script.shift() ?? { kind: 'delivered', status: 204 };
  };
  const r = recorder();
  const t = target(send, r.observer);
  t.enqueue(event('a'));
  t.enqueue(event('b'));
  await until(() => r.attempts.length === 3);
  assert.deepEqual(
    sent.map((s) => s.id),
    ['a', 'a', 'b'],
    'a retried before b is sent',
  );
  assert.deepEqual(r.attempts, ['http_error', 'delivered', 'delivered']);
  assert.deepEqual(r.drops, []);
  assert.equal(sent[0]!.headers['content-type'], CLOUDEVENTS_CONTENT_TYPE);
  assert.equal(sent[0]!.headers.authorization, 'Bearer x');
  assert.equal(r.depths.at(-1), 0);
  await t.close();
});

test('a target gives up after its attempts, refuses a 4xx at once, and drops what does not fit', async () => {
  const r = recorder();
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let calls = 0;
  const send: Send = async (_url, body) => {
    calls++;
    const id = (JSON.parse(body) as CloudEvent).id;
    if (id === 'first') await gate;
    return id === 'bad' ? { kind: 'http_error', status: 400 } : { kind: 'timeout' };
  };
  const t = target(send, r.observer, { capacity: 3 });
  t.enqueue(event('first')); // in flight, held by the gate
  t.enqueue(event('bad'));
  t.enqueue(event('x'));
  t.enqueue(event('overflow')); // the queue holds first, bad, x
  assert.deepEqual(r.drops, ['queue_full']);
  release();
  await until(() => r.drops.length === 4);
  assert.deepEqual(r.drops, ['queue_full', 'max_attempts', 'rejected', 'max_attempts']);
  assert.equal(calls, 3 + 1 + 3);
  await t.close();
});

test('closing a target aborts the request in flight and drops what waits, counted', async () => {
  const r = recorder();
  const send: Send = (_url, _body, _headers, _timeout, signal) =>
    new Promise((resolve) =>
      signal.addEventListener('abort', () => resolve({ kind: 'network_error', code: 'ABORTED' })),
    );
  const t = target(send, r.observer);
  t.enqueue(event('a'));
  t.enqueue(event('b'));
  await t.close();
  assert.deepEqual(r.drops, ['shutdown', 'shutdown']);
  assert.deepEqual(r.attempts, [], 'an aborted request is not an attempt');
  t.enqueue(event('c'));
  assert.deepEqual(r.drops, ['shutdown', 'shutdown', 'shutdown']);
});

test('undici sending: a redirect is not followed, Retry-After is read, a slow answer times out', async () => {
  const { createServer } = await import('node:http');
  const { Agent } = await import('undici');
  const { undiciSend } = await import('../../src/notify/webhook.js');
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url!);
    req.resume();
    if (req.url === '/moved') res.writeHead(302, { location: '/elsewhere' }).end();
    else if (req.url === '/busy') res.writeHead(429, { 'retry-after': '7' }).end('busy');
    else if (req.url === '/slow') setTimeout(() => res.end(), 1000).unref();
    else res.writeHead(204).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const agent = new Agent();
  const send = undiciSend(agent);
  const signal = new AbortController().signal;
  const post = (path: string, timeoutMs = 1000) => send(new URL(base + path), '{}', {}, timeoutMs, signal);
  try {
    assert.deepEqual(await post('/ok'), { kind: 'delivered', status: 204 });
    assert.deepEqual(await post('/moved'), { kind: 'http_error', status: 302 });
    assert.deepEqual(await post('/busy'), { kind: 'http_error', status: 429, retryAfter: '7' });
    assert.deepEqual(await post('/slow', 100), { kind: 'timeout' });
    assert.ok(!paths.includes('/elsewhere'), 'the redirect was not followed');
    server.close();
    server.closeAllConnections();
    assert.deepEqual(await post('/ok'), { kind: 'network_error', code: 'ECONNREFUSED' });
  } finally {
    server.closeAllConnections();
    server.close();
    await agent.close();
  }
});
