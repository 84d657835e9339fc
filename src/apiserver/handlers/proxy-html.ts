// Links in HTML pages served through pods/proxy and services/proxy: a page
// that links to "/static/app.js" means its own server's root, which through
// the proxy is the proxy prefix. Upstream's proxy transport rewrites such
// links (root-relative URLs and URLs naming the backend itself) in the
// URL-valued attributes of HTML elements; this does the same on the tag
// text, for uncompressed or gzip pages up to a size limit (larger ones, and
// other encodings, pass unchanged).
import { gunzipSync, gzipSync } from 'node:zlib';

/** Pages above this are passed through untouched (they are read whole to be rewritten). */
export const MAX_REWRITTEN_HTML_BYTES = 8 * 1024 * 1024;

// The URL-valued attributes upstream rewrites (across all elements that carry them).
const URL_ATTRIBUTES = ['href', 'src', 'action', 'formaction', 'poster', 'cite', 'background', 'longdesc', 'usemap', 'codebase', 'data', 'manifest', 'icon', 'profile', 'classid'];
const TAG = /<[a-zA-Z][^>]*>/g;
const ATTRIBUTE = new RegExp(`(\\s(?:${URL_ATTRIBUTES.join('|')})\\s*=\\s*)("([^"]*)"|'([^']*)'|([^\\s"'>]+))`, 'gi');

/** Whether a response of this type and encoding can be rewritten. */
export function rewritableHtml(headers: { 'content-type'?: string; 'content-encoding'?: string; 'content-length'?: string }): boolean {
  const type = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const encoding = (headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const length = Number(headers['content-length'] ?? 0);
  return type === 'text/html' && (encoding === 'identity' || encoding === 'gzip') && length <= MAX_REWRITTEN_HTML_BYTES;
}

/** The page with its links kept under the proxy; `rewriteUrl` answers undefined for a URL to leave alone. */
export function rewriteHtml(body: Buffer, encoding: string | undefined, rewriteUrl: (url: string) => string | undefined): Buffer {
  const gzip = (encoding ?? '').trim().toLowerCase() === 'gzip';
  const text = (gzip ? gunzipSync(body) : body).toString('latin1'); // byte-preserving for any charset
  const rewritten = text.replace(TAG, (tag) => tag.replace(ATTRIBUTE, (whole, lead: string, _quoted: string, double?: string, single?: string, bare?: string) => {
    const url = double ?? single ?? bare ?? '';
    const replacement = rewriteUrl(url);
    if (replacement === undefined) return whole;
    const quote = double !== undefined ? '"' : single !== undefined ? "'" : '';
    return `${lead}${quote}${replacement}${quote}`;
  }));
  const bytes = Buffer.from(rewritten, 'latin1');
  return gzip ? gzipSync(bytes) : bytes;
}
