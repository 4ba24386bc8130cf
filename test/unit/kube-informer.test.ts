// The informer (src/kube/informer.ts) against a scripted API server: paged lists from one
// snapshot, watches resumed from the last resourceVersion (bookmarks included), a 410 Gone that
// relists and reports what vanished as deleted, selectors on list and watch, and errors handed to
// the caller. Against the real API server the e2e tests exercise it through the operator.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { KubeClient } from '../../src/kube/client.js';
import { Informer, type KubeObject } from '../../src/kube/informer.js';

const obj = (name: string, rv: string, namespace = 'n'): KubeObject => ({
  metadata: { name, namespace, resourceVersion: rv },
});

interface Script {
  /** Answers to list requests, in order (each a page). */
  lists: { items: KubeObject[]; resourceVersion: string; continue?: string }[];
  /** Answers to watch requests, in order: events (the stream then ends), or an HTTP status. */
  watches: ({ type: string; object: unknown }[] | number)[];
}

async function apiServer(script: Script) {
  const requests: URL[] = [];
  const s = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    requests.push(url);
    if (url.searchParams.get('watch') === 'true') {
      const next = script.watches.shift();
      if (next === undefined) return void res.writeHead(200).flushHeaders(); // hangs until closed
      if (typeof next === 'number')
        return void res.writeHead(next).end(JSON.stringify({ kind: 'Status', code: next, message: 'gone' }));
      res.writeHead(200);
      return void res.end(next.map((e) => JSON.stringify(e) + '\n').join(''));
    }
    const page = script.lists.shift()!;
    res.writeHead(200).end(
      JSON.stringify({
        metadata: {
          resourceVersion: page.resourceVersion,
          ...(page.continue ? { continue: page.continue } : {}),
        },
        items: page.items,
      }),
    );
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    client: new KubeClient({ server: `http://127.0.0.1:${(s.address() as AddressInfo).port}` }),
    requests,
    close: async () => {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    },
  };
}

const until = async (ok: () => boolean) => {
  const end = Date.now() + 5_000;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('lists in pages, watches from the list, resumes after bookmarks, and relists after 410 Gone with deletes', async () => {
  const api = await apiServer({
    lists: [
      { items: [obj('a', '1')], resourceVersion: '10', continue: 'page2' },
      { items: [obj('b', '2')], resourceVersion: '10' },
      // After the 410: b vanished, a changed, c is new.
      { items: [obj('a', '30'), obj('c', '31')], resourceVersion: '40' },
    ],
    watches: [
      [
        { type: 'MODIFIED', object: obj('a', '11') },
        { type: 'BOOKMARK', object: { metadata: { resourceVersion: '20' } } },
      ],
      [{ type: 'ERROR', object: { kind: 'Status', code: 410, message: 'too old' } }],
    ],
  });
  const informer = new Informer<KubeObject>(api.client, {
    path: '/apis/apps/v1/deployments',
    labelSelector: 'team=x',
    pageSize: 1,
    minWatchSeconds: 60,
  });
  const events: string[] = [];
  for (const kind of ['add', 'update', 'delete'] as const)
    informer.on(kind, (o) => events.push(`${kind} ${o.metadata?.name}@${o.metadata?.resourceVersion}`));
  try {
    await informer.start();
    assert.deepEqual(events.splice(0), ['add a@1', 'add b@2']);
    await until(() => events.length >= 4);
    assert.deepEqual(events, ['update a@11', 'delete b@2', 'update a@30', 'add c@31']);
    assert.deepEqual(
      informer
        .list('n')
        .map((o) => o.metadata?.name)
        .sort(),
      ['a', 'c'],
    );
    assert.equal(informer.get('a', 'n')?.metadata?.resourceVersion, '30');
    await until(() => api.requests.filter((r) => r.searchParams.get('watch')).length >= 3);
    const lists = api.requests.filter((r) => !r.searchParams.get('watch'));
    const watches = api.requests.filter((r) => r.searchParams.get('watch'));
    assert.deepEqual(
      lists.map((r) => [
        r.searchParams.get('labelSelector'),
        r.searchParams.get('limit'),
        r.searchParams.get('continue'),
      ]),
      [
        ['team=x', '1', null],
        ['team=x', '1', 'page2'],
        ['team=x', '1', null],
      ],
    );
    // From the list, from the bookmark, and from the relist.
    assert.deepEqual(
      watches.map((r) => r.searchParams.get('resourceVersion')),
      ['10', '20', '40'],
    );
    for (const w of watches) {
      assert.equal(w.searchParams.get('labelSelector'), 'team=x');
      assert.equal(w.searchParams.get('allowWatchBookmarks'), 'true');
      const t = Number(w.searchParams.get('timeoutSeconds'));
      assert.ok(t >= 60 && t < 120, `timeoutSeconds ${t}`);
    }
  } finally {
    informer.stop();
    await api.close();
  }
});

test('a watch refused with 410 relists; another error goes to the error handler, and start() resumes without a list', async () => {
  const api = await apiServer({
    lists: [
      { items: [obj('a', '1')], resourceVersion: '5' },
      { items: [], resourceVersion: '8' },
    ],
    watches: [410, 500, [{ type: 'ADDED', object: obj('d', '9') }]],
  });
  const informer = new Informer<KubeObject>(api.client, { path: '/api/v1/pods', minWatchSeconds: 60 });
  const events: string[] = [];
  const errors: unknown[] = [];
  informer.on('add', (o) => events.push(`add ${o.metadata?.name}`));
  informer.on('delete', (o) => events.push(`delete ${o.metadata?.name}`));
  informer.onError((e) => errors.push(e));
  try {
    await informer.start();
    await until(() => errors.length === 1);
    assert.deepEqual(events, ['add a', 'delete a']);
    assert.equal((errors[0] as { code?: number }).code, 500);
    await informer.start();
    await until(
      () => events.length === 3 && api.requests.filter((r) => r.searchParams.get('watch')).length >= 4,
    );
    assert.equal(events[2], 'add d');
    const lists = api.requests.filter((r) => !r.searchParams.get('watch'));
    assert.equal(lists.length, 2, 'the restart resumed the watch from resourceVersion 8 without a list');
    const watches = api.requests.filter((r) => r.searchParams.get('watch'));
    assert.deepEqual(
      watches.slice(0, 4).map((r) => r.searchParams.get('resourceVersion')),
      ['5', '8', '8', '9'],
    );
  } finally {
    informer.stop();
    await api.close();
  }
});
