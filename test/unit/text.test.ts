import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { asciiSafeJson, dnsLabelOf, printable, printableLines } from '../../src/core/text';

describe('text from outside', () => {
  test('printable: one line, no control or bidi characters, capped', () => {
    assert.equal(printable('a\u001b[31mb\nc\u009bd\u202ee'), 'a [31mb c d e');
    assert.equal(printable('x'.repeat(10), 5), 'xxxx…');
    assert.equal(printableLines('a\r\nb\u0007'), 'a\nb ');
  });

  test('dnsLabelOf: what a site name may be, at most 63', () => {
    assert.equal(dnsLabelOf('West_Site'), 'west-site');
    assert.equal(dnsLabelOf(`\u001b[2J${'x'.repeat(100)}`)?.length, 63);
    assert.equal(dnsLabelOf('---'), undefined);
    assert.equal(dnsLabelOf(42), undefined);
  });

  test('asciiSafeJson: the same data, no raw C1 or bidi characters', () => {
    const value = { name: 'a\u009bb\u202ec\u007f' };
    const text = asciiSafeJson(JSON.stringify(value));
    assert.doesNotMatch(text, /[\u007f-\u009f\u202e]/);
    assert.deepEqual(JSON.parse(text), value);
  });
});
