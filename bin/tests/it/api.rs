//! The JSON API under `/api/v1`: personal tokens in the store (both backends) and through the
//! `/tokens` page, authentication and CSRF, every verb on records with its audit entries, errors
//! as JSON naming field and rule, a reporter's scope, personal data masked, and the OpenAPI
//! document listing every record type.

use crate::both;
use crate::http::{signed_in, urlencode, Browser, Response};
use crate::support::{serve, serve_demo, Backend, TestDb};
use domain::audit::Actor;
use domain::catalog::{by_slug, RECORD_TYPES};
use domain::orgs::{NewOrg, Side};
use domain::regions::RegionCode;
use domain::users::Role;
use serde_json::{json, Value};
use store::StoreError;

async fn tokens_are_hashed_expire_and_are_revoked(db: &TestDb) {
    use chrono::{Duration, Utc};
    let store = db.store().await;
    let sys = Actor::system();
    let mut tx = store.write(&sys).await.unwrap();
    let org = tx
        .insert_org(&NewOrg {
            code: "H1".into(),
            name: "测试医院".into(),
            side: Side::Recipient,
            kind: "hospital",
            parent_id: None,
            region: RegionCode::parse("653022").unwrap(),
            credit_code: None,
        })
        .await
        .unwrap();
    let u = tx.add_user("tok.user", Role::Reporter, Some("H1"), "Pamir@2024").await.unwrap();
    let other = tx.add_user("tok.other", Role::Viewer, None, "Pamir@2024").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.user_named("tok.user").await.unwrap(), Some(u));
    let me = Actor { user_id: Some(u), name: "tok.user".into(), role: Role::Reporter, org_id: Some(org), source: None };
    let them = Actor { user_id: Some(other), name: "tok.other".into(), role: Role::Viewer, org_id: None, source: None };

    // Refused names and lifetimes name their field.
    for (name, days, field) in [("", 30, "name"), ("脚本", 0, "days"), ("脚本", 366, "days")] {
        match store.create_token(&me, u, name, days).await {
            Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, field),
            other => panic!("{name} {days}: {other:?}"),
        }
    }
    assert!(matches!(store.create_token(&them, u, "别人的", 30).await, Err(StoreError::Forbidden(_))));

    let t0 = Utc::now();
    let made = store.create_token_at(&me, u, "数据同步脚本", 30, t0).await.unwrap();
    assert!(made.token.starts_with("cpt_") && made.token.len() == 68, "{}", made.token);

    // The token acts as its user, with the user's role and organization, and no CSRF token.
    let user = store.token_user_at(&made.token, t0 + Duration::days(1)).await.unwrap().expect("live token");
    assert_eq!((user.user_id, user.role, user.org_id), (u, Role::Reporter, Some(org)));
    assert!(user.csrf.is_empty());
    for bad in ["", "cpt_", "cpt_00", &made.token.replace("cpt_", "xyz_"), &format!("{}0", made.token)] {
        assert!(store.token_user(bad).await.unwrap().is_none(), "{bad}");
    }

    // A use is noted, but at most once a minute: a bearer read does not write on every request.
    let noted = |at| chrono::DateTime::<Utc>::to_rfc3339_opts(&at, chrono::SecondsFormat::Millis, true);
    let last_used = store.tokens(&me, u).await.unwrap()[0].last_used_at.clone();
    assert_eq!(last_used, Some(noted(t0 + Duration::days(1))));
    let soon = t0 + Duration::days(1) + Duration::seconds(59);
    assert!(store.token_user_at(&made.token, soon).await.unwrap().is_some());
    assert_eq!(store.tokens(&me, u).await.unwrap()[0].last_used_at, last_used, "not written again within a minute");
    let later = t0 + Duration::days(1) + Duration::seconds(61);
    assert!(store.token_user_at(&made.token, later).await.unwrap().is_some());
    assert_eq!(store.tokens(&me, u).await.unwrap()[0].last_used_at, Some(noted(later)));

    // A user who must change their password (a new account, or one an administrator reset) is
    // refused by the API with a token as with a session: 403 as JSON, until the password changes.
    assert!(user.must_change_password);
    let (server, port) = serve(db);
    let r = call(port, &made.token, "GET", "/api/v1/records/projects", None);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(body(&r)["error"]["message"].as_str().unwrap().contains("修改密码"), "{}", r.body);
    store.change_password(&user, "Pamir@2024", "Pamir@2025x").await.unwrap();
    let now = store.token_user(&made.token).await.unwrap().expect("live token");
    assert!(!now.must_change_password);
    let r = call(port, &made.token, "GET", "/api/v1/records/projects", None);
    assert_eq!(r.status, 200, "{}", r.body);
    drop(server);

    // Only a hash and the first characters are stored.
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT token_hash, prefix FROM api_tokens").fetch_all(&mut c).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].0.contains(&made.token[4..]) && made.token.starts_with(&rows[0].1) && rows[0].1.len() == 12);
    c.close().await.unwrap();

    // Listed for its owner only, with when it was last used.
    let listed = store.tokens(&me, u).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].name.as_str(), listed[0].id), ("数据同步脚本", made.id));
    assert!(listed[0].last_used_at.is_some() && listed[0].revoked_at.is_none());
    assert!(matches!(store.tokens(&them, u).await, Err(StoreError::Forbidden(_))));

    // It expires.
    assert!(store.token_user_at(&made.token, t0 + Duration::days(29)).await.unwrap().is_some());
    assert!(store.token_user_at(&made.token, t0 + Duration::days(30)).await.unwrap().is_none());

    // A locked-out user's tokens are refused until the lockout ends.
    for _ in 0..5 {
        store.login_at("tok.user", "wrong", None, t0).await.unwrap();
    }
    assert!(store.token_user_at(&made.token, t0 + Duration::minutes(1)).await.unwrap().is_none());
    assert!(store.token_user_at(&made.token, t0 + Duration::minutes(11)).await.unwrap().is_some());

    // Revoked: refused at once; another user cannot revoke it.
    assert!(matches!(store.revoke_token(&them, u, made.id).await, Err(StoreError::Forbidden(_))));
    store.revoke_token(&me, u, made.id).await.unwrap();
    assert!(store.token_user_at(&made.token, t0 + Duration::days(1)).await.unwrap().is_none());
    assert!(store.tokens(&me, u).await.unwrap()[0].revoked_at.is_some());
    assert!(matches!(store.revoke_token(&me, u, made.id + 100).await, Err(StoreError::NotFound { .. })));

    // An administrator changing the user's role, or lifting a lockout, revokes every live token
    // of that user (and no one else's), each revocation audited.
    let sec = Actor { user_id: None, name: "sec.admin".into(), role: Role::SecAdmin, org_id: None, source: None };
    let sysadm = Actor { user_id: None, name: "sys.admin".into(), role: Role::SysAdmin, org_id: None, source: None };
    let a = store.create_token(&me, u, "脚本甲", 30).await.unwrap();
    let b = store.create_token(&me, u, "脚本乙", 30).await.unwrap();
    let theirs = store.create_token(&them, other, "别人的脚本", 30).await.unwrap();
    store.set_role(&sec, u, Role::Viewer).await.unwrap();
    for t in [&a, &b] {
        assert!(store.token_user(&t.token).await.unwrap().is_none(), "revoked by the role change");
    }
    let c = store.create_token(&me, u, "脚本丙", 30).await.unwrap();
    // (The user is still locked out from above; the token would work once the lockout ends.)
    let later = t0 + Duration::minutes(11);
    assert!(store.token_user_at(&c.token, later).await.unwrap().is_some_and(|s| s.role == Role::Viewer));
    store.unlock_user(&sysadm, u).await.unwrap();
    assert!(store.token_user(&c.token).await.unwrap().is_none(), "revoked by the unlock");
    assert!(store.token_user_at(&c.token, later).await.unwrap().is_none());
    assert!(store.tokens(&me, u).await.unwrap().iter().all(|t| t.revoked_at.is_some()));
    assert!(store.token_user(&theirs.token).await.unwrap().is_some(), "another user's token is untouched");
    let log = store.audit_recent(100).await.unwrap();
    for (t, by) in [(&a, "sec.admin"), (&b, "sec.admin"), (&c, "sys.admin")] {
        let e = log
            .iter()
            .find(|e| e.object_type == "api_tokens" && e.object_id == Some(t.id) && e.action == "revoke")
            .unwrap_or_else(|| panic!("token {} revoked in the log", t.id));
        assert_eq!(e.actor, by);
        assert!(e.after.as_ref().is_some_and(|v| v["revoked_at"].is_string()));
    }

    // Creating and revoking are audited, without the token.
    let log = store.audit_recent(100).await.unwrap();
    let of_token: Vec<&str> = log
        .iter()
        .filter(|e| e.object_type == "api_tokens" && e.object_id == Some(made.id))
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(of_token, vec!["revoke", "create"]);
    assert!(!serde_json::to_string(&log).unwrap().contains(&made.token[4..]));
    store.close().await;
}
both!(tokens_are_hashed_expire_and_are_revoked);

pub(crate) fn body(r: &Response) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", r.status, r.body))
}

/// A call with a bearer token (and no cookies).
pub(crate) fn call(port: u16, token: &str, method: &str, path: &str, json: Option<&Value>) -> Response {
    let auth = format!("Bearer {token}");
    let text = json.map(|j| j.to_string());
    Browser::new(port)
        .send(method, path, &[("Authorization", &auth)], text.as_deref().map(|t| ("application/json", t)))
        .unwrap_or_else(|| panic!("{method} {path}"))
}

/// Create a token on the `/tokens` page of a signed-in browser; returns it as shown once.
pub(crate) fn token_from_page(b: &mut Browser, name: &str) -> String {
    let csrf = b.get("/tokens").hidden("csrf");
    let r = b.post("/tokens", &[("csrf", &csrf), ("name", name), ("days", "30")]);
    assert_eq!(r.status, 200, "{}", r.body);
    let marker = "id=\"new-token\">";
    let start = r.body.find(marker).map(|i| i + marker.len()).expect("the new token is shown");
    let token: String = r.body[start..].chars().take_while(|c| *c != '<').collect();
    assert!(token.starts_with("cpt_"), "{token}");
    assert!(!b.get("/tokens").body.contains(&token), "shown only once");
    token
}

/// The error's (field, rule) pairs.
fn refusals(r: &Response) -> Vec<(String, String)> {
    let v = body(r);
    assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", r.body);
    v["error"]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_string(), e["rule"].as_str().unwrap().to_string()))
        .collect()
}

/// The id of the record of `slug` named exactly `name`.
fn named(port: u16, token: &str, slug: &str, name: &str) -> i64 {
    let r = call(port, token, "GET", &format!("/api/v1/records/{slug}?per_page=500&q={}", urlencode(name)), None);
    let found = body(&r)["items"].as_array().and_then(|items| items.iter().find(|i| i["name"] == name).cloned());
    found.and_then(|i| i["id"].as_i64()).unwrap_or_else(|| panic!("{slug} {name}: {}", r.body))
}

#[tokio::test]
async fn the_api_serves_every_record_type_with_tokens_validation_and_audit() {
    let db = TestDb::new(Backend::Sqlite).await;
    let (_server, port, accounts) = serve_demo(&db);

    // The document is public, OpenAPI 3.0.3, and lists every record type; the page renders it.
    let mut anon = Browser::new(port);
    let doc = body(&anon.get("/api/v1/openapi.json"));
    assert_eq!(doc["openapi"], "3.0.3");
    for t in RECORD_TYPES {
        let list = &doc["paths"][format!("/api/v1/records/{}", t.slug)];
        assert!(list["get"].is_object() && list["post"].is_object(), "{}", t.slug);
        assert!(doc["paths"][format!("/api/v1/records/{}/{{id}}", t.slug)]["get"].is_object(), "{}", t.slug);
    }
    assert!(doc["paths"]["/api/v1/figures"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/figures/{key}/records"]["get"].is_object());
    let sectors = doc["components"]["schemas"]["Projects"]["properties"]["sector"]["enum"].as_array().unwrap();
    assert!(sectors.contains(&json!("infrastructure")) && sectors.contains(&json!("education")));
    assert_eq!(doc["components"]["schemas"]["Funding"]["properties"]["planned_fen"]["type"], "integer");
    assert!(doc["components"]["securitySchemes"]["bearerAuth"].is_object());
    let page = anon.get("/api/v1/docs");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("/api/v1/records/indicator-values/{id}") && page.body.contains("DonationsInput"));

    // Without a token or a session: 401 as JSON, not a redirect to the login page.
    for (method, path) in
        [("GET", "/api/v1/records/projects"), ("GET", "/api/v1/figures"), ("POST", "/api/v1/records/brands")]
    {
        let r = anon.send(method, path, &[], Some(("application/json", "{}"))).unwrap();
        assert_eq!(r.status, 401, "{method} {path}");
        assert!(r.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer")));
        assert!(body(&r)["error"]["message"].as_str().unwrap().contains("API 令牌"));
    }
    assert_eq!(call(port, "cpt_nonsense", "GET", "/api/v1/records/projects", None).status, 401);
    let r = anon.get("/api/v1/nothing/here");
    assert_eq!((r.status, r.header("content-type")), (404, Some("application/json")));

    // A token made on the /tokens page, shown once, works for scripts.
    let mut b = signed_in(port, &accounts, "demo.manager", "Akto#Pamir2025");
    assert!(b.get("/").body.contains("href=\"/tokens\""), "the navigation links the token page");
    let token = token_from_page(&mut b, "同步脚本");
    let tokens_page = b.get("/tokens");
    assert!(tokens_page.body.contains("同步脚本") && tokens_page.body.contains(&token[..12]));
    let r = call(port, &token, "GET", "/api/v1/records/projects?per_page=3&sort=code", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let page = body(&r);
    assert_eq!((page["page"].as_i64(), page["per_page"].as_i64()), (Some(1), Some(3)));
    assert!(page["total"].as_i64().unwrap() > 3);
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert!(page["items"][0]["labels"]["org_id"].is_string(), "references carry their names");
    let figures = call(port, &token, "GET", "/api/v1/figures", None);
    assert_eq!(figures.status, 200);
    assert!(body(&figures)["values"].as_array().unwrap().len() > 10);
    let behind = call(port, &token, "GET", "/api/v1/figures/personnel.total/records", None);
    assert_eq!(body(&behind)["kind"], "records");
    assert_eq!(call(port, &token, "GET", "/api/v1/figures/no.such/records", None).status, 404);

    // The session works too; but a change through it needs the session's CSRF token.
    assert_eq!(b.get("/api/v1/records/brands").status, 200);
    let brand = json!({ "code": "api_brand", "name": "接口品牌" }).to_string();
    let r = b.send("POST", "/api/v1/records/brands", &[], Some(("application/json", &brand))).unwrap();
    assert_eq!(r.status, 403, "{}", r.body);
    let csrf = b.get("/tokens").hidden("csrf");
    let r = b.send("POST", "/api/v1/records/brands", &[("X-CSRF-Token", &csrf)], Some(("application/json", &brand)));
    assert_eq!(r.unwrap().status, 201);

    // A round trip: create, read, change in part, replace, delete; each write audited.
    let hosp = named(port, &token, "organizations", "阿克陶县人民医院");
    let new = json!({ "description": "接口捐赠的设备", "kind": "in_kind", "recipient_org_id": hosp,
        "value_fen": 1_234_567, "date": "2025-03-01" });
    let r = call(port, &token, "POST", "/api/v1/records/donations", Some(&new));
    assert_eq!(r.status, 201, "{}", r.body);
    let made = body(&r);
    let id = made["id"].as_i64().unwrap();
    assert_eq!(r.header("location"), Some(format!("/api/v1/records/donations/{id}").as_str()));
    assert_eq!((made["value_fen"].as_i64(), made["kind"].as_str()), (Some(1_234_567), Some("in_kind")));
    assert_eq!(made["labels"]["recipient_org_id"], "阿克陶县人民医院");
    let path = format!("/api/v1/records/donations/{id}");
    assert_eq!(body(&call(port, &token, "GET", &path, None)), made);
    let r = call(port, &token, "PATCH", &path, Some(&json!({ "value_fen": "2000000" })));
    assert_eq!(r.status, 200, "{}", r.body);
    let patched = body(&r);
    assert_eq!((patched["value_fen"].as_i64(), &patched["description"]), (Some(2_000_000), &made["description"]));
    // A record read can be sent back whole (its id and labels are ignored).
    let mut whole = patched.clone();
    whole["description"] = json!("接口捐赠的设备（已更正）");
    whole["donor_org_id"] = Value::Null;
    let r = call(port, &token, "PUT", &path, Some(&whole));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(body(&r)["description"], "接口捐赠的设备（已更正）");
    // PUT is the whole record: a required field left out is refused.
    let r = call(port, &token, "PUT", &path, Some(&json!({ "description": "只有描述" })));
    assert_eq!(r.status, 422);
    assert!(refusals(&r).contains(&("recipient_org_id".into(), "必填".into())), "{}", r.body);
    assert_eq!(call(port, &token, "DELETE", &path, None).status, 204);
    assert_eq!(call(port, &token, "GET", &path, None).status, 404);
    let store = db.store().await;
    let history = store.history(by_slug("donations").unwrap(), id).await.unwrap();
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["create", "update", "update", "delete", "read_denied"]);
    assert!(history.iter().all(|e| e.actor == "demo.manager"), "{history:?}");
    assert_eq!(history[1].after.as_ref().unwrap()["value_fen"], 2_000_000);

    // Refusals are JSON naming field and rule; bad requests are 400, bad records 422.
    let r = call(
        port,
        &token,
        "POST",
        "/api/v1/records/projects",
        Some(&json!({ "code": "", "name": "接口项目", "sector": "farming", "region_code": "65309", "colour": "red" })),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    let fields: Vec<String> = refusals(&r).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, vec!["colour"], "an unknown field is refused before anything else");
    let r = call(
        port,
        &token,
        "POST",
        "/api/v1/records/projects",
        Some(
            &json!({ "code": "", "name": "接口项目", "sector": "farming", "region_code": "65309", "planned_start": 20250101 }),
        ),
    );
    assert_eq!(r.status, 422);
    let got = refusals(&r);
    for field in ["code", "sector", "region_code", "planned_start"] {
        assert!(got.iter().any(|(f, rule)| f == field && !rule.is_empty()), "{field}: {got:?}");
    }
    assert!(got.contains(&("code".into(), "必填".into())));
    let r = call(port, &token, "POST", "/api/v1/records/funding", Some(&json!({ "planned_fen": 1.5 })));
    assert!(refusals(&r).contains(&("planned_fen".into(), "金额以分为单位，须为整数".into())), "{}", r.body);
    let r = call(port, &token, "POST", "/api/v1/records/brands", Some(&json!({ "code": "nul\u{0}", "name": "x" })));
    assert_eq!((r.status, refusals(&r)[0].1.as_str()), (422, "不得含控制字符"));
    let raw = Browser::new(port)
        .send(
            "POST",
            "/api/v1/records/brands",
            &[("Authorization", &format!("Bearer {token}"))],
            Some(("application/json", "[1")),
        )
        .unwrap();
    assert_eq!((raw.status, refusals(&raw)[0].0.as_str()), (400, "body"));
    for (query, field) in [
        ("page=0", "page"),
        ("per_page=501", "per_page"),
        ("page=99999999999999999999", "page"),
        ("sort=id_number", "sort"),
        ("colour=red", "colour"),
        ("kind=nonsense", "kind"),
        ("batch_id=x", "batch_id"),
        ("host_org_id=%00", "query"),
    ] {
        let r = call(port, &token, "GET", &format!("/api/v1/records/people?{query}"), None);
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert_eq!(refusals(&r)[0].0, field, "{query}");
    }
    assert_eq!(call(port, &token, "GET", "/api/v1/records/people/abc", None).status, 404);
    assert_eq!(call(port, &token, "GET", "/api/v1/records/no-such-type", None).status, 404);
    assert_eq!(call(port, &token, "DELETE", "/api/v1/records/project-status/1", None).status, 403);

    // A delete that others depend on is refused, naming them.
    let r = call(port, &token, "DELETE", &format!("/api/v1/records/organizations/{hosp}"), None);
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(body(&r)["error"]["message"].as_str().unwrap().contains("仍被其他记录引用"), "{}", r.body);

    // Personal identifiers: written in clear, read back masked; the mask sent back keeps them.
    let person = json!({ "name": "接口测试员", "kind": "aid", "category": "professional", "id_number": "11010519491231002X", "phone": "13900135678" });
    let r = call(port, &token, "POST", "/api/v1/records/people", Some(&person));
    assert_eq!(r.status, 201, "{}", r.body);
    let p = body(&r);
    assert_eq!((p["id_number"].as_str(), p["phone"].as_str()), (Some("110***********002X"), Some("139****5678")));
    let ppath = format!("/api/v1/records/people/{}", p["id"]);
    let mut back = p.clone();
    back["post"] = json!("临床带教");
    let r = call(port, &token, "PUT", &ppath, Some(&back));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(body(&r)["id_number"], "110***********002X", "the mask sent back keeps the number");
    let r = call(port, &token, "PATCH", &ppath, Some(&json!({ "phone": null })));
    assert_eq!((body(&r)["phone"].clone(), body(&r)["id_number"].clone()), (Value::Null, json!("110***********002X")));
    let listed = call(port, &token, "GET", "/api/v1/records/people?per_page=500", None);
    assert!(!listed.body.contains("11010519491231002") && listed.body.contains("110***********002X"));

    // Revoked on the page: refused at once.
    let id =
        store.tokens(&Actor::system(), store.user_named("demo.manager").await.unwrap().unwrap()).await.unwrap()[0].id;
    let csrf = b.get("/tokens").hidden("csrf");
    assert_eq!(b.post(&format!("/tokens/{id}/revoke"), &[("csrf", &csrf)]).status, 303);
    assert_eq!(call(port, &token, "GET", "/api/v1/records/projects", None).status, 401);
    assert!(b.get("/tokens").body.contains("已撤销"));
    store.close().await;
}

#[tokio::test]
async fn a_token_keeps_its_users_role_and_scope() {
    let db = TestDb::new(Backend::Sqlite).await;
    let (_server, port, accounts) = serve_demo(&db);
    let manager = token_from_page(&mut signed_in(port, &accounts, "demo.manager", "Akto#Pamir2025"), "全部");
    let reporter = token_from_page(&mut signed_in(port, &accounts, "demo.reporter", "Akto#Pamir2025"), "医院");
    let viewer = token_from_page(&mut signed_in(port, &accounts, "demo.viewer", "Akto#Pamir2025"), "只读");
    let sysadmin = token_from_page(&mut signed_in(port, &accounts, "demo.sysadmin", "Akto#Pamir2025"), "管理");

    // A reporter sees its own organization's records only; another's is "not found".
    let all = body(&call(port, &manager, "GET", "/api/v1/records/projects?per_page=500", None));
    let mine = body(&call(port, &reporter, "GET", "/api/v1/records/projects?per_page=500", None));
    assert!(mine["total"].as_i64().unwrap() < all["total"].as_i64().unwrap());
    let seen: Vec<i64> = mine["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    let other = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .find(|id| !seen.contains(id))
        .expect("a project outside the reporter's scope");
    let path = format!("/api/v1/records/projects/{other}");
    assert_eq!(call(port, &manager, "GET", &path, None).status, 200);
    assert_eq!(call(port, &reporter, "GET", &path, None).status, 404);
    assert_eq!(call(port, &reporter, "PATCH", &path, Some(&json!({ "name": "越权修改" }))).status, 404);
    assert_eq!(call(port, &reporter, "DELETE", &path, None).status, 404);
    assert_eq!(
        body(&call(port, &manager, "GET", &path, None))["name"],
        all["items"].as_array().unwrap().iter().find(|i| i["id"] == other).unwrap()["name"]
    );

    // It writes within its organization, and is refused outside it.
    let hosp = named(port, &manager, "organizations", "阿克陶县人民医院");
    let county = named(port, &manager, "organizations", "阿克陶县人民政府");
    let gift = |org: i64| json!({ "description": "科室设备", "kind": "in_kind", "recipient_org_id": org, "value_fen": 100, "date": "2025-05-01" });
    let r = call(port, &reporter, "POST", "/api/v1/records/donations", Some(&gift(hosp)));
    assert_eq!(r.status, 201, "{}", r.body);
    let r = call(port, &reporter, "POST", "/api/v1/records/donations", Some(&gift(county)));
    assert_eq!(r.status, 403, "{}", r.body);
    let r =
        call(port, &reporter, "POST", "/api/v1/records/brands", Some(&json!({ "code": "x_brand", "name": "品牌" })));
    assert_eq!(r.status, 403, "program configuration is for the manager: {}", r.body);

    // A viewer reads and never writes; the administrators see no business records.
    assert_eq!(call(port, &viewer, "GET", "/api/v1/records/donations", None).status, 200);
    assert_eq!(call(port, &viewer, "POST", "/api/v1/records/donations", Some(&gift(hosp))).status, 403);
    let people = body(&call(port, &viewer, "GET", "/api/v1/records/people?per_page=50", None));
    let masked = people["items"].as_array().unwrap().iter().filter_map(|p| p["id_number"].as_str()).collect::<Vec<_>>();
    assert!(!masked.is_empty() && masked.iter().all(|m| m.contains('*')), "{masked:?}");
    assert_eq!(call(port, &sysadmin, "GET", "/api/v1/records/projects", None).status, 403);
    assert_eq!(call(port, &sysadmin, "GET", "/api/v1/figures", None).status, 403);
}

/// The `total` of a list through the API.
fn listed_total(port: u16, token: &str, query: &str) -> i64 {
    let r = call(port, token, "GET", &format!("/api/v1/records/{query}"), None);
    assert_eq!(r.status, 200, "{query}: {}", r.body);
    body(&r)["total"].as_i64().unwrap_or_else(|| panic!("{query}: {}", r.body))
}

/// A breakdown through the API, answered 200.
fn breakdown(port: u16, token: &str, query: &str) -> Value {
    let r = call(port, token, "GET", &format!("/api/v1/breakdown?{query}"), None);
    assert_eq!(r.status, 200, "{query}: {}", r.body);
    body(&r)
}

/// Breakdowns through the one figure engine agree with the lists counted independently; lists
/// select by year or dates; a place filter takes the places inside it and nothing next to it.
async fn breakdowns_and_dates_agree_with_the_lists(db: &TestDb) {
    let (_server, port, accounts) = serve_demo(db);
    let token = token_from_page(&mut signed_in(port, &accounts, "demo.manager", "Akto#Pamir2025"), "统计");
    let all_activities = listed_total(port, &token, "activities?per_page=1");

    // The activities of the busiest year, by type: each part is what the list counts with the
    // same year and type, the parts add up to the year's list, and each opens to its records.
    let years = breakdown(port, &token, "source=activities&by=year");
    assert_eq!(years["total"].as_i64(), Some(all_activities), "{years}");
    let busiest = years["parts"].as_array().unwrap().iter().max_by_key(|p| p["value"].as_i64()).unwrap().clone();
    let year = busiest["key"].as_str().unwrap().to_string();
    let in_year = listed_total(port, &token, &format!("activities?year={year}&per_page=1"));
    assert_eq!(busiest["value"].as_i64(), Some(in_year));
    assert!(in_year < all_activities, "the demo's activities span more than {year}");
    let by_type = breakdown(port, &token, &format!("source=activities&by=type&year={year}"));
    assert_eq!(
        (by_type["source"].as_str(), by_type["measure"].as_str(), by_type["by"].as_str()),
        (Some("activities"), Some("count"), Some("type"))
    );
    assert_eq!(by_type["from"].as_str(), Some(format!("{year}-01-01").as_str()));
    assert_eq!(by_type["to"].as_str(), Some(format!("{year}-12-31").as_str()));
    let parts = by_type["parts"].as_array().unwrap();
    assert!(parts.len() >= 3, "{by_type}");
    let mut sum = 0;
    for p in parts {
        let key = p["key"].as_str().unwrap();
        let value = p["value"].as_i64().unwrap();
        let counted = listed_total(port, &token, &format!("activities?year={year}&type_code={key}&per_page=1"));
        assert_eq!(value, counted, "{key}");
        sum += counted;
        let href = p["records"].as_str().unwrap();
        assert!(href.starts_with("/figures/drill?source=activities&measure=count"), "{href}");
        assert!(
            href.contains(&format!("f=type%3Aeq%3A{key}")) && href.contains(&format!("from={year}-01-01")),
            "{href}"
        );
    }
    assert_eq!(sum, in_year);
    assert_eq!(by_type["total"].as_i64(), Some(in_year));
    // The same with from/to, and with a place: the figure's filters are the drill-down's.
    let same = breakdown(port, &token, &format!("source=activities&by=type&from={year}-01-01&to={year}-12-31"));
    assert_eq!(same["parts"], by_type["parts"]);
    let akto = breakdown(port, &token, &format!("source=activities&by=type&year={year}&f=region:under:653022"));
    let akto_listed = listed_total(port, &token, &format!("activities?year={year}&region_code=653022&per_page=1"));
    assert_eq!(akto["total"].as_i64(), Some(akto_listed));

    // Money is answered in 分, exactly: the funding lines' planned sums by year are the sums of
    // the lines the list shows.
    let funds = breakdown(port, &token, "source=project_funding&measure=sum.planned_fen&by=year");
    for p in funds["parts"].as_array().unwrap() {
        let y = p["key"].as_str().unwrap();
        let r = call(port, &token, "GET", &format!("/api/v1/records/funding?year={y}&per_page=500"), None);
        let lines = body(&r);
        assert!(lines["total"].as_i64().unwrap() <= 500);
        let fen: i64 = lines["items"].as_array().unwrap().iter().map(|i| i["planned_fen"].as_i64().unwrap()).sum();
        assert_eq!(p["value"].as_i64(), Some(fen), "{y}");
    }
    assert!(funds["total"].as_i64().unwrap() > 1_000_000, "分, not 万元: {funds}");
    // A distinct count is counted once over all parts.
    let orgs = breakdown(port, &token, "source=activities&measure=distinct.organizer&by=type");
    let whole = breakdown(port, &token, "source=activities&measure=distinct.organizer&by=year");
    assert_eq!(orgs["total"], whole["total"]);
    assert!(orgs["total"].as_i64().unwrap() >= 1);

    // Refusals are 400 as JSON, naming the parameter.
    for (query, field) in [
        ("by=type", "source"),
        ("source=nothing&by=type", "source"),
        ("source=activities", "by"),
        ("source=activities&by=", "by"),
        ("source=activities&by=colour", "by"),
        ("source=activities&by=type&measure=avg", "measure"),
        ("source=activities&by=type&measure=sum.colour", "measure"),
        ("source=activities&by=type&measure=distinct.colour", "measure"),
        ("source=activities&by=type&measure=distinct.type", "measure"),
        ("source=activities&by=type&f=colour:eq:red", "f"),
        ("source=activities&by=type&f=type:like:x", "f"),
        ("source=activities&by=type&f=type", "f"),
        ("source=activities&by=type&f=region:under:65", "f"),
        ("source=activities&by=type&f=organizer:under:NO-SUCH-ORG", "f"),
        ("source=activities&by=type&f=project:eq:x", "f"),
        ("source=activities&by=type&from=2024-13-01", "from"),
        ("source=activities&by=type&to=yesterday", "to"),
        ("source=activities&by=type&from=2024-05-01&to=2024-04-30", "to"),
        ("source=activities&by=type&year=24", "year"),
        ("source=activities&by=type&year=2024&from=2024-01-01", "year"),
        ("source=project_funding&by=source&year=2024", "year"),
        ("source=activities&by=type&colour=red", "colour"),
        ("source=activities&source=people&by=type", "source"),
        ("source=activities&by=type&f=type:eq:%00", "query"),
    ] {
        let r = call(port, &token, "GET", &format!("/api/v1/breakdown?{query}"), None);
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert_eq!(refusals(&r)[0].0, field, "{query}: {}", r.body);
        let message = body(&r)["error"]["message"].as_str().unwrap().to_string();
        assert!(field == "query" || message.contains(field), "{query}: {message}");
    }
    let anon = Browser::new(port).send("GET", "/api/v1/breakdown?source=activities&by=type", &[], None).unwrap();
    assert_eq!(anon.status, 401);

    // Lists by year, or from/to, on the type's date field.
    let page = body(&call(port, &token, "GET", &format!("/api/v1/records/activities?year={year}&per_page=500"), None));
    let dates: Vec<&str> = page["items"].as_array().unwrap().iter().map(|i| i["date"].as_str().unwrap()).collect();
    assert!(!dates.is_empty() && dates.iter().all(|d| d.starts_with(&year)), "{dates:?}");
    let span = format!("from={year}-01-01&to={year}-12-31");
    assert_eq!(listed_total(port, &token, &format!("activities?{span}&per_page=1")), in_year);
    let from = format!("{year}-07-01");
    let later = body(&call(port, &token, "GET", &format!("/api/v1/records/activities?from={from}&per_page=500"), None));
    let items = later["items"].as_array().unwrap();
    assert!(items.iter().all(|i| i["date"].as_str().unwrap() >= from.as_str()));
    let earlier = listed_total(port, &token, &format!("activities?to={year}-06-30&per_page=1"));
    assert_eq!(later["total"].as_i64().unwrap() + earlier, all_activities, "from and to split the list");
    // Funding lines have no date: their `year` is their own field.
    let r = body(&call(port, &token, "GET", "/api/v1/records/funding?year=2024&per_page=500", None));
    assert!(r["items"].as_array().unwrap().iter().all(|i| i["year"] == 2024), "{r}");
    for (query, field) in [
        ("indicator-values?year=2024", "year"),
        ("indicator-values?from=2024-01-01", "from"),
        ("funding?to=2024-01-01", "to"),
        ("activities?year=2024&to=2024-06-30", "year"),
        ("activities?year=20245", "year"),
        ("activities?from=2024-02-30", "from"),
        ("activities?from=2024-02-01&to=2024-01-31", "to"),
    ] {
        let r = call(port, &token, "GET", &format!("/api/v1/records/{query}"), None);
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert_eq!(refusals(&r)[0].0, field, "{query}");
    }

    // A place filter takes the places inside it (a township under its county) and nothing next to
    // it: not the neighbouring county, not the next prefecture (653100 follows the range 6530…).
    let mut ids = Vec::new();
    for (i, place) in ["653022", "653022202", "653023", "653100"].iter().enumerate() {
        let new = json!({ "title": format!("边界测试活动{i}"), "type_code": "lecture", "date": "2025-06-01",
            "region_code": place, "line": "education", "participants": 1, "beneficiaries": 1 });
        let r = call(port, &token, "POST", "/api/v1/records/activities", Some(&new));
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(body(&r)["id"].as_i64().unwrap());
    }
    let found = |region: &str| -> Vec<i64> {
        let q = format!("/api/v1/records/activities?q={}&region_code={region}&per_page=50", urlencode("边界测试"));
        let mut got: Vec<i64> = body(&call(port, &token, "GET", &q, None))["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect();
        got.sort();
        got
    };
    assert_eq!(found("653022"), vec![ids[0], ids[1]]);
    assert_eq!(found("653022202"), vec![ids[1]]);
    assert_eq!(found("653023"), vec![ids[2]]);
    assert_eq!(found("653000"), vec![ids[0], ids[1], ids[2]]);
    assert_eq!(found("653100"), vec![ids[3]]);
    assert_eq!(found("650000"), ids);
    // The demo's activities in Akto's townships are in Akto's list.
    let townships = listed_total(port, &token, "activities?region_code=653022202&per_page=1");
    assert!(townships > 0 && townships < listed_total(port, &token, "activities?region_code=653022&per_page=1"));

    // Sorted by a date that is never empty, page after page: the order of (date, id).
    let mut paged = Vec::new();
    for n in 1..=4 {
        let p = body(&call(
            port,
            &token,
            "GET",
            &format!("/api/v1/records/activities?sort=date&desc=true&per_page=25&page={n}"),
            None,
        ));
        paged.extend(
            p["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| (i["date"].as_str().unwrap().to_string(), i["id"].as_i64().unwrap())),
        );
    }
    let mut every = Vec::new();
    for n in 1.. {
        let p = body(&call(port, &token, "GET", &format!("/api/v1/records/activities?per_page=500&page={n}"), None));
        let items = p["items"].as_array().unwrap();
        every.extend(items.iter().map(|i| (i["date"].as_str().unwrap().to_string(), i["id"].as_i64().unwrap())));
        if items.len() < 500 {
            break;
        }
    }
    assert_eq!(every.len() as i64, all_activities + 4);
    every.sort_by(|a, b| b.cmp(a));
    assert_eq!(paged[..], every[..100], "the latest dates first, the newest record first within a day");
}
both!(breakdowns_and_dates_agree_with_the_lists);
