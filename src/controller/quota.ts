// A ResourceQuota refusal from the API server, read from its 403 message (the API server's own
// words, not a tenant's endpoint), so the Consumer can say which quota and how far over:
//   deployments.apps "orders-3" is forbidden: exceeded quota: deployments, requested:
//   count/deployments.apps=1, used: count/deployments.apps=2, limited: count/deployments.apps=2
// Pure.

export interface QuotaResource {
  resource: string;
  requested: string;
  used: string;
  limited: string;
}

export interface QuotaRefusal {
  quota: string;
  resources: QuotaResource[];
}

const EXCEEDED = /exceeded quota: ([^,\s]+), requested: (\S+), used: (\S+), limited: (\S+)/;

function pairs(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

/** The refusal in a 403 message, if it is a ResourceQuota's. */
export function parseQuotaRefusal(code: number | undefined, message: string): QuotaRefusal | undefined {
  if (code !== 403) return undefined;
  const match = EXCEEDED.exec(message);
  if (!match) return undefined;
  const [, quota, requestedText, usedText, limitedText] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  const requested = pairs(requestedText);
  const used = pairs(usedText);
  const limited = pairs(limitedText);
  const resources = [...limited.keys()].map((resource) => ({
    resource,
    requested: requested.get(resource) ?? '?',
    used: used.get(resource) ?? '?',
    limited: limited.get(resource)!,
  }));
  return { quota, resources };
}

const INTEGER = /^\d+$/;

/** `ResourceQuota deployments: count/deployments.apps 2 of 2 used, 1 more asked (1 over)`. */
export function describeQuotaRefusal(refusal: QuotaRefusal, namespace: string): string {
  const parts = refusal.resources.map(({ resource, requested, used, limited }) => {
    const over =
      INTEGER.test(requested) && INTEGER.test(used) && INTEGER.test(limited)
        ? ` (${Number(used) + Number(requested) - Number(limited)} over)`
        : '';
    return `${resource} ${used} of ${limited} used, ${requested} more asked${over}`;
  });
  return `ResourceQuota ${namespace}/${refusal.quota}: ${parts.join('; ')}`;
}
