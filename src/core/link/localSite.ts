// A local site (folder under the user's data home, see src/core/site/local.ts) as links and tokens
// see it: links/<name>.yaml hold the link Secrets (the same manifests as on Kubernetes), claims/
// the claim records, status/site.json the link state its agent publishes.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { UserError } from '../errors';
import { createCA, describeCertificate, issueCertificate, type KeyPair } from '../pki';
import { readLocalSite } from '../site/local';
import { type ClaimRecord, type ClaimStore, recordFromSecret, recordSecret, type VersionedRecord } from '../token/claims';
import type { SecretManifest, SiteIdentity } from '../token/types';
import { type IngressAnswer, type LinkSite, parseStatusDoc, type SiteStatusDoc } from './site';

export const LOCAL_STATUS_FILE = join('status', 'site.json');

function writeAtomic(file: string, text: string, mode = 0o600): void {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, file);
}

export class LocalLinkSite implements LinkSite {
  constructor(readonly dir: string) {}

  get label(): string {
    return `local site in ${this.dir}`;
  }

  private record() {
    const rec = readLocalSite(this.dir);
    if (!rec) throw new UserError(`no local site in ${this.dir}: run "van init --platform local" first`);
    return rec;
  }

  async identity(): Promise<SiteIdentity> {
    const r = this.record();
    return { id: r.id, name: r.name };
  }

  async ingress(): Promise<IngressAnswer> {
    const r = this.record();
    if (r.mode === 'edge')
      return {
        ok: false,
        reason: 'this site is an edge site and accepts no incoming links: create the token on an interior site and link from here',
      };
    if (r.ingress === 'none')
      return {
        ok: false,
        reason: 'this site accepts no incoming links (ingress none); create the token on the other site and link from here',
      };
    return {
      ok: true,
      ingress: { host: r.host, interRouterPort: r.ports.interRouter, edgePort: r.ports.edge, claimsPort: r.ports.claims },
    };
  }

  async ca(): Promise<KeyPair> {
    try {
      return {
        certPem: readFileSync(join(this.dir, 'ca', 'tls.crt'), 'utf8'),
        keyPem: readFileSync(join(this.dir, 'ca', 'tls.key'), 'utf8'),
      };
    } catch {
      throw new UserError(`the site CA is missing in ${join(this.dir, 'ca')}: re-create the local site`);
    }
  }

  claims(): ClaimStore {
    return new FileClaimStore(join(this.dir, 'claims'));
  }

  async secretExists(name: string): Promise<boolean> {
    return existsSync(join(this.dir, 'claims', `${name}.yaml`)) || existsSync(join(this.dir, 'links', `${name}.yaml`));
  }

  async listLinks(): Promise<SecretManifest[]> {
    const dir = join(this.dir, 'links');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => parse(readFileSync(join(dir, f), 'utf8')) as SecretManifest)
      .filter((s) => s && s.metadata?.name);
  }

  async saveLink(secret: SecretManifest): Promise<void> {
    const dir = join(this.dir, 'links');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, `${secret.metadata.name}.yaml`);
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch {
      throw new UserError(`a link named ${secret.metadata.name} already exists here: choose another --name`);
    }
    try {
      writeFileSync(fd, stringify(secret, { lineWidth: 0 }));
    } finally {
      closeSync(fd);
    }
  }

  async deleteLink(name: string): Promise<boolean> {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) return false;
    const file = join(this.dir, 'links', `${name}.yaml`);
    if (!existsSync(file)) return false;
    rmSync(file);
    return true;
  }

  async readStatus(): Promise<SiteStatusDoc | undefined> {
    const file = join(this.dir, LOCAL_STATUS_FILE);
    if (!existsSync(file)) return undefined;
    return parseStatusDoc(readFileSync(file, 'utf8'));
  }

  async rotateCA(): Promise<{ records: number }> {
    const r = this.record();
    const serverPem = readFileSync(join(this.dir, 'server', 'tls.crt'), 'utf8');
    const old = describeCertificate(serverPem);
    const ca = createCA(`${r.name} site CA`);
    const server = issueCertificate(ca, {
      commonName: 'skupper-router',
      dnsNames: old.dnsNames,
      ipAddresses: old.ipAddresses,
      usage: 'both',
    });
    writeAtomic(join(this.dir, 'ca', 'tls.key'), ca.keyPem);
    writeAtomic(join(this.dir, 'ca', 'tls.crt'), ca.certPem, 0o644);
    writeAtomic(join(this.dir, 'server', 'tls.key'), server.keyPem);
    writeAtomic(join(this.dir, 'server', 'ca.crt'), ca.certPem, 0o644);
    writeAtomic(join(this.dir, 'server', 'tls.crt'), server.certPem, 0o644);
    return { records: await this.claims().deleteAll() };
  }
}

/** A lock older than this is left over from a crash: an update holds its lock for milliseconds. */
export const STALE_LOCK_MS = 10_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the lock file was left by a process that is gone (its pid, written in it, is not alive) or
 * is older than STALE_LOCK_MS (also the empty locks of earlier versions).
 */
export function staleLock(file: string, now = Date.now()): boolean {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) return true;
    return now - statSync(file).mtimeMs > STALE_LOCK_MS;
  } catch {
    return false;
  }
}

/** The lock's fd, holding this process's pid; undefined when another live update holds it. */
function takeLock(file: string): number | undefined {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeFileSync(fd, `${process.pid} ${new Date().toISOString()}\n`);
      return fd;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A crash between taking and removing the lock would block the claim for good: clear it once.
      if (attempt > 0 || !staleLock(file)) return undefined;
      rmSync(file, { force: true });
    }
  }
  return undefined;
}

/**
 * Claim records as files; an update takes a lock file (O_EXCL) and compares the version it read, so
 * two processes redeeming at once cannot both count the last use. Inside one process an update runs
 * without a pause between lock and unlock; a lock left by a crashed process is cleared.
 */
export class FileClaimStore implements ClaimStore {
  constructor(private readonly dir: string) {}

  private file(name: string): string {
    return join(this.dir, `${name}.yaml`);
  }

  private read(name: string): { secret: SecretManifest; version: string } | undefined {
    const f = this.file(name);
    if (!existsSync(f)) return undefined;
    const secret = parse(readFileSync(f, 'utf8')) as SecretManifest;
    return { secret, version: secret.metadata.resourceVersion ?? '0' };
  }

  async get(name: string): Promise<VersionedRecord | undefined> {
    if (!/^[a-z0-9-]+$/.test(name)) return undefined;
    const hit = this.read(name);
    return hit ? { record: recordFromSecret(hit.secret), version: hit.version } : undefined;
  }

  async create(record: ClaimRecord): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const secret = recordSecret(record);
    secret.metadata.resourceVersion = '1';
    const fd = openSync(this.file(record.name), 'wx', 0o600);
    try {
      writeFileSync(fd, stringify(secret));
    } finally {
      closeSync(fd);
    }
  }

  async update(record: ClaimRecord, version: string): Promise<'ok' | 'conflict' | 'gone'> {
    const lock = `${this.file(record.name)}.lock`;
    const fd = takeLock(lock);
    if (fd === undefined) return 'conflict';
    try {
      const hit = this.read(record.name);
      if (!hit) return 'gone';
      if (hit.version !== version) return 'conflict';
      const secret = recordSecret(record);
      secret.metadata.resourceVersion = String(Number(version) + 1);
      writeAtomic(this.file(record.name), stringify(secret));
      return 'ok';
    } finally {
      closeSync(fd);
      rmSync(lock, { force: true });
    }
  }

  async list(): Promise<ClaimRecord[]> {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => recordFromSecret(parse(readFileSync(join(this.dir, f), 'utf8')) as SecretManifest));
  }

  async delete(name: string): Promise<boolean> {
    if (!/^[a-z0-9-]+$/.test(name) || !existsSync(this.file(name))) return false;
    rmSync(this.file(name), { force: true });
    rmSync(`${this.file(name)}.lock`, { force: true });
    return true;
  }

  async deleteAll(): Promise<number> {
    if (!existsSync(this.dir)) return 0;
    const files = readdirSync(this.dir).filter((f) => f.endsWith('.yaml'));
    for (const f of files) rmSync(join(this.dir, f), { force: true });
    return files.length;
  }
}
