// Placeholder activation until the views land: registers every declared command.
import * as vscode from 'vscode';

const commandTable = [
  { command: 'skupper.init' },
  { command: 'skupper.delete' },
  { command: 'skupper.status' },
  { command: 'skupper.createToken' },
  { command: 'skupper.createLink' },
  { command: 'skupper.deleteLink' },
  { command: 'skupper.expose' },
  { command: 'skupper.unexpose' },
  { command: 'skupper.revokeAccess' },
  { command: 'skupper.showEvents' },
  { command: 'skupper.showTopology' },
  { command: 'skupper.refresh' },
  { command: 'skupper.connectContexts' },
];

export function activate(context: vscode.ExtensionContext): void {
  for (const { command: id } of commandTable) {
    context.subscriptions.push(vscode.commands.registerCommand(id, () => vscode.window.showInformationMessage(`${id}: not available yet in this version`)));
  }
}

export function deactivate(): void {}
