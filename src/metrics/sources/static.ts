// Mode `static`: inline per-partition values in the spec, for demos, tests and what-if runs.
import { Type, type Static } from '@sinclair/typebox';
import { object, rules, StringMap } from '../../util/schema-parts.js';
import { estimationFields, estimationSettings, lagOrder } from './estimation.js';
import { noCredentials } from './secret-refs.js';
import { defineSource } from './source.js';

const StaticSample = object({
  production: Type.Optional(Type.Number({ minimum: 0, description: 'Produced messages per second.' })),
  consumption: Type.Optional(Type.Number({ minimum: 0, description: 'Consumed messages per second.' })),
  behind: Type.Optional(Type.Number({ minimum: 0, description: 'Messages behind.' })),
});

export const StaticSection = object(
  {
    partitions: StringMap(StaticSample, {
      description: 'Metrics per partition number; partitions not listed are unknown.',
      maxProperties: 10000,
      ...rules({
        rule: "self.all(k, k.matches('^(0|[1-9][0-9]{0,5})$'))",
        message: 'keys must be partition numbers (0, 1, 2, ...)',
      }),
    }),
    ...estimationFields,
  },
  { description: '(new) Inline metrics, for demos, tests and what-if runs.', ...lagOrder },
);
export type StaticSection = Static<typeof StaticSection>;

export const staticSource = defineSource({
  mode: 'static',
  summary: 'inline values',
  section: StaticSection,
  specRules: [
    {
      rule:
        '!has(self.autoscaler.static) || ' +
        "self.autoscaler.static.partitions.all(k, !k.matches('^[0-9]{1,6}$') || int(k) < self.numPartitions)",
      message: 'autoscaler.static.partitions names a partition not below numPartitions',
      fieldPath: '.autoscaler.static.partitions',
    },
  ],
  settings: estimationSettings,
  credentials: () => noCredentials,
  async create(section) {
    const { StaticProvider } = await import('../static.js');
    return new StaticProvider({ partitions: section.partitions });
  },
});
