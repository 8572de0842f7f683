// Placeholder entry of the router bundle until the site agent lands.
console.error('vscode-skupper router bundle: the site agent is not built yet');
process.exit(2);
