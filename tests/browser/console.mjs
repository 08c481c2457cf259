// A dispatcher's day in the console (Chromium, desktop size): log in, create a job with the form,
// assign it from the suggestions, then watch the technician's phone (driven by the Rust test)
// move it to completed without reloading, and open the report. The Rust side (tests/e2e/console.rs)
// waits for the "ASSIGNED <job>" line, works the job on a real device, and syncs it.
import { launch, env } from "./steps.mjs";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const base = env("ONSITE_SERVER_URL");
const shots = env("ONSITE_SHOTS");
mkdirSync(shots, { recursive: true });
let n = 0;
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "zh-CN", timezoneId: "Asia/Shanghai" });
const page = await context.newPage();
const shot = async (name) => {
  n += 1;
  const file = join(shots, `${String(n).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file });
  console.log(`screenshot ${file}`);
};
const t0 = Date.now();
try {
  await page.goto(`${base}/console`);
  await page.getByTestId("login").fill(env("ONSITE_LOGIN"));
  await page.getByTestId("password").fill("wrong password");
  await page.getByTestId("log-in").click();
  await page.getByRole("alert").filter({ hasText: /密码|password/ }).waitFor();
  await shot("login-refused");
  await page.getByTestId("password").fill(env("ONSITE_PASSWORD"));
  await page.getByTestId("log-in").click();
  await page.locator('[data-live="true"]').waitFor({ timeout: 20000 });
  console.log(`NUMBERS board_first_render_ms ${Date.now() - t0}`);
  await shot("board");

  // A new job through the form: the form says what is missing as you type.
  await page.getByTestId("tab-new-job").click();
  await page.getByTestId("customer-name").fill("   ");
  await page.getByTestId("problem").fill("洗衣机漏水 / the washer leaks");
  await page.getByTestId("form-error").waitFor();
  await page.getByTestId("customer-name").fill("钱 Qian");
  await page.getByTestId("form-error").waitFor({ state: "detached" });
  await page.getByTestId("customer-phone").fill("13800001234");
  await page.getByTestId("customer-address").fill("上海市徐汇区 1 号");
  await page.getByTestId("customer-location").fill("31.2");
  await page.getByTestId("form-error").filter({ hasText: "location" }).waitFor();
  await page.getByTestId("customer-location").fill("31.205, 121.442");
  await page.getByTestId("brand").fill("Haier");
  await page.getByTestId("model").fill("EG100");
  await shot("new-job-form");
  await page.getByTestId("create").click();

  // Back on the board with the new job selected: assign it from the suggestions.
  const panel = page.getByTestId("job-panel");
  await panel.waitFor();
  const row = page.locator('[data-testid="queue"] [data-testid="job-row"]').filter({ hasText: "钱 Qian" });
  await row.waitFor();
  const job = await row.getAttribute("data-job");
  await panel.getByTestId("suggestion").first().waitFor();
  await shot("suggestions");
  // Correct the job: a blank name is refused with the reason, a new phone number is kept.
  await panel.getByTestId("edit-fields").locator("summary").click();
  await panel.getByTestId("edit-name").fill("  ");
  await panel.getByTestId("edit-save").click();
  await panel.getByTestId("warning").filter({ hasText: /name/ }).waitFor();
  await panel.getByTestId("edit-name").fill("钱 Qian");
  await panel.getByTestId("edit-phone").fill("13800009999");
  await panel.getByTestId("edit-save").click();
  await panel.getByTestId("panel-customer").filter({ hasText: "13800009999" }).waitFor();
  await panel.getByTestId("suggestion").first().waitFor();
  await panel.getByTestId("assign").first().click();
  const assigned = page.locator(`[data-job="${job}"][data-status="assigned"]`);
  await assigned.waitFor();
  await shot("assigned");
  console.log(`ASSIGNED ${job}`);

  // The phone works the job; the row follows without a reload.
  const seen = Date.now();
  await page.locator(`[data-job="${job}"][data-status="completed"]`).waitFor({ timeout: 60000 });
  console.log(`NUMBERS board_update_wait_ms ${Date.now() - seen}`);
  await page.locator(`[data-job="${job}"]`).first().click();
  await page.getByTestId("timeline").filter({ hasText: /已完工|Completed/ }).waitFor();
  // Who did what: the dispatcher's assignment and the technician's steps, by name.
  await page.getByTestId("timeline").filter({ hasText: "调度 Ann" }).filter({ hasText: "李明" }).waitFor();
  await page.getByTestId("signatures").filter({ hasText: "未签" }).waitFor();
  await shot("completed");

  // Filters narrow the board (the store answers, and events respect them).
  await page.getByTestId("filter-category").selectOption("fridge");
  await page.locator(`[data-job="${job}"]`).waitFor({ state: "detached" });
  await page.getByTestId("filter-category").selectOption("washer");
  await page.locator(`[data-job="${job}"]`).first().waitFor();
  await page.getByTestId("filter-centre").fill("31.2, 121.44");
  await page.getByTestId("filter-radius").fill("3");
  await page.getByTestId("filter-category").selectOption("");
  console.log("FILTERS ok");

  // The KPI charts for this month: the job the phone completed counts for 李明.
  await page.getByTestId("tab-kpis").click();
  const bar = (chart, label) => page.locator(`[data-chart="${chart}"] rect.bar[data-label="${label}"]`);
  await bar("jobs", "李明").waitFor();
  const jobs = Number(await bar("jobs", "李明").getAttribute("data-value"));
  const ftf = Number(await bar("first-time-fix", "李明").getAttribute("data-value"));
  const charts = await page.getByTestId("chart").count();
  console.log(`KPI charts ${charts} jobs(李明) ${jobs} first_time_fix(李明) ${ftf}`);
  if (jobs < 1 || ftf !== 1 || charts < 6) throw new Error(`KPI charts read wrong: ${charts} charts, ${jobs} jobs, ${ftf} first-time fix`);
  await shot("kpis");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("kpi-csv").click()]);
  const csv = await (await download.createReadStream()).toArray().then((b) => Buffer.concat(b).toString("utf8"));
  if (!csv.includes("李明") || !csv.includes("first_time_fix_rate")) throw new Error(`CSV export: ${csv.slice(0, 300)}`);
  console.log(`KPI csv ${csv.trim().split("\n").length} lines`);

  // The map draws the job and 李明's check-in with no tile server.
  await page.getByTestId("tab-map").click();
  await page.getByTestId("map-tech").first().waitFor();
  console.log(`MAP jobs ${await page.getByTestId("map-job").count()} technicians ${await page.getByTestId("map-tech").count()}`);
  await shot("map");

  // A dispatcher sees technicians but cannot change them.
  await page.getByTestId("tab-technicians").click();
  await page.getByTestId("technician-row").first().waitFor();
  if (await page.getByTestId("new-technician").count()) throw new Error("a dispatcher was offered to add technicians");

  // The admin: a new technician, a pairing code as a QR code, deactivate; reference data.
  const admin = await context.browser().newContext({ viewport: { width: 1440, height: 900 }, locale: "zh-CN", timezoneId: "Asia/Shanghai" });
  const ap = await admin.newPage();
  await ap.goto(`${base}/console`);
  await ap.getByTestId("login").fill(env("ONSITE_ADMIN_LOGIN"));
  await ap.getByTestId("password").fill(env("ONSITE_ADMIN_PASSWORD"));
  await ap.getByTestId("log-in").click();
  await ap.getByTestId("lang").click();
  await ap.getByTestId("tab-technicians").click();
  await ap.getByTestId("new-technician").click();
  await ap.getByTestId("tech-name").fill("王强 Wang");
  await ap.getByTestId("skill-fridge").check();
  await ap.getByTestId("tech-brands").fill("Midea, Haier");
  await ap.getByTestId("tech-home").fill("91, 121");
  await ap.getByTestId("tech-error").waitFor();
  await ap.getByTestId("tech-home").fill("31.22, 121.46");
  await ap.getByTestId("tech-error").waitFor({ state: "detached" });
  await ap.getByTestId("tech-save").click();
  await ap.getByTestId("technician-row").filter({ hasText: "王强 Wang" }).waitFor();
  await ap.getByTestId("pairing-code").click();
  const qr = ap.getByTestId("pairing-qr");
  await qr.waitFor();
  const link = await qr.getAttribute("data-link");
  const code = await ap.getByTestId("pairing-code-text").textContent();
  if (!link.endsWith(`/app/#pair=${code}`)) throw new Error(`pairing link ${link} for code ${code}`);
  console.log(`PAIRING ${code}`);
  await qr.scrollIntoViewIfNeeded();
  n += 1;
  await ap.screenshot({ path: join(shots, `${String(n).padStart(2, "0")}-technician-qr.png`) });
  await ap.getByTestId("tech-toggle").click();
  await ap.locator('[data-testid="technician-row"][data-active="false"]').filter({ hasText: "王强 Wang" }).waitFor();

  await ap.getByTestId("tab-reference").click();
  await ap.getByTestId("reference-json").fill('{"currency":"CNY","parts":[{"part_no":"","name_en":"x","name_zh":"x","category":"washer","barcode":"1","price_minor":1}]}');
  await ap.getByTestId("publish-reference").click();
  await ap.locator('[data-testid="reference-message"].error').waitFor();
  await ap.getByTestId("reference-json").fill('{"currency":"CNY","parts":[{"part_no":"WV-01","name_en":"Inlet valve","name_zh":"进水阀","category":"washer","barcode":"6901234567892","price_minor":4500}]}');
  await ap.getByTestId("publish-reference").click();
  await ap.locator('[data-testid="reference-message"].live').waitFor();
  await ap.locator('[data-testid="reference-versions"] li').first().waitFor();
  n += 1;
  await ap.screenshot({ path: join(shots, `${String(n).padStart(2, "0")}-reference.png`) });
  await admin.close();

  const report = await context.request.get(`${base}/admin/v1/jobs/${job}/report.html`);
  if (!report.ok() || !(await report.text()).includes("钱 Qian")) throw new Error(`report: ${report.status()}`);
  const reportPage = await context.newPage();
  await reportPage.goto(`${base}/admin/v1/jobs/${job}/report.html`);
  n += 1;
  await reportPage.screenshot({ path: join(shots, `${String(n).padStart(2, "0")}-report.png`) });
  console.log("DONE");
} catch (e) {
  await shot("failure").catch(() => {});
  console.error(e);
  process.exitCode = 1;
} finally {
  await browser.close();
}
