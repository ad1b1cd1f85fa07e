import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { html, queryString, raw } from './html';

describe('html templates', () => {
  it('escapes interpolated text, keeps nested templates and raw markup', () => {
    const evil = `<script>alert("x")</script>&'`;
    const inner = html`<b>${evil}</b>`;
    assert.equal(
      html`<p title="${evil}">${inner}${raw('<hr>')}${null}${false}${undefined}${0}</p>`.value,
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;">' +
        '<b>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</b><hr>0</p>',
    );
  });

  it('joins arrays', () => {
    assert.equal(
      html`<ul>
        ${['a', '<b>'].map((x) => html`<li>${x}</li>`)}
      </ul>`.value.replace(/>\s+</g, '><'),
      '<ul><li>a</li><li>&lt;b&gt;</li></ul>',
    );
  });

  it('queryString drops empty values', () => {
    assert.equal(queryString({ a: '1', b: '', c: undefined, d: 'x y' }), '?a=1&d=x+y');
    assert.equal(queryString({}), '');
  });
});
