// The operator's client gives up a watch that receives nothing for DEFAULT_WATCH_IDLE_MS. On the
// real API server, a watch of a namespace where nothing changes receives its first bookmark only
// after tens of seconds (the watch cache sends quiet watchers one about once a minute), so the
// deadline must be longer than that gap, or every quiet watch is ended and everything listed
// again. This watch runs with the client's default deadline and must live to see a bookmark.
import assert from 'node:assert/strict';
import { test } from '../support/timed.js';
import { DEFAULT_REQUEST_MS, DEFAULT_WATCH_IDLE_MS, KubeClient } from '../../src/kube/client.js';
import { kubeConfig, newNamespace } from '../support/env.js';

test(
  'a quiet watch gets a bookmark from the API server before the client’s idle deadline, later than the request deadline',
  { timeout: DEFAULT_WATCH_IDLE_MS + 30_000 },
  async (t) => {
    const namespace = await newNamespace('quiet-watch');
    const client = KubeClient.of(kubeConfig());
    const path = `/api/v1/namespaces/${namespace}/configmaps`;
    const list = await client.get<{ metadata: { resourceVersion: string } }>(path);
    const stop = new AbortController();
    const started = performance.now();
    let bookmarkAfterMs: number | undefined;
    let other = 0;
    // Resolves when stopped at the first bookmark; rejects if the idle deadline ends it first.
    await client.watch(
      path,
      { allowWatchBookmarks: true, timeoutSeconds: 600, resourceVersion: list.metadata.resourceVersion },
      (event) => {
        if (event.type !== 'BOOKMARK') return void other++;
        bookmarkAfterMs ??= performance.now() - started;
        stop.abort();
      },
      stop.signal,
    );
    assert.equal(other, 0, 'nothing changed in the namespace');
    assert.ok(bookmarkAfterMs !== undefined, 'the watch ended without a bookmark');
    t.diagnostic(`first bookmark of a quiet watch after ${(bookmarkAfterMs / 1000).toFixed(1)} s`);
    // The old deadline, the request deadline, would have ended this watch before its bookmark.
    assert.ok(
      bookmarkAfterMs > DEFAULT_REQUEST_MS,
      `the bookmark came after ${bookmarkAfterMs.toFixed(0)} ms, within ${DEFAULT_REQUEST_MS} ms`,
    );
  },
);
