// Every `van` verb, in the order `van --help` lists them.
import { type CliCommand } from '../command';
import { routerCommand } from './router';
import { debugEventsCommand } from './debugEvents';
import { deleteCommand } from './delete';
import { initCommand } from './init';
import { siteStartCommand, siteStopCommand } from './siteStart';
import { statusCommand } from './status';
import { linkCreateCommand } from './linkCreate';
import { linkDeleteCommand } from './linkDelete';
import { linkStatusCommand } from './linkStatus';
import { revokeAccessCommand } from './revokeAccess';
import { tokenCreateCommand } from './tokenCreate';
import { tokenInspectCommand } from './tokenInspect';
import { exposeCommand } from './expose';
import { forwardCommand, unforwardCommand } from './forward';
import { networkStatusCommand } from './networkStatus';
import { flowsCommand } from './flows';
import { serviceStatusCommand } from './serviceStatus';
import { unexposeCommand } from './unexpose';
import { crdsInstallCommand, crdsStatusCommand } from './crds';

export const commands: CliCommand[] = [
  initCommand,
  deleteCommand,
  statusCommand,
  siteStartCommand,
  siteStopCommand,
  tokenCreateCommand,
  tokenInspectCommand,
  linkCreateCommand,
  linkDeleteCommand,
  linkStatusCommand,
  exposeCommand,
  unexposeCommand,
  forwardCommand,
  unforwardCommand,
  serviceStatusCommand,
  networkStatusCommand,
  flowsCommand,
  revokeAccessCommand,
  debugEventsCommand,
  crdsInstallCommand,
  crdsStatusCommand,
  routerCommand,
];
