// The commands the demo prints for a second terminal: each line can be pasted into a POSIX shell
// as it is (paths quoted when they need it), with the kubectl the demo built when it runs the
// local control plane.
import { Annotation } from '../api/constants.js';

/** `word` quoted for sh/bash when it has anything but safe characters. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface DemoCommandOptions {
  /** The kubectl to run: a path, or `kubectl` from the PATH. */
  kubectl: string;
  /** The kubeconfig to use, when not the user's default one. */
  kubeconfig?: string;
  namespace: string;
  consumer: string;
  /** Guest mode: the Consumer is an annotated ConfigMap of the namespace, not a Consumer resource. */
  guest?: boolean;
}

/** What to look at while the demo runs: the Consumers, their instances and sizes, the events. */
export function demoCommands({
  kubectl,
  kubeconfig,
  namespace,
  consumer,
  guest = false,
}: DemoCommandOptions): string[] {
  const prefix = `${kubeconfig ? `KUBECONFIG=${shellQuote(kubeconfig)} ` : ''}${shellQuote(kubectl)}`;
  const ns = `-n ${shellQuote(namespace)}`;
  // A JSONPath key with dots in it needs them escaped.
  const annotation = (key: string) => `.metadata.annotations.${key.replace(/\./g, '\\.')}`;
  const sizes = [
    'INSTANCE:.metadata.name',
    `PARTITIONS:${annotation(Annotation.partition)}`,
    'CPU:.spec.template.spec.containers[0].resources.requests.cpu',
    'MEMORY:.spec.template.spec.containers[0].resources.requests.memory',
    `STATE:${annotation(Annotation.scalingStatus)}`,
  ].join(',');
  const kind = guest ? 'ConfigMap' : 'Consumer';
  return [
    guest ? `${prefix} get configmap ${shellQuote(consumer)} ${ns} -o yaml` : `${prefix} get consumers -A`,
    `${prefix} get deployments ${ns} -o ${shellQuote(`custom-columns=${sizes}`)}`,
    `${prefix} describe ${kind.toLowerCase()} ${shellQuote(consumer)} ${ns}`,
    `${prefix} get events ${ns} --field-selector involvedObject.kind=${kind}`,
  ];
}
