// Secured listeners for the test plane's Kafka broker, to check clients against TLS, mutual TLS
// and SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) the way a production cluster asks for them:
//   SSL       TLS with a client certificate required (mutual TLS)
//   SASL_SSL  TLS (server certificate only) plus SASL
// The certificates (a CA, the broker's for 127.0.0.1, a client's) are made with the openssl
// command line, which Debian installs with ca-certificates; the broker reads them as PEM.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface KafkaUser {
  username: string;
  password: string;
}

export interface KafkaSecurityFiles {
  /** PEM of the CA that signed the broker's and the client's certificates. */
  caPem: string;
  /** PEM client certificate and key (signed by the CA), for the SSL listener. */
  clientCertPem: string;
  clientKeyPem: string;
  /** Broker side: PEM key and certificate chain in one file, and the CA as its trust store. */
  keystorePath: string;
  truststorePath: string;
}

export interface KafkaSecurity {
  files: KafkaSecurityFiles;
  /** Users known to every SASL mechanism (PLAIN from the JAAS config, SCRAM from the storage). */
  users: KafkaUser[];
}

/** Listener ports of a secured broker. */
export interface SecurePorts {
  ssl: number;
  saslSsl: number;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a broker certificate for 127.0.0.1 and a client certificate, valid for two days. */
export function makeKafkaCertificates(dir: string): KafkaSecurityFiles {
  mkdirSync(dir, { recursive: true });
  const key = (name: string) => [
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    name,
  ];
  openssl(dir, [
    'req',
    '-x509',
    ...key('ca.key'),
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=testplane-kafka-ca',
  ]);
  const sign = (name: string, subject: string, extensions: string) => {
    openssl(dir, ['req', ...key(`${name}.key`), '-out', `${name}.csr`, '-subj', subject]);
    writeFileSync(join(dir, `${name}.ext`), `${extensions}\n`);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ]);
  };
  sign('broker', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost');
  sign('client', '/CN=testplane-client', 'extendedKeyUsage=clientAuth');
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  const keystorePath = join(dir, 'broker-keystore.pem');
  writeFileSync(keystorePath, read('broker.key') + read('broker.crt'), { mode: 0o600 });
  return {
    caPem: read('ca.pem'),
    clientCertPem: read('client.crt'),
    clientKeyPem: read('client.key'),
    keystorePath,
    truststorePath: join(dir, 'ca.pem'),
  };
}

/** JAAS values are quoted strings: only plain names and passwords are accepted here. */
function checkUser(user: KafkaUser): void {
  for (const value of [user.username, user.password])
    if (!/^[A-Za-z0-9_-]+$/.test(value))
      throw new Error(`kafka test user: ${JSON.stringify(value)} is not [A-Za-z0-9_-]+`);
}

/** server.properties lines that configure the SSL and SASL_SSL listeners (see serverProperties). */
export function securityProperties(security: KafkaSecurity): string[] {
  security.users.forEach(checkUser);
  const plainUsers = security.users.map((u) => `user_${u.username}="${u.password}"`).join(' ');
  return [
    'listener.name.ssl.ssl.client.auth=required',
    'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required ${plainUsers};`,
    'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'ssl.keystore.type=PEM',
    `ssl.keystore.location=${security.files.keystorePath}`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${security.files.truststorePath}`,
  ];
}

/** StorageTool arguments that store the users' SCRAM credentials when the storage is formatted. */
export function scramFormatArgs(security: KafkaSecurity): string[] {
  security.users.forEach(checkUser);
  return security.users.flatMap((u) =>
    ['SCRAM-SHA-256', 'SCRAM-SHA-512'].map(
      (m) => `--add-scram=${m}=[name=${u.username},password=${u.password}]`,
    ),
  );
}
