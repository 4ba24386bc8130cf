// Docs and code agree: every `autoscaler` option a document names (a dotted path such as
// `spec.autoscaler.prometheus.headers`, or a row of a table whose header names the section, such
// as `field (spec.autoscaler.kafka.…)`) exists in the schema the CRD is generated from. A doc
// that describes an option the CRD has no field for fails here, with the file and line.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConsumerSpec } from '../../src/api/schema.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The modes whose sections share the estimation fields; `<mode>` in a doc stands for each. */
const MODES_WITH_SECTIONS = ['prometheus', 'kafka', 'static'];

type Schema = {
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  additionalProperties?: Schema | boolean;
  patternProperties?: Record<string, Schema>;
};

const specSchema = JSON.parse(JSON.stringify(ConsumerSpec)) as Schema;

/** The schemas a child key leads to ([] when the key does not exist). */
function child(schema: Schema, key: string): Schema[] {
  const out: Schema[] = [];
  for (const s of [schema, ...(schema.anyOf ?? [])]) {
    if (s.properties?.[key]) out.push(s.properties[key]);
    else if (typeof s.additionalProperties === 'object') out.push(s.additionalProperties);
    else if (s.patternProperties) out.push(...Object.values(s.patternProperties));
  }
  return out;
}

/** True when the path (under spec, e.g. `autoscaler.prometheus.headers[0].name`) is in the schema. */
export function existsInSchema(path: string, schema: Schema = specSchema): boolean {
  let at: Schema[] = [schema];
  for (const part of path.split('.')) {
    const [, key, index] = /^([^[]+)(\[\d*\])?$/.exec(part) ?? [];
    if (!key) return false;
    at = at.flatMap((s) => child(s, key));
    if (index) at = at.flatMap((s) => [s, ...(s.anyOf ?? [])].flatMap((x) => (x.items ? [x.items] : [])));
    if (at.length === 0) return false;
  }
  return true;
}

export interface Mention {
  file: string;
  line: number;
  /** The path under spec, e.g. `autoscaler.kafka.uncommitted`. */
  path: string;
}

const PATH = /(?<![\w/.-])(?:spec\.)?autoscaler((?:\.(?:[A-Za-z]\w*|<mode>)(?:\[\d*\])?)+)/g;
const TABLE_HEADER = /(?:spec\.)?autoscaler((?:\.(?:[A-Za-z]\w*|<mode>))*)\.(?:…|\.\.\.)/;

const expandModes = (path: string) =>
  path.includes('<mode>') ? MODES_WITH_SECTIONS.map((m) => path.replace('<mode>', m)) : [path];

/** Every autoscaler option a markdown text names: dotted paths, and rows of section tables. */
export function mentionedOptions(file: string, text: string): Mention[] {
  const mentions: Mention[] = [];
  const lines = text.split('\n');
  let tablePrefix: string | undefined;
  lines.forEach((line, i) => {
    for (const m of line.matchAll(PATH)) {
      for (const path of expandModes(`autoscaler${m[1]}`)) mentions.push({ file, line: i + 1, path });
    }
    if (!line.startsWith('|')) {
      tablePrefix = undefined;
      return;
    }
    const cells = line.split('|').slice(1, -1);
    const header = TABLE_HEADER.exec(cells[0] ?? '');
    if (header) {
      tablePrefix = `autoscaler${header[1]}`;
      return;
    }
    if (tablePrefix === undefined || /^\s*-+\s*$/.test(cells[0] ?? '')) return;
    for (const name of (cells[0] ?? '').matchAll(/`([A-Za-z]\w*)`/g)) {
      for (const path of expandModes(`${tablePrefix}.${name[1]}`)) mentions.push({ file, line: i + 1, path });
    }
  });
  return mentions;
}

const markdownIn = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && e.name.endsWith('.md') && !e.parentPath.includes('node_modules'))
        .map((e) => join(e.parentPath, e.name))
    : [];

const markdownFiles = () => [
  join(ROOT, 'README.md'),
  ...markdownIn(join(ROOT, 'docs')),
  ...markdownIn(join(ROOT, 'examples')),
];

describe('docs name only options the CRD has', () => {
  test('every autoscaler option named in README.md, docs/ and examples/ exists in the schema', () => {
    const mentions = markdownFiles().flatMap((f) =>
      mentionedOptions(relative(ROOT, f), readFileSync(f, 'utf8')),
    );
    assert.ok(mentions.length > 100, `found only ${mentions.length} mentions: the extraction is broken`);
    const missing = mentions.filter((m) => !existsInSchema(m.path));
    assert.deepEqual(
      missing.map((m) => `${m.file}:${m.line}: spec.${m.path}`),
      [],
      'these options are named in the docs but the CRD has no such field',
    );
  });

  test('the check catches a planted option, in prose and in a section table', () => {
    const planted = [
      'Set `spec.autoscaler.prometheus.timeoutMs` for slow servers, or `autoscaler.kafka.rateWindowMs`.',
      '',
      '| field (`spec.autoscaler.kafka.…`) | meaning |',
      '| --- | --- |',
      '| `topic` | the topic |',
      '| `historySize`, `groupId` | reads kept |',
      '',
      '| field (`spec.autoscaler.<mode>.…`) | meaning |',
      '| --- | --- |',
      '| `ratePerCore` | msg/s per core |',
    ].join('\n');
    const mentions = mentionedOptions('planted.md', planted);
    assert.deepEqual(
      mentions.filter((m) => !existsInSchema(m.path)).map((m) => `${m.line}: ${m.path}`),
      [
        '1: autoscaler.prometheus.timeoutMs',
        '1: autoscaler.kafka.rateWindowMs',
        '6: autoscaler.kafka.historySize',
      ],
    );
    const found = mentions.filter((m) => existsInSchema(m.path)).map((m) => m.path);
    for (const path of [
      'autoscaler.kafka.topic',
      'autoscaler.kafka.groupId',
      'autoscaler.prometheus.ratePerCore',
      'autoscaler.kafka.ratePerCore',
      'autoscaler.static.ratePerCore',
    ])
      assert.ok(found.includes(path), `${path} is found and exists`);
  });

  test('the schema walk follows objects, lists and maps', () => {
    assert.ok(existsInSchema('autoscaler.prometheus.headers[0].valueFrom.secretKeyRef.key'));
    assert.ok(existsInSchema('autoscaler.prometheus.headers[].name'));
    assert.ok(existsInSchema('autoscaler.static.partitions.7.behind'));
    assert.ok(existsInSchema('autoscaler.kafka.uncommitted'));
    assert.equal(existsInSchema('autoscaler.prometheus.timeoutMs'), false);
    assert.equal(existsInSchema('autoscaler.prometheus.headers[0].secret'), false);
  });
});
