// Load generator and simulated consumer group for the metrics side of the test plane and the
// demo: real messages into a real topic, real committed offsets for a real group. See
// docs/testplane.md, "Load generator and simulated consumer group".
export { profileRate, RateIntegrator, type LoadProfile, type RateFunction } from './profile.js';
export { runLoad, type LoadProgress, type LoadResult, type RunLoadOptions } from './producer.js';
export {
  allocate,
  consumeStep,
  instanceOf,
  instancesFromDeployments,
  instancesFromPods,
  runConsumerGroup,
  type ConsumerGroupResult,
  type ConsumerGroupTick,
  type ConsumerInstance,
  type InstanceSource,
  type RunConsumerGroupOptions,
} from './consumer-group.js';
