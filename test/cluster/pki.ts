// Per-cluster certificates for the test control plane, made with the openssl CLI:
// a CA, the API server's serving certificate, client certificates (admin in system:masters,
// ns-admin with no group) and the service-account signing key pair.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ClusterPki {
  dir: string;
  caCert: string; // paths
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  nsAdminCert: string;
  nsAdminKey: string;
  saKey: string;
  saPub: string;
}

const script = String.raw`
set -euo pipefail
cd "$1"; shift
sans="$1"
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
openssl req -x509 $ec -keyout ca.key -out ca.crt -days 3650 -subj "/CN=van-test-ca-$2" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
issue() { # name subject extensions
  openssl req -new $ec -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -out "$1.crt" -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
issue apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$sans"
issue admin "/O=system:masters/CN=van-admin" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
issue ns-admin "/CN=ns-admin" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
openssl pkey -in sa.key -pubout -out sa.pub
chmod 600 *.key
`;

/** Creates (once) the certificates of one cluster under dir. */
export function ensureClusterPki(dir: string, cluster: string, extraIps: string[]): ClusterPki {
  const pki: ClusterPki = {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'apiserver.crt'),
    serverKey: join(dir, 'apiserver.key'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    nsAdminCert: join(dir, 'ns-admin.crt'),
    nsAdminKey: join(dir, 'ns-admin.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
  };
  if (existsSync(pki.saPub)) return pki;
  mkdirSync(dir, { recursive: true });
  const sans = [
    'IP:127.0.0.1',
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
    ...extraIps.map((ip) => `IP:${ip}`),
  ].join(',');
  execFileSync('bash', ['-c', script, 'pki', dir, sans, cluster], { stdio: ['ignore', 'ignore', 'inherit'] });
  return pki;
}

export function b64(path: string): string {
  return readFileSync(path).toString('base64');
}
