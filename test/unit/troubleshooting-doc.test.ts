// docs/troubleshooting.md lists every condition reason and event reason the operator can emit,
// and only those: the reasons are extracted from src/ with the TypeScript compiler
// (test/support/reasons.ts), so a new reason fails this test until it is documented. The
// extraction itself is proven on planted sources: a new literal reason, a conditional, a
// string-literal union, and a dynamic reason nobody classified.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { documentedReasons, extractReasons, type DynamicReason } from '../support/reasons.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Reason expressions that are not literals. Each names its values, or says why it adds none: it
 * passes on reasons that are extracted where they are written.
 */
const DYNAMIC: Record<string, DynamicReason> = {
  'src/controller/events.ts: reason': { forwards: "the recorder's parameter: the callers' reasons" },
  'src/controller/notifications.ts: reason': {
    forwards: "the sink's parameter, passed to the recorder it wraps: the callers' reasons",
  },
  'src/controller/reconciler.ts: event.reason': {
    forwards: 'the autoscaling step’s events, written as literals in src/controller/autoscaling.ts',
  },
  'src/controller/reconciler.ts: reason': {
    values: ['QuotaExceeded', 'CreateFailed', 'UpdateFailed', 'DeleteFailed'],
  },
  'src/plan/status.ts: refused.reason': { values: ['InstanceLimitExceeded', 'ConsumerLimitExceeded'] },
  'src/controller/in-place.ts: stored.reason': {
    forwards: 'the InPlaceResize condition kept as stored while the pods are listed again',
  },
  'src/controller/in-place.ts: `InPlaceResize${prepared.condition.reason}`': {
    values: ['InPlaceResizeUnsupported', 'InPlaceResizeNoPodSelector', 'InPlaceResizePodsUnreadable'],
  },
  'src/plan/status.ts: degraded.reason': { forwards: 'Ready repeats the Degraded reason' },
  'src/api/schema.ts: Type.String({ maxLength: 1024 })': { forwards: "the schema of a condition's reason" },
  'src/cli/ops-status.ts: reason': { forwards: "the Consumer's stored conditions, as `status` shows them" },
};

/** The operator's source: everything but the simulator, the benchmarks and the test plane. */
function operatorSources(): string[] {
  return readdirSync(join(ROOT, 'src'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name))
    .filter((f) => !/[/\\]src[/\\](sim|bench|testplane)[/\\]/.test(f))
    .sort();
}

describe('docs/troubleshooting.md and the reasons in the code', () => {
  const extraction = extractReasons(operatorSources(), ROOT, DYNAMIC);
  const inCode = new Set(extraction.reasons.map((r) => r.reason));
  const documented = documentedReasons(readFileSync(join(ROOT, 'docs', 'troubleshooting.md'), 'utf8'));

  test('every reason expression is resolved, and the table of dynamic ones has no stale entry', () => {
    assert.deepEqual(extraction.unresolved, [], 'classify these in DYNAMIC (values, or what they forward)');
    assert.deepEqual(extraction.unusedDynamic, [], 'these DYNAMIC entries match no code any more');
    // A floor, so that an extraction that silently finds nothing cannot pass.
    assert.ok(inCode.size >= 25, `only ${inCode.size} reasons found: ${[...inCode].join(', ')}`);
    for (const known of ['InvalidSpec', 'ReadFailed', 'ScaledUp', 'CreateFailed', 'Progressing'])
      assert.ok(inCode.has(known), `${known} is found`);
  });

  test('every reason the code emits is documented', () => {
    const missing = extraction.reasons.filter((r) => !documented.has(r.reason));
    assert.deepEqual(
      [...new Set(missing.map((r) => `${r.reason} (${r.kind}, ${r.file}:${r.line})`))],
      [],
      'add these to docs/troubleshooting.md (meaning and what to do)',
    );
  });

  test('every documented reason is still emitted', () => {
    assert.deepEqual(
      [...documented].filter((r) => !inCode.has(r)),
      [],
      'the code no longer emits these: remove them from docs/troubleshooting.md',
    );
  });

  test('the extraction finds planted reasons and refuses an unclassified dynamic one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'konsumerator-reasons-'));
    try {
      const file = join(dir, 'planted.ts');
      writeFileSync(
        file,
        [
          "type Kind = 'Normal' | 'Warning';",
          "type Moved = 'PlantedMovedA' | 'PlantedMovedB';",
          'declare const events: { emit(c: unknown, t: Kind, r: string, m: string): void };',
          'declare const moved: Moved;',
          'declare const anything: string;',
          'declare const flag: boolean;',
          "events.emit({}, 'Warning', 'PlantedEvent', 'm');",
          "events.emit({}, 'Normal', moved, 'm');",
          "export const c = { type: 'Ready', status: 'False', reason: flag ? 'PlantedA' : 'PlantedB', message: '' };",
          "export const e = { type: 'Warning' as Kind, reason: 'PlantedObjectEvent', message: '' };",
          "export const a = { type: 'update', reason: 'not-an-event' };",
          "export const d = { type: 'Warning' as Kind, reason: anything, message: '' };",
        ].join('\n'),
      );
      const planted = extractReasons([file], dir);
      assert.deepEqual(planted.reasons.map((r) => `${r.kind} ${r.conditionType ?? '-'} ${r.reason}`).sort(), [
        'condition Ready PlantedA',
        'condition Ready PlantedB',
        'event - PlantedEvent',
        'event - PlantedMovedA',
        'event - PlantedMovedB',
        'event - PlantedObjectEvent',
      ]);
      assert.deepEqual(planted.unresolved, ['planted.ts: anything (line 12)']);
      const documentedHere = documentedReasons(
        '| `PlantedEvent` | Warning | ... |\n| `PlantedA` | Ready | ... |',
      );
      assert.deepEqual(
        planted.reasons
          .filter((r) => !documentedHere.has(r.reason))
          .map((r) => r.reason)
          .sort(),
        ['PlantedB', 'PlantedMovedA', 'PlantedMovedB', 'PlantedObjectEvent'],
        'the undocumented planted reasons are the ones reported',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
