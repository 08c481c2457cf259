// The console at scale (run by `onsite-load --console-jobs N`): the board's first render after
// logging in, then the time from a change made through the API to its row on the open board.
import { launch, env } from "./steps.mjs";

const base = env("ONSITE_SERVER_URL");
const changes = Number(process.env.ONSITE_CHANGES || "20");
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "zh-CN", timezoneId: "Asia/Shanghai" });
const page = await context.newPage();
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.round((s.length - 1) * p))];
  return `median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${s[s.length - 1]} ms (n=${s.length})`;
};
try {
  await page.goto(`${base}/console`);
  await page.getByTestId("login").fill(env("ONSITE_LOGIN"));
  await page.getByTestId("password").fill(env("ONSITE_PASSWORD"));
  const t0 = Date.now();
  await page.getByTestId("log-in").click();
  await page.locator('[data-live="true"]').waitFor({ timeout: 120000 });
  await page.getByTestId("job-row").first().waitFor();
  const first = Date.now() - t0;
  const shown = await page.getByTestId("live").getAttribute("data-shown");
  console.log(`NUMBERS board_first_render_ms ${first} (rows on the board: ${shown}, of them in the DOM: ${await page.getByTestId("job-row").count()})`);

  // Each change: assign an unassigned job through the API, wait for its row to say so.
  const ids = await page.locator('[data-testid="queue"] [data-testid="job-row"]').evaluateAll((rows) => rows.map((r) => r.dataset.job));
  if (ids.length < changes) throw new Error(`only ${ids.length} unassigned jobs on the board`);
  const waits = [];
  const apis = [];
  for (const id of ids.slice(0, changes)) {
    const start = Date.now();
    const r = await fetch(`${base}/admin/v1/jobs/${id}/assign`, {
      method: "POST",
      headers: { Authorization: `Bearer ${env("ONSITE_TOKEN")}`, "Content-Type": "application/json" },
      body: JSON.stringify({ technician: env("ONSITE_TECHNICIAN") }),
    });
    if (!r.ok) throw new Error(`assign ${id}: ${r.status} ${await r.text()}`);
    const answered = Date.now();
    apis.push(answered - start);
    await page.locator(`[data-job="${id}"][data-status="assigned"]`).waitFor({ timeout: 30000 });
    waits.push(Date.now() - start);
  }
  console.log(`NUMBERS board_update_ms ${stats(waits)} (from the API call to the row)`);
  console.log(`NUMBERS api_assign_ms ${stats(apis)} (the API call alone: ranking, warnings, the edit)`);

  // A reload: the same first render with the session already open.
  const t1 = Date.now();
  await page.reload();
  await page.locator('[data-live="true"]').waitFor({ timeout: 120000 });
  await page.getByTestId("job-row").first().waitFor();
  console.log(`NUMBERS board_reload_ms ${Date.now() - t1}`);
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  await browser.close();
}
