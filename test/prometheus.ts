// A strict reader of the Prometheus text exposition format, for tests that check /metrics.
import assert from 'node:assert/strict';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of the Prometheus text format (0.0.4): throws on any line it does not understand. */
export function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string>; help: Map<string, string> } {
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  for (const line of text.split('\n').slice(0, -1)) {
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      assert.ok(!help.has(m[1]), `one HELP for ${m[1]}`);
      help.set(m[1], m[2]);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      assert.ok(!types.has(m[1]), `one TYPE for ${m[1]}`);
      types.set(m[1], m[2]);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|\+Inf|NaN)$/.exec(line);
    assert.ok(m, `a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
    let pos = 0;
    while (pos < body.length) {
      re.lastIndex = pos;
      const l = re.exec(body);
      assert.ok(l, `labels of ${line}`);
      labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      pos = re.lastIndex;
    }
    const family = m[1].replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(m[1]) || types.get(family) === 'histogram', `TYPE before the samples of ${m[1]}`);
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { samples, types, help };
}
