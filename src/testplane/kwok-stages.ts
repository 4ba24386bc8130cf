// Prepares testplane/kwok/pod-stages.yaml for kwok: the in-place resize stages need to know the
// fake nodes (kwok's jq sees one pod at a time) and share one jq library, which kwok has no way to
// include. See the header of pod-stages.yaml.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { cpuMillis, memoryBytes } from '../util/units.js';
import { REPO_ROOT } from './binaries.js';
import type { FakeNodeSpec } from './fake-nodes.js';

const STAGES_FILE = join(REPO_ROOT, 'testplane', 'kwok', 'pod-stages.yaml');
const JQ_LIBRARY_FILE = join(REPO_ROOT, 'testplane', 'kwok', 'resize.jq');
const PARAMETER_ANNOTATION = 'kwok.konsumerator.local/';
const PARAMETER = /@([A-Z]+)@/g;

/** What the stages' jq knows about a node: cpu in millicores, memory in bytes. */
export interface KwokNodeFacts {
  allocatable: { cpu: number; memory: number };
  usedByOthers?: { cpu: number; memory: number };
  cpuManagerPolicy: 'none' | 'static';
}

export function kwokNodeFacts(nodes: readonly FakeNodeSpec[]): Record<string, KwokNodeFacts> {
  return Object.fromEntries(
    nodes.map((node) => [
      node.name,
      {
        allocatable: { cpu: cpuMillis(node.allocatable.cpu), memory: memoryBytes(node.allocatable.memory) },
        ...(node.neighbour
          ? {
              usedByOthers: {
                cpu: cpuMillis(node.neighbour.cpu),
                memory: memoryBytes(node.neighbour.memory),
              },
            }
          : {}),
        cpuManagerPolicy: node.cpuManagerPolicy,
      },
    ]),
  );
}

/** The stage file kwok reads: YAML documents of kind Stage. */
export function podStagesYaml(nodes: readonly FakeNodeSpec[]): string {
  const prelude = `def kwok_nodes: ${JSON.stringify(kwokNodeFacts(nodes))};\n${readFileSync(JQ_LIBRARY_FILE, 'utf8')}\n`;
  const doc = parseDocument(readFileSync(STAGES_FILE, 'utf8'));
  if (doc.errors.length) throw new Error(`${STAGES_FILE}: ${doc.errors[0]!.message}`);
  const stages: unknown = doc.toJS();
  if (!Array.isArray(stages)) throw new Error(`${STAGES_FILE}: not a list of stages`);
  return stages
    .map((parsed) => {
      // Aliases share objects: each stage gets its own copy before it is changed.
      const stage = structuredClone(parsed) as Stage;
      if (stage.kind !== 'Stage') throw new Error(`${STAGES_FILE}: ${stage.metadata?.name}: not a Stage`);
      prefixJq(stage, prelude);
      fillTemplates(stage);
      return stringify(stage, { lineWidth: 0 });
    })
    .join('---\n');
}

interface Stage {
  kind?: string;
  metadata?: { name?: string; annotations?: Record<string, string> };
  spec?: {
    selector?: { matchExpressions?: { jq?: { key?: string } }[] };
    delay?: Record<string, { jq?: { expression?: string } } | number>;
    weightFrom?: { jq?: { expression?: string } };
    steps?: { patch?: { template?: string } }[];
  };
}

function prefixJq(stage: Stage, prelude: string): void {
  for (const expression of stage.spec?.selector?.matchExpressions ?? []) {
    if (expression.jq?.key !== undefined) expression.jq.key = prelude + expression.jq.key;
  }
  const from = [...Object.values(stage.spec?.delay ?? {}), stage.spec?.weightFrom];
  for (const source of from) {
    if (typeof source === 'object' && source.jq?.expression !== undefined)
      source.jq.expression = prelude + source.jq.expression;
  }
}

/** @NAME@ in a template becomes the text of the stage's annotation kwok.konsumerator.local/<name>. */
function fillTemplates(stage: Stage): void {
  for (const step of stage.spec?.steps ?? []) {
    if (step.patch?.template === undefined) continue;
    step.patch.template = step.patch.template.replace(PARAMETER, (_, name: string) => {
      const value = stage.metadata?.annotations?.[PARAMETER_ANNOTATION + name.toLowerCase()];
      if (value === undefined)
        throw new Error(
          `${STAGES_FILE}: stage ${stage.metadata?.name} uses @${name}@ but has no such annotation`,
        );
      return value;
    });
  }
}
