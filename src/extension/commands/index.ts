// The command table: one entry per command, each `(node?, nodes?)` so one function serves the palette and
// the tree. `registerCommands` adds error reporting once: the core's one-line reason and a "Show log" button.
import * as vscode from 'vscode';
import { UserError, errorMessage } from '../../core/errors';
import type { NodeDesc } from '../../views/model/nodes';
import { log } from '../log';
import { Cancelled } from '../pickers';
import { forwardService, startLocalSite, stopLocalSite, unforwardService } from './laptop';
import { createLink, createToken, deleteLink } from './links';
import { expose, unexpose } from './services';
import { type Ext, type Handler } from './shared';
import { chooseNamespace, connectContexts, deleteSite, init, revokeAccess, showEvents, status } from './site';
import { applyToContext } from './v2';

export const commandTable: { command: string; handler: Handler }[] = [
  { command: 'skupper.init', handler: init },
  { command: 'skupper.delete', handler: deleteSite },
  { command: 'skupper.status', handler: status },
  { command: 'skupper.createToken', handler: createToken },
  { command: 'skupper.createLink', handler: createLink },
  { command: 'skupper.deleteLink', handler: deleteLink },
  { command: 'skupper.expose', handler: (ext, node) => expose(ext, node as NodeDesc | vscode.Uri | undefined) },
  { command: 'skupper.unexpose', handler: unexpose },
  { command: 'skupper.revokeAccess', handler: revokeAccess },
  { command: 'skupper.showEvents', handler: showEvents },
  { command: 'skupper.showTopology', handler: async (ext) => ext.showTopology() },
  { command: 'skupper.showTraffic', handler: async (ext, node) => ext.showTraffic?.(node?.ref?.address) },
  {
    command: 'skupper.refresh',
    handler: async (ext) => {
      await ext.ensureStarted();
      ext.reader.loadContexts();
      await ext.refresh();
    },
  },
  { command: 'skupper.connectContexts', handler: connectContexts },
  { command: 'skupper.chooseNamespace', handler: chooseNamespace },
  { command: 'skupper.startLocalSite', handler: startLocalSite },
  { command: 'skupper.stopLocalSite', handler: stopLocalSite },
  { command: 'skupper.forwardService', handler: forwardService },
  { command: 'skupper.unforwardService', handler: unforwardService },
  { command: 'skupper.reveal', handler: async (ext, node) => ext.reveal((node as NodeDesc | undefined)?.ref ?? {}) },
  { command: 'skupper.applyToContext', handler: (ext, node) => applyToContext(ext, node as NodeDesc | vscode.Uri | undefined) },
];

/** Registers every command through one wrapper that logs and shows errors. */
export function registerCommands(ext: Ext): vscode.Disposable[] {
  return commandTable.map(({ command, handler }) =>
    vscode.commands.registerCommand(command, async (node?: NodeDesc, nodes?: NodeDesc[]) => {
      const started = Date.now();
      log.info(`${command} started`);
      try {
        await handler(ext, node, Array.isArray(nodes) ? nodes : undefined);
        log.info(`${command} done in ${Date.now() - started} ms`);
      } catch (e) {
        if (e instanceof Cancelled) {
          log.info(`${command} cancelled`);
          return;
        }
        const message = errorMessage(e).split('\n')[0] ?? 'failed';
        log.error(`${command} failed: ${message}`, e instanceof UserError ? e.detail : e);
        // not awaited: the command finishes now; the button stays on the notification
        void vscode.window.showErrorMessage(`Skupper: ${message}`, 'Show log').then((pick) => pick === 'Show log' && log.show());
      }
    }),
  );
}
