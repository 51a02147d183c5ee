// The reference dashboard (served at /dashboard): four panels, each one GraphQL query on the public
// API. Bundled by build.mjs into service/static/dashboard/ with uPlot (no CDN).
// Each panel carries data-state (loading | ready | error) and data-rows, which the browser test reads;
// the first chart drawn sets the performance mark "first-chart".
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./dashboard.css";

import { query } from "./api";
import { Constituents, EligibilityChanges, IndexList, SouthboundFlows, TopCreations } from "./queries";

const THRESHOLD_HKD = 20e9;
const config = JSON.parse(document.getElementById("dashboard-config")?.textContent ?? "{}") as {
  endpoint?: string;
};
const endpoint = config.endpoint ?? "/graphql";
const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Hong_Kong" }).format(new Date());

// ---- small DOM helpers ---------------------------------------------------------------------------

type Attrs = Record<string, string | number | boolean | undefined>;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children);
  return node;
}

const bn = (value: number) => `HK$${(value / 1e9).toFixed(1)}bn`;
const mn = (value: number) => `${(value / 1e6).toLocaleString("en", { maximumFractionDigits: 1 })}m`;

type Panel = { section: HTMLElement; controls: HTMLFormElement; body: HTMLElement; note: HTMLElement };

function panel(id: string, title: string, description: string): Panel {
  const controls = el("form", { class: "controls" });
  const body = el("div", { class: "body" });
  const note = el("p", { class: "note" });
  const section = el(
    "section",
    { id, class: "panel", "data-state": "loading" },
    el("h2", {}, title),
    el("p", { class: "description" }, description),
    controls,
    note,
    body,
  );
  document.getElementById("dashboard")?.append(section);
  return { section, controls, body, note };
}

function field(form: HTMLFormElement, label: string, input: HTMLInputElement | HTMLSelectElement): void {
  form.append(el("label", {}, label, input));
}

function dateInput(name: string, value: string): HTMLInputElement {
  return el("input", { type: "date", name, value });
}

function select(name: string, options: [string, string][], value: string): HTMLSelectElement {
  const node = el("select", { name });
  for (const [optionValue, text] of options) node.append(el("option", { value: optionValue }, text));
  node.value = value;
  return node;
}

/** Run a panel's load: its state and row count go on the section for tests and styling. */
async function load(p: Panel, work: () => Promise<number>): Promise<void> {
  p.section.dataset.state = "loading";
  try {
    const rows = await work();
    p.section.dataset.rows = String(rows);
    p.section.dataset.state = "ready";
  } catch (error) {
    p.section.dataset.state = "error";
    p.body.replaceChildren(el("p", { class: "error" }, String(error)));
    console.error(error);
  }
}

function onChange(p: Panel, reload: () => void): void {
  p.controls.addEventListener("change", reload);
  p.controls.addEventListener("submit", (event) => {
    event.preventDefault();
    reload();
  });
}

function table(headers: string[], rows: (Node | string)[][]): HTMLTableElement {
  return el(
    "table",
    {},
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((c) => el("td", {}, c))))),
  );
}

/** A horizontal bar for a value within [-max, max] (negative bars point left, in another colour). */
function bar(value: number, max: number): HTMLElement {
  const width = max > 0 ? Math.min(100, (Math.abs(value) / max) * 100) : 0;
  return el(
    "span",
    { class: value < 0 ? "bar negative" : "bar" },
    el("span", { style: `width:${width.toFixed(1)}%` }),
  );
}

// ---- 1. Southbound net buying, running total, HK$20bn threshold ----------------------------------

let flowChart: uPlot | undefined;

const flows = panel(
  "panel-flows",
  "Southbound net buying",
  "Daily net buying by mainland investors through Stock Connect (bars, left axis), its running total over the window (line, right axis) and the HK$20bn threshold (dashed).",
);
const flowDays = select(
  "days",
  [
    ["60", "last 60 days"],
    ["120", "last 120 days"],
    ["250", "last 250 days"],
    ["500", "last 500 days"],
    ["", "all data"],
  ],
  "250",
);
field(flows.controls, "Window ", flowDays);

function drawFlows(days: number[], net: number[], running: number[]): void {
  const data: uPlot.AlignedData = [days, net, running, days.map(() => THRESHOLD_HKD)];
  const width = Math.max(320, flows.body.clientWidth);
  flowChart?.destroy();
  flows.body.replaceChildren();
  flowChart = new uPlot(
    {
      width,
      height: 320,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
      scales: { x: { time: true }, net: {}, running: {} },
      axes: [
        {},
        { scale: "net", values: (_u, ticks) => ticks.map((t) => `${t / 1e9}bn`), size: 60 },
        {
          scale: "running",
          side: 1,
          grid: { show: false },
          values: (_u, ticks) => ticks.map((t) => `${t / 1e9}bn`),
          size: 70,
        },
      ],
      series: [
        {},
        {
          label: "Net buying",
          scale: "net",
          fill: "rgba(37, 99, 235, 0.55)",
          stroke: "rgb(37, 99, 235)",
          paths: uPlot.paths.bars?.({ size: [0.8, 12] }),
          value: (_u, v) => (v == null ? "" : bn(v)),
        },
        {
          label: "Running total",
          scale: "running",
          stroke: "rgb(234, 88, 12)",
          width: 2,
          value: (_u, v) => (v == null ? "" : bn(v)),
        },
        {
          label: "HK$20bn",
          scale: "net",
          stroke: "rgb(220, 38, 38)",
          dash: [6, 4],
          width: 1,
          points: { show: false },
          value: () => "threshold",
        },
      ],
    },
    data,
    flows.body,
  );
  if (performance.getEntriesByName("first-chart").length === 0) performance.mark("first-chart");
}

function reloadFlows(): void {
  void load(flows, async () => {
    const days = flowDays.value === "" ? null : Number(flowDays.value);
    const connectFlows = (await query(endpoint, SouthboundFlows, { days })).connectFlows ?? [];
    const x = connectFlows.map((d) => Date.parse(`${d.tradingDay}T00:00:00Z`) / 1000);
    const net = connectFlows.map((d) => Number(d.netBuy));
    const running = connectFlows.map((d) => Number(d.runningNetBuy));
    drawFlows(x, net, running);
    const above = connectFlows.filter((d) => Number(d.netBuy) > THRESHOLD_HKD);
    const first = connectFlows[0]?.tradingDay ?? "-";
    const last = connectFlows.at(-1)?.tradingDay ?? "-";
    flows.note.textContent =
      `${connectFlows.length} Connect days, ${first} to ${last}: running total ${bn(running.at(-1) ?? 0)}; ` +
      `${above.length} day(s) above HK$20bn` +
      (above.length ? ` (latest ${above.at(-1)?.tradingDay}, ${bn(Number(above.at(-1)?.netBuy))}).` : ".");
    return connectFlows.length;
  });
}
onChange(flows, reloadFlows);

// ---- 2. Top ETFs by net creations over a window -------------------------------------------------

const creations = panel(
  "panel-creations",
  "Top ETFs by net creations",
  "Net creations (units created minus redeemed, valued each day) over the chosen window; leave the dates empty for the last 20 trading days.",
);
const creationsFrom = dateInput("from", "");
const creationsTo = dateInput("to", "");
field(creations.controls, "From ", creationsFrom);
field(creations.controls, "To ", creationsTo);

function reloadCreations(): void {
  void load(creations, async () => {
    const data = await query(endpoint, TopCreations, {
      from: creationsFrom.value || null,
      to: creationsTo.value || null,
      first: 15,
    });
    const ranks = data.topEtfsByNetCreation ?? [];
    const max = Math.max(0, ...ranks.map((r) => Math.abs(Number(r.netCreationValue))));
    const rows = ranks.map((r) => [
      String(r.rank),
      el("span", {}, el("code", {}, r.etf?.code ?? ""), " ", r.etf?.name ?? ""),
      r.etf?.issuer.shortName ?? "",
      bar(Number(r.netCreationValue), max),
      `${r.currency} ${mn(Number(r.netCreationValue))}`,
    ]);
    creations.body.replaceChildren(table(["#", "ETF", "Issuer", "", "Net creations"], rows));
    const window = ranks[0] ? `${ranks[0].firstDay} to ${ranks[0].lastDay}` : "no trading days";
    creations.note.textContent = `Window: ${window}.`;
    return ranks.length;
  });
}
onChange(creations, reloadCreations);

// ---- 3. An index's constituents as of a date ----------------------------------------------------

const members = panel(
  "panel-constituents",
  "Index constituents",
  "Members of an index on the chosen date, heaviest first, with their weights.",
);
const memberIndex = select("index", [["HSI", "HSI"]], "HSI");
const memberAsOf = dateInput("asOf", today);
field(members.controls, "Index ", memberIndex);
field(members.controls, "As of ", memberAsOf);

async function fillIndexList(): Promise<void> {
  const nodes = (await query(endpoint, IndexList, {})).indices?.nodes ?? [];
  memberIndex.replaceChildren(
    ...nodes.map((i) => el("option", { value: i.code }, `${i.code}: ${i.name}`)),
  );
  memberIndex.value = nodes.some((i) => i.code === "HSI") ? "HSI" : (nodes[0]?.code ?? "");
}

async function loadMembers(): Promise<number> {
  {
    const { index } = await query(endpoint, Constituents, {
      code: memberIndex.value,
      asOf: memberAsOf.value || today,
    });
    if (!index) throw new Error(`no index ${memberIndex.value}`);
    const max = Math.max(0, ...index.constituents.map((c) => Number(c.weightPct)));
    const rows = index.constituents.map((c) => [
      el("code", {}, c.security.code),
      c.security.name,
      c.security.sector ?? "",
      bar(Number(c.weightPct), max),
      `${Number(c.weightPct).toFixed(2)}%`,
      c.effectiveFrom,
    ]);
    members.body.replaceChildren(table(["Code", "Security", "Sector", "", "Weight", "Since"], rows));
    members.note.textContent =
      `${index.name}: ${index.constituents.length} members on ${memberAsOf.value || today}, ` +
      `weights summing to ${Number(index.totalWeightPct).toFixed(2)}%.`;
    return index.constituents.length;
  }
}
onChange(members, () => void load(members, loadMembers));

// ---- 4. ETF Connect eligibility changes between two dates ---------------------------------------

const changes = panel(
  "panel-eligibility",
  "ETF Connect eligibility changes",
  "ETFs added to, removed from, or changing status on the Connect eligible list between two dates, per channel.",
);
const changeDirection = select(
  "direction",
  [
    ["SOUTHBOUND", "Southbound"],
    ["NORTHBOUND", "Northbound"],
  ],
  "SOUTHBOUND",
);
const changeFrom = dateInput("from", "2024-01-02");
const changeTo = dateInput("to", today);
field(changes.controls, "Direction ", changeDirection);
field(changes.controls, "From ", changeFrom);
field(changes.controls, "To ", changeTo);

function reloadChanges(): void {
  void load(changes, async () => {
    const direction = changeDirection.value === "NORTHBOUND" ? "NORTHBOUND" : "SOUTHBOUND";
    const data = await query(endpoint, EligibilityChanges, {
      direction,
      from: changeFrom.value,
      to: changeTo.value,
    });
    const eligibilityChanges = data.eligibilityChanges ?? [];
    const rows = eligibilityChanges.map((c) => [
      el("span", {}, el("code", {}, c.etf?.code ?? ""), " ", c.etf?.name ?? ""),
      c.channel.toLowerCase(),
      el("span", { class: `kind ${c.kind.toLowerCase()}` }, c.kind.replace("_", " ").toLowerCase()),
      `${c.statusBefore ?? "not eligible"} → ${c.statusAfter ?? "not eligible"}`,
    ]);
    changes.body.replaceChildren(
      rows.length ? table(["ETF", "Channel", "Change", "Status"], rows) : el("p", {}, "No changes."),
    );
    const added = eligibilityChanges.filter((c) => c.kind === "ADDED").length;
    const removed = eligibilityChanges.filter((c) => c.kind === "REMOVED").length;
    changes.note.textContent = `${changeFrom.value} to ${changeTo.value}: ${added} added, ${removed} removed, ${eligibilityChanges.length - added - removed} status changes.`;
    return eligibilityChanges.length;
  });
}
onChange(changes, reloadChanges);

// ---- start ---------------------------------------------------------------------------------------

reloadFlows();
reloadCreations();
void load(members, async () => {
  await fillIndexList();
  return loadMembers();
});
reloadChanges();
window.addEventListener("resize", () => flowChart?.setSize({ width: Math.max(320, flows.body.clientWidth), height: 320 }));
