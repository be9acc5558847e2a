//! Browser tests: Debian's headless Chromium, driven through chromedriver (WebDriver), against
//! `serve --demo`. They walk the pages as a new user does — sign in with the printed password,
//! change it, find records from the navigation, drill down from a figure — and save screenshots
//! of the main pages under `target/tmp/screenshots/`. Chromium and chromedriver are required:
//! when either is missing the test fails, it never skips (CI installs them).

use crate::support::{serve_demo, Backend, TestDb};
use chrono::Datelike;
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

struct Driver(Child);
impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

async fn browser() -> (Driver, Client) {
    for bin in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            std::path::Path::new(bin).exists(),
            "{bin} is required for the browser tests: apt-get install -y chromium chromium-driver"
        );
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1366,768", "--lang=zh-CN", "--hide-scrollbars"]
        }),
    );
    let start = Instant::now();
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return (driver, c),
            Err(e) => {
                assert!(start.elapsed() < Duration::from_secs(30), "chromedriver did not start: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    assert!(png.len() > 1000, "a real picture");
    std::fs::write(screenshots().join(format!("{name}.png")), png).expect("save screenshot");
}

async fn fill(c: &Client, css: &str, text: &str) {
    let e = c.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("{css}"));
    e.clear().await.ok();
    e.send_keys(text).await.expect("type");
}

/// Set a date input (typing into one depends on the browser's locale format).
async fn set_date(c: &Client, css: &str, date: &str) {
    c.execute("document.querySelector(arguments[0]).value = arguments[1];", vec![css.into(), date.into()])
        .await
        .expect("set date");
}

async fn click(c: &Client, css: &str) {
    let Ok(e) = c.find(Locator::Css(css)).await else {
        let url = c.current_url().await.map(|u| u.to_string()).unwrap_or_default();
        std::fs::write(screenshots().join("failed.html"), source(c).await).ok();
        panic!("no {css} at {url}")
    };
    e.click().await.expect("click");
}

async fn click_link(c: &Client, text: &str) {
    c.find(Locator::LinkText(text)).await.unwrap_or_else(|_| panic!("link {text}")).click().await.expect("click");
}

async fn source(c: &Client) -> String {
    c.source().await.expect("page source")
}

async fn path(c: &Client) -> String {
    c.current_url().await.expect("url").path().to_string()
}

/// Wait until the browser has arrived at `want` (a click returns before the next page loads).
async fn wait_path(c: &Client, want: &str) {
    let start = Instant::now();
    loop {
        let now = path(c).await;
        if now == want {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "expected to arrive at {want}, still at {now}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Wait until the page holds `text`.
async fn wait_text(c: &Client, text: &str) -> String {
    let start = Instant::now();
    loop {
        let s = source(c).await;
        if s.contains(text) {
            return s;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "expected the page to show {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn total(c: &Client) -> i64 {
    c.find(Locator::Css("strong.total")).await.expect("list total").text().await.unwrap().trim().parse().unwrap()
}

/// Click the number at `css` and check that the page it opens shows the same value and, for a
/// count, lists as many records. Returns the value.
async fn drill_matches(c: &Client, css: &str) -> i64 {
    let link = c.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("a number at {css}"));
    let shown = link.text().await.unwrap().trim().to_string();
    let href = link.attr("href").await.unwrap().unwrap_or_default();
    link.click().await.unwrap();
    wait_path(c, "/figures/drill").await;
    let value = c.find(Locator::Css("p.big")).await.expect("the value").text().await.unwrap();
    assert_eq!(value.split_whitespace().next(), Some(shown.as_str()), "the drill-down of {href} shows its number");
    let rows = c.find_all(Locator::Css("table.provenance tbody tr")).await.unwrap().len() as i64;
    let n: i64 = shown.parse().unwrap_or(-1);
    if href.contains("measure=count") {
        assert_eq!(rows, n, "as many records as {href} counts");
        assert_eq!(total(c).await, n);
    } else {
        assert!(rows > 0, "the records summed by {href}");
    }
    n
}

async fn sign_in(c: &Client, base: &str, name: &str, password: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    fill(c, "input[name=name]", name).await;
    fill(c, "input[name=password]", password).await;
    click(c, "form.login button[type=submit]").await;
}

/// The enrolment a manager meets at first sign-in: the secret read off the page, the code
/// computed as an authenticator app would and typed in; the recovery codes shown once; continue.
async fn enrol_second_factor(c: &Client) -> Vec<u8> {
    wait_path(c, "/totp/enrol").await;
    shot(c, "01b-totp-enrol").await;
    let secret = c.find(Locator::Css("#totp-secret")).await.expect("the secret").text().await.unwrap();
    let uri = c.find(Locator::Css("#totp-uri")).await.expect("the key URI").text().await.unwrap();
    assert!(uri.starts_with("otpauth://totp/Counterpart:") && uri.contains(&format!("secret={secret}")), "{uri}");
    let key = domain::totp::base32_decode(&secret).expect("base32");
    fill(c, "input[name=code]", &domain::totp::code_at(&key, chrono::Utc::now().timestamp())).await;
    click(c, "form.stack button[type=submit]").await;
    wait_path(c, "/totp/recovery").await;
    assert_eq!(c.find_all(Locator::Css("code.recovery")).await.unwrap().len(), 10, "ten recovery codes");
    shot(c, "01c-totp-recovery-codes").await;
    click(c, "#continue").await;
    key
}

/// Move every session's last activity `minutes` into the past, as if nobody had clicked since.
async fn idle_for(db: &TestDb, minutes: i64) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await.expect("open the test database");
    let then =
        (chrono::Utc::now() - chrono::Duration::minutes(minutes)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    sqlx::query("UPDATE sessions SET last_seen_at = $1").bind(then).execute(&pool).await.expect("age the sessions");
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_walks_through_the_demo() {
    let db = TestDb::new(Backend::Sqlite).await;
    let (_server, port, accounts) = serve_demo(&db);
    let base = format!("http://127.0.0.1:{port}");
    let (_driver, c) = browser().await;

    // Signed out, the dashboard sends to the login page.
    c.goto(&format!("{base}/")).await.unwrap();
    wait_path(&c, "/login").await;
    shot(&c, "01-login").await;

    // A wrong password, then the printed one; the first stop is the enrolment of the second factor
    // a manager requires, then the forced password change.
    sign_in(&c, &base, "demo.manager", "Wrong#Password1").await;
    wait_text(&c, "用户名或密码错误").await;
    sign_in(&c, &base, "demo.manager", &accounts["demo.manager"]).await;
    let _ = enrol_second_factor(&c).await;
    wait_path(&c, "/password").await;
    fill(&c, "input[name=old_password]", &accounts["demo.manager"]).await;
    fill(&c, "input[name=new_password]", "weak").await;
    fill(&c, "input[name=confirm]", "weak").await;
    click(&c, "form.stack button[type=submit]").await;
    let page = wait_text(&c, "密码少于 8 位").await;
    assert!(page.contains("field invalid"), "the error is next to the field");
    shot(&c, "02-form-with-error").await;
    fill(&c, "input[name=old_password]", &accounts["demo.manager"]).await;
    fill(&c, "input[name=new_password]", "Akto#Pamir2025").await;
    fill(&c, "input[name=confirm]", "Akto#Pamir2025").await;
    click(&c, "form.stack button[type=submit]").await;
    wait_path(&c, "/").await;
    wait_text(&c, ">777<").await;
    shot(&c, "03-dashboard").await;

    c.execute("document.querySelector('.panels').scrollIntoView()", vec![]).await.unwrap();
    shot(&c, "03-dashboard-charts").await;
    // A chart's number opens the records behind it, as many as it says; its bar links there too.
    let completed = "a[href*='f=status%3Aeq%3Acompleted']";
    let dash = source(&c).await;
    assert!(dash.contains("<svg") && dash.contains("<a href=\"/figures/drill?source=projects"), "the bars link");
    let n = drill_matches(&c, &format!("section.panel table {completed}")).await;
    assert!(n > 0);
    c.back().await.unwrap();
    wait_path(&c, "/").await;

    // The same for a chosen period and place: the 11th batch in Akto county.
    c.find(Locator::Css("form.chooser select[name=period]")).await.unwrap().select_by_value("b11").await.unwrap();
    c.find(Locator::Css("form.chooser select[name=place]")).await.unwrap().select_by_value("653022").await.unwrap();
    click(&c, "form.chooser button[type=submit]").await;
    wait_text(&c, "第11批 · 阿克陶县").await;
    let scoped = drill_matches(&c, &format!("section.panel table {completed}")).await;
    assert!(scoped > 0 && scoped < n, "the 11th batch in Akto is part of the whole: {scoped} of {n}");
    c.back().await.unwrap();
    wait_text(&c, "第11批 · 阿克陶县").await;
    // Beneficiaries of medical activities, and the schedule's red projects.
    let benefit =
        drill_matches(&c, "section.panel table a[href*='measure=sum.beneficiaries'][href*='f=line%3Aeq%3Amedical']")
            .await;
    assert!(benefit > 0);
    c.back().await.unwrap();
    wait_text(&c, "第11批 · 阿克陶县").await;
    c.execute("document.querySelector('section.schedule').scrollIntoView()", vec![]).await.unwrap();
    shot(&c, "03-dashboard-scoped").await;
    let red = c.find(Locator::Css("section.schedule a[href^='/dashboard/schedule?light=red']")).await.unwrap();
    let reds: usize = red.text().await.unwrap().trim().parse().unwrap();
    red.click().await.unwrap();
    wait_path(&c, "/dashboard/schedule").await;
    assert_eq!(c.find_all(Locator::Css("table.data tbody tr")).await.unwrap().len(), reds);
    assert_eq!(total(&c).await, reds as i64);
    c.goto(&format!("{base}/")).await.unwrap();

    // Drill down from a figure to its records: as many rows as the figure says.
    click(&c, "a.card[href='/figures/med.flexible_doctors']").await;
    wait_path(&c, "/figures/med.flexible_doctors").await;
    let rows = c.find_all(Locator::Css("table.provenance tbody tr")).await.unwrap().len();
    assert_eq!(rows, 66, "the records behind med.flexible_doctors");
    shot(&c, "04-figure-records").await;

    // From the navigation: all figures → the cataract operations → the records they add up from,
    // each of which opens.
    click_link(&c, "指标").await;
    wait_path(&c, "/figures").await;
    click(&c, "td.num a[href='/figures/med.cataract_surgeries']").await;
    wait_path(&c, "/figures/med.cataract_surgeries").await;
    let page = wait_text(&c, "来源记录").await;
    assert!(page.contains(">312 <") || page.contains(">312<"), "the figure is 312");
    let mut sum = 0;
    for cell in c.find_all(Locator::Css("table.provenance tbody td.num:last-child")).await.unwrap() {
        sum += cell.text().await.unwrap().trim().parse::<i64>().unwrap();
    }
    assert_eq!(sum, 312, "the operations of the records add up to the figure");
    click(&c, "table.provenance tbody td a").await;
    let detail = wait_text(&c, "修改历史").await;
    assert!(detail.contains("白内障手术") && path(&c).await.starts_with("/records/procedures/"));

    // From the navigation: records → people → the 66 flexible doctors.
    click_link(&c, "业务记录").await;
    wait_path(&c, "/records").await;
    click_link(&c, "人员").await;
    wait_path(&c, "/records/people").await;
    c.find(Locator::Css("select[name=category]")).await.unwrap().select_by_value("flexible").await.unwrap();
    c.find(Locator::Css("select[name=line]")).await.unwrap().select_by_value("medical").await.unwrap();
    click(&c, "form.filters button[type=submit]").await;
    wait_text(&c, "category=flexible").await;
    assert_eq!(total(&c).await, 66);
    shot(&c, "05-list").await;

    // A new project: refused with the reasons beside the fields, then fixed and saved.
    click_link(&c, "业务记录").await;
    wait_path(&c, "/records").await;
    click_link(&c, "项目").await;
    wait_path(&c, "/records/projects").await;
    let before = total(&c).await;
    click(&c, "a.button[href='/records/projects/new']").await;
    wait_path(&c, "/records/projects/new").await;
    fill(&c, "input[name=name]", "巴仁乡设施农业大棚（二期）").await;
    c.find(Locator::Css("select[name=sector]")).await.unwrap().select_by_value("industry").await.unwrap();
    c.find(Locator::Css("select[name=region_code]")).await.unwrap().select_by_value("653022202").await.unwrap();
    set_date(&c, "input[name=planned_start]", "2025-04-01").await;
    set_date(&c, "input[name=planned_end]", "2025-03-01").await;
    click(&c, "form.stack button[type=submit]").await;
    let page = wait_text(&c, "未保存").await;
    assert!(page.contains("项目编号不能为空"), "the empty code is named");
    assert!(page.contains("结束日期不得早于开始日期"), "the dates' rule is named");
    assert!(page.contains("巴仁乡设施农业大棚（二期）"), "what was typed is kept");
    shot(&c, "08-project-form-with-error").await;
    fill(&c, "input[name=code]", "AKT-2025-BR2").await;
    set_date(&c, "input[name=planned_end]", "2025-10-31").await;
    click(&c, "form.stack button[type=submit]").await;
    let saved = wait_text(&c, "AKT-2025-BR2").await;
    assert!(saved.contains("修改历史") && saved.contains("新建"), "the detail page shows its creation");
    assert!(saved.contains("light red") && saved.contains("逾期未开工"), "a project past its planned start is red");
    assert!(path(&c).await.starts_with("/records/projects/"));
    c.goto(&format!("{base}/records/projects")).await.unwrap();
    assert_eq!(total(&c).await, before + 1);

    // A department pairing of the county hospital, and its activities.
    click_link(&c, "业务记录").await;
    wait_path(&c, "/records").await;
    click_link(&c, "结对").await;
    wait_path(&c, "/records/pairings").await;
    c.find(Locator::Css("select[name=type_code]")).await.unwrap().select_by_value("hospital_department").await.unwrap();
    click(&c, "form.filters button[type=submit]").await;
    wait_text(&c, "type_code=hospital_department").await;
    click(&c, "table.data tbody tr td.num a").await;
    let detail = wait_text(&c, "修改历史").await;
    assert!(detail.contains("受援方单位"));
    shot(&c, "06-detail").await;
    click(&c, "ul.related a[href*='/records/activities?pairing_id=']").await;
    wait_path(&c, "/records/activities").await;
    assert!(total(&c).await > 0, "the pairing's activities");

    // A phone, for reading: the dashboard and a list at 390 px.
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("{base}/records/projects")).await.unwrap();
    wait_path(&c, "/records/projects").await;
    shot(&c, "11-phone-list").await;
    c.goto(&format!("{base}/")).await.unwrap();
    wait_text(&c, ">777<").await;
    shot(&c, "11-phone-dashboard").await;
    let wide: bool = c
        .execute("return document.documentElement.scrollWidth > window.innerWidth + 1;", vec![])
        .await
        .unwrap()
        .as_bool()
        .unwrap_or(true);
    assert!(!wide, "the page does not scroll sideways on a phone");
    c.set_window_size(1366, 768).await.unwrap();

    // The English switch, remembered.
    click(&c, "form.inline button[lang=en]").await;
    wait_text(&c, "<html lang=\"en\"").await;
    c.goto(&format!("{base}/")).await.unwrap();
    let en = wait_text(&c, "Dashboard").await;
    assert!(en.contains("Projects by status") && en.contains(">Completed<"), "code values in English too");
    shot(&c, "07-dashboard-en").await;

    // A record of a school, as the front command sees it; then sign out.
    c.goto(&format!("{base}/records/people?line=education&kind=aid")).await.unwrap();
    let href = c
        .find(Locator::Css("table.data tbody td.num a"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .expect("a person link");
    let project = {
        c.goto(&format!("{base}/records/projects?sector=education")).await.unwrap();
        c.find(Locator::Css("table.data tbody td.num a")).await.unwrap().attr("href").await.unwrap().expect("a project")
    };
    click(&c, "form[action='/logout'] button").await;
    wait_path(&c, "/login").await;

    // The county hospital's reporter cannot open that record, not even by its URL, nor edit a
    // project of another organization.
    sign_in(&c, &base, "demo.reporter", &accounts["demo.reporter"]).await;
    wait_path(&c, "/password").await;
    fill(&c, "input[name=old_password]", &accounts["demo.reporter"]).await;
    fill(&c, "input[name=new_password]", "Rep#Akto2025").await;
    fill(&c, "input[name=confirm]", "Rep#Akto2025").await;
    click(&c, "form.stack button[type=submit]").await;
    wait_path(&c, "/").await;
    // Not in its list either.
    c.goto(&format!("{base}/records/people?line=education&kind=aid")).await.unwrap();
    wait_path(&c, "/records/people").await;
    assert!(!source(&c).await.contains(&format!("href=\"{href}\"")), "another organization's person is not listed");
    c.goto(&format!("{base}{href}")).await.unwrap();
    wait_text(&c, "记录不存在，或不在您的权限范围内").await;
    shot(&c, "09-reporter-not-found").await;
    c.goto(&format!("{base}{project}/edit")).await.unwrap();
    wait_text(&c, "记录不存在，或不在您的权限范围内").await;
    // A signed-in error page keeps the navigation.
    assert!(source(&c).await.contains("<nav class=\"main\">"), "the navigation stays on an error page");

    // Thirty-one minutes idle: the next request asks to sign in again.
    idle_for(&db, 31).await;
    c.goto(&format!("{base}/records/projects")).await.unwrap();
    wait_path(&c, "/login").await;
    shot(&c, "10-login-after-idle-timeout").await;

    // Five wrong passwords lock the account; then the right one fails too.
    for _ in 0..5 {
        sign_in(&c, &base, "demo.viewer", "Wrong#Password1").await;
        wait_text(&c, "class=\"error\"").await;
    }
    wait_text(&c, "账户已锁定").await;
    sign_in(&c, &base, "demo.viewer", &accounts["demo.viewer"]).await;
    wait_text(&c, "账户已锁定").await;
    assert_eq!(path(&c).await, "/login");
    c.close().await.ok();
}

/// A demo account's first sign-in: the printed password, the second factor where the role
/// requires it, the forced password change; arrives at the home page.
async fn first_sign_in(c: &Client, base: &str, name: &str, printed: &str, second_factor: bool) {
    sign_in(c, base, name, printed).await;
    if second_factor {
        let _ = enrol_second_factor(c).await;
    }
    wait_path(c, "/password").await;
    fill(c, "input[name=old_password]", printed).await;
    fill(c, "input[name=new_password]", "Akto#Pamir2026").await;
    fill(c, "input[name=confirm]", "Akto#Pamir2026").await;
    click(c, "form.stack button[type=submit]").await;
    wait_path(c, "/").await;
}

async fn sign_out(c: &Client) {
    click(c, "form[action='/logout'] button").await;
    wait_path(c, "/login").await;
}

/// The value a drill-down page shows (its first word).
async fn drill_value(c: &Client, url: &str) -> i64 {
    c.goto(url).await.unwrap();
    wait_path(c, "/figures/drill").await;
    let v = c.find(Locator::Css("p.big")).await.expect("the value").text().await.unwrap();
    v.split_whitespace().next().and_then(|w| w.replace(',', "").parse().ok()).unwrap_or_else(|| panic!("a number: {v}"))
}

async fn new_activity(c: &Client, base: &str, title: &str, date: &str, beneficiaries: &str) -> String {
    c.goto(&format!("{base}/records/activities/new")).await.unwrap();
    wait_path(c, "/records/activities/new").await;
    fill(c, "input[name=title]", title).await;
    c.find(Locator::Css("select[name=type_code]")).await.unwrap().select_by_value("lecture").await.unwrap();
    c.find(Locator::Css("select[name=line]")).await.unwrap().select_by_value("education").await.unwrap();
    c.find(Locator::Css("select[name=region_code]")).await.unwrap().select_by_value("653022202").await.unwrap();
    c.execute(
        "const s = document.querySelector('select[name=organizer_org_id]'); \
         s.value = [...s.options].find(o => o.value).value;",
        vec![],
    )
    .await
    .unwrap();
    set_date(c, "input[name=date]", date).await;
    fill(c, "input[name=participants]", "4").await;
    fill(c, "input[name=beneficiaries]", beneficiaries).await;
    click(c, "form.stack button[type=submit]").await;
    let page = wait_text(c, "review-state").await;
    assert!(page.contains(">草稿<"), "a reporter's new activity is a draft");
    path(c).await
}

/// One month of the reporting cycle, in two browsers: the front command (signed in once, with
/// its second factor) opens the month; a township school reports two activities; the county
/// returns one with a reason and approves the other; the school fixes and reports it again; the
/// county approves it; the front command consolidates both and locks the month. The figure moves
/// only on approval; the October board shows one organization that has not reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_of_reporting() {
    let db = TestDb::new(Backend::Sqlite).await;
    let (_server, port, accounts) = serve_demo(&db);
    let base = format!("http://127.0.0.1:{port}");
    let (_d1, m) = browser().await;
    let (_d2, c) = browser().await;
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let month = today.format("%Y-%m").to_string();
    let first = today.with_day(1).unwrap();
    let last = first.checked_add_months(chrono::Months::new(1)).unwrap().pred_opt().unwrap();
    let deadline = (last + chrono::Duration::days(5)).to_string();
    let figure =
        format!("{base}/figures/drill?source=activities&measure=sum.beneficiaries&f=organizer:under:AKT-S01&title=t");

    // The front command opens the month for two township schools.
    first_sign_in(&m, &base, "demo.manager", &accounts["demo.manager"], true).await;
    m.goto(&format!("{base}/reporting")).await.unwrap();
    wait_text(&m, "县级审核").await;
    fill(&m, "input[name=period]", &month).await;
    set_date(&m, "input[name=deadline]", &deadline).await;
    fill(&m, "textarea[name=orgs]", "AKT-S01\nAKT-S02").await;
    click(&m, "form.open-period button[type=submit]").await;
    let board = wait_text(&m, "报送完成情况").await;
    let period = path(&m).await;
    assert!(period.starts_with("/reporting/periods/"), "{period}");
    assert_eq!(board.matches(">待报送<").count(), 2, "two schools due");
    // October: 克州第三中学 reported on time, the county hospital not at all.
    m.goto(&format!("{base}/reporting")).await.unwrap();
    click_link(&m, "2026-10").await;
    let october = wait_text(&m, "逾期未报").await;
    assert!(october.contains("按时报送") && october.contains("AKT-HOSP"), "one organization late");
    let rate = |id: &str, page: &str| page.split(&format!("id=\"{id}\"")).nth(1).map(|s| s.contains("50.0%"));
    assert_eq!((rate("rate-reported", &october), rate("rate-on-time", &october)), (Some(true), Some(true)));
    shot(&m, "20-completeness-board").await;
    let v0 = drill_value(&m, &figure).await;

    // The school reports two lectures for the month.
    first_sign_in(&c, &base, "demo.township", &accounts["demo.township"], false).await;
    let home = wait_text(&c, "我的待办").await;
    assert!(home.contains(&month) && home.contains("待报送"), "the month is due on the school's home page");
    let date = today.to_string();
    let a = new_activity(&c, &base, "支教讲座（一）", &date, "30").await;
    let b = new_activity(&c, &base, "支教讲座（二）", &date, "20").await;
    c.goto(&format!("{base}{period}")).await.unwrap();
    click(&c, "#submit-period").await;
    let board = wait_text(&c, "按时报送").await;
    assert!(board.contains("已上报 2"), "both records reported");
    c.goto(&format!("{base}{a}")).await.unwrap();
    let page = wait_text(&c, "review-state").await;
    assert!(page.contains(">已上报<") && !page.contains("review-submit"), "locked for its author");
    assert_eq!(drill_value(&c, &figure).await, v0, "reported is not yet counted");
    sign_out(&c).await;

    // The county returns one with a reason and approves the other.
    first_sign_in(&c, &base, "demo.county", &accounts["demo.county"], false).await;
    c.goto(&format!("{base}/reporting")).await.unwrap();
    let queue = wait_text(&c, "待我审核或汇总").await;
    assert!(queue.contains("支教讲座（一）") && queue.contains("支教讲座（二）"), "both in the county's queue");
    c.goto(&format!("{base}{a}")).await.unwrap();
    wait_text(&c, "review-state").await;
    fill(&c, "form.return input[name=reason]", "受益人次与签到表不符").await;
    click(&c, "form.return button[type=submit]").await;
    wait_text(&c, "id=\"review-state\" class=\"state returned\"").await;
    c.goto(&format!("{base}{b}")).await.unwrap();
    wait_text(&c, "review-state").await;
    click(&c, "#review-approve").await;
    wait_text(&c, "id=\"review-state\" class=\"state approved\"").await;
    shot(&c, "21-approved").await;
    assert_eq!(drill_value(&c, &figure).await, v0 + 20, "the approved one counts");
    sign_out(&c).await;

    // The school sees the return and its reason, fixes the record and reports it again.
    sign_in(&c, &base, "demo.township", "Akto#Pamir2026").await;
    wait_path(&c, "/").await;
    let home = wait_text(&c, "被退回待修改").await;
    assert!(home.contains("受益人次与签到表不符"), "the reason is shown to the author");
    shot(&c, "22-returned-on-home").await;
    c.goto(&format!("{base}{a}/edit")).await.unwrap();
    fill(&c, "input[name=beneficiaries]", "26").await;
    click(&c, "form.stack button[type=submit]").await;
    wait_path(&c, &a).await;
    click(&c, "#review-submit").await;
    wait_text(&c, ">已上报<").await;
    sign_out(&c).await;

    // The county approves it; the figure moves by what was approved.
    sign_in(&c, &base, "demo.county", "Akto#Pamir2026").await;
    wait_path(&c, "/").await;
    c.goto(&format!("{base}{a}")).await.unwrap();
    wait_text(&c, "review-state").await;
    click(&c, "#review-approve").await;
    wait_text(&c, "id=\"review-state\" class=\"state approved\"").await;
    assert_eq!(drill_value(&c, &figure).await, v0 + 46);
    sign_out(&c).await;

    // The front command consolidates both and locks the month.
    for r in [&a, &b] {
        m.goto(&format!("{base}{r}")).await.unwrap();
        wait_text(&m, "review-state").await;
        click(&m, "#review-consolidate").await;
        wait_text(&m, ">已汇总<").await;
    }
    m.goto(&format!("{base}{period}")).await.unwrap();
    click(&m, "#lock-period").await;
    let locked = wait_text(&m, "已审核通过并锁定").await;
    assert!(locked.contains("重新打开"), "a locked month can be reopened from the front command");
    shot(&m, "23-month-locked").await;
    assert_eq!(drill_value(&m, &figure).await, v0 + 46, "consolidation keeps the figure");

    // A project that missed its planned start turns red; the front command orders it fixed; the
    // school, told by its bell, answers with evidence; the front command closes the order.
    sign_in(&c, &base, "demo.township", "Akto#Pamir2026").await;
    wait_path(&c, "/").await;
    c.goto(&format!("{base}/records/projects/new")).await.unwrap();
    wait_path(&c, "/records/projects/new").await;
    fill(&c, "input[name=code]", "JX-T-901").await;
    fill(&c, "input[name=name]", "乡村学校运动场改造").await;
    c.execute(
        "const set = (n, v) => { const s = document.querySelector(`select[name=${n}]`); if (!s) return; \
           const o = [...s.options].find(o => v ? o.value === v : o.value); if (o) s.value = o.value; }; \
         set('sector', 'education'); set('status', 'approved'); set('region_code', '653022202'); set('org_id', '');",
        vec![],
    )
    .await
    .unwrap();
    set_date(&c, "input[name=planned_start]", &(today - chrono::Duration::days(60)).to_string()).await;
    click(&c, "form.stack button[type=submit]").await;
    let page = wait_text(&c, "project-light").await;
    assert!(page.contains("data-light=\"red\"") && page.contains("逾期未开工"), "the project is red");
    let project = path(&c).await;
    sign_out(&c).await;
    m.goto(&format!("{base}/warnings")).await.unwrap();
    let warnings = wait_text(&m, "JX-T-901").await;
    assert!(warnings.contains("未按期开工"), "on the warnings page");
    m.goto(&format!("{base}{project}")).await.unwrap();
    wait_text(&m, "project-light").await;
    shot(&m, "24-project-red").await;
    click(&m, "#order-project").await;
    wait_path(&m, "/followups/new").await;
    fill(&m, "textarea[name=requirement]", "十日内开工，报送开工报告").await;
    click(&m, "form.new-order button[type=submit]").await;
    let opened = wait_text(&m, "order-state").await;
    assert!(opened.contains(">待办理<"));
    let order = path(&m).await;
    sign_in(&c, &base, "demo.township", "Akto#Pamir2026").await;
    wait_path(&c, "/").await;
    let home = source(&c).await;
    assert!(home.contains("id=\"unread\""), "the bell shows unread notices");
    c.goto(&format!("{base}/notifications")).await.unwrap();
    let notices = wait_text(&c, "督办：").await;
    assert!(notices.contains(&format!("data-link=\"{order}\"")), "the notice points at the order");
    let unread = |page: &str| page.split("id=\"unread\">").nth(1).and_then(|s| s.split('<').next()).map(str::to_string);
    let before = unread(&notices);
    click(&c, &format!("form.open-notice[data-link='{order}'] button")).await;
    wait_path(&c, &order).await;
    let page = wait_text(&c, "order-state").await;
    assert_ne!(unread(&page), before, "opening the notice marked it read");
    fill(&c, "textarea[name=answer]", "已开工，附开工报告。").await;
    let evidence = db.dir.path().join("开工报告.txt");
    std::fs::write(&evidence, "开工报告：已于本周开工。").unwrap();
    c.find(Locator::Css("input[name=files]")).await.unwrap().send_keys(&evidence.display().to_string()).await.unwrap();
    click(&c, "#answer-order").await;
    let answered = wait_text(&c, ">已答复<").await;
    assert!(answered.contains("开工报告.txt"), "the evidence is attached");
    sign_out(&c).await;
    m.goto(&format!("{base}{order}")).await.unwrap();
    wait_text(&m, ">已答复<").await;
    click(&m, "#close-order").await;
    wait_text(&m, ">已办结<").await;
    shot(&m, "25-order-closed").await;
    m.goto(&format!("{base}/followups")).await.unwrap();
    let board = wait_text(&m, "督办事项").await;
    assert!(board.contains("JX-T-901") && board.contains("已办结"));
    m.close().await.ok();
    c.close().await.ok();
}

/// Select the option of `select` whose text contains `text`.
async fn choose(c: &Client, select: &str, text: &str) {
    let found = c
        .execute(
            "const s = document.querySelector(arguments[0]); \
             const o = Array.from(s.options).find(o => o.text.includes(arguments[1])); \
             if (o) { s.value = o.value; } return !!o;",
            vec![select.into(), text.into()],
        )
        .await
        .expect("choose");
    assert_eq!(found, serde_json::Value::Bool(true), "no option {text} in {select}");
}

/// The remote imaging centre in Chromium, on the demo with a real Orthanc and its viewer: a study
/// sent to the PACS arrives by itself; the county hospital's reporter requests a consultation of
/// 影像科 with it and the signed consent; the expert of the owning hospital finds it on the
/// worklist, accepts, opens the images in the viewer through Counterpart, writes the report from
/// its template, flags a critical result and records its notice, issues the report; the county
/// hospital confirms it and records the patient treated locally; the dashboard's panel counts it.
/// Screenshots: the request, the worklist, the viewer, the report, the critical-results board.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_consultation() {
    use crate::imaging::{dicom, TestOrthanc, PASSWORD, USER};
    let pacs = TestOrthanc::start();
    let o = pacs.client(PASSWORD);
    let study = o.upload(&dicom("test_files/MR_small.dcm")).await.expect("upload to Orthanc").study;
    let db = TestDb::new(Backend::Sqlite).await;
    let (_server, port, accounts) = crate::support::serve_demo_with(
        &db,
        &["--orthanc-url", &pacs.url, "--orthanc-user", USER, "--orthanc-poll-secs", "1"],
        &[("COUNTERPART_ORTHANC_PASSWORD", PASSWORD)],
    );
    let base = format!("http://127.0.0.1:{port}");
    let (_driver, c) = browser().await;

    // The county hospital's reporter requests a consultation with the study the PACS sent.
    first_sign_in(&c, &base, "demo.reporter", &accounts["demo.reporter"], false).await;
    let uid = o.study(&study).await.expect("the PACS answers").expect("the study is there").study_uid;
    // The server's PACS reader records it within a few seconds: then the form offers it.
    let start = Instant::now();
    loop {
        c.goto(&format!("{base}/imaging/requests/new")).await.unwrap();
        if source(&c).await.contains(&uid) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the study never arrived from the PACS");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    fill(&c, "input[name=patient_name]", "阿依古丽·买买提").await;
    fill(&c, "input[name=patient_age]", "46").await;
    fill(&c, "input[name=exam]", "头颅 MR 平扫").await;
    choose(&c, "select[name=modality]", "MR").await;
    fill(&c, "input[name=body_part]", "头颅").await;
    fill(&c, "textarea[name=clinical_question]", "突发头痛 3 小时，排除颅内出血").await;
    fill(&c, "textarea[name=case_summary]", "患者 3 小时前突发剧烈头痛，伴呕吐一次。").await;
    choose(&c, "select[name=priority]", "急诊").await;
    choose(&c, "select[name=department_id]", "影像科").await;
    choose(&c, "select[name=patient_source]", "急诊").await;
    click(&c, &format!("input[name=study_uids][value='{uid}']")).await;
    click(&c, "input[name=consent]").await;
    let consent = screenshots().join("consent.pdf");
    std::fs::write(&consent, b"%PDF-1.4\n% signed consent\n").unwrap();
    c.find(Locator::Css("input[name=consent_file]"))
        .await
        .expect("the consent file input")
        .send_keys(consent.to_str().unwrap())
        .await
        .expect("attach the consent");
    shot(&c, "20-imaging-request-form").await;
    click(&c, "#send-request").await;
    let page = wait_text(&c, "request-state").await;
    let id: i64 = path(&c).await.rsplit('/').next().unwrap().parse().expect("the request's page");
    assert!(
        page.contains("江西省妇幼保健院") && page.contains("demo.expert"),
        "routed to the owning hospital's expert"
    );
    shot(&c, "21-imaging-request").await;
    sign_out(&c).await;

    // The expert: the worklist, accept, the images, the report with a critical result.
    first_sign_in(&c, &base, "demo.expert", &accounts["demo.expert"], false).await;
    c.goto(&format!("{base}/imaging")).await.unwrap();
    let list = wait_text(&c, &format!("/imaging/requests/{id}")).await;
    assert!(list.contains("急诊"), "an emergency on the worklist");
    shot(&c, "22-imaging-worklist").await;
    c.goto(&format!("{base}/imaging/requests/{id}")).await.unwrap();
    click(&c, "#accept-request").await;
    wait_text(&c, "open-viewer").await;
    click(&c, "#open-viewer").await;
    wait_path(&c, &format!("/imaging/requests/{id}/view")).await;
    let viewer =
        c.find(Locator::Css("a.viewer-link")).await.expect("a viewer link").attr("href").await.unwrap().unwrap();
    c.goto(&format!("{base}{viewer}")).await.unwrap();
    let start = Instant::now();
    while c.title().await.unwrap_or_default() != "Orthanc Web Viewer" {
        assert!(start.elapsed() < Duration::from_secs(20), "the viewer did not open");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    shot(&c, "23-imaging-viewer").await;
    c.goto(&format!("{base}/imaging/requests/{id}")).await.unwrap();
    fill(&c, "textarea[name=findings]", "右侧额叶见片状异常信号，周围水肿。").await;
    fill(&c, "textarea[name=impression]", "右侧额叶急性脑出血。").await;
    click(&c, "#save-report").await;
    wait_text(&c, "sign-report").await;
    click(&c, "#sign-report").await;
    wait_text(&c, "flag-critical").await;
    choose(&c, "select[name=finding]", "急性脑出血").await;
    click(&c, "#flag-critical").await;
    let page = wait_text(&c, "record-critical-").await;
    let critical = page.split("record-critical-").nth(1).unwrap().split('"').next().unwrap().to_string();
    fill(&c, "input[name=told_name]", "急诊科 阿卜杜拉医生").await;
    fill(&c, "input[name=read_back]", "右侧额叶急性脑出血，已收到").await;
    click(&c, &format!("#record-critical-{critical}")).await;
    wait_text(&c, "阿卜杜拉").await;
    click(&c, "#issue-report").await;
    wait_text(&c, "已出报告").await;
    shot(&c, "24-imaging-report").await;
    c.goto(&format!("{base}/imaging/critical")).await.unwrap();
    let board = wait_text(&c, "急性脑出血").await;
    assert!(board.contains("阿卜杜拉"), "the notice on the board");
    shot(&c, "25-imaging-critical-board").await;
    sign_out(&c).await;

    // The county hospital confirms and records the outcome; the dashboard counts it.
    sign_in(&c, &base, "demo.reporter", "Akto#Pamir2026").await;
    wait_path(&c, "/").await;
    c.goto(&format!("{base}/imaging/requests/{id}")).await.unwrap();
    click(&c, "#confirm-report").await;
    wait_text(&c, "record-outcome").await;
    choose(&c, "select[name=outcome]", "本院治疗").await;
    click(&c, "#record-outcome").await;
    wait_text(&c, "避免转院").await;
    c.goto(&format!("{base}/")).await.unwrap();
    let home = wait_text(&c, "imaging-panel").await;
    assert!(home.contains("远程影像会诊（按科室）"), "the dashboard's imaging panel");
    c.goto(&format!("{base}/figures/med.imaging.consultations")).await.unwrap();
    wait_text(&c, "赣陶远程影像中心远程会诊").await;
}
