import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { parsePrometheusText, parsePromValue, PromParseError } from '../../../../console/metrics/prom.parse.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

describe('console metrics: Prometheus text parser', () => {
  it('parses a real scrape of the server: every sample line, types and help', () => {
    const text = fixture('metrics.server.a.prom');
    const expo = parsePrometheusText(text);
    const sampleLines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(expo.samples).to.have.length(sampleLines.length);
    expect(expo.types.carebox_http_requests_total).to.equal('counter');
    expect(expo.types.carebox_http_request_duration_seconds).to.equal('histogram');
    expect(expo.types.carebox_queue_jobs).to.equal('gauge');
    expect(expo.help.carebox_db_pool_used).to.match(/connections in use/);
    const health = expo.samples.find((s) => s.name === 'carebox_http_requests_total' && s.labels.route === '/health');
    expect(health).to.deep.equal({
      name: 'carebox_http_requests_total',
      labels: { method: 'GET', route: '/health', status_code: '200' },
      value: 20,
      timestampMs: null,
    });
    const inf = expo.samples.find((s) => s.name === 'carebox_http_request_duration_seconds_bucket' && s.labels.le === '+Inf' && s.labels.route === '/ready');
    expect(inf?.value).to.equal(1);
    const version = expo.samples.find((s) => s.name === 'nodejs_version_info');
    expect(version?.labels.major).to.equal('20');
  });

  it('parses the second real scrape with queue gauges', () => {
    const expo = parsePrometheusText(fixture('metrics.server.b.prom'));
    const waiting = expo.samples.find((s) => s.name === 'carebox_queue_jobs' && s.labels.state === 'waiting');
    expect(waiting).to.deep.include({ labels: { queue: 'system', state: 'waiting' }, value: 3 });
  });

  it('handles escapes, spacing, trailing commas, special values, timestamps and CRLF', () => {
    const text = [
      '# HELP odd_metric A help with a \\\\ backslash and a\\nnewline.',
      '# TYPE odd_metric gauge',
      '# just a comment',
      'odd_metric{path="C:\\\\dir",msg="say \\"hi\\"\\nbye", } 1.5e3 1700000000000\r',
      'odd_metric { a = "x" } -Inf',
      'odd_metric{b="y"} +Inf',
      'odd_metric{c="z"} NaN',
      'bare_metric 42',
      'neg_metric -0.25',
      '',
    ].join('\n');
    const expo = parsePrometheusText(text);
    expect(expo.help.odd_metric).to.equal('A help with a \\ backslash and a\nnewline.');
    expect(expo.samples[0]).to.deep.equal({ name: 'odd_metric', labels: { path: 'C:\\dir', msg: 'say "hi"\nbye' }, value: 1500, timestampMs: 1700000000000 });
    expect(expo.samples[1]!.labels).to.deep.equal({ a: 'x' });
    expect(expo.samples[1]!.value).to.equal(-Infinity);
    expect(expo.samples[2]!.value).to.equal(Infinity);
    expect(expo.samples[3]!.value).to.be.NaN;
    expect(expo.samples[4]).to.deep.include({ name: 'bare_metric', labels: {}, value: 42 });
    expect(expo.samples[5]!.value).to.equal(-0.25);
  });

  it('names the line of malformed input (not a metrics endpoint, truncated body)', () => {
    const bad: [string, RegExp][] = [
      ['<html>nginx</html>', /line 1: expected a metric name/],
      ['ok 1\nbroken{a="x" 1', /line 2: expected ',' or '}'/],
      ['m{a="x} 1', /unterminated value of label a/],
      ['m{a="\\q"} 1', /bad escape/],
      ['m{a="1",a="2"} 1', /label a appears twice/],
      ['m one', /not a number: 'one'/],
      ['m 1 2 3', /expected 'value \[timestamp\]'/],
      ['m 1 12.5', /bad timestamp/],
      ['# TYPE m widget', /unknown metric type 'widget'/],
      ['m', /expected 'value/],
    ];
    for (const [text, re] of bad) {
      expect(() => parsePrometheusText(text), text).to.throw(PromParseError, re);
    }
  });

  it('parses values like Prometheus', () => {
    expect(parsePromValue('0')).to.equal(0);
    expect(parsePromValue('.5')).to.equal(0.5);
    expect(parsePromValue('1e-3')).to.equal(0.001);
    expect(parsePromValue('Inf')).to.equal(Infinity);
    expect(parsePromValue('Nan')).to.be.NaN; // what prom-client writes for an empty event-loop histogram
    expect(parsePromValue('-inf')).to.equal(-Infinity);
    expect(() => parsePromValue('0x10')).to.throw(/not a number/);
    expect(() => parsePromValue('')).to.throw(/not a number/);
  });
});
