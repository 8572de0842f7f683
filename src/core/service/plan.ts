// What `expose` decides from a workload's shape, as a pure function: the definition to record, or a
// one-line reason to refuse.
import { UserError } from '../errors';
import {
  type Protocol,
  type ServiceDefinition,
  type ServiceTarget,
  addressProblem,
  isProtocol,
  PROTOCOLS,
  selectorFromLabels,
} from './definition';

export type WorkloadKind = 'deployment' | 'statefulset' | 'service';

/** The facts about a workload that expose needs, read from the API (or built by a test). */
export interface WorkloadInfo {
  kind: WorkloadKind;
  name: string;
  /** The workload's namespace: written into the target, as Skupper 1.x does. */
  namespace?: string;
  /** Pod selector: a deployment's `spec.selector.matchLabels`, a service's `spec.selector`. */
  selector: Record<string, string>;
  /** Ports the pods declare (containerPort) or the service's ports; empty when none are declared. */
  ports: number[];
  /** For a service: port → targetPort (numeric target ports only). */
  serviceTargetPorts?: Record<number, number>;
}

export interface ExposeOptions {
  ports: number[];
  /** One per port, or one for all; absent: the port itself (or the service's targetPort). */
  targetPorts?: number[];
  protocol?: string;
  address?: string;
}

export function planExpose(workload: WorkloadInfo, options: ExposeOptions): ServiceDefinition {
  const what = `${workload.kind} ${workload.name}`;
  const protocol = options.protocol ?? 'tcp';
  if (!isProtocol(protocol)) throw new UserError(`unknown protocol "${protocol}"; use one of ${PROTOCOLS.join(', ')}`);
  let ports = [...new Set(options.ports)];
  if (ports.length === 0) {
    // Skupper takes the workload's ports when it declares exactly one.
    if (workload.ports.length === 1) ports = [workload.ports[0]];
    else
      throw new UserError(
        `give the port to expose with --port${workload.ports.length ? ` (${what} declares ${workload.ports.join(', ')})` : ''}`,
      );
  }
  for (const p of ports) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new UserError(`--port ${p} is not a port number (1-65535)`);
  }
  const targetPorts = options.targetPorts ?? [];
  if (targetPorts.length > 1 && targetPorts.length !== ports.length) {
    throw new UserError(`give one --target-port per --port (${ports.length} ports, ${targetPorts.length} target ports)`);
  }
  const mapping: Record<string, number> = {};
  ports.forEach((p, i) => {
    const t =
      targetPorts.length === 0 ? (workload.serviceTargetPorts?.[p] ?? p) : targetPorts.length === 1 ? targetPorts[0] : targetPorts[i];
    if (!Number.isInteger(t) || t < 1 || t > 65535) throw new UserError(`--target-port ${t} is not a port number (1-65535)`);
    mapping[String(p)] = t;
  });
  // A workload that declares ports must declare the one we send traffic to.
  if (workload.ports.length > 0) {
    const declared = workload.kind === 'service' ? workload.ports : workload.ports;
    for (const p of ports) {
      const checked = workload.kind === 'service' ? p : mapping[String(p)];
      if (!declared.includes(checked)) {
        const which = workload.kind === 'service' || targetPorts.length === 0 ? `port ${checked}` : `target port ${checked}`;
        throw new UserError(
          `${what} does not declare ${which} (it declares ${declared.join(', ')}); use --port${workload.kind === 'service' ? '' : '/--target-port'} with one of those`,
        );
      }
    }
  }
  if (Object.keys(workload.selector).length === 0) {
    throw new UserError(`${what} has no pod selector, so there are no pods to send traffic to`);
  }
  const address = options.address ?? workload.name;
  const bad = addressProblem(address);
  if (bad) throw new UserError(`${bad}; choose one with --address`);
  const target: ServiceTarget = { name: workload.name, selector: selectorFromLabels(workload.selector), targetPorts: mapping };
  if (workload.kind === 'service') target.service = workload.name;
  if (workload.namespace) target.namespace = workload.namespace;
  return { address, protocol: protocol as Protocol, ports, targets: [target] };
}
