// The global budget (`resourcePolicy.globalPolicy.maxAllowed`): a real cap on the sum of the
// requests of all pods of all instances, shared deterministically. The original reset its pool every
// reconcile, so totals grew past the cap.

export interface BudgetClaim {
  id: number;
  /** What the instance holds now. */
  current: number;
  /** What it would hold after this sync without a budget. */
  proposed: number;
  /** Never cut below this (the policy minimum). */
  floor: number;
  lagging: boolean;
}

/**
 * Grants each claim an amount so that the total stays within `cap`:
 * 1. decreases are always granted, unchanged instances keep what they have;
 * 2. what is left is shared among the increases max-min fairly (water-filling, in whole units,
 *    remainders by instance id), so a big request cannot starve small ones;
 * 3. if the instances already hold more than the cap (the cap was lowered), instances without
 *    lag give back first, largest surplus over their floor first, never below their floor.
 */
export function allocateBudget(claims: readonly BudgetClaim[], cap: number): Map<number, number> {
  const sorted = [...claims].sort((a, b) => a.id - b.id);
  const granted = new Map(sorted.map((c) => [c.id, Math.min(c.current, c.proposed)]));
  const held = [...granted.values()].reduce((a, b) => a + b, 0);
  if (held > cap) {
    let excess = held - cap;
    const givers = [...sorted].sort(
      (a, b) =>
        Number(a.lagging) - Number(b.lagging) ||
        granted.get(b.id)! - b.floor - (granted.get(a.id)! - a.floor) ||
        a.id - b.id,
    );
    for (const claim of givers) {
      if (excess <= 0) break;
      const cut = Math.min(excess, Math.max(0, granted.get(claim.id)! - claim.floor));
      granted.set(claim.id, granted.get(claim.id)! - cut);
      excess -= cut;
    }
    return granted;
  }
  let available = cap - held;
  let needy = sorted.filter((c) => c.proposed > granted.get(c.id)!);
  while (available > 0 && needy.length > 0) {
    const share = Math.max(1, Math.floor(available / needy.length));
    for (const claim of needy) {
      const need = claim.proposed - granted.get(claim.id)!;
      const give = Math.min(need, share, available);
      granted.set(claim.id, granted.get(claim.id)! + give);
      available -= give;
      if (available <= 0) break;
    }
    needy = needy.filter((c) => c.proposed > granted.get(c.id)!);
  }
  return granted;
}

/**
 * The pods that run an instance, each at the instance's size: its Deployment's replicas, whether
 * each pod consumes the instance's partitions (Partitioned) or a share of them (Balanced, where
 * the sharing replicas are the pods). The budget counts an instance's size once per pod.
 */
export function podsOf(instance: { pods?: number; replicas?: number }): number {
  return Math.max(1, instance.pods ?? instance.replicas ?? 1);
}

/** A claim in per-pod amounts by an instance of `pods` pods. */
export interface PodBudgetClaim extends BudgetClaim {
  pods: number;
}

/**
 * allocateBudget over every pod: an instance claims its per-pod amounts once per pod, and each of
 * its pods gets an equal share of what the instance is granted (rounded down). Per-pod grants.
 */
export function allocatePodBudget(claims: readonly PodBudgetClaim[], cap: number): Map<number, number> {
  const granted = allocateBudget(
    claims.map((c) => ({
      id: c.id,
      current: c.current * c.pods,
      proposed: c.proposed * c.pods,
      floor: c.floor * c.pods,
      lagging: c.lagging,
    })),
    cap,
  );
  for (const c of claims) if (c.pods > 1) granted.set(c.id, Math.floor(granted.get(c.id)! / c.pods));
  return granted;
}
