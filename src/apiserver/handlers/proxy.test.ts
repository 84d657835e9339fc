import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { rewritableHtml, rewriteHtml } from './proxy-html.ts';
import { rewriteLocation, splitSchemeNamePort } from './proxy.ts';

describe('proxy ids', () => {
  it('splits [scheme:]name[:port] as upstream does', () => {
    assert.deepEqual(splitSchemeNamePort('web'), { scheme: '', name: 'web', port: '' });
    assert.deepEqual(splitSchemeNamePort('web:8080'), { scheme: '', name: 'web', port: '8080' });
    assert.deepEqual(splitSchemeNamePort('web:http'), { scheme: '', name: 'web', port: 'http' });
    assert.deepEqual(splitSchemeNamePort('https:web:443'), { scheme: 'https', name: 'web', port: '443' });
    assert.deepEqual(splitSchemeNamePort('http:web:'), { scheme: 'http', name: 'web', port: '' });
    assert.equal(splitSchemeNamePort('ftp:web:21'), undefined);
    assert.equal(splitSchemeNamePort(':80'), undefined);
    assert.equal(splitSchemeNamePort('a:b:c:d'), undefined);
  });

  it('keeps redirects to the backend under the proxy prefix', () => {
    const target = { host: '10.42.0.5', port: 8080 };
    const prefix = '/api/v1/namespaces/default/pods/web:8080/proxy';
    assert.equal(rewriteLocation('/login?next=%2F', target, prefix), `${prefix}/login?next=%2F`);
    assert.equal(rewriteLocation('http://10.42.0.5:8080/a/b', target, prefix), `${prefix}/a/b`);
    assert.equal(rewriteLocation('http://example.com/a', target, prefix), undefined);
    assert.equal(rewriteLocation('relative/path', target, prefix), undefined);
    assert.equal(rewriteLocation('//other.host/x', target, prefix), undefined);
  });
});

describe('HTML pages through the proxy', () => {
  const target = { host: '10.42.0.5', port: 8080 };
  const prefix = '/api/v1/namespaces/default/services/web/proxy';
  const rewrite = (url: string) => rewriteLocation(url, target, prefix);

  it('keeps root-relative and same-backend links under the proxy, and leaves the rest', () => {
    const page = `<html><head><link rel="stylesheet" href="/css/app.css"><script src='//cdn.example/x.js'></script></head>
<body><a href=/next?a=1&amp;b=2>next</a> <a href="relative.html">rel</a> <img SRC="http://10.42.0.5:8080/i.png">
<form action="/submit" method="post"></form><p>href="/not-a-tag-attribute"</p><a href="https://example.com/">out</a></body></html>`;
    const out = rewriteHtml(Buffer.from(page), undefined, rewrite).toString();
    assert.match(out, /<link rel="stylesheet" href="\/api\/v1\/namespaces\/default\/services\/web\/proxy\/css\/app\.css">/);
    assert.match(out, /<script src='\/\/cdn\.example\/x\.js'>/);
    assert.match(out, /<a href=\/api\/v1\/namespaces\/default\/services\/web\/proxy\/next\?a=1&amp;b=2>/);
    assert.match(out, /<a href="relative\.html">/);
    assert.match(out, /<img SRC="\/api\/v1\/namespaces\/default\/services\/web\/proxy\/i\.png">/);
    assert.match(out, /<form action="\/api\/v1\/namespaces\/default\/services\/web\/proxy\/submit"/);
    assert.match(out, /<p>href="\/not-a-tag-attribute"<\/p>/);
    assert.match(out, /<a href="https:\/\/example\.com\/">/);
  });

  it('rewrites gzip pages, and only HTML in a known encoding', () => {
    const out = rewriteHtml(gzipSync('<a href="/x">x</a>'), 'gzip', rewrite);
    assert.equal(gunzipSync(out).toString(), `<a href="${prefix}/x">x</a>`);
    assert.equal(rewritableHtml({ 'content-type': 'text/html; charset=utf-8' }), true);
    assert.equal(rewritableHtml({ 'content-type': 'text/html', 'content-encoding': 'br' }), false);
    assert.equal(rewritableHtml({ 'content-type': 'application/json' }), false);
  });
});
