// A plain text table: columns padded to their widest cell. Cells quote what sites publish (names,
// errors, event messages): control characters are removed so they cannot drive the terminal.
import { printable } from '../../core/text';

export function table(headers: string[], dirty: string[][]): string {
  const rows = dirty.map((r) => r.map((c) => printable(c ?? '')));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : (c ?? '').padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
