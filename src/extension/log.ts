// The "Skupper" output channel: every action and error goes here instead of console.log.
import * as vscode from 'vscode';

let channel: vscode.LogOutputChannel | undefined;

export function initLog(): vscode.LogOutputChannel {
  channel ??= vscode.window.createOutputChannel('Skupper', { log: true });
  return channel;
}

export const log = {
  info: (msg: string) => initLog().info(msg),
  warn: (msg: string) => initLog().warn(msg),
  error: (msg: string, detail?: unknown) => {
    initLog().error(msg);
    if (detail instanceof Error && detail.stack) initLog().debug(detail.stack);
    else if (typeof detail === 'string' && detail) initLog().info(detail);
  },
  show: () => initLog().show(true),
};
