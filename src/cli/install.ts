// Installs objects into a cluster with server-side apply. The CRD goes through a raw request:
// client-node's typed serializer drops the `x-kubernetes-*` schema extensions it does not map.
import https from 'node:https';
import { ApiextensionsV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { consumerCrd } from '../api/crd.js';
import { CRD_NAME, FIELD_MANAGER } from '../api/constants.js';

/** The REST path of a named object, for the few kinds konsumerator installs. */
export function objectPath(object: KubernetesObject): string {
  const { apiVersion = '', kind = '', metadata } = object;
  const name = encodeURIComponent(metadata?.name ?? '');
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const namespaced = metadata?.namespace ? `/namespaces/${encodeURIComponent(metadata.namespace)}` : '';
  const plural = kind === 'CustomResourceDefinition' ? 'customresourcedefinitions' : `${kind.toLowerCase()}s`;
  return `${base}${namespaced}/${plural}/${name}`;
}

/** Server-side applies the object exactly as given (JSON is valid YAML for apply-patch+yaml). */
export async function applyRaw(
  kubeConfig: KubeConfig,
  object: KubernetesObject,
  fieldManager = FIELD_MANAGER,
): Promise<unknown> {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new Error('no cluster in the kubeconfig');
  const url = new URL(`${server}${objectPath(object)}`);
  url.searchParams.set('fieldManager', fieldManager);
  url.searchParams.set('force', 'true');
  const body = JSON.stringify(object);
  const options: https.RequestOptions = {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/apply-patch+yaml', 'Content-Length': Buffer.byteLength(body) },
  };
  await kubeConfig.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = https.request(url, options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        const parsed = text ? (JSON.parse(text) as { message?: string }) : {};
        if ((res.statusCode ?? 500) >= 300) {
          reject(Object.assign(new Error(parsed.message ?? text), { code: res.statusCode, body: parsed }));
        } else resolve(parsed);
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function applyObjects(
  kubeConfig: KubeConfig,
  objects: readonly KubernetesObject[],
  fieldManager = FIELD_MANAGER,
): Promise<void> {
  for (const object of objects) await applyRaw(kubeConfig, object, fieldManager);
}

export async function installCrd(
  kubeConfig: KubeConfig,
  fieldManager = FIELD_MANAGER,
  timeoutMs = 30_000,
): Promise<void> {
  await applyRaw(kubeConfig, consumerCrd() as KubernetesObject, fieldManager);
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const end = Date.now() + timeoutMs;
  for (;;) {
    const crd = await api.readCustomResourceDefinition({ name: CRD_NAME });
    if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    if (Date.now() > end) throw new Error(`CRD ${CRD_NAME} not established after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
