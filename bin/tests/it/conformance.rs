//! The store conformance suite: the same tests on SQLite and PostgreSQL. Each write's audit
//! entry is asserted; refused writes leave nothing behind.

use crate::both;
use crate::support::TestDb;
use domain::audit::Actor;
use domain::ids::{kind, BatchId, OrgId, ProgramId};
use domain::orgs::{NewOrg, OrgDraft, Side};
use domain::people::{IdNumber, NewPerson, Phone, Reveal};
use domain::program::{NewBatch, NewProgram};
use domain::projects::{NewFunding, NewProject, NewStatusEvent};
use domain::regions::RegionCode;
use domain::users::Role;
use domain::{Date, Fen};
use store::{Store, StoreError};

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}
fn rc(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap()
}

struct Base {
    program: ProgramId,
    donor: OrgId,
    host: OrgId,
    batch: BatchId,
}

async fn base(store: &Store) -> Base {
    let a = Actor::system();
    let mut tx = store.write(&a).await.unwrap();
    let program = tx
        .insert(&NewProgram {
            code: "P1".into(),
            name: "测试援疆工作".into(),
            donor_region: rc("360000"),
            recipient_region: rc("653000"),
            start_date: d("2023-04-20"),
        })
        .await
        .unwrap();
    let org = |code: &str, side, parent, region: &str| NewOrg {
        code: code.into(),
        name: format!("单位{code}"),
        side,
        kind: "government",
        parent_id: parent,
        region: rc(region),
        credit_code: None,
    };
    let donor = tx.insert_org(&org("D1", Side::Donor, None, "360000")).await.unwrap();
    let top = tx.insert_org(&org("R1", Side::Recipient, None, "653000")).await.unwrap();
    let host = tx.insert_org(&org("R2", Side::Recipient, Some(top), "653022")).await.unwrap();
    let batch = tx
        .insert(&NewBatch { program_id: program, number: 11, start_date: d("2023-04-20"), end_date: None })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    Base { program, donor, host, batch }
}

fn person(b: &Base, id_number: Option<&str>, phone: Option<&str>) -> NewPerson {
    NewPerson {
        program_id: b.program,
        kind: "aid",
        name: "张建华".into(),
        gender: Some("男"),
        batch_id: Some(b.batch),
        category: Some("professional"),
        line: Some("education"),
        title: None,
        post: Some("援疆教师".into()),
        home_org_id: Some(b.donor),
        host_org_id: Some(b.host),
        start_date: Some(d("2023-04-20")),
        end_date: None,
        id_number: id_number.map(|s| IdNumber::parse(s).unwrap()),
        phone: phone.map(|s| Phone::parse(s).unwrap()),
    }
}

/// Counts of every table a refused write could have touched.
async fn counts(store: &Store) -> Vec<i64> {
    let mut v = Vec::new();
    for t in ["organizations", "people", "projects", "project_funding", "batches", "activities"] {
        v.push(store.count(t).await.unwrap());
    }
    v.push(store.audit_count().await.unwrap());
    v
}

async fn writes_are_audited(db: &TestDb) {
    let store = db.store().await;
    let b = base(&store).await;
    let actor = Actor { name: "王审计".into(), ..Actor::system() };

    // create: the entry has who, when, the object and "after" with the identifier masked.
    let id = store.insert(&actor, &person(&b, Some("360426199101010071"), Some("13800131234"))).await.unwrap();
    let log = store.audit_of(id).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, "create");
    assert_eq!(log[0].actor, "王审计");
    assert!(log[0].at.ends_with('Z') && log[0].at.len() >= 20, "UTC timestamp: {}", log[0].at);
    assert!(log[0].before.is_none());
    let after = log[0].after.as_ref().unwrap();
    assert_eq!(after["name"], "张建华");
    assert_eq!(after["id_number"], "360***********0071");
    assert_eq!(after["phone"], "138****1234");
    assert!(!after.to_string().contains("360426199101010071"));

    // update: before and after.
    let mut p = person(&b, Some("360426199101010071"), None);
    p.post = Some("教研组长".into());
    let mut tx = store.write(&actor).await.unwrap();
    tx.update(id, &p).await.unwrap();
    tx.commit().await.unwrap();
    let log = store.audit_of(id).await.unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].action, "update");
    assert_eq!(log[1].before.as_ref().unwrap()["post"], "援疆教师");
    assert_eq!(log[1].after.as_ref().unwrap()["post"], "教研组长");
    assert_eq!(log[1].after.as_ref().unwrap()["phone"], serde_json::Value::Null);

    // delete is refused while other records depend on the row, and allowed otherwise.
    let n = counts(&store).await;
    let mut tx = store.write(&actor).await.unwrap();
    let err = tx.delete(b.host).await.unwrap_err();
    drop(tx);
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("不能删除")), "{err}");
    assert_eq!(counts(&store).await, n);
    let mut tx = store.write(&actor).await.unwrap();
    tx.delete(id).await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.get(id).await.unwrap().is_none());
    let log = store.audit_of(id).await.unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(log[2].action, "delete");
    assert_eq!(log[2].before.as_ref().unwrap()["post"], "教研组长");
    assert!(log[2].after.is_none());

    // Organization paths make subtrees; the audit shows the path being set.
    let r2 = store.get(b.host).await.unwrap().unwrap();
    assert!(r2["path"].as_str().unwrap().ends_with(&format!("/{}/", b.host)));
    assert_eq!(store.audit_of(b.host).await.unwrap().len(), 2);

    // A reader may not write.
    let viewer = Actor { role: Role::Viewer, ..Actor::system() };
    assert!(matches!(store.write(&viewer).await, Err(StoreError::Forbidden(_))));
    store.close().await;
}
both!(writes_are_audited);

async fn bad_values_are_refused_and_nothing_is_written(db: &TestDb) {
    let store = db.store().await;
    let b = base(&store).await;
    let a = Actor::system();
    let before = counts(&store).await;

    // A wrong check digit: refused at parse, naming the field and the standard.
    let draft = OrgDraft {
        code: "X1".into(),
        name: "某公司".into(),
        side: "支援方".into(),
        kind: "企业".into(),
        parent_id: None,
        region_code: "360100".into(),
        credit_code: Some("91110000600037341N".into()),
    };
    let e = draft.validate().unwrap_err();
    assert_eq!(e.0[0].field, "credit_code");
    assert!(e.to_string().contains("GB 32100"), "{e}");
    let e = IdNumber::parse("36042619910102009X").unwrap_err();
    assert_eq!((e.field.as_str(), e.rule.as_str()), ("id_number", "GB 11643 公民身份号码"));

    // An unknown region code (well-formed, not in the division table).
    let mut org = draft.clone();
    org.credit_code = Some("91110000600037341L".into());
    org.region_code = "653099".into();
    let new = org.validate().unwrap();
    let mut tx = store.write(&a).await.unwrap();
    let e = tx.insert_org(&new).await.unwrap_err();
    drop(tx);
    match e {
        StoreError::Invalid(i) => {
            assert_eq!(i.0[0].field, "region_code");
            assert!(i.to_string().contains("653099") && i.to_string().contains("须为已登记的记录"), "{i}");
        }
        other => panic!("{other}"),
    }

    // A negative amount.
    let mut tx = store.write(&a).await.unwrap();
    let project = tx
        .insert(&NewProject {
            program_id: b.program,
            batch_id: Some(b.batch),
            code: "T-1".into(),
            name: "测试项目".into(),
            sector: "education",
            region: rc("653022202"),
            org_id: Some(b.host),
            planned_start: Some(d("2024-03-01")),
            planned_end: Some(d("2024-12-31")),
            multi_year: false,
            livelihood: true,
        })
        .await
        .unwrap();
    let e = tx
        .insert(&NewFunding {
            project_id: project,
            year: 2024,
            source: "province",
            planned: Fen::from_wan(100),
            allocated: Fen(-1),
            disbursed: Fen(0),
        })
        .await
        .unwrap_err();
    // The failed write dooms the transaction: drop it, the project goes with it.
    drop(tx);
    match e {
        StoreError::Invalid(i) => {
            assert_eq!(i.0[0].field, "allocated_fen");
            assert_eq!(i.0[0].rule, "金额不得为负数");
        }
        other => panic!("{other}"),
    }

    // An end date before the start.
    let e = store
        .insert(
            &a,
            &NewBatch {
                program_id: b.program,
                number: 12,
                start_date: d("2026-04-20"),
                end_date: Some(d("2026-04-19")),
            },
        )
        .await
        .unwrap_err();
    match e {
        StoreError::Invalid(i) => {
            assert_eq!(i.0[0].field, "end_date");
            assert_eq!(i.0[0].rule, "结束日期不得早于开始日期");
        }
        other => panic!("{other}"),
    }
    // A person whose end precedes the start, and a status going backwards.
    let mut p = person(&b, None, None);
    p.end_date = Some(d("2023-01-01"));
    assert!(matches!(store.insert(&a, &p).await, Err(StoreError::Invalid(_))));

    assert_eq!(counts(&store).await, before, "nothing was written");
    store.close().await;
}
both!(bad_values_are_refused_and_nothing_is_written);

async fn personal_data_is_encrypted_and_masked(db: &TestDb) {
    let store = db.store().await;
    let b = base(&store).await;
    let id =
        store.insert(&Actor::system(), &person(&b, Some("11010519491231002x"), Some("139 0013 5678"))).await.unwrap();

    // Raw rows, read past the store, hold no clear identifier or phone number.
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let rows: Vec<(Option<String>, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT id_number_enc, phone_enc, id_number_hash FROM people").fetch_all(&mut c).await.unwrap();
    let raw: Vec<String> = rows.into_iter().flat_map(|(a, b, c)| [a, b, c]).flatten().collect();
    assert_eq!(raw.len(), 3);
    for v in &raw {
        assert!(!v.contains("11010519491231002") && !v.contains("13900135678"), "{v}");
    }
    let dump = serde_json::to_string(&store.list("people", 0, 100).await.unwrap().rows).unwrap();
    assert!(!dump.contains("11010519491231002X") && !dump.contains("13900135678"));
    assert!(dump.contains("110***********002X") && dump.contains("139****5678"));

    // Masked by default; clear only for a role that may see it, and that read is audited.
    let manager = Actor { name: "指挥部管理员".into(), ..Actor::system() };
    let masked = store.person(&manager, id, Reveal::Masked).await.unwrap().unwrap();
    assert_eq!(masked["id_number"], "110***********002X");
    let clear = store.person(&manager, id, Reveal::Clear).await.unwrap().unwrap();
    assert_eq!(clear["id_number"], "11010519491231002X");
    assert_eq!(clear["phone"], "13900135678");
    let viewer = Actor { role: Role::Viewer, ..Actor::system() };
    assert!(matches!(store.person(&viewer, id, Reveal::Clear).await, Err(StoreError::Forbidden(_))));
    let log = store.audit_of(id).await.unwrap();
    assert!(log.iter().any(|e| e.action == "view_personal" && e.actor == "指挥部管理员"));

    // Exact lookup through the keyed hash.
    let found = store.people_by_id_number(&IdNumber::parse("11010519491231002X").unwrap()).await.unwrap();
    assert_eq!(found, vec![id]);
    store.close().await;
}
both!(personal_data_is_encrypted_and_masked);

async fn transactions_are_all_or_nothing(db: &TestDb) {
    let store = db.store().await;
    let b = base(&store).await;
    let before = counts(&store).await;
    {
        let mut tx = store.write(&Actor::system()).await.unwrap();
        tx.insert(&person(&b, None, None)).await.unwrap();
        tx.insert(&person(&b, None, None)).await.unwrap();
        // dropped without commit
    }
    assert_eq!(counts(&store).await, before);

    // Status history only moves forward.
    let a = Actor::system();
    let mut tx = store.write(&a).await.unwrap();
    let p = tx
        .insert(&NewProject {
            program_id: b.program,
            batch_id: None,
            code: "S-1".into(),
            name: "状态测试".into(),
            sector: "medical",
            region: rc("653022"),
            org_id: None,
            planned_start: None,
            planned_end: None,
            multi_year: false,
            livelihood: false,
        })
        .await
        .unwrap();
    tx.add_status(&NewStatusEvent { project_id: p, status: "approved", date: d("2024-01-05") }).await.unwrap();
    tx.add_status(&NewStatusEvent { project_id: p, status: "started", date: d("2024-03-01") }).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.write(&a).await.unwrap();
    let e =
        tx.add_status(&NewStatusEvent { project_id: p, status: "approved", date: d("2024-04-01") }).await.unwrap_err();
    assert!(e.to_string().contains("依次推进"), "{e}");
    drop(tx);
    let proj = store.get(p).await.unwrap().unwrap();
    assert_eq!(proj["status"], "started");
    assert_eq!(proj["status_date"], "2024-03-01");

    // A duplicate code is a conflict with a message, not a crash.
    let mut tx = store.write(&a).await.unwrap();
    let e = tx
        .insert_org(&NewOrg {
            code: "D1".into(),
            name: "重复".into(),
            side: Side::Donor,
            kind: "other",
            parent_id: None,
            region: rc("360000"),
            credit_code: None,
        })
        .await
        .unwrap_err();
    drop(tx);
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    store.close().await;
}
both!(transactions_are_all_or_nothing);

async fn migrations_are_idempotent_and_the_key_is_checked(db: &TestDb) {
    let store = db.store().await;
    assert!(store.migrate().await.unwrap().is_empty(), "a second migration run applies nothing");
    assert!(store.is_empty().await.unwrap());
    assert_eq!(store.count("pairing_types").await.unwrap(), 5);
    store.close().await;
    let other = store::Crypto::from_hex(&store::Crypto::generate_hex()).unwrap();
    let e = Store::open(&store::DbUrl::parse(&db.url).unwrap(), other).await.unwrap_err();
    assert!(e.to_string().contains("密钥与该数据库不匹配"), "{e}");
}
both!(migrations_are_idempotent_and_the_key_is_checked);

async fn user_defined_types_are_records_too(db: &TestDb) {
    use domain::activities::NewActivity;
    use domain::pairings::{NewActivityType, NewBrand, NewPairing, NewPairingType};
    let store = db.store().await;
    let b = base(&store).await;
    let a = Actor::system();
    let t =
        store.insert(&a, &NewActivityType { code: "sports_day".into(), name: "民族团结运动会".into() }).await.unwrap();
    store.insert(&a, &NewBrand { code: "pamir_youth".into(), name: "帕米尔少年".into() }).await.unwrap();
    store
        .insert(&a, &NewPairingType { code: "village_village".into(), name: "村村结对".into(), party: "org" })
        .await
        .unwrap();
    assert_eq!(store.audit_of(t).await.unwrap()[0].action, "create");
    let e = store.insert(&a, &NewActivityType { code: "Bad Code".into(), name: "x".into() }).await.unwrap_err();
    assert!(e.to_string().contains("类型编码"), "{e}");

    let act = NewActivity {
        program_id: b.program,
        type_code: "sports_day".into(),
        brand_code: Some("pamir_youth".into()),
        line: "education",
        title: "运动会".into(),
        date: d("2024-09-01"),
        end_date: None,
        region: rc("653022202"),
        organizer_org_id: Some(b.host),
        project_id: None,
        pairing_id: None,
        participants: 300,
        beneficiaries: 300,
    };
    store.insert(&a, &act).await.unwrap();
    let e = store.insert(&a, &NewActivity { type_code: "no_such_type".into(), ..act.clone() }).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "type_code"), "{e}");
    let pairing = |type_code: &str| NewPairing {
        program_id: b.program,
        type_code: type_code.into(),
        a_org_id: Some(b.donor),
        b_org_id: Some(b.host),
        a_person_id: None,
        b_person_id: None,
        start_date: d("2024-01-01"),
        end_date: None,
        note: None,
    };
    store.insert(&a, &pairing("village_village")).await.unwrap();
    assert_eq!(store.count("pairings").await.unwrap(), 1);
    // A person-to-person type between two organizations is refused.
    let e = store.insert(&a, &pairing("mentor_teacher")).await.unwrap_err();
    assert!(e.to_string().contains("不适用于本记录"), "{e}");
    assert_eq!(store.count("pairings").await.unwrap(), 1);
    store.close().await;
}
both!(user_defined_types_are_records_too);

async fn a_failed_step_spends_the_transaction(db: &TestDb) {
    let store = db.store().await;
    let b = base(&store).await;
    let a = Actor::system();
    let before = counts(&store).await;
    let dup = NewOrg {
        code: "D1".into(),
        name: "重复".into(),
        side: Side::Donor,
        kind: "other",
        parent_id: None,
        region: rc("360000"),
        credit_code: None,
    };
    // A database error (a duplicate code) mid-transaction: PostgreSQL aborts the transaction, and
    // on both backends the Tx refuses further steps and the commit, so nothing of it is written.
    let mut tx = store.write(&a).await.unwrap();
    tx.insert(&person(&b, None, None)).await.unwrap();
    assert!(matches!(tx.insert_org(&dup).await, Err(StoreError::Conflict(_))));
    assert!(matches!(tx.insert(&person(&b, None, None)).await, Err(StoreError::Aborted)));
    assert!(matches!(tx.commit().await, Err(StoreError::Aborted)));
    assert_eq!(counts(&store).await, before);

    // A refused value is a failed step too.
    let mut tx = store.write(&a).await.unwrap();
    tx.insert(&person(&b, None, None)).await.unwrap();
    let mut p = person(&b, None, None);
    p.end_date = Some(d("2000-01-01"));
    assert!(matches!(tx.insert(&p).await, Err(StoreError::Invalid(_))));
    assert!(matches!(tx.commit().await, Err(StoreError::Aborted)));
    assert_eq!(counts(&store).await, before);
    store.close().await;
}
both!(a_failed_step_spends_the_transaction);

async fn organization_trees_keep_their_paths(db: &TestDb) {
    let store = db.store().await;
    let b = base(&store).await;
    let a = Actor::system();
    let org = |code: &str, side, parent| NewOrg {
        code: code.into(),
        name: format!("单位{code}"),
        side,
        kind: "school",
        parent_id: parent,
        region: rc("653022"),
        credit_code: None,
    };
    // Only the tree-aware path may write organizations.
    let e = store.insert(&a, &org("G1", Side::Recipient, None)).await.unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)), "{e}");
    let mut tx = store.write(&a).await.unwrap();
    assert!(matches!(tx.update(b.host, &org("R2", Side::Recipient, None)).await, Err(StoreError::Forbidden(_))));
    drop(tx);

    let path = |id: OrgId| {
        let store = &store;
        async move { store.get(id).await.unwrap().unwrap()["path"].as_str().unwrap().to_string() }
    };
    let top = store.id_by_code::<kind::Org>("R1").await.unwrap().unwrap();
    let mut tx = store.write(&a).await.unwrap();
    let r3 = tx.insert_org(&org("R3", Side::Recipient, Some(b.host))).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(path(r3).await, format!("/{top}/{}/{r3}/", b.host));
    assert_eq!(store.org_path("R3").await.unwrap(), format!("/{top}/{}/{r3}/", b.host));

    // Moving R2 to the root re-paths it and the organization under it, each audited.
    let mut tx = store.write(&a).await.unwrap();
    tx.update_org(b.host, &org("R2", Side::Recipient, None)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(path(b.host).await, format!("/{}/", b.host));
    assert_eq!(path(r3).await, format!("/{}/{r3}/", b.host));
    let log = store.audit_of(r3).await.unwrap();
    let last = log.last().unwrap();
    assert_eq!(last.action, "update");
    assert_eq!(last.before.as_ref().unwrap()["path"], format!("/{top}/{}/{r3}/", b.host));

    // Under itself, or on the other side: refused, naming the field; nothing changes.
    let n = store.audit_count().await.unwrap();
    let mut tx = store.write(&a).await.unwrap();
    let e = tx.update_org(b.host, &org("R2", Side::Recipient, Some(r3))).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "parent_id"), "{e}");
    assert!(matches!(tx.commit().await, Err(StoreError::Aborted)), "a refused move cannot be committed");
    let mut tx = store.write(&a).await.unwrap();
    let e = tx.update_org(r3, &org("R3", Side::Recipient, Some(b.donor))).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "parent_id"), "{e}");
    drop(tx);
    let mut tx = store.write(&a).await.unwrap();
    let e = tx.update_org(r3, &org("R3", Side::Donor, None)).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "side"), "{e}");
    drop(tx);
    assert_eq!(store.audit_count().await.unwrap(), n);
    assert_eq!(path(r3).await, format!("/{}/{r3}/", b.host));
    store.close().await;
}
both!(organization_trees_keep_their_paths);

async fn every_kind_of_write_is_audited(db: &TestDb) {
    use domain::pairings::{NewBrand, NewPairing};
    let store = db.store().await;
    let b = base(&store).await;
    let a = Actor { name: "李填报".into(), ..Actor::system() };
    let only = |log: Vec<domain::audit::AuditEntry>, action: &str| {
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!(log[0].action, action);
        assert_eq!(log[0].actor, "李填报");
        log[0].after.clone().unwrap()
    };
    // Batches (from the base, by the system).
    let log = store.audit_of(b.batch).await.unwrap();
    assert_eq!(log[0].after.as_ref().unwrap()["number"], 11);

    // A project, its status steps (each step and the project's current status), its funding.
    let mut tx = store.write(&a).await.unwrap();
    let p = tx
        .insert(&NewProject {
            program_id: b.program,
            batch_id: Some(b.batch),
            code: "A-1".into(),
            name: "审计测试".into(),
            sector: "industry",
            region: rc("653022202"),
            org_id: Some(b.host),
            planned_start: Some(d("2024-03-01")),
            planned_end: Some(d("2025-12-31")),
            multi_year: true,
            livelihood: false,
        })
        .await
        .unwrap();
    let s1 = tx.add_status(&NewStatusEvent { project_id: p, status: "approved", date: d("2024-02-01") }).await.unwrap();
    let f = tx
        .insert(&NewFunding {
            project_id: p,
            year: 2024,
            source: "province",
            planned: Fen::from_wan(300),
            allocated: Fen::from_wan(200),
            disbursed: Fen(12_345_600),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let st = only(store.audit_of(s1).await.unwrap(), "create");
    assert_eq!(st["status"], "approved");
    let plog = store.audit_of(p).await.unwrap();
    assert_eq!(plog.len(), 2);
    assert_eq!(plog[1].before.as_ref().unwrap()["status_date"], serde_json::Value::Null);
    assert_eq!(plog[1].after.as_ref().unwrap()["status_date"], "2024-02-01");
    let fa = only(store.audit_of(f).await.unwrap(), "create");
    assert_eq!((fa["planned_fen"].clone(), fa["disbursed_fen"].clone()), (300_000_000i64.into(), 12_345_600.into()));

    // Steps cannot be skipped: 立项 → 完工 is refused.
    let mut tx = store.write(&a).await.unwrap();
    let e =
        tx.add_status(&NewStatusEvent { project_id: p, status: "completed", date: d("2024-06-01") }).await.unwrap_err();
    assert!(e.to_string().contains("下一步须为“开工”"), "{e}");
    drop(tx);
    assert_eq!(store.get(p).await.unwrap().unwrap()["status"], "approved");

    // A brand, a pairing, a user.
    let br = store.insert(&a, &NewBrand { code: "new_brand".into(), name: "新品牌".into() }).await.unwrap();
    assert_eq!(only(store.audit_of(br).await.unwrap(), "create")["name"], "新品牌");
    let pa = store
        .insert(
            &a,
            &NewPairing {
                program_id: b.program,
                type_code: "school_school".into(),
                a_org_id: Some(b.donor),
                b_org_id: Some(b.host),
                a_person_id: None,
                b_person_id: None,
                start_date: d("2024-01-01"),
                end_date: None,
                note: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(only(store.audit_of(pa).await.unwrap(), "create")["a_org_id"], b.donor.get());
    let mut tx = store.write(&a).await.unwrap();
    let u = tx.add_user("zhang.san", Role::Reporter, Some("R2"), "Kizilsu#2024").await.unwrap();
    tx.commit().await.unwrap();
    let ua = only(store.audit_of(u).await.unwrap(), "create");
    assert_eq!(ua["role"], Role::Reporter.code());
    assert!(!ua.to_string().contains("Kizilsu#2024") && !ua.to_string().contains("argon2"));
    assert_eq!(store.check_login("zhang.san", "Kizilsu#2024").await.unwrap().map(|(i, _)| i), Some(u));
    assert_eq!(store.check_login("zhang.san", "kizilsu#2024").await.unwrap(), None);
    store.close().await;
}
both!(every_kind_of_write_is_audited);

async fn logins_lock_out_and_sessions_time_out(db: &TestDb) {
    use chrono::{Duration, Utc};
    use store::sessions::{Login, Policy};
    let store = db.store().await;
    let _ = base(&store).await;
    let mut tx = store.write(&Actor::system()).await.unwrap();
    let u = tx.add_user("li.si", Role::Reporter, Some("R2"), "Pamir@2024").await.unwrap();
    tx.commit().await.unwrap();
    let t0 = Utc::now();

    // Four wrong passwords are refused; the fifth locks the account for 10 minutes.
    for _ in 0..4 {
        assert!(matches!(store.login_at("li.si", "wrong", None, t0).await.unwrap(), Login::Refused));
    }
    assert!(matches!(store.login_at("nobody", "Pamir@2024", None, t0).await.unwrap(), Login::Refused));
    assert!(matches!(store.login_at("li.si", "wrong", None, t0).await.unwrap(), Login::Locked { .. }));
    // Locked: the right password fails too, until the lockout ends.
    let at = t0 + Duration::minutes(9);
    assert!(matches!(store.login_at("li.si", "Pamir@2024", None, at).await.unwrap(), Login::Locked { .. }));
    let at = t0 + Duration::minutes(11);
    let Login::Ok { token, user } = store.login_at("li.si", "Pamir@2024", None, at).await.unwrap() else {
        panic!("login after the lockout")
    };
    assert_eq!(user.user_id, u);
    assert!(user.must_change_password, "a new user must change the password first");
    let log = store.audit_of(u).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "login_failed").count(), 5);
    assert!(actions.contains(&"lock") && actions.contains(&"login_locked") && actions.ends_with(&["login"]));

    // A live session, refreshed by use; idle for more than 30 minutes, it ends.
    let s = store.session_at(&token, at + Duration::minutes(29)).await.unwrap().expect("live");
    assert_eq!(s.role, Role::Reporter);
    assert!(store.session_at(&token, at + Duration::minutes(58)).await.unwrap().is_some());
    assert!(store.session_at(&token, at + Duration::minutes(89)).await.unwrap().is_none());
    assert!(store.session_at(&token, at + Duration::minutes(90)).await.unwrap().is_none(), "ended stays ended");
    assert!(store.session("not-a-token").await.unwrap().is_none());

    // Password change: the old must match, the new meet the policy; then no forced change.
    let Login::Ok { token, user } = store.login("li.si", "Pamir@2024", None).await.unwrap() else { panic!() };
    let e = store.change_password(&user, "Pamir@2024", "short").await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "password"), "{e}");
    let e = store.change_password(&user, "nope", "Kashgar#2025").await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "old_password"), "{e}");
    store.change_password(&user, "Pamir@2024", "Kashgar#2025").await.unwrap();
    assert!(!store.session(&token).await.unwrap().unwrap().must_change_password);
    store.set_lang(&user, "en").await.unwrap();
    assert_eq!(store.session(&token).await.unwrap().unwrap().lang, "en");
    // Logout ends the session on the server.
    store.logout(&token, &user).await.unwrap();
    assert!(store.session(&token).await.unwrap().is_none());
    assert!(matches!(store.login("li.si", "Kashgar#2025", None).await.unwrap(), Login::Ok { .. }));

    // The policy is configurable (by the security administrator) and audited.
    let sec = Actor { user_id: Some(u), role: Role::SecAdmin, ..Actor::system() };
    let p = Policy { lockout_attempts: 3, lockout_minutes: 15, idle_minutes: 20 };
    store.set_policy(&sec, p).await.unwrap();
    assert_eq!(store.policy().await.unwrap(), p);
    let rep = Actor { user_id: Some(u), role: Role::Reporter, ..Actor::system() };
    assert!(matches!(store.set_policy(&rep, Policy::default()).await, Err(StoreError::Forbidden(_))));
    let e = store.set_policy(&sec, Policy { idle_minutes: 0, ..p }).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "idle_minutes"), "{e}");
    store.close().await;
}
both!(logins_lock_out_and_sessions_time_out);

async fn derived_state_has_one_writer_and_distinct_counts_skip_empty_rows(db: &TestDb) {
    use domain::figures::{Filter, Measure};
    use domain::pairings::NewPairing;
    let store = db.store().await;
    let b = base(&store).await;
    let a = Actor::system();
    // Status events only through add_status: the generic paths refuse them.
    let mut tx = store.write(&a).await.unwrap();
    let p = tx
        .insert(&NewProject {
            program_id: b.program,
            batch_id: None,
            code: "O-1".into(),
            name: "状态归属测试".into(),
            sector: "medical",
            region: rc("653022"),
            org_id: None,
            planned_start: None,
            planned_end: None,
            multi_year: false,
            livelihood: false,
        })
        .await
        .unwrap();
    let ev = tx.add_status(&NewStatusEvent { project_id: p, status: "approved", date: d("2024-01-05") }).await.unwrap();
    tx.commit().await.unwrap();
    let skip = NewStatusEvent { project_id: p, status: "completed", date: d("2024-02-01") };
    assert!(matches!(store.insert(&a, &skip).await, Err(StoreError::Forbidden(_))));
    let mut tx = store.write(&a).await.unwrap();
    assert!(matches!(tx.delete(ev).await, Err(StoreError::Forbidden(_))));
    assert!(matches!(tx.commit().await, Err(StoreError::Aborted)));
    assert_eq!(store.get(ev).await.unwrap().unwrap()["status"], "approved");

    // A distinct count over an organization field leaves out rows without one, and its listing
    // has exactly as many organizations as the value.
    let mut tx = store.write(&a).await.unwrap();
    let mentor = tx.insert(&person(&b, None, None)).await.unwrap();
    let mentee = tx.insert(&person(&b, None, None)).await.unwrap();
    let pairing = |a_org, b_org, a_person, b_person, t: &str| NewPairing {
        program_id: b.program,
        type_code: t.into(),
        a_org_id: a_org,
        b_org_id: b_org,
        a_person_id: a_person,
        b_person_id: b_person,
        start_date: d("2024-01-01"),
        end_date: None,
        note: None,
    };
    tx.insert(&pairing(Some(b.donor), Some(b.host), None, None, "school_school")).await.unwrap();
    tx.insert(&pairing(Some(b.donor), Some(b.host), None, None, "school_school")).await.unwrap();
    tx.insert(&pairing(None, None, Some(mentor), Some(mentee), "mentor_teacher")).await.unwrap();
    tx.commit().await.unwrap();
    let m = Measure::CountDistinct("a_org".into());
    assert_eq!(store.measure(None, "pairings", &m, &[], None).await.unwrap(), 1);
    let listed = store.measure_records(None, "pairings", &m, &[], None, 100).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].table.as_str(), listed[0].id, listed[0].value), ("organizations", b.donor.get(), 1));
    assert_eq!(listed[0].label, "单位D1");
    let f = [Filter::eq("type", "mentor_teacher")];
    assert_eq!(store.measure(None, "pairings", &m, &f, None).await.unwrap(), 0);
    assert!(store.measure_records(None, "pairings", &m, &f, None, 100).await.unwrap().is_empty());
    // Distinct counts are for organization fields only.
    let e = store.measure(None, "pairings", &Measure::CountDistinct("type".into()), &[], None).await.unwrap_err();
    assert!(e.to_string().contains("单位字段"), "{e}");
    store.close().await;
}
both!(derived_state_has_one_writer_and_distinct_counts_skip_empty_rows);

async fn breakdowns_add_up_and_open_to_their_records(db: &TestDb) {
    use domain::activities::NewActivity;
    use domain::figures::{Filter, Measure, Span};
    let store = db.store().await;
    let b = base(&store).await;
    let a = Actor::system();
    let mut tx = store.write(&a).await.unwrap();
    let act = |line: &'static str, date: &str, region: &str, org: OrgId, n: i64| NewActivity {
        program_id: b.program,
        type_code: "free_clinic".into(),
        brand_code: None,
        line,
        title: format!("活动 {date}"),
        date: d(date),
        end_date: None,
        region: rc(region),
        organizer_org_id: Some(org),
        project_id: None,
        pairing_id: None,
        participants: 5,
        beneficiaries: n,
    };
    for (line, date, region, org, n) in [
        ("medical", "2024-01-05", "653022", b.host, 100),
        ("medical", "2024-01-20", "653022", b.host, 40),
        ("education", "2024-02-01", "653022", b.host, 7),
        ("education", "2024-03-15", "653000", b.donor, 13),
        ("culture", "2023-12-31", "653022", b.host, 1000),
    ] {
        tx.insert(&act(line, date, region, org, n)).await.unwrap();
    }
    tx.insert(&person(&b, None, None)).await.unwrap();
    tx.commit().await.unwrap();

    // Grouped by month, line, organizer (by code) and place: the parts add up to the whole, and
    // each part is the whole with one more filter.
    let span = Span { from: Some(d("2024-01-01")), to: Some(d("2024-12-31")) };
    let benef = Measure::Sum("beneficiaries".into());
    let whole = store.measure(None, "activities", &benef, &[], Some(&span)).await.unwrap();
    assert_eq!(whole, 160);
    for by in ["month", "line", "organizer", "region"] {
        let parts = store.measure_by(None, "activities", &benef, &[], Some(&span), by).await.unwrap();
        assert_eq!(parts.iter().map(|(_, v)| v).sum::<i64>(), whole, "by {by}: {parts:?}");
        for (k, v) in &parts {
            let one = [Filter::eq(by, k.as_str())];
            assert_eq!(store.measure(None, "activities", &benef, &one, Some(&span)).await.unwrap(), *v, "{by}={k}");
            let listed = store.measure_records(None, "activities", &benef, &one, Some(&span), 100).await.unwrap();
            assert_eq!(listed.iter().map(|r| r.value).sum::<i64>(), *v, "the records of {by}={k}");
        }
    }
    let months = store.measure_by(None, "activities", &Measure::Count, &[], None, "month").await.unwrap();
    let m: Vec<(&str, i64)> = months.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(m, vec![("2023-12", 1), ("2024-01", 2), ("2024-02", 1), ("2024-03", 1)]);
    let orgs = store.measure_by(None, "activities", &Measure::Count, &[], None, "organizer").await.unwrap();
    assert_eq!(orgs, vec![("D1".to_string(), 1), ("R2".to_string(), 4)]);
    // An integer field groups as text on both backends.
    let batches = store.measure_by(None, "people", &Measure::Count, &[], None, "batch").await.unwrap();
    assert_eq!(batches, vec![("11".to_string(), 1)]);
    // Records with no value form their own group (""), which opens with the `empty` filter.
    let mut tx = store.write(&a).await.unwrap();
    tx.insert(&NewPerson { batch_id: None, ..person(&b, None, None) }).await.unwrap();
    tx.commit().await.unwrap();
    let mut batches = store.measure_by(None, "people", &Measure::Count, &[], None, "batch").await.unwrap();
    batches.sort();
    assert_eq!(batches, vec![(String::new(), 1), ("11".to_string(), 1)]);
    let none = [Filter::empty("batch")];
    assert_eq!(store.measure(None, "people", &Measure::Count, &none, None).await.unwrap(), 1);
    assert_eq!(store.measure_records(None, "people", &Measure::Count, &none, None, 10).await.unwrap().len(), 1);
    // A place subtree and an organization subtree, as the dashboard's scope adds them.
    let scoped = [Filter::under("region", "653022"), Filter::under("organizer", "R1")];
    let lines = store.measure_by(None, "activities", &benef, &scoped, Some(&span), "line").await.unwrap();
    assert_eq!(lines, vec![("education".to_string(), 7), ("medical".to_string(), 140)]);
    let e = store.measure_by(None, "activities", &benef, &[], None, "no_such_field").await.unwrap_err();
    assert!(e.to_string().contains("no_such_field"), "{e}");

    // The projects a scope selects, with the dates their schedule light is judged by.
    let mut tx = store.write(&a).await.unwrap();
    let project = |code: &str, region: &str, start: &str, end: &str| NewProject {
        program_id: b.program,
        batch_id: None,
        code: code.into(),
        name: format!("项目{code}"),
        sector: "medical",
        region: rc(region),
        org_id: Some(b.host),
        planned_start: Some(d(start)),
        planned_end: Some(d(end)),
        multi_year: false,
        livelihood: false,
    };
    let late = tx.insert(&project("S-1", "653022", "2024-01-01", "2024-12-31")).await.unwrap();
    tx.add_status(&NewStatusEvent { project_id: late, status: "approved", date: d("2023-11-01") }).await.unwrap();
    tx.insert(&project("S-2", "653000", "2030-01-01", "2030-12-31")).await.unwrap();
    tx.commit().await.unwrap();
    let plans = store.project_plans(None, &[Filter::under("region", "653022")], None).await.unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!((plans[0].code.as_str(), plans[0].status.as_str()), ("S-1", "approved"));
    let light = domain::warnings::schedule(
        &Default::default(),
        d("2024-06-30"),
        &plans[0].status,
        plans[0].planned_start,
        plans[0].planned_end,
    );
    assert_eq!(light.0, domain::projects::Schedule::Red);
    assert_eq!(store.project_plans(None, &[], None).await.unwrap().len(), 2);

    // A project goes with its status history (each step's deletion audited), as long as nothing
    // else depends on it.
    let projects = domain::catalog::by_table("projects").unwrap();
    let audits = store.audit_count().await.unwrap();
    let mut tx = store.write(&a).await.unwrap();
    tx.delete_record(projects, late.get()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.project_plans(None, &[], None).await.unwrap().len(), 1);
    assert_eq!(store.audit_count().await.unwrap(), audits + 2, "the step and the project");
    let log = store.audit_recent(2).await.unwrap();
    assert!(log.iter().any(|e| e.action == "delete" && e.object_type == "project_status_events"));
    store.close().await;
}
both!(breakdowns_add_up_and_open_to_their_records);

async fn records_are_listed_within_the_readers_scope(db: &TestDb) {
    use domain::catalog::by_slug;
    use store::records::ListQuery;
    let store = db.store().await;
    let b = base(&store).await;
    let a = Actor::system();
    let mut tx = store.write(&a).await.unwrap();
    let other = tx
        .insert_org(&NewOrg {
            code: "R3".into(),
            name: "单位R3".into(),
            side: Side::Recipient,
            kind: "school",
            parent_id: None,
            region: rc("653023"),
            credit_code: None,
        })
        .await
        .unwrap();
    let mine = tx.insert(&person(&b, None, None)).await.unwrap();
    let mut p = person(&b, None, None);
    p.name = "李文静".into();
    p.home_org_id = None;
    p.host_org_id = Some(other);
    p.category = Some("flexible");
    let theirs = tx.insert(&p).await.unwrap();
    let project = |code: &str, org| NewProject {
        program_id: b.program,
        batch_id: None,
        code: code.into(),
        name: format!("项目{code}"),
        sector: "education",
        region: rc("653022"),
        org_id: Some(org),
        planned_start: None,
        planned_end: None,
        multi_year: false,
        livelihood: false,
    };
    let p_mine = tx.insert(&project("M-1", b.host)).await.unwrap();
    let p_theirs = tx.insert(&project("T-1", other)).await.unwrap();
    for pid in [p_mine, p_theirs] {
        tx.insert(&NewFunding {
            project_id: pid,
            year: 2024,
            source: "province",
            planned: Fen::from_wan(10),
            allocated: Fen(0),
            disbursed: Fen(0),
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    let people = by_slug("people").unwrap();
    let funding = by_slug("funding").unwrap();
    let all = ListQuery { page: 1, per_page: 50, ..Default::default() };
    let manager = Actor::system();
    let reporter = Actor { role: Role::Reporter, org_id: Some(b.host), ..Actor::system() };

    // The front command sees everything; a reporter of R2 only what is placed in R2.
    assert_eq!(store.records(&manager, people, &all).await.unwrap().total, 2);
    let listed = store.records(&reporter, people, &all).await.unwrap();
    assert_eq!(listed.total, 1);
    assert_eq!(listed.rows[0]["id"], mine.get());
    assert_eq!(listed.rows[0]["host_org_id__show"], "单位R2");
    assert_eq!(listed.rows[0]["batch_id__show"], "11");
    assert!(store.record(&reporter, people, theirs.get()).await.unwrap().is_none());
    assert!(store.record(&reporter, people, mine.get()).await.unwrap().is_some());
    assert!(store.record(&manager, people, theirs.get()).await.unwrap().is_some());
    // Records that hang under a project are scoped by the project's organization.
    let f = store.records(&reporter, funding, &all).await.unwrap();
    assert_eq!(f.total, 1);
    assert_eq!(f.rows[0]["project_id"], p_mine.get());
    assert_eq!(store.records(&manager, funding, &all).await.unwrap().total, 2);
    // Administrators see no business records.
    let admin = Actor { role: Role::SysAdmin, ..Actor::system() };
    assert!(matches!(store.records(&admin, people, &all).await, Err(StoreError::Forbidden(_))));

    // Filters, search, sort and pages.
    let q = |filters: Vec<(&str, &str)>, words: Option<&str>| ListQuery {
        filters: filters.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        q: words.map(str::to_string),
        page: 1,
        per_page: 50,
        ..Default::default()
    };
    assert_eq!(store.records(&manager, people, &q(vec![("category", "flexible")], None)).await.unwrap().total, 1);
    assert_eq!(
        store.records(&manager, people, &q(vec![("host_org_id", &b.host.to_string())], None)).await.unwrap().total,
        1
    );
    assert_eq!(store.records(&manager, people, &q(vec![], Some("文静"))).await.unwrap().total, 1);
    assert_eq!(store.records(&manager, people, &q(vec![], Some("100%"))).await.unwrap().total, 0);
    let e = store.records(&manager, people, &q(vec![("category", "nonsense")], None)).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "category"), "{e}");
    let e = store.records(&manager, people, &q(vec![("post", "x")], None)).await.unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)), "not a filter field");
    let sorted = ListQuery { sort: Some("name".into()), page: 2, per_page: 1, ..Default::default() };
    let page2 = store.records(&manager, people, &sorted).await.unwrap();
    assert_eq!((page2.total, page2.rows.len()), (2, 1));
    assert_eq!(page2.rows[0]["name"], "李文静", "张 sorts before 李 by code point");

    // A reporter writes within its scope only: a project of R2 yes, of R3 no (nor moving one there).
    let mut tx = store.write(&reporter).await.unwrap();
    let ok = tx.insert(&project("M-2", b.host)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.write(&reporter).await.unwrap();
    assert!(matches!(tx.insert(&project("T-2", other)).await, Err(StoreError::Forbidden(_))));
    drop(tx);
    let mut tx = store.write(&reporter).await.unwrap();
    assert!(matches!(tx.update(ok, &project("M-2", other)).await, Err(StoreError::Forbidden(_))));
    drop(tx);
    let mut tx = store.write(&reporter).await.unwrap();
    assert!(matches!(tx.update(p_theirs, &project("T-1", b.host)).await, Err(StoreError::Forbidden(_))));
    drop(tx);
    let mut tx = store.write(&reporter).await.unwrap();
    let funding_theirs = NewFunding {
        project_id: p_theirs,
        year: 2025,
        source: "province",
        planned: Fen::from_wan(1),
        allocated: Fen(0),
        disbursed: Fen(0),
    };
    assert!(matches!(tx.insert(&funding_theirs).await, Err(StoreError::Forbidden(_))), "scoped through the project");
    drop(tx);
    let mut tx = store.write(&reporter).await.unwrap();
    tx.insert(&NewFunding { project_id: ok, ..funding_theirs }).await.unwrap();
    tx.commit().await.unwrap();

    // A denied read is logged.
    store.log_denied(&reporter, "people", theirs.get()).await.unwrap();
    assert!(store.audit_recent(1).await.unwrap()[0].action == "read_denied");
    store.close().await;
}
both!(records_are_listed_within_the_readers_scope);

async fn forms_write_every_type_within_the_rules(db: &TestDb) {
    use domain::catalog::by_table;
    use domain::pairings::{NewActivityType, NewBrand};
    let store = db.store().await;
    let b = base(&store).await;
    let manager = Actor { name: "指挥部".into(), ..Actor::system() };
    let reporter = Actor { name: "填报员".into(), role: Role::Reporter, org_id: Some(b.host), ..Actor::system() };

    // An identifier left out of an edit keeps its ciphertext, hash and mask; the audit entry
    // holds masks only.
    let id = store.insert(&manager, &person(&b, Some("360426199101010071"), Some("13800131234"))).await.unwrap();
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    type Raw = (Option<String>, Option<String>, Option<String>, Option<String>);
    let sql = "SELECT id_number_enc, id_number_hash, id_number_mask, phone_enc FROM people WHERE id = $1";
    let stored: Raw = sqlx::query_as(sql).bind(id.get()).fetch_one(&mut c).await.unwrap();
    let mut p = person(&b, None, None);
    p.post = Some("教研组长".into());
    let mut tx = store.write(&manager).await.unwrap();
    tx.update_keeping(id, &p, &["id_number"]).await.unwrap();
    tx.commit().await.unwrap();
    let now: Raw = sqlx::query_as(sql).bind(id.get()).fetch_one(&mut c).await.unwrap();
    assert_eq!((&now.0, &now.1, &now.2), (&stored.0, &stored.1, &stored.2), "the identifier is kept");
    assert_eq!(now.3, None, "the phone, not kept, is cleared");
    let clear = store.person(&manager, id, Reveal::Clear).await.unwrap().unwrap();
    assert_eq!(clear["id_number"], "360426199101010071");
    let log = store.audit_of(id).await.unwrap();
    let entry = serde_json::to_string(&log[1]).unwrap();
    assert!(entry.contains("360***********0071") && !entry.contains("360426199101010071"), "{entry}");
    assert_eq!(log[1].after.as_ref().unwrap()["post"], "教研组长");
    c.close().await.unwrap();

    // A delete that others depend on is refused, naming what depends on it.
    let mut tx = store.write(&manager).await.unwrap();
    let e = tx.delete(b.host).await.unwrap_err();
    drop(tx);
    let StoreError::Conflict(m) = e else { panic!("{e}") };
    assert!(m.contains("不能删除") && m.contains("人员 1 条"), "{m}");

    // Program configuration: the manager writes it; a reporter is refused, with the reason.
    let t =
        store.insert(&manager, &NewActivityType { code: "sports_day".into(), name: "运动会".into() }).await.unwrap();
    let e = store.insert(&reporter, &NewBrand { code: "pamir".into(), name: "帕米尔".into() }).await.unwrap_err();
    assert!(matches!(&e, StoreError::Forbidden(m) if m.contains("项目配置") && m.contains("项目管理")), "{e}");
    let mut tx = store.write(&reporter).await.unwrap();
    let e = tx.delete(t).await.unwrap_err();
    assert!(matches!(&e, StoreError::Forbidden(m) if m.contains("项目配置")), "{e}");
    drop(tx);
    let e = store
        .insert(&reporter, &NewBatch { program_id: b.program, number: 12, start_date: d("2026-04-20"), end_date: None })
        .await
        .unwrap_err();
    assert!(matches!(&e, StoreError::Forbidden(m) if m.contains("批次")), "{e}");
    // Built-in types ship with the schema and stay as they are.
    let builtin: i64 = {
        let mut c = sqlx::AnyConnection::connect(&db.url).await.unwrap();
        let v = sqlx::query_scalar("SELECT id FROM activity_types WHERE code = 'free_clinic'")
            .fetch_one(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
        v
    };
    let mut tx = store.write(&manager).await.unwrap();
    let e = tx.delete_record(by_table("activity_types").unwrap(), builtin).await.unwrap_err();
    assert!(matches!(&e, StoreError::Forbidden(m) if m.contains("系统内置")), "{e}");
    drop(tx);
    let mut tx = store.write(&manager).await.unwrap();
    let e = tx
        .update(domain::ids::ActivityTypeId::issued(builtin), &NewActivityType { code: "x".into(), name: "y".into() })
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)), "{e}");
    drop(tx);
    // A user-defined type nobody uses can go.
    let mut tx = store.write(&manager).await.unwrap();
    tx.delete(t).await.unwrap();
    tx.commit().await.unwrap();

    // A reporter places organizations under its own; not elsewhere, and it does not move its
    // own out of its subtree.
    let org = |code: &str, parent| NewOrg {
        code: code.into(),
        name: format!("单位{code}"),
        side: Side::Recipient,
        kind: "department",
        parent_id: parent,
        region: rc("653022"),
        credit_code: None,
    };
    let mut tx = store.write(&reporter).await.unwrap();
    let dept = tx.insert_org(&org("R2-1", Some(b.host))).await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.get(dept).await.unwrap().unwrap()["path"].as_str().unwrap().contains(&format!("/{}/", b.host)));
    let top: i64 = store.get(b.host).await.unwrap().unwrap()["parent_id"].as_i64().unwrap();
    let n = counts(&store).await;
    let mut tx = store.write(&reporter).await.unwrap();
    let e = tx.insert_org(&org("R1-9", Some(OrgId::issued(top)))).await.unwrap_err();
    drop(tx);
    assert!(matches!(&e, StoreError::Forbidden(m) if m.contains("本单位及下级单位")), "{e}");
    let mut tx = store.write(&reporter).await.unwrap();
    assert!(matches!(tx.insert_org(&org("ROOT", None)).await, Err(StoreError::Forbidden(_))));
    drop(tx);
    assert_eq!(counts(&store).await, n, "nothing of a refused write is left");
    let mut renamed = org("R2", Some(OrgId::issued(top)));
    renamed.name = "单位R2（更名）".into();
    let mut tx = store.write(&reporter).await.unwrap();
    tx.update_org(b.host, &renamed).await.unwrap();
    tx.commit().await.unwrap();
    let mut moved = org("R2-1", None);
    moved.name = "单位R2-1".into();
    let mut tx = store.write(&reporter).await.unwrap();
    assert!(matches!(tx.update_org(dept, &moved).await, Err(StoreError::Forbidden(_))), "not out of its subtree");
    drop(tx);
    // A value of an indicator is the reporter's to write for its own organization only.
    use domain::indicators::{NewIndicatorDef, NewIndicatorValue, Period};
    store
        .insert(
            &manager,
            &NewIndicatorDef {
                code: "beds".into(),
                name: "床位数".into(),
                unit: "张".into(),
                scale: 0,
                combine: "sum",
                numerator: None,
                denominator: None,
                factor: 1,
                higher_is_better: true,
            },
        )
        .await
        .unwrap();
    let value = |org| NewIndicatorValue {
        indicator_code: "beds".into(),
        org_id: org,
        period: Period::parse("2024").unwrap(),
        value: 120,
    };
    store.insert(&reporter, &value(dept)).await.unwrap();
    let e = store.insert(&reporter, &value(b.donor)).await.unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)), "{e}");
    store.close().await;
}
both!(forms_write_every_type_within_the_rules);

/// The activity rollups stay exactly equal to a recount of the activities through random
/// inserts (one by one and in bulk), updates and deletes, transactions rolled back, and rows
/// rolled back to a savepoint; and every aggregate the engine answers from them equals the same
/// aggregate counted from the activities.
async fn rollups_equal_a_recount_after_random_writes(db: &TestDb) {
    use domain::activities::NewActivity;
    use domain::figures::{Filter, Measure, Span};
    use domain::ids::Id;
    let store = db.store().await;
    let b = base(&store).await;
    let a = Actor::system();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let types =
        [("free_clinic", "medical"), ("remote_class", "education"), ("training", "employment"), ("camp", "culture")];
    let places = ["653022", "653022202", "653001", "653024", "653023"];
    let orgs = [None, Some(b.donor), Some(b.host)];
    for code in ["roll_a", "roll_b"] {
        store.insert(&a, &domain::pairings::NewBrand { code: code.into(), name: format!("品牌{code}") }).await.unwrap();
    }
    let brands = [None, None, Some("roll_a"), Some("roll_b")];
    let random = |next: &mut dyn FnMut(u64) -> u64| {
        let (t, line) = types[next(types.len() as u64) as usize];
        let brand_code = brands[next(brands.len() as u64) as usize].map(str::to_string);
        let date = Date::ymd(2019 + next(8) as i32, 1 + next(12) as u32, 1 + next(28) as u32).unwrap();
        let participants = 5 + next(296) as i64;
        NewActivity {
            program_id: b.program,
            type_code: t.into(),
            brand_code,
            line,
            title: format!("活动{}", next(1_000_000)),
            date,
            end_date: None,
            region: rc(places[next(places.len() as u64) as usize]),
            organizer_org_id: orgs[next(3) as usize],
            project_id: None,
            pairing_id: None,
            participants,
            beneficiaries: participants * (1 + next(4) as i64) + next(51) as i64,
        }
    };
    let mut live: Vec<Id<kind::Activity>> = Vec::new();
    for round in 0..40 {
        let mut tx = store.write(&a).await.unwrap();
        let (mut added, mut removed) = (Vec::new(), Vec::new());
        for _ in 0..(1 + next(12)) {
            match next(10) {
                0..=3 => added.push(tx.insert(&random(&mut next)).await.unwrap()),
                4 => {
                    let many: Vec<NewActivity> = (0..1 + next(30)).map(|_| random(&mut next)).collect();
                    added.extend(tx.insert_many(&many).await.unwrap());
                }
                5..=7 if !live.is_empty() => {
                    let id = live[next(live.len() as u64) as usize];
                    tx.update(id, &random(&mut next)).await.unwrap();
                }
                8 if !live.is_empty() => {
                    let id = live.swap_remove(next(live.len() as u64) as usize);
                    tx.delete(id).await.unwrap();
                    removed.push(id);
                }
                _ => {
                    // Work undone to a savepoint leaves no trace in the rollups either.
                    tx.savepoint().await.unwrap();
                    tx.insert(&random(&mut next)).await.unwrap();
                    if let Some(id) = live.first() {
                        tx.update(*id, &random(&mut next)).await.unwrap();
                    }
                    tx.rollback_to().await.unwrap();
                }
            }
        }
        if round % 7 == 3 {
            // A transaction rolled back: its deletes are undone too.
            tx.rollback().await.unwrap();
            live.extend(removed);
        } else {
            tx.commit().await.unwrap();
            live.extend(added);
        }
        let diff = store.rollup_differences().await.unwrap();
        assert!(diff.is_empty(), "round {round}: {diff:#?}");
    }
    assert!(live.len() > 50, "the test wrote too little to prove anything: {}", live.len());

    // The engine's answers from the rollups are the answers counted from the rows.
    let scan = store.scanning();
    let span = |f: &str, t: &str| Some(Span { from: Some(d(f)), to: Some(d(t)) });
    type Case = (Measure, Vec<Filter>, Option<Span>, &'static str, &'static str);
    let cases: Vec<Case> = vec![
        (Measure::Sum("beneficiaries".into()), vec![], span("2022-01-01", "2022-12-31"), "type", "y"),
        (Measure::Sum("beneficiaries".into()), vec![], None, "type", "y"),
        (Measure::Count, vec![Filter::under("region", "653022")], span("2020-01-01", "2024-12-31"), "line", "y"),
        (
            Measure::Sum("participants".into()),
            vec![Filter::eq("type", "camp")],
            span("2021-03-01", "2021-08-31"),
            "month",
            "m",
        ),
        (Measure::Count, vec![Filter::under("organizer", "R1")], None, "type", "o"),
        (Measure::Count, vec![Filter::empty("organizer")], span("2023-01-01", "2023-12-31"), "year", "o"),
        (Measure::Sum("participants".into()), vec![], None, "organizer", "o"),
        (Measure::Count, vec![Filter::not_under("region", "653022")], None, "region", "y"),
        (Measure::Sum("participants".into()), vec![Filter::eq("brand", "roll_a")], None, "type", "y"),
        (Measure::Count, vec![Filter::empty("brand")], span("2021-01-01", "2022-06-30"), "brand", "m"),
        (
            Measure::Sum("beneficiaries".into()),
            vec![Filter::any("brand", &["roll_a", "roll_b"])],
            None,
            "organizer",
            "o",
        ),
    ];
    for (m, filters, sp, by, grain) in cases {
        assert_eq!(
            store.rollup_grain("activities", &m, &filters, sp.as_ref(), Some(by)),
            Some(grain),
            "{m:?} {filters:?} by {by}"
        );
        let got = store.measure_by(Some(b.program.get()), "activities", &m, &filters, sp.as_ref(), by).await.unwrap();
        let want = scan.measure_by(Some(b.program.get()), "activities", &m, &filters, sp.as_ref(), by).await.unwrap();
        assert!(!want.is_empty(), "{m:?} {filters:?} by {by}: nothing to compare");
        assert_eq!(got, want, "{m:?} {filters:?} by {by}");
        let total = store.measure(Some(b.program.get()), "activities", &m, &filters, sp.as_ref()).await.unwrap();
        assert_eq!(total, want.iter().map(|(_, v)| v).sum::<i64>());
    }
    // A span that starts or ends within a month is answered from the rollup over its whole
    // months and from the rows over the part months at its ends; a span within one month, and
    // what no rollup keeps (a batch-free title search has no field; the project is not kept),
    // entirely from the rows. Each equals the count from the rows.
    let brand = [Filter::eq("brand", "roll_b")];
    let project = [Filter::empty("project")];
    let spans = [
        span("2022-01-05", "2022-12-31"),
        span("2021-03-17", "2023-08-09"),
        span("2020-02-29", "2020-03-01"),
        span("2024-06-02", "2024-06-27"),
        Some(Span { from: Some(d("2023-04-20")), to: None }),
        Some(Span { from: None, to: Some(d("2022-10-12")) }),
    ];
    for sp in &spans {
        for (filters, by) in [(&[][..], "type"), (&brand[..], "month"), (&project[..], "line")] {
            for m in [Measure::Count, Measure::Sum("beneficiaries".into())] {
                let got = store.measure(None, "activities", &m, filters, sp.as_ref()).await.unwrap();
                let want = scan.measure(None, "activities", &m, filters, sp.as_ref()).await.unwrap();
                assert_eq!(got, want, "{m:?} {filters:?} {sp:?}");
                let got = store.measure_by(None, "activities", &m, filters, sp.as_ref(), by).await.unwrap();
                let want = scan.measure_by(None, "activities", &m, filters, sp.as_ref(), by).await.unwrap();
                assert_eq!(got, want, "{m:?} {filters:?} {sp:?} by {by}");
            }
        }
    }
    let odd = span("2022-01-05", "2022-12-31");
    assert_eq!(store.rollup_grain("activities", &Measure::Count, &[], odd.as_ref(), None), None);
    assert_eq!(store.rollup_grain("activities", &Measure::Count, &project, None, None), None);
}
both!(rollups_equal_a_recount_after_random_writes);

/// The funding rollup stays equal to a recount of the funding lines and their projects through
/// random writes of lines (one by one and in bulk), projects moved to another sector or place,
/// status steps, transactions rolled back and savepoints; the engine's funding figures from it
/// equal the same figures counted from the lines.
async fn funding_rollup_equals_a_recount_after_random_writes(db: &TestDb) {
    use domain::figures::{Filter, Measure};
    use domain::ids::Id;
    use domain::projects::STATUSES;
    let store = db.store().await;
    let b = base(&store).await;
    let a = Actor::system();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let sectors = ["education", "medical", "industry"];
    let places = ["653022", "653022202", "653001", "653024"];
    let sources = ["province", "city", "social", "local"];
    let project = |i: usize, next: &mut dyn FnMut(u64) -> u64| NewProject {
        program_id: b.program,
        batch_id: Some(b.batch),
        code: format!("R-{i}"),
        name: format!("项目{i}"),
        sector: sectors[next(3) as usize],
        region: rc(places[next(4) as usize]),
        org_id: Some(b.host),
        planned_start: None,
        planned_end: None,
        multi_year: false,
        livelihood: next(2) == 0,
    };
    let mut tx = store.write(&a).await.unwrap();
    let mut projects = Vec::new();
    for i in 0..6 {
        projects.push((tx.insert(&project(i, &mut next)).await.unwrap(), 0usize));
    }
    tx.commit().await.unwrap();
    let line = |projects: &[(Id<kind::Project>, usize)], next: &mut dyn FnMut(u64) -> u64| {
        let planned = 1_000_000 * (1 + next(500) as i64);
        NewFunding {
            project_id: projects[next(projects.len() as u64) as usize].0,
            year: 2020 + next(7) as i64,
            source: sources[next(4) as usize],
            planned: Fen(planned),
            allocated: Fen(planned / (1 + next(3) as i64)),
            disbursed: Fen(planned / (2 + next(3) as i64)),
        }
    };
    let mut live: Vec<Id<kind::Funding>> = Vec::new();
    for round in 0..40 {
        let rolled_back = round % 7 == 3;
        let mut tx = store.write(&a).await.unwrap();
        let (mut added, mut removed) = (Vec::new(), Vec::new());
        for _ in 0..(1 + next(10)) {
            match next(12) {
                0..=2 => added.push(tx.insert(&line(&projects, &mut next)).await.unwrap()),
                3 => {
                    let many: Vec<NewFunding> = (0..1 + next(20)).map(|_| line(&projects, &mut next)).collect();
                    added.extend(tx.insert_many(&many).await.unwrap());
                }
                4 | 5 if !live.is_empty() => {
                    let id = live[next(live.len() as u64) as usize];
                    tx.update(id, &line(&projects, &mut next)).await.unwrap();
                }
                6 if !live.is_empty() => {
                    let id = live.swap_remove(next(live.len() as u64) as usize);
                    tx.delete(id).await.unwrap();
                    removed.push(id);
                }
                7 | 8 => {
                    // A project moves to another sector or place: its lines move with it.
                    let i = next(projects.len() as u64) as usize;
                    tx.update(projects[i].0, &project(i, &mut next)).await.unwrap();
                }
                9 if !rolled_back => {
                    let i = next(projects.len() as u64) as usize;
                    let (p, steps) = projects[i];
                    if steps < STATUSES.len() {
                        let date = Date::ymd(2024, 1 + steps as u32, 1).unwrap();
                        tx.add_status(&NewStatusEvent { project_id: p, status: STATUSES[steps].0, date })
                            .await
                            .unwrap();
                        projects[i].1 += 1;
                    }
                }
                _ => {
                    tx.savepoint().await.unwrap();
                    tx.insert(&line(&projects, &mut next)).await.unwrap();
                    let i = next(projects.len() as u64) as usize;
                    tx.update(projects[i].0, &project(i, &mut next)).await.unwrap();
                    tx.rollback_to().await.unwrap();
                }
            }
        }
        if rolled_back {
            tx.rollback().await.unwrap();
            live.extend(removed);
        } else {
            tx.commit().await.unwrap();
            live.extend(added);
        }
        let diff = store.rollup_differences().await.unwrap();
        assert!(diff.is_empty(), "round {round}: {diff:#?}");
    }
    assert!(live.len() > 30, "the test wrote too little to prove anything: {}", live.len());
    assert!(projects.iter().any(|p| p.1 > 1), "no project changed status");

    let scan = store.scanning();
    let sum = |f: &str| Measure::Sum(f.into());
    let cases: Vec<(Measure, Vec<Filter>, &str)> = vec![
        (sum("planned_fen"), vec![], "status"),
        (sum("allocated_fen"), vec![Filter::eq("sector", "education")], "year"),
        (sum("disbursed_fen"), vec![Filter::under("region", "653022")], "sector"),
        (Measure::Count, vec![Filter::ge("year", 2022)], "source"),
        (sum("planned_fen"), vec![Filter::any("status", &["started", "completed"])], "region"),
    ];
    for (m, filters, by) in cases {
        assert_eq!(store.rollup_grain("project_funding", &m, &filters, None, Some(by)), Some("f"), "{m:?} by {by}");
        let got = store.measure_by(Some(b.program.get()), "project_funding", &m, &filters, None, by).await.unwrap();
        let want = scan.measure_by(Some(b.program.get()), "project_funding", &m, &filters, None, by).await.unwrap();
        assert!(!want.is_empty(), "{m:?} {filters:?} by {by}: nothing to compare");
        assert_eq!(got, want, "{m:?} {filters:?} by {by}");
    }
    let batch = [Filter::eq("batch", 11)];
    assert_eq!(store.rollup_grain("project_funding", &Measure::Count, &batch, None, None), None);
}
both!(funding_rollup_equals_a_recount_after_random_writes);
