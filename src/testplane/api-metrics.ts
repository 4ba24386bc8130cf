// The API server's own request counters (apiserver_request_total), so tests and benchmarks count
// the operator's writes from the server's view rather than from the operator's.
import { readFileSync } from 'node:fs';
import https from 'node:https';

export interface ApiServerAccess {
  apiServerUrl: string;
  caFile: string;
  adminToken: string;
}

/** apiserver_request_total summed by "VERB group/resource[/subresource]". */
export async function apiRequestCounts(access: ApiServerAccess): Promise<Map<string, number>> {
  const text = await new Promise<string>((resolve, reject) => {
    https
      .get(
        `${access.apiServerUrl}/metrics`,
        { ca: readFileSync(access.caFile), headers: { Authorization: `Bearer ${access.adminToken}` } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve(body));
        },
      )
      .on('error', reject);
  });
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const key = `${labels.verb} ${labels.group ?? ''}/${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return counts;
}

const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY', 'CREATE', 'UPDATE']);

/**
 * Write requests that only the operator makes, between two readings: to Deployments (not their
 * status, which the controller-manager writes), to pods' resize subresource (in-place resizes) and
 * to resources of `operatorGroup` (Consumers and their status). Events are left out: the
 * controller-manager records events too.
 */
export function operatorWrites(
  before: Map<string, number>,
  after: Map<string, number>,
  operatorGroup: string,
): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [key, value] of after) {
    const [verb, resource] = key.split(' ') as [string, string];
    if (!WRITE_VERBS.has(verb)) continue;
    const operators = resource === 'apps/deployments' || resource === '/pods/resize';
    if (!operators && !resource.startsWith(`${operatorGroup}/`)) continue;
    const delta = value - (before.get(key) ?? 0);
    if (delta > 0) result[key] = delta;
  }
  return result;
}

export const totalWrites = (writes: Record<string, number>) =>
  Object.values(writes).reduce((a, b) => a + b, 0);
