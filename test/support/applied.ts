// What the API server would hold after a plan's creates, updates and deletes, fully rolled out:
// the next reconcile's input in tests of the pure plan.
import type { V1Deployment } from '@kubernetes/client-node';
import type { Action } from '../../src/plan/consumer-plan.js';

let serial = 0;

export function applied(actions: readonly Action[], existing: readonly V1Deployment[] = []): V1Deployment[] {
  const byName = new Map(existing.map((d) => [d.metadata!.name!, d]));
  for (const action of actions) {
    if (action.type === 'delete') byName.delete(action.name);
    else {
      const previous = byName.get(action.deployment.metadata!.name!);
      const generation = (previous?.metadata?.generation ?? 0) + 1;
      byName.set(action.deployment.metadata!.name!, {
        ...structuredClone(action.deployment),
        metadata: {
          ...structuredClone(action.deployment.metadata),
          uid: previous?.metadata?.uid ?? `d${serial++}`,
          resourceVersion: String(100 + serial++),
          generation,
        },
        status: { observedGeneration: generation, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
      });
    }
  }
  return [...byName.values()];
}
