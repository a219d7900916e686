// Certificates for a throw-away local control plane, made with the openssl CLI (Node can make
// keys but not X.509 certificates). One CA signs a serving certificate for kube-apiserver and
// one admin client certificate (O=system:masters) that every component and test uses, as
// kwokctl does; a separate key signs service-account tokens.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const run = promisify(execFile);

export interface Pki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    const e = err as { code?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('openssl is not installed; the local cluster needs it for its certificates (apt-get install openssl)');
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? String(err)}`);
  }
}

async function issue(dir: string, name: string, subject: string, caCert: string, caKey: string, extensions: string): Promise<void> {
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, extensions);
  await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.csr`), '-subj', subject]);
  await openssl(['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', caCert, '-CAkey', caKey, '-CAcreateserial',
    '-days', '30', '-sha256', '-extfile', ext, '-out', join(dir, `${name}.crt`)]);
}

export async function createPki(dir: string): Promise<Pki> {
  const caCert = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30',
    '-keyout', caKey, '-out', caCert, '-subj', '/CN=aimodel-local-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await issue(dir, 'apiserver', '/CN=kube-apiserver', caCert, caKey, [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:::1,IP:10.96.0.1',
    '',
  ].join('\n'));
  await issue(dir, 'admin', '/O=system:masters/CN=aimodel-local-admin', caCert, caKey, [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=clientAuth',
    '',
  ].join('\n'));
  const serviceAccountKey = join(dir, 'sa.key');
  const serviceAccountPub = join(dir, 'sa.pub');
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', serviceAccountKey]);
  await openssl(['pkey', '-in', serviceAccountKey, '-pubout', '-out', serviceAccountPub]);
  return {
    caCert,
    caKey,
    serverCert: join(dir, 'apiserver.crt'),
    serverKey: join(dir, 'apiserver.key'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    serviceAccountKey,
    serviceAccountPub,
  };
}

/**
 * A certificate for localhost that serves and authenticates as a client (KEDA's operator and
 * metrics adapter talk gRPC with mutual TLS), in the layout KEDA reads from its --cert-dir:
 * tls.crt, tls.key and the CA as ca.crt.
 */
export async function issueLocalhostCertDir(pki: Pki, dir: string): Promise<void> {
  await issue(dir, 'tls', '/CN=localhost', pki.caCert, pki.caKey, [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth,clientAuth',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '',
  ].join('\n'));
  await writeFile(join(dir, 'ca.crt'), await readFile(pki.caCert));
}
