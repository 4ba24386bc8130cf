// The policies `konsumerator simulate --compare` knows, by name: here, apart from the simulator,
// so that the command line can list them in its help without loading the simulator.
export const BASELINE_NAMES = [
  'oracle',
  'original',
  'original-tuned',
  'static',
  'vpa',
  'vpa-tuned',
  'keda',
  'keda-tuned',
  'in-place',
  'rollout',
  'naive',
  'balanced',
] as const;

export type BaselineName = (typeof BASELINE_NAMES)[number];
