// The checks that keep the try-it tools (demo, loadgen, simulate-group) from harming a real
// cluster or a real Kafka: the demo works only in a namespace it created itself, loadgen writes
// only to a topic it created, and simulate-group commits only for a group that has no offsets yet.
// Each refusal says what would have happened and how to go ahead anyway.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { KafkaAdmin } from '../kafka/client.js';
import { describeApiError } from '../controller/kube.js';

/** The label the demo puts on the namespace it creates; it works in no other. */
export const DEMO_NAMESPACE_LABEL = 'app.kubernetes.io/managed-by';
export const DEMO_NAMESPACE_LABEL_VALUE = 'konsumerator-demo';

/**
 * Creates the demo's namespace, labelled as the demo's; an existing namespace is used only when it
 * carries that label (a namespace of the demo's earlier run), else the demo refuses to touch it.
 */
export async function claimDemoNamespace(
  kubeConfig: KubeConfig,
  namespace: string,
): Promise<'created' | 'reused'> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  try {
    const existing = await core.readNamespace({ name: namespace });
    if (existing.metadata?.labels?.[DEMO_NAMESPACE_LABEL] === DEMO_NAMESPACE_LABEL_VALUE) return 'reused';
    throw new Error(
      `namespace ${namespace} exists and was not created by the demo (it lacks the label ` +
        `${DEMO_NAMESPACE_LABEL}=${DEMO_NAMESPACE_LABEL_VALUE}); the demo works only in a namespace of its own: ` +
        'pick a new one with --namespace',
    );
  } catch (error) {
    if (describeApiError(error).code !== 404) throw error;
  }
  await core.createNamespace({
    body: {
      metadata: { name: namespace, labels: { [DEMO_NAMESPACE_LABEL]: DEMO_NAMESPACE_LABEL_VALUE } },
    },
  });
  return 'created';
}

/** Refuses a topic that exists: its consumers would read what loadgen writes. */
export async function refuseExistingTopic(admin: KafkaAdmin, topic: string): Promise<void> {
  if (!(await admin.listTopics()).includes(topic)) return;
  throw new Error(
    `topic ${topic} already exists: the load generator would add its test messages (64 bytes of "x" each) ` +
      'to it, and every consumer of the topic would read them. Use a new topic name (it is created), or ' +
      'pass --force to write to this one anyway',
  );
}

/**
 * Refuses a group that has committed offsets for the topic: the simulated group commits offsets
 * without reading any message, so a real group's consumers would skip every message it passes.
 */
export async function refuseCommittedGroup(admin: KafkaAdmin, groupId: string, topic: string): Promise<void> {
  const committed = await admin.committedOffsets(groupId, topic);
  if (committed.size === 0) return;
  const partitions = [...committed.keys()].sort((a, b) => a - b);
  throw new Error(
    `group ${groupId} already has committed offsets for topic ${topic} (partitions ${partitions.join(',')}): ` +
      'simulate-group moves a group forward without reading messages, so the consumers of a real group ' +
      'would skip every message it passes. Use a group of its own, or pass --force if this group is a test group',
  );
}
