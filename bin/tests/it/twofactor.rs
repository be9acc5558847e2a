//! Two-factor login (TOTP, RFC 6238) over real HTTP against `serve --demo`, on both backends:
//! enrolment forced for a manager and nothing else open before it, wrong and replayed codes
//! refused, recovery codes good once, the security administrator's reset, an optional role, the
//! throttle per source address, and the audit entries of each with their outcome. Also the
//! second factor through a key rotation, in the store.

use crate::both;
use crate::http::{next_code, secret_of, signed_in, Browser, Response};
use crate::support::{serve_demo, TestDb};
use domain::audit::{Actor, AuditEntry};
use store::sessions::{Login, SecondFactor};
use store::totp::Check;
use store::{Crypto, DbUrl, Store};

/// A 6-digit code that is none of the codes of `key` near now: surely wrong.
fn wrong_code(key: &[u8]) -> String {
    let now = domain::totp::step_of(chrono::Utc::now().timestamp());
    let near: Vec<String> = (now - 3..=now + 3).map(|s| domain::totp::code_at_step(key, s)).collect();
    (0..).map(|n| format!("{n:06}")).find(|c| !near.contains(c)).unwrap_or_default()
}

fn post_code(b: &mut Browser, code: &str) -> Response {
    let csrf = b.get("/login/totp").hidden("csrf");
    b.post("/login/totp", &[("csrf", &csrf), ("code", code), ("next", "/")])
}

fn logout(b: &mut Browser) {
    let csrf = b.get("/totp/enrol").hidden("csrf");
    assert_eq!(b.post("/logout", &[("csrf", &csrf)]).status, 303);
}

async fn audit(db: &TestDb) -> Vec<AuditEntry> {
    let store = db.store().await;
    let log = store.audit_recent(400).await.unwrap();
    store.close().await;
    log
}

fn count(log: &[AuditEntry], action: &str, actor: &str, outcome: &str) -> usize {
    log.iter().filter(|e| e.action == action && e.actor == actor && e.outcome == outcome).count()
}

/// A manager must enrol before anything else; codes are good once; recovery codes once each.
async fn a_manager_enrols_and_codes_work_once(db: &TestDb) {
    let (_server, port, accounts) = serve_demo(db);
    let m = "demo.manager";
    let mut b = Browser::new(port);
    let r = b.password_login(m, &accounts[m]);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/totp/enrol?next=%2F"));

    // Pending: every page sends to the enrolment, the API refuses, no token can be made.
    for path in ["/", "/records/people", "/tokens", "/password", "/login/totp", "/admin", "/figures"] {
        let r = b.get(path);
        assert_eq!(r.status, 303, "{path}");
        assert!(
            r.header("location").unwrap_or_default().starts_with("/totp/enrol"),
            "{path}: {:?}",
            r.header("location")
        );
    }
    assert_eq!(b.get("/api/v1/figures").status, 401);
    let page = b.get("/totp/enrol");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("您的角色须使用两步验证登录") && !page.body.contains("<nav class=\"main\">"));
    let csrf = page.hidden("csrf");
    let made = b.post("/tokens", &[("csrf", &csrf), ("name", "bypass"), ("days", "30")]);
    assert_eq!(made.status, 303);
    assert!(made.header("location").unwrap_or_default().starts_with("/totp/enrol"));
    let api = b.send(
        "POST",
        "/api/v1/records/batches",
        &[("X-CSRF-Token", &csrf)],
        Some(("application/json", "{\"name\":\"x\"}")),
    );
    assert_eq!(api.map(|r| r.status), Some(401), "the API refuses a pending session's writes");
    let tokens: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens").fetch_one(&mut raw(db).await).await.unwrap();
    assert_eq!(tokens, 0, "no token made before the second factor");

    // The same secret on a second visit; the URI names the issuer and the user.
    let secret = page.between("<code id=\"totp-secret\">", "</code>");
    let uri = page.between("<code id=\"totp-uri\">", "</code>");
    assert_eq!(uri, format!("otpauth://totp/Counterpart:demo.manager?secret={secret}&amp;issuer=Counterpart"));
    assert_eq!(b.get("/totp/enrol").between("<code id=\"totp-secret\">", "</code>"), secret);
    let key = domain::totp::base32_decode(&secret).unwrap();
    assert_eq!(key.len(), 20);
    let wrong = b.post("/totp/enrol", &[("csrf", &csrf), ("code", &wrong_code(&key)), ("next", "/")]);
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("验证码不正确"));
    assert_eq!(b.get("/").status, 303, "still pending");

    // The helper enrols with the right code (computed from the page's secret).
    let codes = b.enrol(m);
    assert_eq!(secret_of(port, m), Some(key.clone()));
    assert!(b.get("/totp/recovery").body.contains("只在登记后显示一次"), "shown once");
    assert!(!b.get("/totp/recovery").body.contains(&codes[0]));
    assert_eq!(b.get("/").header("location"), Some("/password"), "then the forced password change");
    let csrf = b.get("/password").hidden("csrf");
    let new = "Akto#Pamir2025";
    let pw = &accounts[m];
    let r = b.post("/password", &[("csrf", &csrf), ("old_password", pw), ("new_password", new), ("confirm", new)]);
    assert_eq!(r.status, 303);
    assert_eq!(b.get("/").status, 200);
    logout(&mut b);

    // Signing in again asks for the code; a wrong one is refused, the right one accepted.
    let r = b.password_login(m, new);
    assert_eq!(r.header("location"), Some("/login/totp?next=%2F"));
    for path in ["/", "/records/people", "/totp/enrol", "/tokens"] {
        let r = b.get(path);
        assert!(r.header("location").unwrap_or_default().starts_with("/login/totp"), "{path}");
    }
    assert_eq!(b.get("/api/v1/figures").status, 401);
    let refused = post_code(&mut b, &wrong_code(&key));
    assert_eq!(refused.status, 401);
    assert!(refused.body.contains("验证码错误"));
    let good = next_code(port, m);
    let before = b.cookies.get("cp_session").cloned().unwrap_or_default();
    let ok = post_code(&mut b, &good);
    assert_eq!(ok.status, 303);
    assert_eq!(ok.header("location"), Some("/"));
    assert_eq!(b.get("/").status, 200);
    assert_ne!(b.cookies.get("cp_session"), Some(&before), "a new session token once past the code");
    let mut fixed = Browser::new(port);
    fixed.cookies.insert("cp_session".into(), before);
    let r = fixed.get("/");
    assert!(r.status == 303 && r.header("location").unwrap_or_default().starts_with("/login"), "the old one is void");
    assert!(b.get("/totp/enrol").body.contains("两步验证已启用"));
    logout(&mut b);

    // The same code again: refused (a code is good once).
    b.password_login(m, new);
    assert_eq!(post_code(&mut b, &good).status, 401, "a replayed code is refused");
    // A recovery code works once, in any case and with or without its dashes.
    let typed = codes[0].to_lowercase().replace('-', "");
    assert_eq!(post_code(&mut b, &typed).status, 303);
    assert_eq!(b.get("/").status, 200);
    assert!(b.get("/totp/enrol").body.contains("<strong id=\"recovery-left\">9</strong>"));
    logout(&mut b);
    b.password_login(m, new);
    assert_eq!(post_code(&mut b, &codes[0]).status, 401, "a used recovery code is refused");
    assert_eq!(post_code(&mut b, &codes[1]).status, 303, "another one works");

    let log = audit(db).await;
    assert_eq!(count(&log, "totp_enrol", m, "ok"), 1, "one secret, shown twice");
    assert_eq!(count(&log, "totp_enabled", m, "ok"), 1);
    assert_eq!(count(&log, "totp_failed", m, "failed"), 3, "wrong at enrolment, wrong, replayed");
    assert_eq!(count(&log, "totp_verified", m, "ok"), 1);
    assert_eq!(count(&log, "totp_recovery_used", m, "ok"), 2);
    assert_eq!(count(&log, "recovery_code_failed", m, "failed"), 1);
    let login = log.iter().find(|e| e.action == "login" && e.actor == m).unwrap();
    assert_eq!(login.after, Some(serde_json::json!({ "second_factor": "code" })));
    assert!(log
        .iter()
        .filter(|e| e.action.starts_with("totp") && e.action != "totp_recovery_shown" && e.actor == m)
        .all(|e| e.source.as_deref() == Some("127.0.0.1")));
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains(&secret) && !text.contains(&codes[2]), "no secret in the audit log");
}
both!(a_manager_enrols_and_codes_work_once);

async fn raw(db: &TestDb) -> sqlx::AnyConnection {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(&db.url).await.unwrap()
}

async fn secret_column(db: &TestDb) -> String {
    sqlx::query_scalar("SELECT totp_secret_enc FROM users WHERE name = 'wang.wu'")
        .fetch_one(&mut raw(db).await)
        .await
        .unwrap()
}

/// The security administrator resets a manager's second factor: the manager's sessions end and
/// the next sign-in enrols again. Nobody else may reset it.
async fn the_security_administrator_resets_it(db: &TestDb) {
    let (_server, port, accounts) = serve_demo(db);
    let mut sec = signed_in(port, &accounts, "demo.secadmin", "Sec#Admin2025");
    let mut m = signed_in(port, &accounts, "demo.manager", "Akto#Pamir2025");
    assert!(secret_of(port, "demo.secadmin").is_some() && secret_of(port, "demo.manager").is_some());
    let mut sys = signed_in(port, &accounts, "demo.sysadmin", "Sys#Admin2025");
    let first = secret_of(port, "demo.manager");
    let id = {
        let store = db.store().await;
        let id = store.user_named("demo.manager").await.unwrap().unwrap().get();
        store.close().await;
        id
    };
    let page = sec.get("/admin");
    let action = format!("/admin/users/{id}/totp-reset");
    assert!(page.body.contains(&action) && page.body.contains("已启用两步验证"));
    // Not the system administrator, not the manager.
    let csrf = sys.get("/admin").hidden("csrf");
    assert_eq!(sys.post(&action, &[("csrf", &csrf)]).status, 403);
    let csrf = m.get("/").hidden("csrf");
    assert_eq!(m.post(&action, &[("csrf", &csrf)]).status, 403);
    let csrf = page.hidden("csrf");
    assert_eq!(sec.post(&action, &[("csrf", &csrf)]).status, 303);
    assert!(m.get("/").header("location").unwrap_or_default().starts_with("/login"), "the session ended");
    let mut again = Browser::new(port);
    let r = again.password_login("demo.manager", "Akto#Pamir2025");
    assert_eq!(r.header("location"), Some("/totp/enrol?next=%2F"), "enrols again");
    again.enrol("demo.manager");
    assert_ne!(secret_of(port, "demo.manager"), first, "a new secret");
    assert_eq!(again.get("/").status, 200);
    let log = audit(db).await;
    let reset = log.iter().find(|e| e.action == "totp_reset").expect("the reset is audited");
    assert_eq!((reset.actor.as_str(), reset.object_id, reset.outcome.as_str()), ("demo.secadmin", Some(id), "ok"));
    assert_eq!(count(&log, "totp_enabled", "demo.manager", "ok"), 2);
}
both!(the_security_administrator_resets_it);

/// A reporter signs in with the password alone, and may enrol; more than ten failed sign-ins
/// from one address, and it waits (429), whatever the password.
async fn optional_enrolment_and_the_throttle(db: &TestDb) {
    let (_server, port, accounts) = serve_demo(db);
    let rep = "demo.reporter";
    let mut b = Browser::new(port);
    let r = b.password_login(rep, &accounts[rep]);
    assert_eq!(r.header("location"), Some("/password"), "no second factor asked");
    let csrf = b.get("/password").hidden("csrf");
    let (pw, new) = (&accounts[rep], "Rep#Akto2025");
    b.post("/password", &[("csrf", &csrf), ("old_password", pw), ("new_password", new), ("confirm", new)]);
    assert_eq!(b.get("/").status, 200);
    let page = b.get("/totp/enrol");
    assert!(page.body.contains("两步验证对您的角色是可选的") && page.body.contains("<nav class=\"main\">"));
    b.enrol(rep);
    logout(&mut b);
    let r = b.password_login(rep, new);
    assert_eq!(r.header("location"), Some("/login/totp?next=%2F"), "once enrolled, asked for the code");
    let r = b.second_factor(rep, r);
    assert_eq!(r.header("location"), Some("/"));

    // Ten failures from 127.0.0.1 (unknown users, wrong passwords): each refused as usual.
    let mut t = Browser::new(port);
    for i in 0..10 {
        let name = if i % 2 == 0 { format!("nobody{i}") } else { "demo.viewer".to_string() };
        let r = t.password_login(&name, "Wrong#Pass1");
        assert!(r.status == 401 || r.status == 429 && r.body.contains("账户已锁定"), "attempt {i}: {}", r.status);
    }
    let r = t.password_login("demo.sysadmin", &accounts["demo.sysadmin"]);
    assert_eq!(r.status, 429, "the eleventh is throttled, even with the right password");
    assert!(r.body.contains("该网络地址登录失败次数过多"), "{}", r.body);
    assert_eq!(Browser::new(port).password_login("nobody", "x").status, 429);
    let log = audit(db).await;
    let throttled: Vec<&AuditEntry> = log.iter().filter(|e| e.action == "login_throttled").collect();
    assert_eq!(throttled.len(), 2);
    assert!(throttled.iter().all(|e| e.outcome == "failed" && e.source.as_deref() == Some("127.0.0.1")));
    assert!(throttled.iter().any(|e| e.actor == "demo.sysadmin"));
    assert_eq!(log.iter().filter(|e| e.action == "login_failed" && e.object_id.is_none()).count(), 5, "unknown users");
    assert!(count(&log, "totp_enrol", rep, "ok") == 1 && count(&log, "totp_verified", rep, "ok") == 1);
}
both!(optional_enrolment_and_the_throttle);

/// Key rotation encrypts the secret again; the codes and the recovery codes still work after it.
async fn the_second_factor_survives_a_key_rotation(db: &TestDb) {
    let store = db.store().await;
    let mut tx = store.write(&Actor::system()).await.unwrap();
    tx.add_user("wang.wu", domain::users::Role::Viewer, None, "Leader#2025x").await.unwrap();
    tx.commit().await.unwrap();
    let Login::Ok { token, user } = store.login("wang.wu", "Leader#2025x", None).await.unwrap() else { panic!() };
    assert_eq!(user.second_factor, SecondFactor::Done, "optional for a viewer");
    let e = store.totp_begin(&user, None).await.unwrap();
    let key = domain::totp::base32_decode(&e.secret).unwrap();
    let t0 = chrono::Utc::now();
    let code = domain::totp::code_at(&key, t0.timestamp());
    let Check::Passed { recovery, token } = store.totp_confirm(&token, &user, &code, None, t0).await.unwrap() else {
        panic!("the right code enrols")
    };
    assert_eq!(recovery.len(), 10);
    assert_eq!(store.take_recovery_codes(&token, &user).await.unwrap(), recovery);
    assert!(store.take_recovery_codes(&token, &user).await.unwrap().is_empty(), "once");
    let again = domain::totp::code_at(&key, (t0 + chrono::Duration::seconds(30)).timestamp());
    assert!(
        matches!(store.totp_confirm(&token, &user, &again, None, t0).await, Err(store::StoreError::Conflict(_))),
        "a second confirmation is refused"
    );
    let stored = secret_column(db).await;
    assert!(stored.starts_with("v1:") && !stored.contains(&e.secret));

    let new = Crypto::from_hex(&Crypto::generate_hex()).unwrap();
    store.rotate_key(&Actor::system(), &new).await.unwrap();
    store.close().await;
    let store = Store::open(&DbUrl::parse(&db.url).unwrap(), new).await.unwrap();
    let again = secret_column(db).await;
    assert_ne!(again, stored, "encrypted again");
    let Login::Ok { token, user } = store.login("wang.wu", "Leader#2025x", None).await.unwrap() else { panic!() };
    assert_eq!(user.second_factor, SecondFactor::Code);
    let t1 = t0 + chrono::Duration::seconds(30);
    assert_eq!(store.second_factor(&token, &user, &code, None, t0).await.unwrap(), Check::Refused, "used");
    let code1 = domain::totp::code_at(&key, t1.timestamp());
    let ok = store.second_factor(&token, &user, &code1, None, t1).await.unwrap();
    let Check::Passed { recovery: none, token: renewed } = ok else { panic!("the secret reads under the new key") };
    assert!(none.is_empty());
    let past = store.session(&renewed).await.unwrap().unwrap();
    assert_eq!(past.second_factor, SecondFactor::Done);
    assert_ne!(past.csrf, user.csrf, "a new CSRF value too");
    assert!(store.session(&token).await.unwrap().is_none(), "the pre-2FA token no longer works");
    let Login::Ok { token, user } = store.login("wang.wu", "Leader#2025x", None).await.unwrap() else { panic!() };
    let ok = store.second_factor(&token, &user, &recovery[3], None, t1).await.unwrap();
    assert!(matches!(ok, Check::Passed { .. }), "a recovery code survives the rotation");

    // The lockout protects the code: signing in again with the password does not start the
    // count again while the second factor is pending; once locked, even the right code is refused.
    let Login::Ok { token: a, user } = store.login("wang.wu", "Leader#2025x", None).await.unwrap() else { panic!() };
    for _ in 0..4 {
        assert_eq!(store.second_factor(&a, &user, &wrong_code(&key), None, t1).await.unwrap(), Check::Refused);
    }
    let Login::Ok { token: b, user } = store.login("wang.wu", "Leader#2025x", None).await.unwrap() else { panic!() };
    let locked = store.second_factor(&b, &user, &wrong_code(&key), None, t1).await.unwrap();
    assert!(matches!(locked, Check::Locked { .. }), "the fifth wrong code locks: {locked:?}");
    assert!(store.session(&a).await.unwrap().is_none(), "every pending session ended");
    let t2 = t1 + chrono::Duration::seconds(30);
    let right = domain::totp::code_at(&key, t2.timestamp());
    let refused = store.second_factor(&a, &user, &right, None, t2).await.unwrap();
    assert!(matches!(refused, Check::Locked { .. }), "the right code while locked: {refused:?}");
    assert!(matches!(store.login("wang.wu", "Leader#2025x", None).await.unwrap(), Login::Locked { .. }));

    // An administrator who has not enrolled gets no API token.
    let mut tx = store.write(&Actor::system()).await.unwrap();
    let mgr = tx.add_user("li.si", domain::users::Role::SecAdmin, None, "Leader#2025x").await.unwrap();
    tx.commit().await.unwrap();
    let made = store.create_token(&Actor::system(), mgr, "脚本", 30).await;
    assert!(matches!(made, Err(store::StoreError::Forbidden(ref m)) if m.contains("两步验证")), "{made:?}");
    assert_eq!(store.audit_verify().await.unwrap().broken, None);
    store.close().await;
}
both!(the_second_factor_survives_a_key_rotation);
