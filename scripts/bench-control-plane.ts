// `npm run bench:control-plane`: only the control-plane part of `npm run bench`, printed.
//   --instances N   instances of the convergence run (default 1000)
//   --deployments N Deployments of the memory run (default 10000)
import { runControlPlaneBench } from '../src/bench/control-plane.js';
import { renderControlPlaneSection } from '../src/bench/control-plane-report.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
};
const t0 = performance.now();
const results = await runControlPlaneBench({
  ...(arg('--instances') !== undefined ? { instances: arg('--instances')! } : {}),
  ...(arg('--deployments') !== undefined ? { memoryDeployments: arg('--deployments')! } : {}),
  progress: (line) => console.error(`[${((performance.now() - t0) / 1000).toFixed(0)} s] ${line}`),
});
console.log(JSON.stringify(results, null, 2));
console.log(renderControlPlaneSection(results));
process.exit(0);
