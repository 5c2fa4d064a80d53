// The otp observer page: hash routes, one view at a time, polled every second.
"use strict";

const state = { node: null, sort: "queue", order: "desc", filter: "", offset: 0, limit: 50, allowKill: false };
const view = document.getElementById("view");
const statusLine = document.getElementById("status");
const select = document.querySelector("[data-testid=node-select]");
let timer = null;
let generation = 0;

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k === "onclick" || k === "oninput") el[k] = v;
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) el.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  return el;
}

async function api(path, params) {
  const q = new URLSearchParams(params || {});
  if (state.node) q.set("node", state.node);
  const res = await fetch(`api/${path}?${q}`, { credentials: "same-origin" });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

function bytes(n) {
  if (n === null || n === undefined) return "-";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function pidLink(pid) {
  return h("a", { class: "pid", href: `#/process/${encodeURIComponent(pid)}` }, pid);
}

function loaded(route) { document.body.dataset.loaded = route; }

// -- charts: a polyline over the samples, scaled to the largest value ------------

function chart(testid, title, samples, key, format) {
  const w = 320, ht = 120;
  const values = samples.map((s) => s[key]).filter((v) => typeof v === "number");
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? w / (values.length - 1) : w;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(ht - (v / max) * (ht - 10)).toFixed(1)}`);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("data-testid", testid);
  svg.setAttribute("viewBox", `0 0 ${w} ${ht + 14}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", points.join(" "));
  const label = document.createElementNS(ns, "text");
  label.setAttribute("x", "2");
  label.setAttribute("y", String(ht + 12));
  label.textContent = values.length ? `max ${format(max)}, now ${format(values[values.length - 1])}` : "no samples yet";
  svg.append(line, label);
  return h("div", { class: "chart" }, h("h3", {}, title), svg);
}

// -- views ---------------------------------------------------------------------

const views = {
  async overview() {
    const [o, s] = await Promise.all([api("overview"), api("series")]);
    state.allowKill = o.allow_kill;
    const rate = o.message_rate === null || o.message_rate === undefined ? "-" : `${o.message_rate.toFixed(1)}/s`;
    const card = (testid, label, value) => h("div", { class: "card" }, h("div", { class: "label" }, label), h("div", { class: "value", "data-testid": testid }, value));
    return h("section", { "data-testid": "overview" },
      h("h2", {}, o.node),
      h("div", { class: "cards" },
        card("overview-processes", "Processes", String(o.processes)),
        card("overview-memory", "Memory", bytes(o.memory)),
        card("overview-message-rate", "Messages", rate),
        card("overview-uptime", "Uptime", o.uptime ? `${Math.round(o.uptime)} s` : "-")),
      h("div", { class: "charts" },
        chart("chart-processes", "Processes", s.samples, "processes", (v) => String(Math.round(v))),
        chart("chart-messages", "Messages handled per second", s.samples, "rate", (v) => v.toFixed(1)),
        chart("chart-memory", "Memory (RSS)", s.samples, "memory", bytes)));
  },

  async processes() {
    const p = await api("processes", { sort: state.sort, order: state.order, filter: state.filter, offset: state.offset, limit: state.limit });
    const cols = [["pid", "Pid"], ["name", "Name"], ["behaviour", "Behaviour / initial call"], ["status", "Status"], ["queue", "Queue"], ["memory", "Memory"], ["handled", "Handled"], ["current", "Current"]];
    const head = h("tr", {}, cols.map(([k, label]) => h("th", {
      "data-sort": k,
      class: k === state.sort ? `sorted ${state.order}` : null,
      onclick: () => { state.order = state.sort === k && state.order === "desc" ? "asc" : "desc"; state.sort = k; state.offset = 0; refresh(); },
    }, label)));
    const rows = p.rows.map((r) => h("tr", { "data-testid": "process-row", "data-pid": r.pid, onclick: () => { location.hash = `#/process/${encodeURIComponent(r.pid)}`; } },
      cols.map(([k]) => h("td", { "data-col": k }, cell(r, k)))));
    const filter = h("input", { "data-testid": "process-filter", placeholder: "filter: name, behaviour, function, pid", value: state.filter });
    filter.oninput = () => { state.filter = filter.value; state.offset = 0; refresh(); };
    const last = Math.min(p.offset + p.rows.length, p.matched);
    return h("section", {},
      h("div", { class: "toolbar" }, filter,
        h("span", { "data-testid": "process-total" }, `${p.matched} of ${p.total} processes`),
        h("button", { "data-testid": "page-prev", ...(p.offset <= 0 ? { disabled: "" } : {}), onclick: () => { state.offset = Math.max(0, state.offset - state.limit); refresh(); } }, "Previous"),
        h("span", { "data-testid": "page-info" }, p.matched ? `${p.offset + 1}-${last}` : "0"),
        h("button", { "data-testid": "page-next", ...(last >= p.matched ? { disabled: "" } : {}), onclick: () => { state.offset += state.limit; refresh(); } }, "Next")),
      h("table", { "data-testid": "process-table" }, h("thead", {}, head), h("tbody", {}, rows)));
  },

  async process(pid) {
    const p = await api("process", { pid });
    const kv = (k, v) => [h("dt", {}, k), h("dd", {}, v)];
    const kill = p.allow_kill ? h("button", { class: "danger", "data-testid": "kill-button", onclick: () => killProcess(p.pid) }, "Kill") : "";
    return h("section", { "data-testid": "process-detail" },
      h("h2", {}, `${p.pid} ${p.name || ""} `, kill),
      h("dl", { class: "kv" },
        kv("behaviour", p.behaviour || "-"), kv("initial call", p.initial_call || "-"), kv("status", p.status),
        kv("message queue", String(p.queue)), kv("memory", bytes(p.memory)), kv("messages handled", String(p.handled)),
        kv("current", p.current || "-"), kv("trap_exit", String(p.trap_exit)),
        kv("links", h("span", { "data-testid": "process-links" }, p.links.map(pidLink))),
        kv("monitors", h("span", { "data-testid": "process-monitors" }, p.monitors.map(pidLink)))),
      h("h3", {}, "State"),
      h("pre", { "data-testid": "process-state" }, p.state === null ? "(not a behaviour process)" : p.state));
  },

  async tree() {
    const t = await api("tree");
    const box = h("div", { "data-testid": "supervision-tree" });
    if (!t.available) box.append(h("p", { class: "muted" }, t.reason));
    else if (!t.roots.length) box.append(h("p", { class: "muted" }, "No supervisors run on this node."));
    else box.append(h("ul", { class: "tree" }, t.roots.map(treeNode)));
    return box;
  },

  async tables() {
    const t = await api("tables");
    if (!t.available) return h("p", { "data-testid": "tables-table", class: "muted" }, t.reason);
    const cols = ["name", "owner", "type", "access", "size", "heir"];
    return h("table", { "data-testid": "tables-table" }, h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, c)))),
      h("tbody", {}, t.tables.map((r) => h("tr", { "data-testid": "table-row" }, cols.map((c) => h("td", {}, c === "owner" ? pidLink(r.owner) : String(r[c] ?? "-")))))));
  },

  async registries() {
    const t = await api("registries");
    if (!t.available) return h("p", { "data-testid": "registries-table", class: "muted" }, t.reason);
    const cols = ["name", "pid", "keys", "partitions", "size"];
    return h("table", { "data-testid": "registries-table" }, h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, c)))),
      h("tbody", {}, t.registries.map((r) => h("tr", { "data-testid": "registry-row" }, cols.map((c) => h("td", {}, c === "pid" ? pidLink(r.pid) : String(r[c] ?? "-")))))));
  },

  async nodes() {
    const n = await api("nodes");
    return h("table", { "data-testid": "nodes-table" },
      h("thead", {}, h("tr", {}, ["name", "visibility", "processes", ""].map((c) => h("th", {}, c)))),
      h("tbody", {}, n.nodes.map((r) => h("tr", { "data-testid": "node-row", "data-node": r.name },
        h("td", {}, r.name), h("td", {}, r.this ? "this node" : r.visible ? "visible" : "hidden"),
        h("td", {}, r.processes === null ? "unreachable" : String(r.processes)),
        h("td", {}, h("button", { onclick: () => chooseNode(r.name) }, "Observe"))))));
  },

  async crashes() {
    const c = await api("crashes");
    const list = h("div", { "data-testid": "crash-list" });
    if (!c.available) list.append(h("p", { class: "muted" }, c.reason));
    else if (!c.crashes.length) list.append(h("p", { class: "muted" }, "No crash reports."));
    for (const r of c.crashes || []) {
      list.append(h("div", { class: "crash", "data-testid": "crash-item" },
        h("div", {}, h("strong", {}, new Date(r.time * 1000).toLocaleTimeString()), " ", pidLink(r.pid), r.name || "", " ", h("span", { class: "muted" }, r.behaviour || "")),
        h("div", {}, r.reason), h("pre", {}, r.report)));
    }
    return list;
  },
};

function cell(r, k) {
  if (k === "behaviour") return r.behaviour || r.initial_call || "";
  if (k === "memory") return bytes(r.memory);
  return r[k] === null || r[k] === undefined ? "" : String(r[k]);
}

function treeNode(n) {
  const label = [n.id, n.name && n.name !== n.id ? `(${n.name})` : "", n.pid || "not running", n.behaviour || n.initial_call || "", n.type === "supervisor" ? "" : ""].filter(Boolean).join(" ");
  const li = h("li", { "data-testid": "tree-node", "data-id": n.id ?? "" },
    n.pid ? h("a", { class: `tnode ${n.type}`, href: `#/process/${encodeURIComponent(n.pid)}` }, label) : h("span", { class: "tnode muted" }, label));
  if (typeof n.children === "string") li.append(h("span", { class: "muted" }, ` ${n.children}`));
  else if (n.children.length) li.append(h("ul", {}, n.children.map(treeNode)));
  return li;
}

async function killProcess(pid) {
  const q = new URLSearchParams(state.node ? { node: state.node } : {});
  const res = await fetch(`api/kill?${q}`, { method: "POST", headers: { "Content-Type": "application/json", "X-Otp-Observer": "1" }, body: JSON.stringify({ pid }) });
  const body = await res.json();
  statusLine.textContent = res.ok ? `killed ${pid}` : body.error;
}

function chooseNode(name) {
  state.node = name;
  select.value = name;
  state.offset = 0;
  refresh();
}

async function fillNodes() {
  try {
    const n = await api("nodes");
    const names = n.nodes.map((r) => r.name);
    if (state.node && !names.includes(state.node)) names.push(state.node);
    if (select.options.length !== names.length || [...select.options].some((o, i) => o.value !== names[i])) {
      select.replaceChildren(...names.map((name) => h("option", { value: name }, name)));
    }
    select.value = state.node;
  } catch (e) { /* shown by the view */ }
}

function route() {
  const [, name, arg] = location.hash.match(/^#\/([a-z]+)\/?(.*)$/) || [null, "overview", ""];
  return views[name] ? [name, decodeURIComponent(arg)] : ["overview", ""];
}

// A view that answers slower than the poll (a busy server's state waits up to
// a second) must still land: the timer skips a tick while a refresh is out;
// a click or a route change starts a new one, and the older answer is dropped.
let inFlight = 0;

async function refresh() {
  const mine = ++generation;
  inFlight++;
  try { await draw(mine); } finally { inFlight--; }
}

async function draw(mine) {
  const [name, arg] = route();
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.testid === `nav-${name}`);
  try {
    const el = await views[name](arg);
    if (mine !== generation) return;
    const focused = document.activeElement && document.activeElement.dataset.testid === "process-filter";
    const pos = focused ? document.activeElement.selectionStart : null;
    view.replaceChildren(el);
    if (focused) { const f = view.querySelector("[data-testid=process-filter]"); f.focus(); f.setSelectionRange(pos, pos); }
    statusLine.textContent = "";
    loaded(name);
  } catch (e) {
    if (mine === generation) statusLine.textContent = String(e.message || e);
  }
}

function schedule() {
  clearInterval(timer);
  timer = document.hidden ? null : setInterval(() => { if (!inFlight) refresh(); }, 1000);
}

select.onchange = () => chooseNode(select.value);
window.addEventListener("hashchange", () => { statusLine.textContent = ""; refresh(); });
document.addEventListener("visibilitychange", () => { schedule(); if (!document.hidden) refresh(); });

(async function start() {
  try {
    const o = await api("overview");
    state.node = o.focus || o.node;
  } catch (e) { statusLine.textContent = String(e.message || e); }
  await fillNodes();
  setInterval(fillNodes, 5000);
  await refresh();
  schedule();
})();
