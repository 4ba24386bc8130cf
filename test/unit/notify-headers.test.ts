// Webhook headers from files (mounted Secrets): the --notify-header flag, the names refused, the
// checks at start, and the header a real HTTP receiver gets, re-read after the file changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { headerNameProblem, parseNotifyHeader } from '../../src/notify/secret-headers.js';
import { Notifier, notifyTargets } from '../../src/notify/notifier.js';
import type { DeliveryObserver } from '../../src/notify/webhook.js';

const dir = mkdtempSync(join(tmpdir(), 'notify-headers-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function secretFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

test('--notify-header: <target>=<Header-Name>:<file>, the target numbered in --notify-url order', () => {
  assert.deepEqual(parseNotifyHeader('2=Authorization:/etc/notify/token', 2), {
    target: 1,
    name: 'Authorization',
    path: '/etc/notify/token',
  });
  assert.deepEqual(parseNotifyHeader('1=X-Api-Key:/a:b', 1), { target: 0, name: 'X-Api-Key', path: '/a:b' });
  assert.throws(
    () => parseNotifyHeader('Authorization:/etc/token', 1),
    /expected <target>=<Header-Name>:<file>/,
  );
  assert.throws(() => parseNotifyHeader('1=Authorization:', 1), /expected <target>=/);
  assert.throws(
    () => parseNotifyHeader('3=Authorization:/t', 2),
    /target 3 does not exist; targets are numbered 1 to 2/,
  );
  assert.throws(() => parseNotifyHeader('0=Authorization:/t', 2), /target 0 does not exist/);
});

test('header names: tokens only; the client and CloudEvents headers cannot be replaced', () => {
  assert.equal(headerNameProblem('Authorization'), undefined);
  assert.equal(headerNameProblem('X-Scope-OrgID'), undefined);
  assert.match(headerNameProblem('Bad Name')!, /is not a header name/);
  assert.match(headerNameProblem('')!, /is not a header name/);
  for (const name of ['Host', 'content-type', 'Content-Length', 'Transfer-Encoding', 'Connection'])
    assert.match(headerNameProblem(name)!, /cannot be replaced/, name);
  assert.match(headerNameProblem('ce-type')!, /CloudEvents attributes/);
  assert.match(headerNameProblem('CE-Source')!, /CloudEvents attributes/);
  assert.throws(() => parseNotifyHeader('1=Host:/t', 1), /--notify-header "1=Host:\/t": Host is set by/);
});

test('at start: a missing, empty or multi-line file, or a name given twice, is a clear error', () => {
  const url = ['http://receiver.example/hook'];
  const token = secretFile('token', 'Bearer s3cret\n');
  assert.throws(
    () => notifyTargets(url, [`1=Authorization:${join(dir, 'absent')}`]),
    /cannot read .*absent for header Authorization: ENOENT/,
  );
  assert.throws(() => notifyTargets(url, [`1=Authorization:${secretFile('empty', '\n')}`]), /is empty/);
  assert.throws(
    () => notifyTargets(url, [`1=Authorization:${secretFile('two', 'a\nb\n')}`]),
    /more than one line/,
  );
  assert.throws(
    () => notifyTargets(url, [`1=Authorization:${token}`, `1=authorization:${token}`]),
    /authorization is given twice for target 1/,
  );
  assert.throws(
    () => notifyTargets(url, [`1=Authorization:${secretFile('leaky', 'Bearer s3cret\nmore\n')}`]),
    (e: Error) => /more than one line/.test(e.message) && !e.message.includes('s3cret'),
    'the value is not in the error',
  );
  const [target] = notifyTargets(url, [`1=Authorization:${token}`]);
  assert.deepEqual(target!.headers, [{ target: 0, name: 'Authorization', path: token }]);
  assert.equal(notifyTargets(url)[0]!.headers, undefined);
});

test('a real receiver gets the header from the file, the new value after it changes, the last one while it is gone', async () => {
  const seen: Array<string | undefined> = [];
  const server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    req.resume();
    res.writeHead(req.headers.authorization?.startsWith('Bearer ') ? 204 : 401).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  const token = secretFile('rotating', 'Bearer first-secret\n');
  const logged: string[] = [];
  const log = pino(
    { level: 'debug' },
    new Writable({ write: (chunk, _enc, done) => (logged.push(String(chunk)), done()) }),
  );
  const outcomes: string[] = [];
  const observer: DeliveryObserver = {
    attempt: (_t, outcome) => outcomes.push(outcome),
    dropped: () => {},
    depth: () => {},
  };
  const notifier = new Notifier(notifyTargets([url], [`1=Authorization:${token}`]), observer, log, {
    retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
  });
  const source = { namespace: 'team-a', name: 'orders', uid: 'u-1' };
  const publish = async (count: number) => {
    notifier.publish({ type: 'consumer.stalled', data: { partitions: [1] } }, source, new Date());
    // Up to 10 s: the first delivery loads undici (a busy machine may take a while). The outcome is
    // recorded once the answer is back, after the receiver has seen the request.
    for (let i = 0; i < 2000 && outcomes.length < count; i++) await new Promise((r) => setTimeout(r, 5));
  };
  try {
    await publish(1);
    writeFileSync(token, 'Bearer second-secret');
    await publish(2);
    unlinkSync(token);
    await publish(3);
    assert.deepEqual(seen, ['Bearer first-secret', 'Bearer second-secret', 'Bearer second-secret']);
    assert.deepEqual(outcomes, ['delivered', 'delivered', 'delivered']);
    const text = logged.join('');
    assert.match(
      text,
      /webhook header kept its last value: cannot read .*rotating for header Authorization: ENOENT/,
    );
    assert.doesNotMatch(text, /first-secret|second-secret/, 'no value in the log');
  } finally {
    await notifier.close();
    server.closeAllConnections();
    server.close();
  }
});
