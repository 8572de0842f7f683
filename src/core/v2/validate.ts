// Checks of Skupper 2.x specs, each problem said as what to change. Pure.
import { addressProblem } from '../service/definition';
import type { AccessGrantSpec, AccessTokenSpec, ConnectorSpec, ListenerSpec, SiteSpec } from './types';

const isPort = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
const LABEL_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** `name=value[,name=value]` as a map, or the reason it is not one. */
export function parseSelector(selector: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const part of selector.split(',')) {
    const [name, value, more] = part.trim().split('=');
    if (more !== undefined || value === undefined || !LABEL_NAME.test(name) || !LABEL_VALUE.test(value)) {
      return `spec.selector "${selector}" is not a label selector: write name=value[,name=value], e.g. application=tcp-go-echo`;
    }
    out[name] = value;
  }
  return out;
}

function routingKeyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string' || !key) return 'spec.routingKey is missing: give the key that pairs connectors with listeners';
  const bad = addressProblem(key);
  // The routing key names the Service the linked sites get: a DNS label.
  return bad ? `spec.routingKey: ${bad}` : undefined;
}

function typeProblem(type: unknown): string | undefined {
  return type === undefined || type === 'tcp' ? undefined : `spec.type "${String(type)}" is not supported: use tcp (or leave it out)`;
}

export function siteProblems(spec: SiteSpec | undefined): string[] {
  const problems: string[] = [];
  const access = spec?.linkAccess;
  if (access !== undefined && !['none', 'default', 'loadbalancer', 'nodeport'].includes(access)) {
    problems.push(
      access === 'route'
        ? 'spec.linkAccess route needs OpenShift: use loadbalancer, default or none'
        : `spec.linkAccess "${String(access)}" is not one of none, default, loadbalancer, nodeport`,
    );
  }
  if (spec?.edge && spec.ha) problems.push('spec.edge and spec.ha together are not supported: an edge site runs one router');
  return problems;
}

export function connectorProblems(spec: ConnectorSpec | undefined): string[] {
  const problems: string[] = [];
  const key = routingKeyProblem(spec?.routingKey);
  if (key) problems.push(key);
  if (!isPort(spec?.port)) problems.push(`spec.port ${JSON.stringify(spec?.port)} is not a port number (1-65535)`);
  const hasSelector = typeof spec?.selector === 'string' && spec.selector !== '';
  const hasHost = typeof spec?.host === 'string' && spec.host !== '';
  if (hasSelector === hasHost) problems.push('give either spec.selector (the target pods) or spec.host, not both and not neither');
  if (hasSelector) {
    const parsed = parseSelector(spec!.selector!);
    if (typeof parsed === 'string') problems.push(parsed);
  }
  const type = typeProblem(spec?.type);
  if (type) problems.push(type);
  if (spec?.tlsCredentials)
    problems.push('spec.tlsCredentials is not supported yet: remove it (the router reaches the target over plain TCP)');
  if (spec?.exposePodsByName) problems.push('spec.exposePodsByName is not supported yet: remove it');
  return problems;
}

export function listenerProblems(spec: ListenerSpec | undefined): string[] {
  const problems: string[] = [];
  const key = routingKeyProblem(spec?.routingKey);
  if (key) problems.push(key);
  const host = spec?.host;
  if (typeof host !== 'string' || !host) problems.push('spec.host is missing: give the Service name clients here connect to');
  else {
    const bad = addressProblem(host);
    if (bad) problems.push(`spec.host: ${bad}`);
  }
  if (!isPort(spec?.port)) problems.push(`spec.port ${JSON.stringify(spec?.port)} is not a port number (1-65535)`);
  const type = typeProblem(spec?.type);
  if (type) problems.push(type);
  if (spec?.tlsCredentials) problems.push('spec.tlsCredentials is not supported yet: remove it');
  if (spec?.exposePodsByName) problems.push('spec.exposePodsByName is not supported yet: remove it');
  return problems;
}

export function accessGrantProblems(spec: AccessGrantSpec | undefined): string[] {
  const problems: string[] = [];
  const uses = spec?.redemptionsAllowed;
  if (uses !== undefined && (!Number.isInteger(uses) || uses < 1))
    problems.push(`spec.redemptionsAllowed ${uses} must be a whole number of at least 1`);
  if (spec?.code !== undefined && (typeof spec.code !== 'string' || spec.code.length < 16)) {
    problems.push('spec.code must be at least 16 characters (or leave it out for a random one)');
  }
  if (spec?.issuer && spec.issuer !== 'skupper-site-ca')
    problems.push(`spec.issuer "${spec.issuer}" is not supported: leave it out (the site CA signs)`);
  return problems;
}

export function accessTokenProblems(spec: AccessTokenSpec | undefined): string[] {
  const problems: string[] = [];
  let url: URL | undefined;
  try {
    url = new URL(String(spec?.url ?? ''));
  } catch {
    problems.push(`spec.url "${String(spec?.url ?? '')}" is not a URL: copy it from the AccessGrant's status.url`);
  }
  if (url && (url.protocol !== 'https:' || !/^\/[a-z0-9-]{1,63}$/.test(url.pathname))) {
    problems.push(`spec.url "${url.href}" is not a grant URL (https://HOST:PORT/NAME): copy it from the AccessGrant's status.url`);
  }
  if (typeof spec?.code !== 'string' || !spec.code) problems.push("spec.code is missing: copy it from the AccessGrant's status.code");
  if (typeof spec?.ca !== 'string' || !spec.ca.includes('BEGIN CERTIFICATE')) {
    problems.push("spec.ca is not a PEM certificate: copy it from the AccessGrant's status.ca");
  }
  if (spec?.linkCost !== undefined && (!Number.isInteger(spec.linkCost) || spec.linkCost < 1))
    problems.push('spec.linkCost must be a whole number of at least 1');
  return problems;
}
