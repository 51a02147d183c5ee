// The browser check (run by tests/frontend/test_browser.py): drives Debian's Chromium with
// playwright-core against a running service. GraphiQL: the example tabs are there, the explorer is
// open, running the first example fills the result pane. Dashboard: every panel renders data, no
// console errors; prints its first-load transfer size and time to first chart.
// Usage: node browser/check.mjs <base URL> <screenshot folder>; one JSON report on stdout.
import { mkdirSync } from "node:fs";
import { join } from "node:path";

import { chromium } from "playwright-core";

const [baseUrl = "http://127.0.0.1:8000", shotDir = "screenshots"] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const TIMEOUT_MS = 20_000;
const PANELS = ["panel-flows", "panel-creations", "panel-constituents", "panel-eligibility"];

mkdirSync(shotDir, { recursive: true });

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

/** A fresh context (empty cache and storage) and page whose console errors are collected. */
async function freshPage() {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  const errors = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("requestfailed", (request) => errors.push(`request failed: ${request.url()}`));
  return { context, page, errors };
}

async function checkGraphiql() {
  const { context, page, errors } = await freshPage();
  await page.goto(`${baseUrl}/graphql`);
  if ((await page.locator("#graphiql-config").count()) === 0) {
    throw new Error("GET /graphql is not the page of service.web.graphiql_html() (no #graphiql-config)");
  }
  await page.locator(".graphiql-container").waitFor();
  const tabs = await page.locator(".graphiql-tab").allInnerTexts();
  await page.locator(".graphiql-plugin").getByText("Explorer").first().waitFor();
  const explorerOpen = await page.locator(".graphiql-plugin").isVisible();
  // The first tab is the first example; run it and read the result pane (CodeMirror 5).
  await page.locator(".graphiql-tab").first().click();
  await page.locator(".graphiql-execute-button").click();
  const resultPane = page.locator(".result-window");
  await resultPane.getByText('"trackedIndex"').first().waitFor();
  const result = JSON.parse(
    await resultPane.evaluate((el) => el.querySelector(".CodeMirror")?.CodeMirror?.getValue() ?? ""),
  );
  const screenshot = join(shotDir, "graphiql.png");
  await page.screenshot({ path: screenshot });
  await context.close();
  return { tabs: tabs.map((t) => t.trim()).filter(Boolean), explorerOpen: explorerOpen > 0, result, errors, screenshot };
}

async function checkDashboard() {
  const { context, page, errors } = await freshPage();
  const transfers = [];
  page.on("requestfinished", async (request) => {
    const sizes = await request.sizes().catch(() => null);
    if (sizes) transfers.push({ url: request.url(), bytes: sizes.responseBodySize + sizes.responseHeadersSize });
  });
  const started = Date.now();
  await page.goto(`${baseUrl}/dashboard`);
  const panels = {};
  for (const id of PANELS) {
    const panel = page.locator(`#${id}`);
    await panel.and(page.locator('[data-state="ready"], [data-state="error"]')).waitFor();
    panels[id] = {
      state: await panel.getAttribute("data-state"),
      rows: Number(await panel.getAttribute("data-rows")),
      note: (await panel.locator(".note").innerText()).trim(),
    };
  }
  const readyMs = Date.now() - started;
  const chartCanvas = await page.locator("#panel-flows canvas").count();
  const firstChartMs = await page.evaluate(() => performance.getEntriesByName("first-chart")[0]?.startTime ?? null);
  await page.waitForLoadState("networkidle");
  const dashboardShot = join(shotDir, "dashboard.png");
  const flowsShot = join(shotDir, "dashboard-flows.png");
  await page.screenshot({ path: dashboardShot, fullPage: true });
  await page.locator("#panel-flows").screenshot({ path: flowsShot });
  await context.close();
  const isApi = (t) => new URL(t.url).pathname === "/graphql";
  const sum = (list) => list.reduce((total, t) => total + t.bytes, 0);
  return {
    panels,
    chartCanvas,
    firstChartMs: firstChartMs === null ? null : Math.round(firstChartMs),
    readyMs,
    requests: transfers.length,
    transferBytes: sum(transfers),
    assetBytes: sum(transfers.filter((t) => !isApi(t))),
    apiBytes: sum(transfers.filter(isApi)),
    errors,
    screenshots: [dashboardShot, flowsShot],
  };
}

try {
  const report = { graphiql: await checkGraphiql(), dashboard: await checkDashboard() };
  console.log(JSON.stringify(report));
} finally {
  await browser.close();
}
