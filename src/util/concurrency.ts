// A small promise pool (no maintained dependency is worth it for ten lines).

/** Runs `run` over the items with at most `size` in flight (a pool: one slow write holds up no batch). */
export async function withConcurrency<T>(
  items: readonly T[],
  size: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}
