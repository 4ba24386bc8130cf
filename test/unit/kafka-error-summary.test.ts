// What a Consumer's author reads of a Kafka failure: codes (the library's, the broker's, the
// network's), never the library's messages, which quote the broker (a SCRAM error text, the host
// names it advertises). kafkaErrorMessage keeps the full text for the operator's log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AuthenticationError,
  MultipleErrors,
  NetworkError,
  ProtocolError,
  ResponseError,
  TimeoutError,
  UserError,
} from '@platformatic/kafka';
import { KafkaError, kafkaErrorMessage, kafkaErrorSummary } from '../../src/kafka/client.js';

const SECRET = 'SECRET-FROM-THE-BROKER';

test('broker error codes, authentication, timeouts and network codes; no broker text', () => {
  const refused = Object.assign(new Error(`connect ECONNREFUSED 10.0.0.9:9092`), { code: 'ECONNREFUSED' });
  const cases: Array<[unknown, string]> = [
    [new ProtocolError('UNKNOWN_TOPIC_OR_PARTITION', SECRET), 'broker error UNKNOWN_TOPIC_OR_PARTITION (3)'],
    [new AuthenticationError(SECRET), 'SASL authentication failed'],
    [new TimeoutError(`Connection to ${SECRET}:9092 timed out.`), 'timed out'],
    [
      new NetworkError(`Connection to ${SECRET}:9092 failed.`, { cause: refused }),
      'connection refused (ECONNREFUSED)',
    ],
    [new NetworkError('Connection closed'), 'Connection closed'],
    [new UserError('TLS handshake failed. Please verify the broker supports TLS.'), 'TLS handshake failed'],
    [new UserError(`Unknown thing ${SECRET}`), 'client error (PLT_KFK_USER)'],
    [
      new MultipleErrors('Cannot connect to any broker.', [
        new NetworkError(`Connection to ${SECRET}-a:9092 failed.`, { cause: refused }),
        new TimeoutError(`Connection to ${SECRET}-b:9092 timed out.`),
      ]),
      'connection refused (ECONNREFUSED); timed out',
    ],
    [
      // Our adapter's wrapper: its reason is the library's error inside.
      new KafkaError(
        new MultipleErrors('x', [new NetworkError(`Connection to ${SECRET}:1 failed.`, { cause: refused })]),
      ),
      'connection refused (ECONNREFUSED)',
    ],
    [
      new ResponseError(3, 12, { '/topics/0': [3, SECRET] }, {}),
      'broker error UNKNOWN_TOPIC_OR_PARTITION (3)',
    ],
  ];
  for (const [error, expected] of cases) {
    assert.equal(kafkaErrorSummary(error), expected);
    assert.doesNotMatch(kafkaErrorSummary(error), new RegExp(SECRET));
  }
  // The operator's log keeps what the broker said.
  assert.match(
    kafkaErrorMessage(new MultipleErrors('x', [new NetworkError(`Connection to ${SECRET}:9092 failed.`)])),
    new RegExp(SECRET),
  );
});
