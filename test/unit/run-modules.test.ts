// What `konsumerator run` loads: only the operator's code and the libraries it needs for Consumer
// resources. Not @kubernetes/client-node (its generated API costs tens of MiB; run talks to the API
// server through src/kube), not the simulator, benchmark, test-plane or load-generator code, not a Kafka client
// (loaded when a Consumer first reads with mode kafka, see metrics-sources.test.ts), and not the CEL
// evaluator (guest mode's checks load it when they read a ConfigMap).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { REPO_ROOT } from '../../src/testplane/binaries.js';

interface Loaded {
  /** Project folders of src/ whose modules were loaded. */
  folders: string[];
  /** Packages of node_modules that were loaded. */
  packages: string[];
}

/** A fresh process runs `script` after `import('./src/cli/run.ts')`; what it loaded before and after. */
function loadedBy(script: string): { run: Loaded; after: Loaded } {
  // A resolve hook sees every module, ES or CommonJS, imported or required.
  const program = `
    import { registerHooks } from 'node:module';
    const urls = new Set();
    registerHooks({
      resolve(specifier, context, next) {
        const result = next(specifier, context);
        urls.add(result.url);
        return result;
      },
    });
    const root = new URL('./', 'file://' + process.cwd() + '/').href;
    const loaded = () => {
      const files = [...urls].filter((u) => u.startsWith(root)).map((u) => u.slice(root.length));
      const unique = (list) => [...new Set(list)].sort();
      return {
        folders: unique(files.filter((f) => f.startsWith('src/')).map((f) => f.split('/')[1])),
        packages: unique(
          files
            .filter((f) => f.startsWith('node_modules/'))
            .map((f) => f.split('/').slice(1, f.split('/')[1].startsWith('@') ? 3 : 2).join('/')),
        ),
      };
    };
    await import('./src/cli/run.ts');
    const run = loaded();
    ${script}
    console.log(JSON.stringify({ run, after: loaded() }));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as { run: Loaded; after: Loaded };
}

const KAFKA_CLIENTS = ['@platformatic/kafka', 'kafkajs'];
const CEL = '@marcbachmann/cel-js';

test('run loads the operator, no simulator, benchmark, test-plane or load-generator code, no Kafka client and no CEL evaluator', () => {
  const { run, after } = loadedBy(`
    const { consumerFromConfigMap, GuestAnnotation } = await import('./src/api/guest.ts');
    const { baseSpec } = await import('./test/support/consumers.ts');
    const { stringify } = await import('yaml');
    const decoded = consumerFromConfigMap({
      metadata: { name: 'orders', namespace: 'default', uid: 'u', annotations: { [GuestAnnotation.managed]: 'true' } },
      data: { 'consumer.yaml': stringify(baseSpec()) },
    });
    if (decoded.problems.length > 0) throw new Error(JSON.stringify(decoded.problems));
  `);
  for (const folder of ['sim', 'bench', 'testplane', 'loadgen'])
    assert.ok(!run.folders.includes(folder), `src/${folder} loaded: ${run.folders.join(', ')}`);
  assert.ok(run.folders.includes('controller'), 'the operator itself was loaded');
  // The operator's own Kubernetes client (src/kube); client-node is for the CLI's other verbs and tests.
  assert.ok(run.folders.includes('kube'), 'the Kubernetes client was loaded');
  assert.ok(!run.packages.includes('@kubernetes/client-node'), '@kubernetes/client-node loaded');
  // undici is the webhook notifications' HTTP client, loaded on their first delivery.
  assert.ok(!run.packages.includes('undici'), 'undici loaded without webhook targets');
  for (const client of KAFKA_CLIENTS) assert.ok(!run.packages.includes(client), `${client} loaded`);
  assert.ok(!run.packages.includes(CEL), 'the CEL evaluator loaded without guest mode');
  // Guest mode's checks still have it: a ConfigMap read evaluates the schema's rules.
  assert.ok(after.packages.includes(CEL), 'a guest ConfigMap read loads the CEL evaluator');
});
