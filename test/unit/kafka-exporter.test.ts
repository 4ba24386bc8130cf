// The kafka_exporter stand-in's exposition: upstream's names, labels and lag semantics
// (kafka_exporter.go, collect with offset.show-all), from a fixed snapshot of the cluster.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderSnapshot, splitHostPort, type KafkaSnapshot } from '../../src/testplane/kafka-exporter.js';
import { serverProperties } from '../../src/testplane/kafka.js';
import { prometheusConfig } from '../../src/testplane/prometheus.js';

const partition = (p: number, newest: number, oldest = 0) => ({
  partition: p,
  leader: 1,
  replicas: [1],
  isr: [1],
  newest,
  oldest,
});

const snapshot: KafkaSnapshot = {
  brokers: [{ id: 1, address: '127.0.0.1:9092' }],
  topics: [
    { topic: 't', partitions: [partition(0, 100), partition(1, 50, 10), partition(2, 7)] },
    { topic: 'other', partitions: [partition(0, 5)] },
  ],
  groups: [
    {
      groupId: 'g',
      members: 0,
      offsets: [
        {
          topic: 't',
          partitions: [
            { partition: 0, offset: 40 },
            { partition: 1, offset: 50 },
            { partition: 2, offset: -1 },
          ],
        },
        // Nothing committed for any partition: the topic is not consumed by g, so not reported.
        { topic: 'other', partitions: [{ partition: 0, offset: -1 }] },
      ],
    },
  ],
};

/** `name{labels} value` lines of the exposition, without comments. */
async function samples(s: KafkaSnapshot): Promise<string[]> {
  return (await renderSnapshot(s)).split('\n').filter((l) => l && !l.startsWith('#'));
}

test('brokers, topic partitions and their offsets', async () => {
  const lines = await samples(snapshot);
  for (const expected of [
    'kafka_brokers 1',
    'kafka_broker_info{id="1",address="127.0.0.1:9092"} 1',
    'kafka_topic_partitions{topic="t"} 3',
    'kafka_topic_partition_current_offset{topic="t",partition="0"} 100',
    'kafka_topic_partition_oldest_offset{topic="t",partition="1"} 10',
    'kafka_topic_partition_leader_is_preferred{topic="t",partition="0"} 1',
    'kafka_topic_partition_under_replicated_partition{topic="t",partition="0"} 0',
  ]) {
    assert.ok(lines.includes(expected), `missing ${expected}`);
  }
});

test('group lag: log end − committed; -1 where nothing is committed, left out of the sum', async () => {
  const lines = await samples(snapshot);
  for (const expected of [
    'kafka_consumergroup_members{consumergroup="g"} 0',
    'kafka_consumergroup_current_offset{consumergroup="g",topic="t",partition="0"} 40',
    'kafka_consumergroup_current_offset{consumergroup="g",topic="t",partition="2"} -1',
    'kafka_consumergroup_lag{consumergroup="g",topic="t",partition="0"} 60',
    'kafka_consumergroup_lag{consumergroup="g",topic="t",partition="1"} 0',
    'kafka_consumergroup_lag{consumergroup="g",topic="t",partition="2"} -1',
    'kafka_consumergroup_lag_sum{consumergroup="g",topic="t"} 60',
    // Upstream adds the -1 of an uncommitted partition into the offset sum too.
    'kafka_consumergroup_current_offset_sum{consumergroup="g",topic="t"} 89',
  ]) {
    assert.ok(lines.includes(expected), `missing ${expected}`);
  }
  assert.ok(!lines.some((l) => l.includes('topic="other"') && l.startsWith('kafka_consumergroup')));
});

test('listen addresses and the components config files', () => {
  assert.deepEqual(splitHostPort('127.0.0.1:9308'), { host: '127.0.0.1', port: 9308 });
  assert.deepEqual(splitHostPort(':9308'), { host: '0.0.0.0', port: 9308 });
  assert.throws(() => splitHostPort('localhost'), /invalid listen address/);

  const props = serverProperties({ port: 1234, controllerPort: 1235, logDir: '/d' });
  assert.match(props, /^listeners=PLAINTEXT:\/\/127\.0\.0\.1:1234,CONTROLLER:\/\/127\.0\.0\.1:1235$/m);
  assert.match(props, /^controller\.quorum\.voters=1@127\.0\.0\.1:1235$/m);
  assert.match(props, /^offsets\.topic\.num\.partitions=1$/m);
  assert.match(props, /^group\.initial\.rebalance\.delay\.ms=0$/m);

  const config = prometheusConfig([{ job: 'kafka-exporter', targets: ['127.0.0.1:1'] }], '/sd');
  assert.match(config, /scrape_interval: 1s/);
  assert.match(config, /job_name: kafka-exporter/);
  assert.match(config, /- \/sd\/\*\.json\n\s+refresh_interval: 1s/);
});
