// SPDX-License-Identifier: MIT
//
// The console's page: reads the daemon's event stream (/api/events, one "state" event with the
// whole picture whenever it changed) and draws the zones on an SVG map in their fire-danger
// colours, the open alerts as the server orders them (most severe, then newest, first), the
// devices and the gateway. Every text that comes from the gateway (names, rules, contacts) goes
// in through textContent or an attribute, never as markup, so a name with tags in it shows as
// the text it is. Chinese by default; the button switches to English and back (remembered).
"use strict";

const SVG = "http://www.w3.org/2000/svg";

// The five levels' official colours (docs/cap.md, "Colours"), as the API names them.
const COLOURS = { green: "#3a9d23", blue: "#1e6fd9", yellow: "#f5d000", orange: "#f28500",
                  red: "#d7191c" };
const UNKNOWN = "#c8c8c8";
// A node not heard for this long is shown as silent.
const SILENT_S = 3600;

const TEXT = {
  "zh-CN": {
    connecting: "连接中", live: "实时", offline: "已断开", zones: "区域火险等级",
    alerts: "未结束的告警", no_alerts: "没有未结束的告警", devices: "设备", device: "设备",
    zone: "区域", kind: "类型", last_seen: "最后上报", gateway: "网关", never: "从未",
    levels: ["一级", "二级", "三级", "四级", "五级"], unknown: "未知", tomorrow: "明天",
    colours: { green: "绿", blue: "蓝", yellow: "黄", orange: "橙", red: "红" },
    chief: "林长", duty: "值班", since: "开始", acked: "已确认", value: "数值",
    threshold: "阈值", brokers: "消息服务器", connected: "已连接", disconnected: "未连接",
    outbox: "待发消息", loaded: "配置加载", reload: "最近重载", none: "无", rules: "规则数",
    ago: (s) => (s < 60 ? s + " 秒前" : s < 3600 ? Math.floor(s / 60) + " 分钟前"
                                              : Math.floor(s / 3600) + " 小时前"),
    severity: { Extreme: "特别严重", Severe: "严重", Moderate: "较重", Minor: "一般",
                Unknown: "未知" },
    other: "English",
  },
  "en-US": {
    connecting: "connecting", live: "live", offline: "disconnected", zones: "Fire danger by zone",
    alerts: "Open alerts", no_alerts: "No open alerts", devices: "Devices", device: "device",
    zone: "zone", kind: "kind", last_seen: "last seen", gateway: "Gateway", never: "never",
    levels: ["level 1", "level 2", "level 3", "level 4", "level 5"], unknown: "unknown",
    tomorrow: "tomorrow",
    colours: { green: "green", blue: "blue", yellow: "yellow", orange: "orange", red: "red" },
    chief: "forest chief", duty: "duty", since: "since", acked: "acknowledged by",
    value: "value", threshold: "threshold", brokers: "brokers", connected: "connected",
    disconnected: "not connected", outbox: "outbox", loaded: "config loaded",
    reload: "last reload", none: "none", rules: "rules",
    ago: (s) => (s < 60 ? s + " s ago" : s < 3600 ? Math.floor(s / 60) + " min ago"
                                              : Math.floor(s / 3600) + " h ago"),
    severity: { Extreme: "Extreme", Severe: "Severe", Moderate: "Moderate", Minor: "Minor",
                Unknown: "Unknown" },
    other: "中文",
  },
};

let lang = "zh-CN";
try {
  if (localStorage.getItem("forestwatch.lang") === "en-US") lang = "en-US";
} catch (e) { /* storage may be off: the default stays */ }
let state = null;

function t(key) { return TEXT[lang][key]; }

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const k in attrs) e.setAttribute(k, String(attrs[k]));
  return e;
}

function zoneName(z) { return (lang === "en-US" && z.name_en) || z.name || z.id; }
function contactName(c) { return c ? (lang === "en-US" && c.name_en) || c.name || "" : ""; }

function levelText(level) {
  return level >= 1 && level <= 5 && Number.isInteger(level) ? t("levels")[level - 1]
                                                             : t("unknown");
}

// A time in the zone's local time with its offset, "12-08 03:01:54+08:00".
function localTime(iso, offsetMin) {
  const ms = Date.parse(iso);
  if (isNaN(ms)) return iso || "";
  const off = offsetMin || 0;
  const d = new Date(ms + off * 60000);
  const p = (n) => String(n).padStart(2, "0");
  const sign = off < 0 ? "-" : "+";
  const a = Math.abs(off);
  return p(d.getUTCMonth() + 1) + "-" + p(d.getUTCDate()) + " " + p(d.getUTCHours()) + ":" +
         p(d.getUTCMinutes()) + ":" + p(d.getUTCSeconds()) + sign + p(Math.floor(a / 60)) + ":" +
         p(a % 60);
}

// ---- The map ---------------------------------------------------------------------------------

// Zones with an outline are drawn from it; one with only a location as a square around it; the
// others as tiles in a row under the map (all of them when none has a place).
function drawMap(zones) {
  const map = document.getElementById("map");
  map.replaceChildren();
  const W = 800, H = 420, PAD = 30;
  const placed = zones.filter((z) => z.polygon || z.location);
  const loose = zones.filter((z) => !z.polygon && !z.location);
  let pts = [];
  for (const z of placed) pts = pts.concat(z.polygon || [z.location]);
  const lat0 = pts.length ? pts.reduce((s, p) => s + p[0], 0) / pts.length : 0;
  const kx = Math.cos((lat0 * Math.PI) / 180);
  const xy = (p) => [p[1] * kx, -p[0]];
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const p of pts) {
    const [x, y] = xy(p);
    minX = Math.min(minX, x); maxX = Math.max(maxX, x);
    minY = Math.min(minY, y); maxY = Math.max(maxY, y);
  }
  // A lone location still gets a square: give the extent a size.
  const span = Math.max(maxX - minX, maxY - minY, 0.01);
  const tile = span / Math.max(4, Math.sqrt(placed.length) * 3);
  minX -= tile; minY -= tile; maxX += tile; maxY += tile;
  const rowH = loose.length ? 90 : 0;
  const scale = pts.length ? Math.min((W - 2 * PAD) / (maxX - minX),
                                      (H - rowH - 2 * PAD) / (maxY - minY)) : 1;
  const toScreen = (p) => {
    const [x, y] = xy(p);
    return [PAD + (x - minX) * scale, PAD + (y - minY) * scale];
  };
  map.setAttribute("viewBox", "0 0 " + W + " " + H);
  const drawZone = (z, shape, cx, cy) => {
    const g = svg("g", { class: "zone", "data-zone": z.id, "data-level": z.level === null ? "" : z.level,
                         "data-colour": z.colour || "" });
    shape.setAttribute("class", "zone-shape");
    shape.setAttribute("fill", COLOURS[z.colour] || UNKNOWN);
    const title = svg("title", {});
    title.textContent = zoneName(z) + ": " + levelText(z.level);
    shape.appendChild(title);
    g.appendChild(shape);
    const name = svg("text", { x: cx, y: cy - 4 });
    name.textContent = zoneName(z);
    g.appendChild(name);
    let line = levelText(z.level);
    if (z.level_tomorrow !== null && z.level_tomorrow !== undefined)
      line += " / " + t("tomorrow") + " " + levelText(z.level_tomorrow);
    if (z.open_alerts) line += " ⚠ " + z.open_alerts;
    const lv = svg("text", { x: cx, y: cy + 13, class: "level" });
    lv.textContent = line;
    g.appendChild(lv);
    map.appendChild(g);
  };
  for (const z of placed) {
    let shape, cx, cy;
    if (z.polygon) {
      const s = z.polygon.map(toScreen);
      shape = svg("polygon", { points: s.map((p) => p[0].toFixed(1) + "," + p[1].toFixed(1)).join(" ") });
      cx = s.reduce((a, p) => a + p[0], 0) / s.length;
      cy = s.reduce((a, p) => a + p[1], 0) / s.length;
    } else {
      [cx, cy] = toScreen(z.location);
      const half = (tile * scale) / 2;
      shape = svg("rect", { x: cx - half, y: cy - half, width: 2 * half, height: 2 * half, rx: 4 });
    }
    drawZone(z, shape, cx, cy);
  }
  const tw = Math.min(160, (W - 2 * PAD) / Math.max(loose.length, 1) - 10);
  loose.forEach((z, i) => {
    const x = PAD + i * (tw + 10), y = pts.length ? H - rowH : PAD;
    drawZone(z, svg("rect", { x: x, y: y, width: tw, height: 70, rx: 6 }), x + tw / 2, y + 35);
  });
  const legend = document.getElementById("legend");
  legend.replaceChildren();
  ["green", "blue", "yellow", "orange", "red"].forEach((c, i) => {
    const li = el("li");
    const sw = el("span");
    sw.style.background = COLOURS[c];
    li.appendChild(sw);
    li.appendChild(document.createTextNode(t("levels")[i] + " " + t("colours")[c]));
    legend.appendChild(li);
  });
}

// ---- Alerts, devices, gateway ------------------------------------------------------------------

function drawAlerts(alerts, zones) {
  const list = document.getElementById("alerts");
  list.replaceChildren();
  document.getElementById("no-alerts").hidden = alerts.length > 0;
  const byId = {};
  for (const z of zones) byId[z.id] = z;
  for (const a of alerts) {
    const li = el("li", "alert sev-" + (a.severity || "Unknown"));
    li.setAttribute("data-id", a.id);
    const z = byId[a.zone];
    const where = z ? zoneName(z) : a.zone || t("gateway");
    const sev = t("severity")[a.severity] || a.severity || "";
    li.appendChild(el("div", "head", sev + " · " + where + " · " + (a.description || a.rule)));
    let what = t("value") + " " + (a.value === null ? "?" : a.value);
    if (a.threshold !== undefined) what += " " + a.op + " " + a.threshold;
    if (a.node) what += " · " + a.node;
    what += " · " + t("since") + " " + localTime(a.since, a.utc_offset_min);
    li.appendChild(el("div", "meta", what));
    const who = [];
    if (a.forest_chief) who.push(t("chief") + " " + contactName(a.forest_chief) + " " + (a.forest_chief.phone || ""));
    if (a.duty) who.push(t("duty") + " " + contactName(a.duty) + " " + (a.duty.phone || ""));
    if (who.length) li.appendChild(el("div", "meta", who.join(" · ")));
    if (a.acknowledged_by) li.appendChild(el("div", "meta acked", t("acked") + " " + a.acknowledged_by));
    list.appendChild(li);
  }
}

function drawDevices(devices) {
  const body = document.querySelector("#devices tbody");
  body.replaceChildren();
  const rows = devices.nodes.map((n) => ({ id: n.id, zone: n.zone, kind: n.kind || "",
                                           age: n.last_seen ? n.age_s : null }));
  for (const m of devices.modbus)
    rows.push({ id: m.id, zone: m.zone || "", kind: "modbus " + m.polls + "/" + m.failures,
                age: m.last_seen ? Math.max(0, Math.round((Date.parse(state.now) - Date.parse(m.last_seen)) / 1000)) : null });
  for (const r of rows) {
    const tr = el("tr", r.age === null || r.age > SILENT_S ? "silent" : "");
    tr.setAttribute("data-device", r.id);
    tr.appendChild(el("td", "", r.id));
    tr.appendChild(el("td", "", r.zone));
    tr.appendChild(el("td", "", r.kind));
    tr.appendChild(el("td", "", r.age === null ? t("never") : t("ago")(r.age)));
    body.appendChild(tr);
  }
}

function drawGateway(g) {
  const dl = document.getElementById("gateway");
  dl.replaceChildren();
  const add = (k, v) => { dl.appendChild(el("dt", "", k)); dl.appendChild(el("dd", "", v)); };
  document.getElementById("title").textContent =
    "forestwatch · " + ((lang === "en-US" && g.name_en) || g.name || g.id);
  add(t("brokers"), g.brokers.map((b) => b.name + " " + (b.connected ? t("connected") : t("disconnected"))).join(", "));
  add(t("outbox"), g.outbox_depth);
  add(t("rules"), g.rules);
  add(t("loaded"), localTime(g.config_loaded, 0));
  add(t("reload"), g.last_reload || t("none"));
}

function draw() {
  document.documentElement.lang = lang;
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.getAttribute("data-i18n"));
  document.getElementById("lang").textContent = t("other");
  if (!state) return;
  drawMap(state.zones);
  drawAlerts(state.alerts, state.zones);
  drawDevices(state.devices);
  drawGateway(state.gateway);
  document.getElementById("now").textContent = localTime(state.now, 0);
}

function setLink(up) {
  const link = document.getElementById("link");
  link.className = "link " + (up ? "up" : "down");
  link.setAttribute("data-i18n", up ? "live" : "offline");
  link.textContent = t(up ? "live" : "offline");
}

function start() {
  document.getElementById("lang").addEventListener("click", () => {
    lang = lang === "zh-CN" ? "en-US" : "zh-CN";
    try { localStorage.setItem("forestwatch.lang", lang); } catch (e) { /* not kept */ }
    draw();
  });
  draw();
  // The browser reconnects by itself after a lost stream; the first event brings everything.
  const events = new EventSource("/api/events");
  events.addEventListener("open", () => setLink(true));
  events.addEventListener("error", () => setLink(false));
  events.addEventListener("state", (ev) => {
    state = JSON.parse(ev.data);
    setLink(true);
    draw();
  });
}

document.addEventListener("DOMContentLoaded", start);
