// The demo's commands can be pasted into a shell: paths with spaces or quotes stay one word.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { demoCommands, shellQuote } from '../../src/cli/demo-commands.js';

/** The words bash makes of a line (printf prints each argument on its own line). */
const words = (line: string) =>
  execFileSync('bash', ['-c', `printf '%s\\n' ${line}`], { encoding: 'utf8' })
    .split('\n')
    .slice(0, -1);

describe('demo commands', () => {
  it('quotes only what needs it, and bash reads back the same word', () => {
    assert.equal(shellQuote('/root/.cache/konsumerator/kubectl'), '/root/.cache/konsumerator/kubectl');
    for (const word of ['/tmp/a b/kube config', "it's", 'x[0].y', '$HOME', 'a\\b']) {
      assert.deepEqual(words(shellQuote(word)), [word]);
    }
  });

  it('every line runs the given kubectl with the given kubeconfig', () => {
    const lines = demoCommands({
      kubectl: '/opt/k tools/kubectl',
      kubeconfig: '/tmp/plane dir/admin.kubeconfig',
      namespace: 'konsumerator-demo',
      consumer: 'orders',
    });
    assert.equal(lines.length, 4);
    for (const line of lines) {
      assert.ok(
        line.startsWith("KUBECONFIG='/tmp/plane dir/admin.kubeconfig' '/opt/k tools/kubectl' "),
        line,
      );
    }
    assert.equal(
      lines[0],
      "KUBECONFIG='/tmp/plane dir/admin.kubeconfig' '/opt/k tools/kubectl' get consumers -A",
    );
  });

  it('without a kubeconfig, the default one', () => {
    const [first] = demoCommands({ kubectl: 'kubectl', namespace: 'ns', consumer: 'c' });
    assert.equal(first, 'kubectl get consumers -A');
  });
});
