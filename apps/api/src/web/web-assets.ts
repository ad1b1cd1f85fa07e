/**
 * Static files of the dashboard and the portal, compiled into dist/ with the code (the image ships dist/ only).
 * Served by WebAssetsController under /dashboard/assets/ with a content hash in the URL.
 */
import { createHash } from 'node:crypto';

const CSS = `
:root {
  --bg: #f5f6f8; --surface: #fff; --border: #e2e5ea; --text: #1c2230; --muted: #5f6b7c; --faint: #8a94a3;
  --accent: #2d5be3; --accent-soft: #e8eefc;
  --ok: #17803a; --ok-bg: #dcf5e3; --bad: #b42318; --bad-bg: #fde6e4; --warn: #8a5a00; --warn-bg: #fff2cf;
  --grey: #475467; --grey-bg: #eceef2;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  --radius: 8px;
}
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin: 0; background: var(--bg); color: var(--text); line-height: 1.45;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
h1 { font-size: 1.45rem; margin: 0 0 4px; display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
h2 { font-size: 1.1rem; margin: 28px 0 10px; }
h3 { font-size: 0.95rem; margin: 0 0 8px; }
code, pre, .mono { font-family: var(--mono); font-size: 0.86rem; }
.wrap { max-width: 1240px; margin: 0 auto; padding: 0 24px; }
.muted { color: var(--muted); }
.faint { color: var(--faint); }
.small { font-size: 0.85rem; }

/* header */
.top { background: #141a28; color: #dfe4ee; }
.top .wrap { display: flex; align-items: center; gap: 18px; min-height: 54px; flex-wrap: nowrap; }
@media (max-width: 1100px) { .top .wrap { flex-wrap: wrap; padding-top: 6px; padding-bottom: 6px; } }
.brand { color: #fff; font-weight: 700; font-size: 1.05rem; letter-spacing: 0.2px; }
.brand span { font-weight: 400; color: #9fb0d0; margin-left: 4px; }
.top nav { display: flex; gap: 4px; }
.top nav a { color: #c9d2e3; padding: 6px 10px; border-radius: 6px; }
.top nav a:hover, .top nav a.active { background: #263048; color: #fff; text-decoration: none; }
.top .search { flex: 1 1 260px; display: flex; gap: 6px; min-width: 220px; max-width: 440px; }
.top .search input { flex: 1; background: #222b3f; border: 1px solid #34405c; color: #fff; padding: 7px 10px;
  border-radius: 6px; font-family: var(--mono); font-size: 0.85rem; }
.top .search input::placeholder { color: #8592ad; font-family: system-ui, sans-serif; }
.top .who { margin-left: auto; display: flex; align-items: center; gap: 10px; font-size: 0.85rem; color: #aab6cc;
  white-space: nowrap; flex-shrink: 0; }
.top .who .mono { font-size: 0.78rem; }
.top .who form { margin: 0; }
.pill { display: inline-block; padding: 2px 8px; border-radius: 999px; background: #263048; color: #c9d2e3;
  font-size: 0.78rem; }

main.wrap { padding-top: 22px; padding-bottom: 40px; }
.page-head { display: flex; align-items: flex-start; justify-content: space-between; gap: 16px; flex-wrap: wrap;
  margin-bottom: 16px; }
.page-head .sub { color: var(--muted); margin-top: 2px; }
.actions { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.actions form { margin: 0; }
footer { color: var(--faint); font-size: 0.8rem; padding: 10px 24px 30px; }

/* flash */
.flash { padding: 10px 14px; border-radius: var(--radius); margin-bottom: 16px; border: 1px solid; }
.flash.ok { background: var(--ok-bg); border-color: #a9e3b9; color: #0f5a27; }
.flash.error { background: var(--bad-bg); border-color: #f5b8b1; color: #8c1a10; }
.flash a { margin-left: 8px; font-weight: 600; }

/* cards, grids */
.card { background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius); padding: 16px 18px; }
.card + .card, .cols + .card, .card + .cols, .cols + .cols { margin-top: 14px; }
.cols > .card + .card { margin-top: 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 14px; }
@media (max-width: 980px) { .grid { grid-template-columns: 1fr; } }
.grid .card + .card { margin-top: 0; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
@media (max-width: 900px) { .cols { grid-template-columns: 1fr; } }

/* tabs and filters */
.tabs { display: flex; gap: 2px; border-bottom: 1px solid var(--border); margin: 6px 0 14px; flex-wrap: wrap; }
.tabs a { padding: 8px 14px; color: var(--muted); border-bottom: 2px solid transparent; margin-bottom: -1px; }
.tabs a.active { color: var(--text); border-bottom-color: var(--accent); font-weight: 600; }
.tabs a:hover { text-decoration: none; color: var(--text); }
.filters select, .filters input[type=text] { width: auto; min-width: 180px; }
.filters { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; margin-bottom: 12px; font-size: 0.9rem; }
.chip { display: inline-flex; align-items: center; gap: 6px; background: var(--accent-soft); color: #1d3f9e;
  border-radius: 999px; padding: 2px 10px; font-size: 0.82rem; }
.chip a { color: #1d3f9e; font-weight: 700; }

/* tables */
table { width: 100%; border-collapse: collapse; background: var(--surface); }
.table { border: 1px solid var(--border); border-radius: var(--radius); overflow-x: auto; }
th, td { text-align: left; padding: 8px 12px; border-bottom: 1px solid var(--border); vertical-align: top; }
th { font-size: 0.78rem; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); background: #fafbfc;
  font-weight: 600; }
tr:last-child td { border-bottom: 0; }
tbody tr:hover { background: #fafbff; }
td.num, th.num { text-align: right; }
.empty { padding: 26px; text-align: center; color: var(--muted); background: var(--surface);
  border: 1px dashed var(--border); border-radius: var(--radius); }
.pager { display: flex; gap: 12px; justify-content: flex-end; margin-top: 10px; font-size: 0.9rem; }

/* key-value lists */
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 6px 18px; margin: 0; }
dl.kv dt { color: var(--muted); font-size: 0.88rem; }
dl.kv dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }

/* badges */
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 0.78rem; font-weight: 600;
  line-height: 1.6; white-space: nowrap; background: var(--grey-bg); color: var(--grey); }
.badge.b-succeeded, .badge.b-enabled, .badge.b-ok { background: var(--ok-bg); color: var(--ok); }
.badge.b-failed, .badge.b-disabled, .badge.b-bad { background: var(--bad-bg); color: var(--bad); }
.badge.b-pending, .badge.b-retrying, .badge.b-warn { background: var(--warn-bg); color: var(--warn); }
.badge.b-interrupted { background: var(--grey-bg); color: var(--grey); }
.badge.b-superseded { background: var(--grey-bg); color: var(--grey); }
h1 .badge { font-size: 0.85rem; }
h1 .mono { font-size: 1.05rem; font-weight: 600; overflow-wrap: anywhere; }

/* times */
time.when { white-space: nowrap; }
time.when .abs { display: block; font-size: 0.76rem; color: var(--faint); }
time.when.inline .abs { display: inline; margin-left: 6px; }

/* endpoint health */
.endpoint .url { font-family: var(--mono); font-size: 0.9rem; overflow-wrap: anywhere; font-weight: 600; color: var(--text); }
.endpoint .head { display: flex; justify-content: space-between; gap: 10px; align-items: flex-start; }
.endpoint .meta { color: var(--muted); font-size: 0.84rem; margin: 4px 0 10px; }
.health { display: grid; grid-template-columns: 1fr; gap: 8px; }
.chart { width: 100%; height: 64px; display: block; }
.chart-legend { display: flex; justify-content: space-between; font-size: 0.74rem; color: var(--faint); }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(92px, 1fr)); gap: 8px; }
.stat { background: #f8f9fb; border-radius: 6px; padding: 6px 9px; }
.stat .label { white-space: nowrap; font-size: 0.72rem; color: var(--muted); text-transform: uppercase; letter-spacing: 0.04em; }
.stat .value { font-size: 1.05rem; font-weight: 650; white-space: nowrap; }
.stat .value.good { color: var(--ok); }
.stat .value.bad { color: var(--bad); }
.stat .value.warn { color: var(--warn); }
.lasterror { font-size: 0.84rem; background: var(--bad-bg); color: #7a1a12; border-radius: 6px; padding: 6px 9px;
  overflow-wrap: anywhere; }
.notice { font-size: 0.86rem; background: var(--warn-bg); color: #6b4600; border-radius: 6px; padding: 6px 9px; }

/* attempts */
details.attempt { background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius);
  margin-bottom: 12px; border-left: 4px solid var(--grey-bg); }
details.attempt.o-succeeded { border-left-color: #4cc26f; }
details.attempt.o-failed { border-left-color: #e5483a; }
details.attempt.o-retrying { border-left-color: #e8b13a; }
details.attempt > summary { cursor: pointer; padding: 10px 14px; display: flex; gap: 14px; align-items: center;
  flex-wrap: wrap; list-style: none; }
details.attempt > summary::-webkit-details-marker { display: none; }
details.attempt > summary .n { font-weight: 700; min-width: 34px; }
details.attempt[open] > summary { border-bottom: 1px solid var(--border); }
.attempt-body { display: grid; grid-template-columns: 1fr 1fr; gap: 0; }
.attempt-body > div { padding: 12px 14px; min-width: 0; }
.attempt-body > div + div { border-left: 1px solid var(--border); }
@media (max-width: 900px) { .attempt-body { grid-template-columns: 1fr; } .attempt-body > div + div { border-left: 0; } }
.attempt-body h3 { font-size: 0.78rem; text-transform: uppercase; letter-spacing: 0.05em; color: var(--muted); margin: 10px 0 6px; }
.attempt-body h3:first-child { margin-top: 0; }
table.headers { font-family: var(--mono); font-size: 0.8rem; border: 1px solid var(--border); }
table.headers td { padding: 3px 8px; }
table.headers td:first-child { color: var(--muted); white-space: nowrap; width: 1%; }
table.headers td:last-child { overflow-wrap: anywhere; word-break: break-all; }
pre { background: #0f1524; color: #dbe4f5; padding: 10px 12px; border-radius: 6px; overflow: auto; max-height: 340px;
  margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.error-box { background: var(--bad-bg); color: #7a1a12; border-radius: 6px; padding: 8px 10px; font-size: 0.88rem; }

/* forms */
form.stack { display: grid; gap: 14px; max-width: 640px; }
label { font-weight: 600; font-size: 0.9rem; display: block; margin-bottom: 4px; }
.hint { font-weight: 400; color: var(--muted); font-size: 0.82rem; }
input[type=text], input[type=url], input[type=password], textarea, select {
  width: 100%; padding: 8px 10px; border: 1px solid #cbd1da; border-radius: 6px; font: inherit; background: #fff; }
textarea { min-height: 70px; font-family: var(--mono); font-size: 0.86rem; }
input.mono { font-family: var(--mono); }
input:focus, textarea:focus, select:focus { outline: 2px solid #bcd0ff; border-color: var(--accent); }
.field.invalid input, .field.invalid textarea { border-color: var(--bad); background: #fffafa; }
.field-error { color: var(--bad); font-size: 0.84rem; margin-top: 4px; }
.check { display: flex; gap: 8px; align-items: center; font-weight: 500; }
.btn { display: inline-flex; align-items: center; gap: 6px; padding: 7px 14px; border-radius: 6px; border: 1px solid #cbd1da;
  background: #fff; color: var(--text); font: inherit; font-weight: 600; cursor: pointer; text-decoration: none; }
.btn:hover { background: #f3f5f8; text-decoration: none; }
.btn.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
.btn.primary:hover { background: #244bc0; }
.btn.danger { color: var(--bad); border-color: #f0b7b1; }
.btn[disabled] { opacity: 0.5; cursor: not-allowed; }
button.link { background: none; border: 0; color: #c9d2e3; cursor: pointer; font: inherit; padding: 0; text-decoration: underline; }
.secret { font-family: var(--mono); background: #f3f5f8; border: 1px solid var(--border); border-radius: 6px; padding: 8px 10px;
  overflow-wrap: anywhere; }

/* sign-in pages */
.center { max-width: 440px; margin: 60px auto; }
.center h1 { margin-bottom: 12px; }
`;

const PORTAL_ENTER_JS = `(function () {
  var form = document.getElementById('enter');
  var match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (!form || !match) {
    var missing = document.getElementById('missing');
    if (missing) missing.hidden = false;
    return;
  }
  // Drop the token from the address bar and history before anything else can read it.
  window.history.replaceState(null, '', window.location.pathname);
  form.elements.namedItem('token').value = decodeURIComponent(match[1]);
  form.submit();
})();
`;

export interface WebAsset {
  body: string;
  type: string;
  /** Versioned URL: the content hash changes with the content, so it can be cached for a long time. */
  url: string;
}

function asset(name: string, body: string, type: string): WebAsset {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 10);
  return { body, type, url: `/dashboard/assets/${hash}/${name}` };
}

export const WEB_ASSETS = {
  css: asset('web.css', CSS, 'text/css; charset=utf-8'),
  portalEnter: asset('portal-enter.js', PORTAL_ENTER_JS, 'text/javascript; charset=utf-8'),
};
