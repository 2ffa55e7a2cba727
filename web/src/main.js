// The ltvd dashboard: asks for an API key (kept in this tab's session
// storage) and, for a platform key, a tenant; then draws one panel per
// documented JSON endpoint (docs/dashboard.md). Everything it needs is in
// this bundle: no request leaves the page's origin.
import * as echarts from 'echarts/core';
import { BarChart, HeatmapChart, LineChart } from 'echarts/charts';
import {
  AriaComponent, GridComponent, LegendComponent, MarkAreaComponent, TooltipComponent,
  VisualMapComponent,
} from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';

echarts.use([BarChart, HeatmapChart, LineChart, AriaComponent, GridComponent,
  LegendComponent, MarkAreaComponent, TooltipComponent, VisualMapComponent, SVGRenderer]);

// Colours with at least 3:1 contrast on white (WCAG non-text contrast),
// told apart by colour-blind readers (after Okabe & Ito, darkened).
const PALETTE = ['#0b5cad', '#c35a00', '#1b7f5a', '#a4161a', '#6a3d9a', '#8c6d00', '#2f4f6f'];
const INK = '#1b1f24';

const $ = (id) => document.getElementById(id);
const state = { key: '', tenant: '', charts: [], cursor: [], gen: 0 };

// ------------------------------------------------------------ formatting

const fmtInt = (n) => (n == null ? '–' : Math.round(n).toLocaleString('en-US'));
const fmtNum = (n, d = 2) => (n == null || !Number.isFinite(n) ? '–'
  : n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
const fmtSig = (n) => (n == null || !Number.isFinite(n) ? '–'
  : Number(n.toPrecision(4)).toLocaleString('en-US', { maximumFractionDigits: 6 }));
const fmtPct = (n) => (n == null ? '–' : `${(100 * n).toFixed(1)}%`);

// An RFC 3339 time (the history's) or UTC seconds (the model's) as
// "YYYY-MM-DD HH:MM" UTC.
function utcMinute(t) {
  const d = typeof t === 'string' ? new Date(t) : new Date(t * 1000);
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString().slice(0, 16).replace('T', ' ');
}

function ago(seconds) {
  const s = Math.max(0, Date.now() / 1000 - seconds);
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129600) return `${(s / 3600).toFixed(1)} h ago`;
  return `${(s / 86400).toFixed(1)} days ago`;
}

// ------------------------------------------------------------ DOM helpers

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

// A figure "label: value", the value tagged data-check=name for the test.
function figure(label, value, name) {
  return el('li', {}, `${label}: `, el('b', { 'data-check': name }, value));
}

function table(caption, head, rows, name) {
  const t = el('table', { 'data-check': name });
  t.append(el('caption', { text: caption }));
  const tr = el('tr');
  for (const h of head) tr.append(el('th', { scope: 'col', text: h }));
  t.append(el('thead', {}, tr));
  const tb = el('tbody');
  for (const r of rows) {
    const row = el('tr');
    r.forEach((c, i) => row.append(el(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row' } : {},
      c == null ? '–' : String(c))));
    tb.append(row);
  }
  t.append(tb);
  return t;
}

// A panel: heading, its one-sentence description, a body. Its data-state
// says when it is done: ready (drawn with data), empty (nothing to draw, a
// message says why) or error.
function panel(id, title, what, wide = false) {
  const body = el('div', { class: 'body' }, el('p', { class: 'msg', text: 'Loading…' }));
  const sec = el('section', {
    class: wide ? 'panel wide' : 'panel', id: `panel-${id}`, 'data-panel': id,
    'aria-labelledby': `h-${id}`, 'aria-busy': 'true',
  }, el('h2', { id: `h-${id}`, text: title }), el('p', { class: 'what', text: what }), body);
  $('panels').append(sec);
  return {
    sec,
    body,
    done(stateName, ...nodes) {
      body.replaceChildren(...nodes);
      sec.dataset.state = stateName;
      sec.setAttribute('aria-busy', 'false');
    },
    message(stateName, text) {
      this.done(stateName, el('p', { class: stateName === 'error' ? 'msg error' : 'msg', text }));
    },
  };
}

// A chart container, role img with a text alternative, drawn once in the DOM.
function chart(label, option, height) {
  const div = el('div', { class: 'chart', role: 'img', 'aria-label': label });
  if (height) div.style.height = `${height}px`;
  return {
    node: div,
    draw() {
      const c = echarts.init(div, null, { renderer: 'svg' });
      c.setOption({
        color: PALETTE,
        textStyle: { color: INK, fontFamily: 'system-ui, sans-serif' },
        aria: { enabled: true, label: { description: label } },
        animation: false,
        tooltip: { trigger: 'axis' },
        ...option,
      });
      state.charts.push(c);
      div.setAttribute('aria-label', label); // ECharts' aria may rewrite it
      div.setAttribute('role', 'img');
    },
  };
}

const axisName = (name) => ({ name, nameLocation: 'middle', nameGap: 30,
  nameTextStyle: { color: INK }, axisLabel: { color: INK } });

// ------------------------------------------------------------ requests

class ApiError extends Error {
  constructor(status, problem) {
    super(problem && (problem.detail || problem.title) ? (problem.detail || problem.title)
      : `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

function base() {
  return state.tenant ? `/v1/tenants/${encodeURIComponent(state.tenant)}` : '/v1';
}

async function api(path) {
  const res = await fetch(base() + path, {
    headers: { Authorization: `Bearer ${state.key}`, Accept: 'application/json' },
    cache: 'no-store',
  });
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

const slug = (e) => (e.problem && e.problem.type ? e.problem.type.split(':').pop() : '');

// ------------------------------------------------------------ panels

function modelPanel(m) {
  const p = panel('model', 'Model and fit',
    'The purchase model served now: its parameters with standard errors, how well it fits and how old the fit is.');
  const se = m.std_errors || {};
  const rows = Object.entries(m.params).map(([k, v]) => [k, fmtSig(v), se[k] == null ? '–' : fmtSig(se[k])]);
  if (m.spend) {
    const sse = m.spend.std_errors || {};
    for (const [k, v] of Object.entries(m.spend.params))
      rows.push([`${k} (spend, ${m.spend.model})`, fmtSig(v), sse[k] == null ? '–' : fmtSig(sse[k])]);
  }
  const lr = m.last_refit;
  const figs = el('ul', { class: 'figures' },
    figure('Model', `${m.title} (${m.model}), per ${m.period}`, 'model'),
    figure('Customers', fmtInt(m.n_customers), 'n_customers'),
    figure('Log-likelihood', fmtNum(m.log_likelihood, 2), 'log_likelihood'),
    figure('Fitted', `${ago(m.fitted_at)} (as of ${m.as_of})`, 'fitted'),
    figure('Eligibility', m.converged ? 'served: converged and identified' : 'served', 'eligibility'),
    figure('Last refit', lr ? `${lr.outcome}${lr.reason ? `: ${lr.reason}` : ''}` : 'none', 'last_refit'));
  const nodes = [figs, table('Parameters', ['parameter', 'estimate', 'standard error'], rows, 'params')];
  if (m.fallback) nodes.push(el('p', { class: 'msg', text: `Fallback: ${m.fallback}` }));
  p.done('ready', ...nodes);
}

function backtestPanel(diag, why) {
  const p = panel('backtest', 'Back-test',
    'The model fitted on earlier history, scored on the most recent weeks it did not see: purchases per period, by past frequency, and how many customers made each number of repeat purchases.', true);
  const bt = diag && diag.backtest;
  if (!bt) {
    p.message('empty', `No back-test yet${why ? `: ${why}` : (diag && diag.reason ? `: ${diag.reason}` : '.')}`);
    return;
  }
  const tr = bt.tracking || [];
  const hold = tr.filter((r) => r.phase === 'holdout');
  const tracking = chart(`Tracking plot: repeat purchases per period, actual and model, calibration to ${bt.calibration_end}, holdout to ${bt.holdout_end}`, {
    legend: { top: 0, textStyle: { color: INK } },
    grid: { left: 50, right: 16, top: 30, bottom: 50 },
    xAxis: { type: 'category', data: tr.map((r) => r.period_start), ...axisName('period start') },
    yAxis: { type: 'value', ...axisName('repeat purchases'), nameGap: 38 },
    series: [
      { name: 'actual', type: 'line', data: tr.map((r) => r.actual), showSymbol: false },
      { name: 'model', type: 'line', data: tr.map((r) => r.model), showSymbol: false, lineStyle: { type: 'dashed' },
        markArea: hold.length === 0 ? undefined : { silent: true, itemStyle: { color: 'rgba(74, 83, 96, 0.12)' },
          label: { color: INK, position: 'insideTop' },
          data: [[{ name: 'holdout', xAxis: hold[0].period_start }, { xAxis: hold[hold.length - 1].period_start }]] } },
    ],
  });
  const ce = bt.conditional_expectations || [];
  const cond = chart('Conditional expectations: mean holdout purchases, actual and predicted, by calibration frequency', {
    legend: { top: 0, textStyle: { color: INK } },
    grid: { left: 50, right: 16, top: 30, bottom: 50 },
    xAxis: { type: 'category', data: ce.map((r) => r.frequency), ...axisName('purchases in calibration') },
    yAxis: { type: 'value', ...axisName('mean holdout purchases'), nameGap: 38 },
    series: [
      { name: 'actual', type: 'line', data: ce.map((r) => r.actual_mean) },
      { name: 'predicted', type: 'line', data: ce.map((r) => r.predicted_mean), lineStyle: { type: 'dashed' } },
    ],
  });
  const ch = bt.calibration_histogram || [];
  const hist = chart('Calibration histogram: customers by number of repeat purchases, actual and model', {
    legend: { top: 0, textStyle: { color: INK } },
    grid: { left: 50, right: 16, top: 30, bottom: 50 },
    xAxis: { type: 'category', data: ch.map((r) => r.repeat_purchases), ...axisName('repeat purchases') },
    yAxis: { type: 'value', ...axisName('customers'), nameGap: 38 },
    series: [
      { name: 'actual', type: 'bar', data: ch.map((r) => r.actual) },
      { name: 'model', type: 'bar', data: ch.map((r) => r.model) },
    ],
  });
  const h = bt.holdout || {};
  const figs = el('ul', { class: 'figures' },
    figure('Holdout MAE', fmtNum(h.mae, 4), 'backtest_mae'),
    figure('Naive MAE', fmtNum(bt.naive && bt.naive.mae, 4), 'backtest_naive_mae'),
    figure('Predicted vs actual', `${fmtNum(h.predicted_total, 0)} vs ${fmtNum(h.actual_total, 0)}`, 'backtest_totals'),
    el('li', { class: bt.worse_than_naive ? 'bad' : 'good',
      text: bt.worse_than_naive ? 'Worse than the naive benchmark' : 'Better than the naive benchmark' }));
  const grid = el('div', { class: 'charts3' },
    el('div', {}, el('h3', { text: 'Tracking' }), tracking.node),
    el('div', {}, el('h3', { text: 'Conditional expectations' }), cond.node),
    el('div', {}, el('h3', { text: 'Calibration histogram' }), hist.node));
  p.done('ready', figs, grid);
  tracking.draw(); cond.draw(); hist.draw();
}

function driftPanel(hist, why) {
  const p = panel('drift', 'Parameter drift',
    'The purchase model\'s parameters at each of the last refits, oldest first: a steady line means a stable customer base.');
  const snaps = hist && hist.snapshots ? hist.snapshots.slice().reverse() : [];
  if (snaps.length === 0) {
    p.message('empty', `No fit history yet${why ? `: ${why}` : '.'}`);
    return;
  }
  const names = Object.keys(snaps[snaps.length - 1].params || {});
  const c = chart(`Parameters of the last ${snaps.length} fits: ${names.join(', ')}`, {
    legend: { top: 0, textStyle: { color: INK } },
    grid: { left: 50, right: 16, top: 30, bottom: 50 },
    xAxis: { type: 'category', data: snaps.map((s) => utcMinute(s.fitted_at)),
      ...axisName('fitted at (UTC)') },
    yAxis: { type: 'log', ...axisName('value (log scale)'), nameGap: 38 },
    series: names.map((n) => ({ name: n, type: 'line', data: snaps.map((s) => (s.params ? s.params[n] : null)) })),
  });
  const figs = el('ul', { class: 'figures' }, figure('Fits shown', fmtInt(snaps.length), 'drift_fits'));
  if (snaps.length === 1) figs.append(el('li', { text: 'one fit so far: the lines start with the next refit' }));
  p.done('ready', figs, c.node);
  c.draw();
}

function pAlivePanel(mx) {
  const p = panel('p_alive', 'P(alive) by frequency and recency',
    `The probability that a customer is still active, for each number of repeat purchases (frequency) and age at the last purchase (recency), observed for ${mx.T} ${mx.period}s.`);
  const data = [];
  mx.p_alive.forEach((row, f) => row.forEach((v, r) => { if (v != null) data.push([r, f, v]); }));
  const c = chart(`Heat map of P(alive) for frequency 0 to ${mx.frequency.length - 1} and recency 0 to ${mx.T} ${mx.period}s: dark is likely alive, light likely gone`, {
    tooltip: { position: 'top' },
    grid: { left: 50, right: 80, top: 10, bottom: 50 },
    xAxis: { type: 'category', data: mx.recency, ...axisName(`recency (${mx.period}s)`) },
    yAxis: { type: 'category', data: mx.frequency, ...axisName('frequency'), nameGap: 32 },
    visualMap: { min: 0, max: 1, calculable: false, orient: 'vertical', right: 0, top: 'middle',
      text: ['alive', 'gone'], textStyle: { color: INK }, inRange: { color: ['#f4f1de', '#7fb3d5', '#0b2e59'] } },
    series: [{ name: 'P(alive)', type: 'heatmap', data }],
  }, 320);
  p.done('ready', c.node);
  c.draw();
}

function ltvPanel(d) {
  const p = panel('ltv', 'Predicted LTV',
    `How many customers are expected to be worth how much over the next ${d.horizon_days} days (margin ${d.margin}); the top 1% are counted apart.`);
  if (!d.has_spend_model || d.bins.length === 0) {
    p.message('empty', 'No spend model: the LTV of customers is unknown until Gamma-Gamma is fitted.');
    return;
  }
  const labels = d.bins.map((b) => `${fmtNum(b.from, 0)}–${fmtNum(b.to, 0)}`);
  labels.push(`> ${fmtNum(d.above.from, 0)}`);
  const counts = d.bins.map((b) => b.customers).concat([d.above.customers]);
  const c = chart(`Histogram of predicted LTV over ${d.customers} customers: median ${fmtNum(d.p50)}, 90th percentile ${fmtNum(d.p90)}`, {
    grid: { left: 56, right: 16, top: 10, bottom: 70 },
    xAxis: { type: 'category', data: labels, ...axisName('predicted LTV'), nameGap: 52,
      axisLabel: { color: INK, rotate: 40 } },
    yAxis: { type: 'value', ...axisName('customers'), nameGap: 42 },
    series: [{ name: 'customers', type: 'bar', data: counts }],
  });
  p.done('ready', el('ul', { class: 'figures' },
    figure('Customers', fmtInt(d.customers), 'ltv_customers'),
    figure('Mean', fmtNum(d.mean), 'ltv_mean'),
    figure('Median', fmtNum(d.p50), 'ltv_p50'),
    figure('Total', fmtNum(d.total, 0), 'ltv_total')), c.node);
  c.draw();
}

const RISKS = ['low', 'medium', 'high'];
const STAGES = ['new', 'developing', 'established', 'sleeping', 'lost'];

function segmentsPanel(s) {
  const p = panel('segments', 'Churn risk and lifecycle stage',
    `How many of the ${fmtInt(s.customers)} customers are in each lifecycle stage, split by churn risk, as of ${s.as_of}.`);
  const cell = (r, st) => (s.segments.find((x) => x.churn_risk === r && x.lifecycle_stage === st) || {}).customers || 0;
  const c = chart(`Customers by lifecycle stage and churn risk: ${STAGES.map((st) => `${st} ${s.lifecycle_stage[st]}`).join(', ')}`, {
    legend: { top: 0, textStyle: { color: INK } },
    grid: { left: 56, right: 16, top: 30, bottom: 50 },
    xAxis: { type: 'category', data: STAGES, ...axisName('lifecycle stage') },
    yAxis: { type: 'value', ...axisName('customers'), nameGap: 42 },
    series: RISKS.map((r, i) => ({ name: `${r} risk`, type: 'bar', stack: 'risk', data: STAGES.map((st) => cell(r, st)),
      itemStyle: { color: ['#1b7f5a', '#c35a00', '#a4161a'][i] } })),
  });
  p.done('ready', el('ul', { class: 'figures' },
    figure('Customers', fmtInt(s.customers), 'segments_customers'),
    ...RISKS.map((r) => figure(`${r} risk`, fmtInt(s.churn_risk[r]), `risk_${r}`))), c.node);
  c.draw();
}

async function atRiskPanel(p, cursor) {
  const q = `/customers?at_risk=true&sort=-predicted_ltv&limit=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
  const page = await api(q);
  const items = page.customers || [];
  if (items.length === 0 && !cursor) {
    p.message('empty', 'No customer is at risk now.');
    return;
  }
  const rows = items.map((c) => [c.customer_id, fmtNum(c.predicted_ltv), fmtPct(c.p_alive),
    c.summary ? c.summary.last_purchase : '–', c.summary ? c.summary.frequency : '–', c.acquisition_channel || '–']);
  const prev = el('button', { type: 'button', class: 'secondary' }, 'Previous page');
  const next = el('button', { type: 'button', class: 'secondary' }, 'Next page');
  prev.disabled = state.cursor.length === 0;
  next.disabled = !page.next_cursor;
  prev.addEventListener('click', () => atRiskPanel(p, state.cursor.pop() || null).catch((e) => p.message('error', e.message)));
  next.addEventListener('click', () => { state.cursor.push(cursor); atRiskPanel(p, page.next_cursor).catch((e) => p.message('error', e.message)); });
  p.done('ready', table('At-risk customers by predicted LTV', ['customer', 'predicted LTV', 'P(alive)', 'last purchase', 'frequency', 'channel'], rows, 'at_risk'),
    el('div', { class: 'pager' }, prev, next, el('span', { class: 'hint', text: `page ${state.cursor.length + 1}` })));
}

function acquisitionPanel(a) {
  const p = panel('acquisition', 'Acquisition by channel',
    `What a new customer of each channel is worth over ${a.months} months against what it cost: the most to pay per customer keeps LTV/CAC at ${a.target_ratio}.`, true);
  const rows = [a.overall, ...(a.channels || [])].map((c, i) => [
    i === 0 ? 'all channels' : (c.channel == null ? '(no channel)' : c.channel),
    fmtInt(c.customers), fmtNum(c.new_customer_ltv), fmtNum(c.cac), fmtNum(c.ltv_cac),
    fmtNum(c.max_cac), c.payback_month == null ? 'not within horizon' : `month ${c.payback_month}`]);
  p.done('ready', table('New-customer value and cost by channel', ['channel', 'customers', 'LTV', 'CAC', 'LTV/CAC', 'max CAC', 'payback'], rows, 'acquisition'));
}

function cohortsPanel(co) {
  const p = panel('cohorts', 'Cohort retention',
    `For the customers first buying in each ${co.by}, the share still buying in each later ${co.by}.`);
  const cohorts = co.cohorts || [];
  if (cohorts.length === 0) {
    p.message('empty', 'No cohort yet.');
    return;
  }
  const width = Math.max(...cohorts.map((c) => c.retention.length));
  const data = [];
  cohorts.forEach((c, y) => c.retention.forEach((v, x) => {
    const pct = Math.round(v * 1000) / 10;
    data.push({ value: [x, y, pct], label: { color: pct > 45 ? '#ffffff' : INK } });
  }));
  const c = chart(`Retention matrix of ${cohorts.length} cohorts by ${co.by}: percent of each cohort buying in each ${co.by} since its first`, {
    tooltip: { position: 'top' },
    grid: { left: 70, right: 80, top: 10, bottom: 50 },
    xAxis: { type: 'category', data: Array.from({ length: width }, (_, i) => i), ...axisName(`${co.by}s since first purchase`) },
    yAxis: { type: 'category', data: cohorts.map((x) => x.month || x.start || x.cohort), inverse: true, axisLabel: { color: INK } },
    visualMap: { min: 0, max: 100, orient: 'vertical', right: 0, top: 'middle', text: ['100%', '0%'],
      textStyle: { color: INK }, inRange: { color: ['#f4f1de', '#7fb3d5', '#0b2e59'] } },
    series: [{ name: 'retention %', type: 'heatmap', data, label: { show: width <= 14, fontSize: 11 } }],
  }, Math.min(420, 90 + 28 * cohorts.length));
  p.done('ready', c.node);
  c.draw();
}

function subscriptionsPanel(r) {
  const p = panel('subscriptions', 'Subscription retention',
    'The share of subscribers still renewing after each billing period, as the model projects it, beside the naive ARPA / churn value that assumes one churn rate for all.');
  const bps = (r.billing_periods || []).filter((b) => b.subscriptions > 0);
  if (bps.length === 0) {
    p.message('empty', 'No subscriptions yet.');
    return;
  }
  const nodes = [];
  const series = [];
  let len = 0;
  for (const b of bps) {
    if (b.curve) { series.push({ name: `${b.billing_period}: model`, type: 'line', data: b.curve.map((v) => v * 100) }); len = Math.max(len, b.curve.length); }
    for (const co of b.cohorts || []) {
      if (bps.length === 1 && b.cohorts.length <= 3) {
        series.push({ name: `${b.billing_period} ${co.start}: observed`, type: 'line', lineStyle: { type: 'dashed' },
          data: co.survivors.map((v) => (100 * v) / co.survivors[0]) });
        len = Math.max(len, co.survivors.length);
      }
    }
    nodes.push(el('ul', { class: 'figures' },
      figure(`${b.billing_period}: subscriptions`, fmtInt(b.subscriptions), `subs_${b.billing_period}`),
      figure('ARPA', fmtNum(b.arpa), `arpa_${b.billing_period}`),
      figure('naive churn', b.naive ? fmtPct(b.naive.churn) : '–', `churn_${b.billing_period}`),
      figure('ARPA / churn', b.naive ? fmtNum(b.naive.value) : '–', `naive_${b.billing_period}`),
      figure('model value', fmtNum(b.new_subscriber_value), `subvalue_${b.billing_period}`)));
    if (b.note) nodes.push(el('p', { class: 'msg', text: b.note }));
  }
  const c = chart('Retention curve: percent of subscribers still active after each billing period, model and observed', {
    legend: { top: 0, textStyle: { color: INK } },
    grid: { left: 50, right: 16, top: 30, bottom: 50 },
    xAxis: { type: 'category', data: Array.from({ length: len }, (_, i) => i), ...axisName('billing periods since start') },
    yAxis: { type: 'value', max: 100, ...axisName('% still subscribed'), nameGap: 36 },
    series,
  });
  p.done('ready', ...nodes, c.node);
  c.draw();
}

// ------------------------------------------------------------ loading

// Runs one panel's loader; a failure shows in the panel, not the page.
async function guarded(id, title, fn) {
  try {
    await fn();
  } catch (e) {
    let p = document.querySelector(`[data-panel="${id}"]`);
    if (!p) p = panel(id, title, '').sec;
    const body = p.querySelector('.body');
    body.replaceChildren(el('p', { class: 'msg error', text: `Could not load: ${e.message}` }));
    p.dataset.state = 'error';
    p.setAttribute('aria-busy', 'false');
  }
}

// 404 (not there yet) or a problem: null with why.
async function optional(path) {
  try {
    return { doc: await api(path), why: null };
  } catch (e) {
    if (e.status === 404 || e.status === 503) return { doc: null, why: e.status === 404 ? null : e.message };
    throw e;
  }
}

function reset() {
  for (const c of state.charts) c.dispose();
  state.charts = [];
  state.cursor = [];
  $('panels').replaceChildren();
  $('panels').hidden = true;
  $('no-model').hidden = true;
  document.body.dataset.state = 'loading';
}

function status(text, error = false) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

async function load() {
  const gen = ++state.gen;
  reset();
  status('Loading…');
  let model;
  try {
    model = await api('/model');
  } catch (e) {
    if (gen !== state.gen) return;
    if (slug(e) === 'no-model') {
      $('no-model-detail').textContent = e.message;
      $('no-model').hidden = false;
      document.body.dataset.state = 'no-model';
      status(`No model yet for ${state.tenant || 'this key\'s tenant'}.`);
      return;
    }
    document.body.dataset.state = 'error';
    status(e.status === 401 || e.status === 403 ? `The key was refused: ${e.message}`
      : e.status === 404 ? `No such tenant: ${e.message}` : `Could not load: ${e.message}`, true);
    return;
  }
  $('panels').hidden = false;
  await Promise.all([
    guarded('model', 'Model and fit', async () => modelPanel(model)),
    guarded('segments', 'Churn risk and lifecycle stage', async () => segmentsPanel(await api('/segments'))),
    guarded('p_alive', 'P(alive) by frequency and recency', async () => pAlivePanel(await api('/model/p_alive_matrix?max_frequency=20'))),
    guarded('ltv', 'Predicted LTV', async () => ltvPanel(await api('/customers/ltv_distribution?bins=20'))),
    guarded('at_risk', 'At-risk customers worth most', async () => {
      const p = panel('at_risk', 'At-risk customers worth most',
        'Customers likely to be slipping away, the most valuable first: the ones worth a win-back offer.');
      await atRiskPanel(p, null);
    }),
    guarded('backtest', 'Back-test', async () => {
      const d = await optional('/model/diagnostics');
      backtestPanel(d.doc, d.why);
    }),
    guarded('drift', 'Parameter drift', async () => {
      const h = await optional('/model/history?limit=20');
      driftPanel(h.doc, h.why);
    }),
    guarded('acquisition', 'Acquisition by channel', async () => acquisitionPanel(await api('/acquisition'))),
    guarded('cohorts', 'Cohort retention', async () => cohortsPanel(await api('/cohorts'))),
    guarded('subscriptions', 'Subscription retention', async () => subscriptionsPanel(await api('/subscriptions/retention'))),
  ]);
  if (gen !== state.gen) return;
  // the panels in a fixed order whatever answered first
  const order = ['model', 'segments', 'p_alive', 'ltv', 'at_risk', 'drift', 'backtest', 'acquisition', 'cohorts', 'subscriptions'];
  for (const id of order) {
    const s = document.querySelector(`[data-panel="${id}"]`);
    if (s) $('panels').append(s);
  }
  for (const c of state.charts) c.resize();
  document.body.dataset.state = 'ready';
  status(`${state.tenant ? `Tenant ${state.tenant}` : 'Your tenant'}: ${fmtInt(model.n_customers)} customers, model ${model.title} fitted ${ago(model.fitted_at)}.`);
}

function start() {
  const form = $('login');
  state.key = sessionStorage.getItem('ltvd.key') || '';
  state.tenant = sessionStorage.getItem('ltvd.tenant') || '';
  $('tenant').value = state.tenant;
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.key = $('key').value.trim();
    state.tenant = $('tenant').value.trim();
    sessionStorage.setItem('ltvd.key', state.key);
    sessionStorage.setItem('ltvd.tenant', state.tenant);
    $('key').value = '';
    load();
  });
  $('forget').addEventListener('click', () => {
    sessionStorage.removeItem('ltvd.key');
    sessionStorage.removeItem('ltvd.tenant');
    state.key = '';
    state.gen++;
    reset();
    document.body.dataset.state = 'idle';
    status('Key forgotten. Enter an API key to see the dashboard.');
  });
  window.addEventListener('resize', () => { for (const c of state.charts) c.resize(); });
  if (state.key) load();
  else document.body.dataset.state = 'idle';
}

start();
