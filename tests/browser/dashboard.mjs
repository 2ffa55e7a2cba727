// The dashboard in a real headless Chromium (Debian's, driven by
// playwright-core from web/node_modules), against a running ltvd with the
// CDNOW sample and a fitted model (the check suite `dashboard`,
// tests/unit/test_dashboard.c, starts it and runs this). Exits 0 when every
// check passed, 1 with the failures listed otherwise.
//   LTVD_URL        http://127.0.0.1:PORT
//   LTVD_KEY        a read key of the tenant default
//   LTVD_PLATFORM_KEY, LTVD_EMPTY_TENANT   a platform key, a tenant without model
//   LTVD_SCREENSHOT where to save the page (PNG)
//   CHROMIUM        the browser (default /usr/bin/chromium)
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const env = (k) => {
  if (!process.env[k]) { console.error(`dashboard.mjs: ${k} is not set`); process.exit(2); }
  return process.env[k];
};
const URL0 = env('LTVD_URL');
const KEY = env('LTVD_KEY');
const PKEY = env('LTVD_PLATFORM_KEY');
const EMPTY = env('LTVD_EMPTY_TENANT');
const SHOT = env('LTVD_SCREENSHOT');
const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`); };

async function apiGet(path, key = KEY) {
  const r = await fetch(URL0 + path, { headers: { Authorization: `Bearer ${key}` } });
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  return { status: r.status, body };
}

// The page's own formatting (web/src/main.js), to compare shown with served.
const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
const fmtNum = (n, d = 2) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const fmtSig = (n) => Number(n.toPrecision(4)).toLocaleString('en-US', { maximumFractionDigits: 6 });

// launch() gives Chromium a fresh empty profile (--user-data-dir) of its own,
// removed on close.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
    '--no-first-run', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--disable-extensions'],
});

// A fresh context (its own session storage) and page, recording console
// errors, page errors and any request leaving the server's origin.
async function newPage(problems, expected) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await ctx.newPage();
  const origin = new URL(URL0).origin;
  // a failed fetch is reported by its response (below), not the console's line
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    const u = new URL(r.url());
    if (r.status() >= 400 && !(expected && expected(u.pathname, r.status()))) problems.push(`${r.status()} for ${u.pathname}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) problems.push(`off-origin request: ${r.url()}`);
  });
  return { ctx, page };
}

async function signIn(page, key, tenant) {
  const res = await page.goto(`${URL0}/`, { waitUntil: 'load' });
  await page.fill('#key', key);
  await page.fill('#tenant', tenant || '');
  await page.click('button[type=submit]');
  return res;
}

const shown = (page, name) => page.$eval(`[data-check="${name}"]`, (e) => e.textContent.trim()).catch(() => null);

try {
  // ---------------------------------------------------------------- the page
  // diagnostics and history may not be there (404): the panels say so
  const problems = [];
  const { ctx, page } = await newPage(problems, (path, st) => st === 404 && /\/model\/(diagnostics|history)$/.test(path));
  const t0 = Date.now();
  const res = await signIn(page, KEY, '');
  const h = res.headers();
  check(res.status() === 200, `GET / answers 200 (${res.status()})`);
  check(/script-src 'self'/.test(h['content-security-policy'] || '') &&
    /connect-src 'self'/.test(h['content-security-policy'] || ''), 'GET / has the strict Content-Security-Policy');
  check(/no-cache/.test(h['cache-control'] || '') && !!h.etag, 'GET / is revalidated (Cache-Control no-cache, ETag)');
  await page.waitForSelector('body[data-state=ready]', { timeout: 20000 });
  console.log(`page ready in ${Date.now() - t0} ms`);

  const states = await page.$$eval('[data-panel]', (ps) => Object.fromEntries(ps.map((p) => [p.dataset.panel, p.dataset.state])));
  const must = ['model', 'segments', 'p_alive', 'ltv', 'at_risk', 'acquisition', 'cohorts', 'subscriptions'];
  for (const id of must) check(states[id] === 'ready', `panel ${id} rendered with data (${states[id]})`);
  // back-test and drift: drawn when the API has them, said so when not
  const diag = await apiGet('/v1/model/diagnostics');
  const hasBt = diag.status === 200 && diag.body && diag.body.backtest;
  const hist = await apiGet('/v1/model/history?limit=20');
  const hasHist = hist.status === 200 && hist.body && hist.body.snapshots && hist.body.snapshots.length > 0;
  const charts = await page.$$eval('[data-panel] .chart', (cs) => cs.map((c) => ({
    label: c.getAttribute('aria-label'), role: c.getAttribute('role'), drawn: !!c.querySelector('svg path, svg rect'),
  })));
  const want = 5 + (hasBt ? 3 : 0) + (hasHist ? 1 : 0);
  check(charts.length === want, `charts drawn: ${charts.length} of ${want}`);
  check(charts.every((c) => c.drawn), 'every chart has drawn shapes');
  check(charts.every((c) => c.role === 'img' && c.label && c.label.length > 20), 'every chart has role img and a text alternative');

  const btText = await page.$eval('[data-panel=backtest]', (e) => e.textContent);
  if (hasBt) {
    check(states.backtest === 'ready', 'panel backtest rendered with data');
    check((await shown(page, 'backtest_mae')) === fmtNum(diag.body.backtest.holdout.mae, 4), 'back-test MAE shown = API');
  } else {
    check(states.backtest === 'empty' && /No back-test yet/.test(btText), `back-test absent (${diag.status}): "No back-test yet" shown`);
  }
  check(states.drift === (hasHist ? 'ready' : 'empty'), `panel drift ${hasHist ? 'drawn' : 'says no history'} (${hist.status})`);

  // ------------------------------------------------- numbers shown = API's
  const model = (await apiGet('/v1/model')).body;
  check((await shown(page, 'n_customers')) === fmtInt(model.n_customers), `customers shown = API (${model.n_customers})`);
  check((await shown(page, 'log_likelihood')) === fmtNum(model.log_likelihood, 2), 'log-likelihood shown = API');
  const paramR = await page.$$eval('[data-check=params] tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
  const r = paramR.find((x) => x[0] === 'r');
  check(r && r[1] === fmtSig(model.params.r) && r[2] === fmtSig(model.std_errors.r), `parameter r and its standard error shown = API (${model.params.r})`);
  const seg = (await apiGet('/v1/segments')).body;
  for (const risk of ['low', 'medium', 'high'])
    check((await shown(page, `risk_${risk}`)) === fmtInt(seg.churn_risk[risk]), `${risk}-risk count shown = API (${seg.churn_risk[risk]})`);
  const dist = (await apiGet('/v1/customers/ltv_distribution?bins=20')).body;
  check((await shown(page, 'ltv_mean')) === fmtNum(dist.mean), `mean predicted LTV shown = API (${dist.mean})`);
  const list = (await apiGet('/v1/customers?at_risk=true&sort=-predicted_ltv&limit=10')).body;
  const firstRow = await page.$eval('[data-check=at_risk] tbody tr', (tr) => [...tr.children].map((c) => c.textContent));
  check(firstRow[0] === list.customers[0].customer_id && firstRow[1] === fmtNum(list.customers[0].predicted_ltv),
    `first at-risk customer shown = API (${list.customers[0].customer_id})`);
  const acq = (await apiGet('/v1/acquisition')).body;
  const acqRows = await page.$$eval('[data-check=acquisition] tbody tr', (rows) => rows.map((tr) => [...tr.children].map((c) => c.textContent)));
  const search = acq.channels.find((c) => c.channel === 'search');
  const sRow = acqRows.find((x) => x[0] === 'search');
  check(sRow && sRow[2] === fmtNum(search.new_customer_ltv) && sRow[3] === fmtNum(search.cac),
    `search channel's LTV and CAC shown = API (${search.new_customer_ltv}, ${search.cac})`);
  const subs = (await apiGet('/v1/subscriptions/retention')).body.billing_periods[0];
  check((await shown(page, `naive_${subs.billing_period}`)) === fmtNum(subs.naive.value), `ARPA / churn shown = API (${subs.naive.value})`);

  // the next page of the at-risk list is the API's next page
  await page.click('[data-panel=at_risk] .pager button:nth-child(2)');
  await page.waitForFunction(() => /page 2/.test(document.querySelector('[data-panel=at_risk] .pager').textContent));
  const next = (await apiGet(`/v1/customers?at_risk=true&sort=-predicted_ltv&limit=10&cursor=${encodeURIComponent(list.next_cursor)}`)).body;
  const row2 = await page.$eval('[data-check=at_risk] tbody tr', (tr) => tr.children[0].textContent);
  check(row2 === next.customers[0].customer_id, `the at-risk list's next page = API's (${next.customers[0].customer_id})`);

  // --------------------------------------------------- basic accessibility
  const a11y = await page.evaluate(() => {
    const out = [];
    for (const i of document.querySelectorAll('input, select, textarea'))
      if (!i.labels || i.labels.length === 0) out.push(`input #${i.id} has no label`);
    if (!document.documentElement.lang) out.push('no lang on html');
    if (document.querySelectorAll('h1').length !== 1) out.push('not one h1');
    for (const p of document.querySelectorAll('[data-panel]'))
      if (!p.querySelector('h2')) out.push(`panel ${p.dataset.panel} has no heading`);
    for (const img of document.querySelectorAll('img')) if (!img.alt) out.push('img without alt');
    // text contrast (WCAG AA 4.5:1) of every element holding text, against
    // the first opaque background up its ancestors
    const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const bg = (e) => {
      for (; e && e.nodeType === 1; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    let checked = 0;
    for (const e of document.querySelectorAll('body *:not(svg *):not(script):not(style)')) {
      const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!own || e.offsetParent === null) continue;
      const L1 = lum(rgb(getComputedStyle(e).color).slice(0, 3)), L2 = lum(bg(e));
      const ratio = (Math.max(L1, L2) + 0.05) / (Math.min(L1, L2) + 0.05);
      checked++;
      if (ratio < 4.5) out.push(`contrast ${ratio.toFixed(2)} < 4.5: "${e.textContent.trim().slice(0, 40)}"`);
    }
    out.push(`#checked ${checked}`);
    return out;
  });
  const checkedLine = a11y.pop();
  check(a11y.length === 0, `accessibility: labels, lang, headings, alt, text contrast (${checkedLine.slice(1)} texts)${a11y.length ? `: ${a11y.slice(0, 5).join('; ')}` : ''}`);

  // back to the first page for the picture
  await page.click('[data-panel=at_risk] .pager button:nth-child(1)');
  await page.waitForFunction(() => /page 1/.test(document.querySelector('[data-panel=at_risk] .pager').textContent));
  await page.screenshot({ path: SHOT, fullPage: true });
  console.log(`screenshot: ${SHOT}`);
  check(problems.length === 0, `no console error, page error or off-origin request${problems.length ? `: ${problems.slice(0, 5).join('; ')}` : ''}`);
  await ctx.close();

  // -------------------------------------------- a tenant without a model
  const p2 = [];
  const second = await newPage(p2, (path, st) => st === 503 && path.endsWith('/model'));
  await signIn(second.page, PKEY, EMPTY);
  await second.page.waitForSelector('body[data-state=no-model]', { timeout: 10000 });
  const visible = await second.page.isVisible('#no-model');
  const text = await second.page.textContent('#no-model');
  const nCharts = await second.page.$$eval('.chart', (c) => c.length);
  check(visible && /No model yet/.test(text) && nCharts === 0, `tenant ${EMPTY} (no model): "No model yet" shown, no chart drawn`);
  await second.page.screenshot({ path: SHOT.replace(/\.png$/, '') + '_no_model.png' });
  check(p2.length === 0, `no page error on the no-model page${p2.length ? `: ${p2.join('; ')}` : ''}`);
  await second.ctx.close();
} catch (e) {
  failures.push(`exception: ${e.stack || e}`);
  console.log(`FAIL exception: ${e.stack || e}`);
} finally {
  await browser.close();
}
console.log(failures.length ? `dashboard: ${failures.length} check(s) failed` : 'dashboard: every check passed');
process.exit(failures.length ? 1 : 0);
