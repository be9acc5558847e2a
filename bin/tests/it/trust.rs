//! Trust (issue 7): the SM3 audit chain and its verification, the retention rule on a moving
//! clock, backup and restore (records, audit entries and figures reproduced), key rotation with
//! no clear identifier anywhere in the database, and a server killed with SIGKILL in the middle
//! of an import. Every test runs on SQLite and on PostgreSQL.

use crate::both;
use crate::http::Browser;
use crate::support::{cli, TestDb, KEY};
use domain::audit::Actor;
use domain::ids::PersonId;
use domain::people::Reveal;
use serde_json::Value;
use services::figures::Engine;
use sqlx::Connection;
use std::io::Read;
use std::time::{Duration, Instant};
use store::{Crypto, DbUrl, Store};

async fn raw(db: &TestDb) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(&db.url).await.unwrap()
}

/// A store with the demo program and a few more audited writes (a login, an export).
async fn demo(db: &TestDb) -> Store {
    let store = db.store().await;
    services::demo::load(&store).await.unwrap();
    store
}

fn broken_at(r: &store::audit::ChainReport) -> Option<i64> {
    r.broken.as_ref().and_then(|b| b.id)
}

/// Edited, deleted, swapped and cut-off entries are each found at the first entry they break;
/// put back, the chain verifies again.
async fn audit_chain_finds_the_first_broken_entry(db: &TestDb) {
    let store = demo(db).await;
    let ok = store.audit_verify().await.unwrap();
    assert_eq!(ok.broken, None, "{ok:?}");
    assert!(ok.entries > 100, "the demo is audited: {}", ok.entries);
    assert_eq!(ok.head_seq, ok.entries);
    let mut c = raw(db).await;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM audit_log ORDER BY id").fetch_all(&mut c).await.unwrap();
    let mid = ids[ids.len() / 2];

    // An edited entry: its content no longer hashes to its hash.
    let after: Option<String> =
        sqlx::query_scalar("SELECT after_json FROM audit_log WHERE id = $1").bind(mid).fetch_one(&mut c).await.unwrap();
    sqlx::query("UPDATE audit_log SET after_json = $1 WHERE id = $2")
        .bind(r#"{"forged":true}"#)
        .bind(mid)
        .execute(&mut c)
        .await
        .unwrap();
    let r = store.audit_verify().await.unwrap();
    assert_eq!(broken_at(&r), Some(mid), "{r:?}");
    assert!(r.broken.as_ref().unwrap().reason.contains("被修改"), "{r:?}");
    sqlx::query("UPDATE audit_log SET after_json = $1 WHERE id = $2")
        .bind(after)
        .bind(mid)
        .execute(&mut c)
        .await
        .unwrap();
    assert_eq!(store.audit_verify().await.unwrap().broken, None);
    // So is the actor, the time or the outcome.
    for (col, forged) in [("actor", "someone.else"), ("at", "2020-01-01T00:00:00.000Z"), ("outcome", "failed")] {
        let was: String = sqlx::query_scalar(&format!("SELECT {col} FROM audit_log WHERE id = $1"))
            .bind(mid)
            .fetch_one(&mut c)
            .await
            .unwrap();
        let set = format!("UPDATE audit_log SET {col} = $1 WHERE id = $2");
        sqlx::query(&set).bind(forged).bind(mid).execute(&mut c).await.unwrap();
        assert_eq!(broken_at(&store.audit_verify().await.unwrap()), Some(mid), "{col}");
        sqlx::query(&set).bind(was).bind(mid).execute(&mut c).await.unwrap();
    }

    // Two entries swapped (every column but the id): the run of seq steps back.
    let (a, b) = (ids[10], ids[11]);
    let cols = "at, actor, actor_id, source, action, object_type, object_id, before_json, after_json, outcome, seq, prev_hash, hash";
    let swap = |x: i64, y: i64| {
        let set: Vec<String> =
            cols.split(", ").map(|k| format!("{k} = (SELECT {k} FROM audit_log WHERE id = {y})")).collect();
        format!("UPDATE audit_log SET {} WHERE id = {x}", set.join(", "))
    };
    sqlx::query(&format!("CREATE TABLE swap_tmp AS SELECT * FROM audit_log WHERE id IN ({a}, {b})"))
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query(&swap(a, b)).execute(&mut c).await.unwrap();
    sqlx::query(&swap(b, a).replace("FROM audit_log", "FROM swap_tmp")).execute(&mut c).await.unwrap();
    let r = store.audit_verify().await.unwrap();
    assert_eq!(broken_at(&r), Some(a), "{r:?}");
    assert!(r.broken.as_ref().unwrap().reason.contains("应为"), "{r:?}");
    sqlx::query(&swap(a, a).replace("FROM audit_log", "FROM swap_tmp")).execute(&mut c).await.unwrap();
    sqlx::query(&swap(b, b).replace("FROM audit_log", "FROM swap_tmp")).execute(&mut c).await.unwrap();
    assert_eq!(store.audit_verify().await.unwrap().broken, None, "swapped back");

    // A deleted entry: the one after it shows the gap.
    sqlx::query(&format!("DELETE FROM swap_tmp WHERE id = {b}")).execute(&mut c).await.unwrap();
    sqlx::query(&format!("DELETE FROM audit_log WHERE id = {a}")).execute(&mut c).await.unwrap();
    let r = store.audit_verify().await.unwrap();
    assert_eq!(broken_at(&r), Some(b), "{r:?}");
    assert!(r.broken.as_ref().unwrap().reason.contains("1 条被删除"), "{r:?}");
    sqlx::query("INSERT INTO audit_log SELECT * FROM swap_tmp").execute(&mut c).await.unwrap();
    assert_eq!(store.audit_verify().await.unwrap().broken, None, "put back");

    // The newest entry cut off: the log ends short of the recorded head.
    let last = *ids.last().unwrap();
    sqlx::query(&format!("DELETE FROM audit_log WHERE id = {last}")).execute(&mut c).await.unwrap();
    let r = store.audit_verify().await.unwrap();
    let b = r.broken.expect("a cut-off end is found");
    assert_eq!(b.id, None);
    assert!(b.reason.contains("末尾 1 条被删除"), "{}", b.reason);
    store.close().await;
}
both!(audit_chain_finds_the_first_broken_entry);

/// Login, failed login, logout, export and an unmasked view are audited, with source and outcome.
async fn security_events_are_audited_with_outcome(db: &TestDb) {
    let store = demo(db).await;
    let mut web = Actor::system();
    web.source = Some("10.1.2.3".into());
    let _ = store.login("demo.manager", "wrong password", Some("10.1.2.3".into())).await.unwrap();
    let person: i64 = {
        let mut c = raw(db).await;
        sqlx::query_scalar("SELECT MIN(id) FROM people WHERE id_number_enc IS NOT NULL")
            .fetch_one(&mut c)
            .await
            .unwrap()
    };
    store.person(&web, PersonId::issued(person), Reveal::Clear).await.unwrap();
    let t = domain::catalog::by_slug("people").unwrap();
    store.export_chunks(&web, t, &Default::default(), Reveal::Masked).await.unwrap();
    let recent = store.audit_recent(10).await.unwrap();
    let find = |a: &str| recent.iter().find(|e| e.action == a).unwrap_or_else(|| panic!("{a}: {recent:?}"));
    assert_eq!(find("login_failed").outcome, "failed");
    assert_eq!(find("login_failed").source.as_deref(), Some("10.1.2.3"));
    assert_eq!(find("view_personal").outcome, "ok");
    assert_eq!(find("view_personal").source.as_deref(), Some("10.1.2.3"));
    assert_eq!(find("export").object_type, "people");
    assert_eq!(store.audit_verify().await.unwrap().broken, None);
    store.close().await;
}
both!(security_events_are_audited_with_outcome);

/// The retention run, on a moving clock: nothing younger than 180 days is removed, whatever the
/// caller asks; older entries go, the chain's base moves, and the chain still verifies.
async fn audit_retention_keeps_six_months(db: &TestDb) {
    let store = demo(db).await;
    let before = store.audit_count().await.unwrap();
    let now = chrono::Utc::now();
    let refused = store.audit_prune(&Actor::system(), now, 179).await;
    assert!(matches!(refused, Err(store::StoreError::Invalid(_))), "{refused:?}");
    let mut day = 0;
    while day < 180 {
        let p = store.audit_prune(&Actor::system(), now + chrono::Duration::days(day), 180).await.unwrap();
        assert_eq!(p.removed, 0, "day {day}: nothing is six months old yet");
        day += 45;
    }
    assert_eq!(store.audit_count().await.unwrap(), before + 4, "each run is audited");
    assert_eq!(store.audit_verify().await.unwrap().broken, None);
    // An entry written 'later' (its time a year on) stays when the clock moves 181 days.
    let p = store.audit_prune(&Actor::system(), now + chrono::Duration::days(181), 180).await.unwrap();
    assert_eq!(p.removed, before + 4, "everything older than the cut-off, and only that");
    let r = store.audit_verify().await.unwrap();
    assert_eq!(r.broken, None, "{r:?}");
    assert_eq!(r.entries, 1, "the run's own entry");
    assert_eq!(r.base_seq, before + 4);
    let last = store.audit_recent(1).await.unwrap();
    assert_eq!(last[0].action, "audit_prune");
    // Writes go on after the cut.
    let mut tx = store.write(&Actor::system()).await.unwrap();
    tx.audit("update", "settings", None, None, None).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.audit_verify().await.unwrap().broken, None);
    store.close().await;
}
both!(audit_retention_keeps_six_months);

/// Every row of every table of an archive, by table: the database's whole content.
fn tables_of(archive: &[u8]) -> Vec<(String, Vec<Value>)> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(archive).read_to_string(&mut text).unwrap();
    let mut out: Vec<(String, Vec<Value>)> = Vec::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if let Some(t) = v.get("table").and_then(Value::as_str) {
            out.push((t.to_string(), Vec::new()));
        } else if v.is_array() {
            out.last_mut().unwrap().1.push(v);
        }
    }
    out
}

async fn figures(store: &Store) -> Vec<(String, String)> {
    let board = Engine::new(store).all().await.unwrap();
    assert!(board.failed.is_empty());
    board.values.iter().map(|v| (v.key.clone(), format!("{:?}", v.exact))).collect()
}

/// An archive made while another task writes restores into an empty database with every record,
/// every audit entry (and then the restore's own), a verifying chain and the same figures; a
/// damaged archive is refused with nothing written.
async fn backup_and_restore_reproduce_records_audit_and_figures(db: &TestDb) {
    let store = demo(db).await;
    // A writer runs while the archive is made: the archive is one snapshot.
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..30 {
                let mut tx = store.write(&Actor::system()).await.unwrap();
                tx.audit("update", "settings", Some(i), None, None).await.unwrap();
                tx.commit().await.unwrap();
            }
        })
    };
    let mut archive = Vec::new();
    let summary = store.archive_to(&mut archive).await.unwrap();
    writer.await.unwrap();
    assert!(summary.rows > 1000, "{summary:?}");
    let source = tables_of(&archive);
    let audit_rows = source.iter().find(|(t, _)| t == "audit_log").map(|(_, r)| r.len()).unwrap();
    assert_eq!(audit_rows as i64, summary.audit_head_seq, "the snapshot's audit log ends at its head");

    let target_db = TestDb::new(match store.backend() {
        store::Backend::Sqlite => crate::support::Backend::Sqlite,
        store::Backend::Postgres => crate::support::Backend::Postgres,
    })
    .await;
    let target = target_db.store().await;

    // A damaged archive: one byte changed in the middle. Refused; nothing written.
    let mut text = String::new();
    flate2::read::GzDecoder::new(&archive[..]).read_to_string(&mut text).unwrap();
    let forged = text.replacen("江西", "江东", 1);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, forged.as_bytes()).unwrap();
    let forged = gz.finish().unwrap();
    let r = target.restore_archive(&Actor::system(), &forged[..]).await;
    assert!(matches!(&r, Err(store::StoreError::Archive(m)) if m.contains("SM3")), "{r:?}");
    assert_eq!(target.audit_count().await.unwrap(), 0, "nothing of a refused restore is written");
    let r = target.restore_archive(&Actor::system(), &archive[..archive.len() / 2]).await;
    assert!(matches!(r, Err(store::StoreError::Archive(_))), "a truncated archive: {r:?}");

    let restored = target.restore_archive(&Actor::system(), &archive[..]).await.unwrap();
    assert_eq!(restored.rows, summary.rows);
    assert_eq!(restored.per_table, summary.per_table);
    // A second restore into the now full database is refused.
    assert!(target.restore_archive(&Actor::system(), &archive[..]).await.is_err());

    let mut again = Vec::new();
    target.archive_to(&mut again).await.unwrap();
    let copy = tables_of(&again);
    assert_eq!(copy.len(), source.len());
    for ((t, rows), (t2, rows2)) in source.iter().zip(&copy) {
        assert_eq!(t, t2);
        match t.as_str() {
            // The restore's own entry follows the restored ones; the head moved by one.
            "audit_log" => {
                assert_eq!(rows2.len(), rows.len() + 1);
                assert_eq!(&rows2[..rows.len()], &rows[..], "every audit entry as it was");
            }
            "audit_chain" => {}
            _ => assert_eq!(rows, rows2, "table {t}"),
        }
    }
    let v = target.audit_verify().await.unwrap();
    assert_eq!(v.broken, None, "{v:?}");
    assert_eq!(v.head_seq, summary.audit_head_seq + 1);
    assert_eq!(target.audit_recent(1).await.unwrap()[0].action, "restore");
    // Every figure: the source's figures were taken after the writer, which wrote no records.
    assert_eq!(figures(&target).await, figures(&store).await);
    assert!(target.rollup_differences().await.unwrap().is_empty());
    // New records get new ids after the restored ones (PostgreSQL's identities were moved on).
    let mut tx = target.write(&Actor::system()).await.unwrap();
    tx.audit("update", "settings", None, None, None).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(target.audit_verify().await.unwrap().broken, None);
    // A restore needs the system's key.
    let other_db = TestDb::new(crate::support::Backend::Sqlite).await;
    let other = Store::open(&DbUrl::parse(&other_db.url).unwrap(), Crypto::from_hex(&Crypto::generate_hex()).unwrap())
        .await
        .unwrap();
    let r = other.restore_archive(&Actor::system(), &archive[..]).await;
    assert!(matches!(&r, Err(store::StoreError::Archive(m)) if m.contains("密钥")), "{r:?}");
    for s in [store, target, other] {
        s.close().await;
    }
}
both!(backup_and_restore_reproduce_records_audit_and_figures);

/// The first 60 people's identifiers, in clear, through the store (each clear read is audited).
async fn clear_people(store: &Store) -> Vec<(i64, Option<String>, Option<String>)> {
    let ids: Vec<i64> = {
        let t = domain::catalog::by_slug("people").unwrap();
        let mut chunks = store.export_chunks(&Actor::system(), t, &Default::default(), Reveal::Masked).await.unwrap();
        let mut ids = Vec::new();
        loop {
            let rows = store.chunk(&mut chunks, 500).await.unwrap();
            if rows.is_empty() {
                break;
            }
            ids.extend(rows.iter().filter_map(|r| r.get("id").and_then(Value::as_i64)));
        }
        ids.sort();
        ids.truncate(60);
        ids
    };
    let mut out = Vec::new();
    for id in ids {
        let p = store.person(&Actor::system(), PersonId::issued(id), Reveal::Clear).await.unwrap().unwrap();
        let s = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
        out.push((id, s("id_number"), s("phone")));
    }
    out
}

/// The whole database, past the store (every table, the audit log included), holds no clear
/// identity number or phone number; after a key rotation it still holds none, the values read
/// back the same with the new key, lookups work, and the old key is refused.
async fn keys_rotate_and_the_raw_database_holds_no_identifier(db: &TestDb) {
    let store = demo(db).await;
    let people = clear_people(&store).await;
    let secrets: Vec<String> =
        people.iter().flat_map(|(_, a, b)| [a.clone(), b.clone()]).flatten().filter(|s| s.len() >= 11).collect();
    assert!(secrets.len() > 20, "the demo has identified people: {}", secrets.len());
    let dump = |archive: &[u8]| {
        let mut text = String::new();
        flate2::read::GzDecoder::new(archive).read_to_string(&mut text).unwrap();
        text
    };
    let no_clear = |text: &str, when: &str| {
        for s in &secrets {
            let digits: String = s.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
            assert!(!text.contains(s.as_str()) && !text.contains(&digits), "{when}: {s} is in the database");
        }
    };
    let mut a = Vec::new();
    store.archive_to(&mut a).await.unwrap();
    let before = dump(&a);
    no_clear(&before, "before rotation");

    let new_hex = Crypto::generate_hex();
    let new = Crypto::from_hex(&new_hex).unwrap();
    // A viewer: a manager's token would need the second factor enrolled first.
    let token = store.user_named("demo.viewer").await.unwrap().unwrap();
    store.create_token(&Actor::system(), token, "before rotation", 30).await.unwrap();
    let r = store.rotate_key(&Actor::system(), &new).await.unwrap();
    assert!(r.values as usize >= secrets.len(), "{r:?}");
    assert_eq!(r.tokens_revoked, 1);
    store.close().await;
    let url = DbUrl::parse(&db.url).unwrap();
    let old = Store::open(&url, Crypto::from_hex(KEY).unwrap()).await;
    assert!(matches!(old, Err(store::StoreError::Config(ref m)) if m.contains("指纹")), "{old:?}");
    let store = Store::open(&url, new).await.unwrap();
    let last = store.audit_recent(1).await.unwrap();
    assert_eq!(last[0].action, "key_rotate");
    assert!(!serde_json::to_string(&last[0]).unwrap().contains(&new_hex), "the key is never audited");
    assert_eq!(clear_people(&store).await, people, "the same values under the new key");
    let one = people.iter().find_map(|(id, n, _)| n.clone().map(|n| (*id, n))).unwrap();
    let found = store.people_by_id_number(&domain::people::IdNumber::parse(&one.1).unwrap()).await.unwrap();
    assert_eq!(found, vec![PersonId::issued(one.0)], "the lookup hash was recomputed");
    let mut a = Vec::new();
    store.archive_to(&mut a).await.unwrap();
    let after = dump(&a);
    no_clear(&after, "after rotation");
    // No ciphertext survived the rotation.
    let enc = |t: &str| -> Vec<String> {
        t.split('"').filter(|s| s.starts_with("v1:")).map(str::to_string).collect::<Vec<_>>()
    };
    let (e1, e2) = (enc(&before), enc(&after));
    assert_eq!(e1.len(), e2.len());
    assert!(e1.iter().all(|c| !e2.contains(c)));
    assert_eq!(store.audit_verify().await.unwrap().broken, None);
    store.close().await;
}
both!(keys_rotate_and_the_raw_database_holds_no_identifier);

fn api(port: u16, token: &str, method: &str, path: &str, json: Option<&Value>) -> Option<crate::http::Response> {
    let auth = format!("Bearer {token}");
    let text = json.map(|j| j.to_string());
    Browser::new(port).send(method, path, &[("Authorization", &auth)], text.as_deref().map(|t| ("application/json", t)))
}

/// Is a write transaction open on the database right now (the import's)?
async fn writing(db: &TestDb) -> bool {
    if db.url.starts_with("sqlite") {
        // Another writer holds the lock: an immediate transaction cannot start.
        let url = format!("{}?mode=rw", db.url);
        let Ok(mut c) = sqlx::AnyConnection::connect(&url).await else { return false };
        let busy = sqlx::query("BEGIN IMMEDIATE").execute(&mut c).await.is_err();
        if !busy {
            let _ = sqlx::query("ROLLBACK").execute(&mut c).await;
        }
        busy
    } else {
        let name = db.url.rsplit('/').next().unwrap_or_default().to_string();
        let mut c = raw(db).await;
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1 AND xact_start IS NOT NULL \
             AND pid <> pg_backend_pid() AND (query ILIKE '%INSERT INTO activities%' OR query ILIKE '%audit_log%')",
        )
        .bind(name)
        .fetch_one(&mut c)
        .await
        .unwrap_or(0);
        n > 0
    }
}

/// The server, killed with SIGKILL while a large import is being written after a burst of
/// acknowledged writes, comes back with every acknowledged write, nothing of the import, a
/// verifying audit chain and rollups equal to a recount.
async fn sigkill_during_an_import_loses_nothing_acknowledged(db: &TestDb) {
    let (mut server, port, accounts) = crate::support::serve_demo(db);
    let mut m = crate::http::signed_in(port, &accounts, "demo.manager", "Akto#Pamir2025");
    let out = cli(db).args(["token", "create", "demo.manager", "--name", "crash test"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();

    // A burst of writes, each acknowledged (201) with its id.
    let mut acknowledged = Vec::new();
    for i in 0..40 {
        let a = serde_json::json!({
            "title": format!("确认写入 {i}"), "type_code": "free_clinic", "line": "medical",
            "date": "2025-06-01", "region_code": "653022", "participants": 10 + i, "beneficiaries": 20,
        });
        let r = api(port, &token, "POST", "/api/v1/records/activities", Some(&a)).unwrap();
        assert_eq!(r.status, 201, "{}", r.body);
        let v: Value = serde_json::from_str(&r.body).unwrap();
        acknowledged.push(v["id"].as_i64().unwrap());
    }

    // A large import, uploaded from another thread; the server is killed while it writes.
    let csrf = m.get("/records/activities/import").hidden("csrf");
    let head = crate::exchange_import::HEADER.join(",");
    let mut csv = format!("{head}\n");
    for i in 0..40_000 {
        csv.push_str(&format!("中断导入 {i},义诊,,医疗,2025-03-05,,阿克陶县,,,,12,30\n"));
    }
    let upload = std::thread::spawn(move || {
        std::panic::catch_unwind(move || {
            crate::exchange_import::upload(&m, "/records/activities/import", &[("csrf", &csrf)], csv.as_bytes())
        })
        .ok()
    });
    let start = Instant::now();
    while !writing(db).await {
        assert!(start.elapsed() < Duration::from_secs(120), "the import never started writing");
        assert!(!upload.is_finished(), "the import finished before it could be interrupted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!upload.is_finished(), "the import is still being written when the server is killed");
    server.kill();
    let answer = upload.join().unwrap();
    assert!(answer.as_ref().is_none_or(|(status, _)| *status != 200 && *status != 303), "no answer: {answer:?}");
    drop(server);

    // Restarted, the server serves again, and the database holds what was acknowledged.
    let (_server, port) = crate::support::serve(db);
    for id in &acknowledged {
        let r = api(port, &token, "GET", &format!("/api/v1/records/activities/{id}"), None).unwrap();
        assert_eq!(r.status, 200, "acknowledged activity {id}: {}", r.body);
    }
    let store = db.store().await;
    let mut c = raw(db).await;
    let partial: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM activities WHERE title LIKE '中断导入%'")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(partial, 0, "nothing of the interrupted import");
    let v = store.audit_verify().await.unwrap();
    assert_eq!(v.broken, None, "{v:?}");
    assert!(store.rollup_differences().await.unwrap().is_empty(), "the rollups equal a recount");
    assert!(store.scanning().audit_count().await.unwrap() > 0);
    store.close().await;
}
both!(sigkill_during_an_import_loses_nothing_acknowledged);

/// The commands: `backup` (a SQLite copy and an archive), `restore` of each into an empty
/// database, `audit verify` (status 1 and the entry named after a direct edit), `key rotate`.
#[tokio::test]
async fn backup_restore_verify_and_rotate_by_command() {
    let db = TestDb::new(crate::support::Backend::Sqlite).await;
    let run = |db: &TestDb, args: &[&str]| {
        let out = cli(db).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    assert_eq!(run(&db, &["demo"]).0, Some(0));
    let (code, out, _) = run(&db, &["audit", "verify"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("审计链完整"), "{out}");
    let copy = db.dir.path().join("copy.db");
    let archive = db.dir.path().join("all.archive");
    assert_eq!(run(&db, &["backup", "--out", copy.to_str().unwrap()]).0, Some(0));
    let (code, out, err) = run(&db, &["backup", "--format", "archive", "--out", archive.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("已备份"), "{out}");
    assert_ne!(
        run(&db, &["backup", "--out", copy.to_str().unwrap()]).0,
        Some(0),
        "an existing file is not overwritten"
    );
    for file in [&copy, &archive] {
        let target = TestDb::new(crate::support::Backend::Sqlite).await;
        let (code, out, err) = run(&target, &["restore", file.to_str().unwrap()]);
        assert_eq!(code, Some(0), "{err}");
        assert!(out.contains("已恢复"), "{out}");
        let (code, ..) = run(&target, &["audit", "verify"]);
        assert_eq!(code, Some(0));
        let (code, _, err) = run(&target, &["restore", file.to_str().unwrap()]);
        assert_ne!(code, Some(0));
        assert!(err.contains("空数据库"), "{err}");
    }
    // An edit made directly in the database is found and named.
    let mut c = raw(&db).await;
    sqlx::query("UPDATE audit_log SET actor = 'nobody' WHERE id = 5").execute(&mut c).await.unwrap();
    c.close().await.unwrap();
    let (code, _, err) = run(&db, &["audit", "verify"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("第 5 号条目"), "{err}");
    // Key rotation by command needs a key file.
    let keyed = TestDb::new(crate::support::Backend::Sqlite).await;
    let keyrun = |args: &[&str]| {
        let out = cli(&keyed).env_remove("COUNTERPART_KEY").args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    assert_eq!(keyrun(&["demo"]).0, Some(0));
    let before = std::fs::read_to_string(keyed.dir.path().join("counterpart.key")).unwrap();
    let (code, out, err) = keyrun(&["key", "rotate"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("重新加密"), "{out}");
    let after = std::fs::read_to_string(keyed.dir.path().join("counterpart.key")).unwrap();
    assert_ne!(before, after);
    let retired = std::fs::read_dir(keyed.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().contains("retired"));
    assert!(retired, "the old key is kept beside the new one");
    assert_eq!(keyrun(&["audit", "verify"]).0, Some(0), "the database opens with the new key");
}
