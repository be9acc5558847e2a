//! Consultation requests of the remote imaging centre on SQLite and PostgreSQL: a request from the
//! county hospital goes to the Jiangxi hospital that owns the department asked (院包科) and within
//! it to the expert on duty; declines go on to the next, a manager reassigns, an expert of the
//! roster takes a queued one; every refusal names its field and writes nothing; a request is seen
//! only by those it concerns, a try by anyone else audited.

use crate::both;
use crate::support::TestDb;
use domain::audit::Actor;
use domain::ids::{OrgId, ProgramId};
use domain::imaging::{Consent, NewRequest};
use domain::orgs::{NewOrg, Side};
use domain::pairings::NewPairing;
use domain::program::NewProgram;
use domain::regions::RegionCode;
use domain::users::Role;
use domain::Date;
use store::imaging::StudySeen;
use store::{Store, StoreError};

const CT_UID: &str = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322";
const GONE_UID: &str = "1.2.840.113619.2.30.1.1762295590.1623.978668949.886";

struct World {
    imaging_dept: i64,
    unowned_dept: i64,
    ended_dept: i64,
    actors: Vec<(&'static str, Actor)>,
}

impl World {
    fn actor(&self, name: &str) -> Actor {
        self.actors.iter().find(|(n, _)| *n == name).map(|(_, a)| a.clone()).unwrap()
    }
    fn user(&self, name: &str) -> i64 {
        self.actor(name).user_id.unwrap().get()
    }
}

async fn world(store: &Store) -> World {
    let sys = Actor::system();
    let mut tx = store.write(&sys).await.unwrap();
    let program: ProgramId = tx
        .insert(&NewProgram {
            code: "P1".into(),
            name: "测试援疆工作".into(),
            donor_region: RegionCode::parse("360000").unwrap(),
            recipient_region: RegionCode::parse("653000").unwrap(),
            start_date: Date::parse("2023-04-20").unwrap(),
        })
        .await
        .unwrap();
    let org = |code: &str, name: &str, side, kind, parent: Option<OrgId>, region: &str| NewOrg {
        code: code.into(),
        name: name.into(),
        side,
        kind,
        parent_id: parent,
        region: RegionCode::parse(region).unwrap(),
        credit_code: None,
    };
    let command =
        tx.insert_org(&org("CMD", "江西省援疆前方指挥部", Side::Donor, "government", None, "653000")).await.unwrap();
    let jx1 = tx.insert_org(&org("JX1", "江西省人民医院", Side::Donor, "hospital", None, "360100")).await.unwrap();
    let jx1_rad = tx
        .insert_org(&org("JX1-R", "江西省人民医院放射科", Side::Donor, "department", Some(jx1), "360100"))
        .await
        .unwrap();
    let jx2 =
        tx.insert_org(&org("JX2", "南昌大学第一附属医院", Side::Donor, "hospital", None, "360100")).await.unwrap();
    let hosp =
        tx.insert_org(&org("AKT", "阿克陶县人民医院", Side::Recipient, "hospital", None, "653022")).await.unwrap();
    let imaging = tx
        .insert_org(&org("AKT-D19", "阿克陶县人民医院影像科", Side::Recipient, "department", Some(hosp), "653022"))
        .await
        .unwrap();
    let unowned = tx
        .insert_org(&org("AKT-D30", "阿克陶县人民医院药剂科", Side::Recipient, "department", Some(hosp), "653022"))
        .await
        .unwrap();
    let ended = tx
        .insert_org(&org("AKT-D12", "阿克陶县人民医院眼科", Side::Recipient, "department", Some(hosp), "653022"))
        .await
        .unwrap();
    let pairing = |a: OrgId, b: OrgId, start: &str, end: Option<&str>| NewPairing {
        program_id: program,
        type_code: "hospital_department".into(),
        a_org_id: Some(a),
        b_org_id: Some(b),
        a_person_id: None,
        b_person_id: None,
        start_date: Date::parse(start).unwrap(),
        end_date: end.map(|e| Date::parse(e).unwrap()),
        note: None,
    };
    tx.insert(&pairing(jx1, imaging, "2023-06-01", None)).await.unwrap();
    // A pairing that has ended owns nothing today.
    tx.insert(&pairing(jx2, ended, "2023-06-01", Some("2024-06-30"))).await.unwrap();
    let mut actors = Vec::new();
    for (name, role, code, oid) in [
        ("doctor", Role::Reporter, Some("AKT"), Some(hosp)),
        ("e1", Role::Reporter, Some("JX1-R"), Some(jx1_rad)),
        ("e2", Role::Reporter, Some("JX1"), Some(jx1)),
        ("e3", Role::Reporter, Some("JX1-R"), Some(jx1_rad)),
        ("outsider", Role::Reporter, Some("JX2"), Some(jx2)),
        ("manager", Role::Manager, Some("CMD"), Some(command)),
        ("viewer", Role::Viewer, None, None),
    ] {
        let id = tx.add_user(&format!("u.{name}"), role, code, "Akto#Pamir2025").await.unwrap();
        actors.push((name, Actor { user_id: Some(id), name: format!("u.{name}"), role, org_id: oid, source: None }));
    }
    // The study arrived from the PACS (the PACS side is the imaging test's: here the store's record).
    tx.record_study(&StudySeen {
        pacs_id: "a1b2c3d4-00000000-00000000-00000000-00000001".into(),
        study_uid: CT_UID.into(),
        accession: None,
        study_date: Some("2004-01-19".into()),
        description: Some("e+1".into()),
        institution: None,
        modalities: "CT".into(),
        body_parts: "HEAD".into(),
        series_count: 1,
        instance_count: 1,
        stable: true,
    })
    .await
    .unwrap();
    tx.record_study(&StudySeen {
        pacs_id: "a1b2c3d4-00000000-00000000-00000000-00000002".into(),
        study_uid: GONE_UID.into(),
        accession: None,
        study_date: None,
        description: None,
        institution: None,
        modalities: "MR".into(),
        body_parts: "".into(),
        series_count: 1,
        instance_count: 1,
        stable: true,
    })
    .await
    .unwrap();
    tx.study_deleted("a1b2c3d4-00000000-00000000-00000000-00000002").await.unwrap();
    tx.commit().await.unwrap();
    World { imaging_dept: imaging.get(), unowned_dept: unowned.get(), ended_dept: ended.get(), actors }
}

fn request(department: i64) -> NewRequest {
    NewRequest {
        patient_name: "阿依古丽·买买提".into(),
        patient_sex: "女".into(),
        patient_age: 46,
        patient_id_number: Some("653022197805120020".into()),
        exam: "头颅 CT 平扫".into(),
        modality: "CT".into(),
        body_part: "头部".into(),
        clinical_question: "突发头痛 3 小时，排除颅内出血".into(),
        case_summary: "患者 3 小时前突发剧烈头痛，伴呕吐一次。".into(),
        priority: "急诊".into(),
        department_id: Some(department),
        expert_title: "副主任医师".into(),
        patient_source: "急诊".into(),
        complex: false,
        study_uids: vec![CT_UID.into()],
        consent: Some(Consent {
            given: true,
            file_name: "知情同意书.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: b"%PDF-1.4 signed".to_vec(),
        }),
    }
}

async fn write<T>(
    store: &Store,
    who: &Actor,
    f: impl AsyncFnOnce(&mut store::Tx<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut tx = store.write(who).await?;
    let v = f(&mut tx).await?;
    tx.commit().await?;
    Ok(v)
}

/// A user of the world signed in to the server on `port`, its first password changed.
fn signed_in(port: u16, name: &str) -> crate::http::Browser {
    let mut b = crate::http::Browser::new(port);
    let r = b.login(&format!("u.{name}"), "Akto#Pamir2025");
    assert_eq!(r.status, 303, "{name}: {}", r.body);
    let csrf = b.get("/password").hidden("csrf");
    let new = "Kizilsu#2026new";
    let r = b.post(
        "/password",
        &[("csrf", &csrf), ("old_password", "Akto#Pamir2025"), ("new_password", new), ("confirm", new)],
    );
    assert_eq!(r.status, 303, "{name}: {}", r.body);
    b
}

/// The first column of the first row of `sql`, as text.
async fn one(db: &TestDb, sql: &str) -> String {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let row = sqlx::query(sql).fetch_one(&mut c).await.unwrap();
    let v = row.try_get::<String, _>(0).or_else(|_| row.try_get::<i64, _>(0).map(|n| n.to_string())).unwrap();
    c.close().await.unwrap();
    v
}

async fn count(db: &TestDb, table: &str) -> i64 {
    one(db, &format!("SELECT COUNT(*) FROM {table}")).await.parse().unwrap()
}

/// Everything a request could have written.
async fn counts(db: &TestDb) -> Vec<i64> {
    let mut v = Vec::new();
    for t in [
        "imaging_requests",
        "imaging_request_studies",
        "imaging_consents",
        "imaging_request_events",
        "notifications",
        "audit_log",
    ] {
        v.push(count(db, t).await);
    }
    v
}

async fn consultation_requests_are_routed_to_the_owning_hospital(db: &TestDb) {
    let store = db.store().await;
    let w = world(&store).await;
    let manager = w.actor("manager");
    // The roster: e1 (associate chief) and e2 (chief) on duty, e3 an attending; the outsider
    // belongs to another hospital and cannot be put on it.
    for (who, title) in [("e1", "副主任医师"), ("e2", "主任医师"), ("e3", "主治医师")] {
        let u = w.user(who);
        write(&store, &manager, async |tx| tx.set_imaging_expert(u, w.imaging_dept, title, true).await).await.unwrap();
    }
    let outsider = w.user("outsider");
    let e = write(&store, &manager, async |tx| tx.set_imaging_expert(outsider, w.imaging_dept, "chief", true).await)
        .await
        .unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "user_id"), "{e}");
    let e1 = w.user("e1");
    let e =
        write(&store, &w.actor("doctor"), async |tx| tx.set_imaging_expert(e1, w.imaging_dept, "chief", true).await)
            .await
            .unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)), "{e}");
    assert_eq!(store.imaging_experts(w.imaging_dept).await.unwrap().len(), 3);

    // Refused for each rule, naming its field, and nothing written.
    let doctor = w.actor("doctor");
    let before = counts(db).await;
    let refused = |r: NewRequest| {
        let store = &store;
        let doctor = &doctor;
        async move {
            match write(store, doctor, async |tx| tx.request_imaging(&r).await).await {
                Err(StoreError::Invalid(i)) => i.0.iter().map(|x| x.field.clone()).collect::<Vec<_>>(),
                other => panic!("not refused: {other:?}"),
            }
        }
    };
    let mut r = request(w.imaging_dept);
    r.consent = None;
    assert_eq!(refused(r).await, ["consent"]);
    assert_eq!(refused(request(w.unowned_dept)).await, ["department_id"]);
    assert_eq!(refused(request(w.ended_dept)).await, ["department_id"]);
    let mut r = request(w.imaging_dept);
    r.study_uids = vec![];
    assert_eq!(refused(r).await, ["study_uids"]);
    let mut r = request(w.imaging_dept);
    r.study_uids = vec!["1.2.3.4.5.6".into()];
    assert_eq!(refused(r).await, ["study_uids"]);
    let mut r = request(w.imaging_dept);
    r.study_uids = vec![GONE_UID.into()];
    assert_eq!(refused(r).await, ["study_uids"]);
    assert_eq!(counts(db).await, before, "a refused request writes nothing");
    // A viewer, or an expert's hospital, does not request.
    let e = write(&store, &w.actor("viewer"), async |tx| tx.request_imaging(&request(w.imaging_dept)).await)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)), "{e}");

    // Made: owned by 江西省人民医院, offered to e1 (associate chief, fewest open; e3 is below the
    // title asked).
    let id = write(&store, &doctor, async |tx| tx.request_imaging(&request(w.imaging_dept)).await).await.unwrap();
    let r = store.imaging_request_for(&doctor, id).await.unwrap();
    assert_eq!((r.owner.as_str(), r.state.as_str(), r.assignee_user_id), ("江西省人民医院", "offered", Some(e1)));
    assert_eq!(r.patient_id_number_mask.as_deref(), Some("653***********0020"));
    assert_eq!(store.imaging_request_studies(id).await.unwrap()[0].study_uid, CT_UID);
    let raw = one(db, "SELECT patient_id_number_enc FROM imaging_requests").await;
    assert!(!raw.contains("653022197805120020"), "the 身份证号 is stored encrypted");

    // Only the expert it is offered to accepts or declines; a decline needs its reason.
    let e2 = w.user("e2");
    let e = write(&store, &w.actor("e2"), async |tx| tx.accept_imaging(id).await).await.unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)), "{e}");
    let e = write(&store, &w.actor("e1"), async |tx| tx.decline_imaging(id, "  ").await).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "reason"), "{e}");
    write(&store, &w.actor("e1"), async |tx| tx.decline_imaging(id, "正在手术，无法及时阅片").await).await.unwrap();
    let r = store.imaging_request_for(&doctor, id).await.unwrap();
    assert_eq!((r.state.as_str(), r.assignee_user_id), ("offered", Some(e2)), "declined: on to the next on duty");
    // e2 declines too: nobody else meets the title, so it waits in the owning hospital's queue.
    write(&store, &w.actor("e2"), async |tx| tx.decline_imaging(id, "非本人专业方向").await).await.unwrap();
    let r = store.imaging_request_for(&doctor, id).await.unwrap();
    assert_eq!((r.state.as_str(), r.assignee_user_id), ("queued", None));
    // A manager reassigns it to e2 with a reason; e2 accepts it.
    let e = write(&store, &manager, async |tx| tx.reassign_imaging(id, outsider, "值班调整").await).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "to_user_id"), "{e}");
    write(&store, &manager, async |tx| tx.reassign_imaging(id, e2, "急诊，请主任阅片").await).await.unwrap();
    write(&store, &w.actor("e2"), async |tx| tx.accept_imaging(id).await).await.unwrap();
    let e = write(&store, &w.actor("e2"), async |tx| tx.accept_imaging(id).await).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    let steps: Vec<String> = store.imaging_request_events(id).await.unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(steps, ["requested", "offered", "declined", "offered", "declined", "queued", "reassigned", "accepted"]);
    let events = store.imaging_request_events(id).await.unwrap();
    assert_eq!(events[2].reason.as_deref(), Some("正在手术，无法及时阅片"));
    assert!(events.windows(2).all(|p| p[0].at <= p[1].at), "timestamped in order");

    // Seen by the requester, the assignee and the manager; the outsider's try is "not found",
    // audited.
    store.imaging_request_for(&w.actor("e2"), id).await.unwrap();
    store.imaging_request_for(&manager, id).await.unwrap();
    let denied = count(db, "audit_log").await;
    let e = store.imaging_request_for(&w.actor("outsider"), id).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e}");
    assert!(store.imaging_request_for(&w.actor("e1"), id).await.is_err(), "e1 declined: no longer its");
    assert_eq!(count(db, "audit_log").await, denied + 2);

    // With nobody on duty a new request waits in the queue, and an expert of the roster takes it.
    for who in ["e1", "e2", "e3"] {
        let u = w.user(who);
        let title = if who == "e3" { "attending" } else { "chief" };
        write(&store, &manager, async |tx| tx.set_imaging_expert(u, w.imaging_dept, title, false).await).await.unwrap();
    }
    let mut r = request(w.imaging_dept);
    r.priority = "常规".into();
    r.expert_title = "不限".into();
    let id2 = write(&store, &doctor, async |tx| tx.request_imaging(&r).await).await.unwrap();
    assert_eq!(store.imaging_request_for(&doctor, id2).await.unwrap().state, "queued");
    store.imaging_request_for(&w.actor("e3"), id2).await.expect("the roster sees its department's queue");
    let e = write(&store, &w.actor("outsider"), async |tx| tx.take_imaging(id2).await).await.unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)), "{e}");
    write(&store, &w.actor("e3"), async |tx| tx.take_imaging(id2).await).await.unwrap();
    let r = store.imaging_request_for(&doctor, id2).await.unwrap();
    assert_eq!((r.state.as_str(), r.assignee_user_id), ("accepted", Some(w.user("e3"))));
    // Every step audited with its row.
    let audited: i64 =
        one(db, "SELECT COUNT(*) FROM audit_log WHERE object_type = 'imaging_requests'").await.parse().unwrap();
    assert!(audited >= 10, "{audited}");
}
both!(consultation_requests_are_routed_to_the_owning_hospital);

/// The pages: the worklist shows the requester its request and the expert what is offered to
/// it; the expert accepts on the request's page; anyone else's try at the page is a 404, audited;
/// the consent document is a download; a form without consent is refused beside the field.
async fn consultation_pages(db: &TestDb) {
    let store = db.store().await;
    let w = world(&store).await;
    let manager = w.actor("manager");
    let e1 = w.user("e1");
    write(&store, &manager, async |tx| tx.set_imaging_expert(e1, w.imaging_dept, "chief", true).await).await.unwrap();
    let id =
        write(&store, &w.actor("doctor"), async |tx| tx.request_imaging(&request(w.imaging_dept)).await).await.unwrap();
    store.close().await;
    let (_server, port) = crate::support::serve(db);
    let browse = |name: &str| signed_in(port, name);
    let mut doctor = browse("doctor");
    let list = doctor.get("/imaging");
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains(&format!("/imaging/requests/{id}")) && list.body.contains("江西省人民医院"),
        "{}",
        list.body
    );
    assert!(list.body.contains("图像完整"), "the images' completeness from the PACS");
    let form = doctor.get("/imaging/requests/new");
    assert!(form.body.contains("阿克陶县人民医院影像科 → 江西省人民医院") && form.body.contains(CT_UID));
    assert!(!form.body.contains("药剂科"), "an unowned department is not offered");
    let consent = doctor.download(&format!("/imaging/requests/{id}/consent"));
    assert_eq!((consent.status, consent.body.as_slice()), (200, b"%PDF-1.4 signed".as_slice()));

    let mut expert = browse("e1");
    let mine = expert.get("/imaging");
    assert!(
        mine.body.contains("id=\"mine\"") && mine.body.contains(&format!("/imaging/requests/{id}")),
        "{}",
        mine.body
    );
    let page = expert.get(&format!("/imaging/requests/{id}"));
    assert!(page.body.contains("accept-request") && page.body.contains("仅供参考"), "{}", page.body);
    // The clock: an emergency head CT, its images complete, due 30 minutes from then.
    let clock = page.between("id=\"request-clock\">", "</dd>");
    assert!(clock.contains("急诊头颅 CT/MR") && clock.contains("30") && clock.contains("截止"), "{clock}");
    assert!(page.body.contains("653***********0020") && !page.body.contains("653022197805120020"));
    let csrf = page.hidden("csrf");
    let r =
        expert.post(&format!("/imaging/requests/{id}/act"), &[("csrf", &csrf), ("action", "decline"), ("reason", "")]);
    assert_eq!(r.status, 422, "a decline without its reason");
    let r = expert.post(&format!("/imaging/requests/{id}/act"), &[("csrf", &csrf), ("action", "accept")]);
    assert_eq!(r.status, 303);
    assert!(expert.get(&format!("/imaging/requests/{id}")).body.contains("已接收"));
    // The report on the page: the draft from the template, saved, signed, issued; the requester
    // confirms; the print layout.
    let page = expert.get(&format!("/imaging/requests/{id}"));
    assert!(page.body.contains("save-report") && page.body.contains("中线结构居中"), "{}", page.body);
    let at = format!("/imaging/requests/{id}/report");
    let r = expert.post(
        &at,
        &[
            ("csrf", &csrf),
            ("action", "save"),
            ("findings", "右侧额叶见片状高密度影。"),
            ("impression", "右侧额叶脑出血。"),
            ("advice", "建议神经外科会诊。"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(expert.post(&at, &[("csrf", &csrf), ("action", "sign")]).status, 303);
    assert_eq!(expert.post(&at, &[("csrf", &csrf), ("action", "issue")]).status, 303);
    assert_eq!(expert.post(&at, &[("csrf", &csrf), ("action", "unknown")]).status, 422);
    let csrf_d = doctor.get("/imaging").hidden("csrf");
    let page = doctor.get(&format!("/imaging/requests/{id}"));
    assert!(page.body.contains("confirm-report") && page.body.contains("右侧额叶脑出血"), "{}", page.body);
    assert_eq!(doctor.post(&at, &[("csrf", &csrf_d), ("action", "confirm")]).status, 303);
    // A critical finding, flagged and its notice recorded on the page; the board shows it.
    let r = expert
        .post(&format!("/imaging/requests/{id}/critical"), &[("csrf", &csrf), ("finding", "急性脑出血"), ("note", "")]);
    assert_eq!(r.status, 303, "{}", r.body);
    let page = expert.get(&format!("/imaging/requests/{id}"));
    let critical = page.between("data-critical=\"", "\"");
    assert!(page.body.contains(&format!("record-critical-{critical}")), "{}", page.body);
    let r = expert.post(
        &format!("/imaging/requests/{id}/critical/{critical}"),
        &[
            ("csrf", &csrf),
            ("told_name", "阿卜杜拉"),
            ("channel", "phone"),
            ("told_at", ""),
            ("read_back", "急性脑出血，已收到"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let board = doctor.get("/imaging/critical");
    assert!(
        board.body.contains("急性脑出血") && board.body.contains("阿卜杜拉") && board.body.contains("用时"),
        "{}",
        board.body
    );
    // Where the patient went: on the requesting hospital's page, not the expert's; then the figures.
    let page = doctor.get(&format!("/imaging/requests/{id}"));
    assert!(page.body.contains("record-outcome") && page.body.contains("尚未登记"), "{}", page.body);
    assert!(!expert.get(&format!("/imaging/requests/{id}")).body.contains("record-outcome"));
    let act = format!("/imaging/requests/{id}/act");
    let r = expert.post(&act, &[("csrf", &csrf), ("action", "outcome"), ("outcome", "local")]);
    assert_eq!(r.status, 403, "{}", r.body);
    let r = doctor.post(&act, &[("csrf", &csrf_d), ("action", "outcome"), ("outcome", "回家")]);
    assert_eq!(r.status, 422, "{}", r.body);
    let r = doctor.post(&act, &[("csrf", &csrf_d), ("action", "outcome"), ("outcome", "local")]);
    assert_eq!(r.status, 303, "{}", r.body);
    let page = doctor.get(&format!("/imaging/requests/{id}"));
    assert!(page.body.contains("data-outcome=\"local\"") && page.body.contains("避免转院"), "{}", page.body);
    let home = doctor.get("/");
    assert_eq!(home.status, 200);
    let panel = home.between("id=\"imaging-panel\"", "</section>");
    assert!(panel.contains("阿克陶县人民医院影像科") && panel.contains("本院治疗"), "{panel}");
    // The turnaround's median opens to this request, which the doctor may see and the outsider not.
    let median =
        panel.split("href=\"").map(|h| h.split('"').next().unwrap_or("")).find(|h| h.contains("median.tat_minutes"));
    let median = median.expect("the median links to its records").replace("&amp;", "&");
    let opened = doctor.get(&median);
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert!(opened.body.contains(&format!("/imaging/requests/{id}\"")), "{}", opened.body);
    assert!(!opened.body.contains("阿依古丽"), "no patient's name behind a figure");
    let mut outsider = browse("outsider");
    let opened = outsider.get(&median);
    assert_eq!(opened.status, 200);
    assert!(!opened.body.contains(&format!("/imaging/requests/{id}\"")) && opened.body.contains("权限范围以外"));
    let print = doctor.get(&format!("/imaging/requests/{id}/report/print"));
    assert_eq!(print.status, 200);
    for s in [
        "赣陶远程影像中心",
        "阿依古丽·买买提",
        "右侧额叶脑出血",
        "建议神经外科会诊",
        "u.e1",
        "仅供临床参考",
        "size: A4",
    ] {
        assert!(print.body.contains(s), "{s} in the printed report");
    }

    let before = count(db, "audit_log").await;
    assert_eq!(outsider.get(&format!("/imaging/requests/{id}")).status, 404);
    assert_eq!(outsider.get(&format!("/imaging/requests/{id}/consent")).status, 404);
    assert_eq!(outsider.get("/imaging/requests/999999").status, 404);
    let denied: i64 =
        one(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'read_denied' AND object_type = 'imaging_requests'")
            .await
            .parse()
            .unwrap();
    assert_eq!(denied, 3);
    assert!(count(db, "audit_log").await >= before + 3);
    assert!(!outsider.get("/imaging").body.contains(&format!("/imaging/requests/{id}\"")));

    // The JSON API: the same rules, the same scope.
    let csrf = doctor.get("/imaging").hidden("csrf");
    let api = |b: &mut crate::http::Browser, method: &str, path: &str, csrf: &str, body: &str| {
        b.send(method, path, &[("X-CSRF-Token", csrf)], Some(("application/json", body))).unwrap()
    };
    let body = format!(
        r#"{{"patient_name": "买买提·阿不都", "patient_sex": "男", "patient_age": 63, "exam": "胸部 CT 平扫",
            "modality": "CT", "body_part": "胸部", "clinical_question": "咳嗽两月，排除肺癌", "case_summary": "咳嗽两月。",
            "priority": "routine", "department_id": {}, "study_uids": ["{CT_UID}"],
            "consent": {{"given": true, "file_name": "同意书.png", "content_type": "image/png", "data_base64": "iVBORw0KGgo="}}}}"#,
        w.imaging_dept
    );
    let made = api(&mut doctor, "POST", "/api/v1/imaging/requests", &csrf, &body);
    assert_eq!(made.status, 201, "{}", made.body);
    let v: serde_json::Value = serde_json::from_str(&made.body).unwrap();
    let id2 = v["id"].as_i64().unwrap();
    assert_eq!((v["state"].as_str(), v["assignee_user_id"].as_i64()), (Some("offered"), Some(e1)));
    assert_eq!(v["images"]["complete"], true);
    assert_eq!((v["patient_source"].as_str(), v["clock"]["target"].as_str()), (Some("outpatient"), Some("门诊患者")));
    assert_eq!((v["clock"]["state"].as_str(), v["clock"]["working_hours"].as_bool()), (Some("running"), Some(true)));
    let no_consent = body.replace(r#""given": true"#, r#""given": false"#);
    let r = api(&mut doctor, "POST", "/api/v1/imaging/requests", &csrf, &no_consent);
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains(r#""field":"consent""#), "{}", r.body);
    let r = api(&mut doctor, "POST", "/api/v1/imaging/requests", &csrf, &body.replace("patient_name", "patient"));
    assert_eq!(r.status, 400, "{}", r.body);
    let r = api(&mut doctor, "POST", "/api/v1/imaging/requests", &csrf, "[1]");
    assert_eq!(r.status, 400, "{}", r.body);
    let r = api(&mut doctor, "POST", "/api/v1/imaging/requests", &csrf, &body.replace("买买提·阿不都", r"\u0000"));
    assert_eq!(r.status, 422, "a NUL is refused, never stored: {}", r.body);
    let csrf_o = outsider.get("/imaging").hidden("csrf");
    assert_eq!(api(&mut outsider, "GET", &format!("/api/v1/imaging/requests/{id2}"), &csrf_o, "").status, 404);
    assert_eq!(api(&mut outsider, "POST", &format!("/api/v1/imaging/requests/{id2}/accept"), &csrf_o, "").status, 404);
    let csrf_e = expert.get("/imaging").hidden("csrf");
    let r = api(&mut expert, "POST", &format!("/api/v1/imaging/requests/{id2}/decline"), &csrf_e, "{}");
    assert_eq!(r.status, 422, "{}", r.body);
    let r = api(
        &mut expert,
        "POST",
        &format!("/api/v1/imaging/requests/{id2}/decline"),
        &csrf_e,
        r#"{"reason": "今日门诊"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(r#""state":"queued""#), "nobody else on duty: {}", r.body);
    let r = api(&mut expert, "GET", &format!("/api/v1/imaging/requests/{id2}"), &csrf_e, "");
    assert_eq!(r.status, 200, "the roster sees its department's queue: {}", r.body);
    assert!(r.body.contains(r#""action":"declined""#) && r.body.contains("今日门诊"), "{}", r.body);
    // The outcome through the API: refused before the report is out, named when it is bad.
    let r =
        api(&mut doctor, "POST", &format!("/api/v1/imaging/requests/{id2}/outcome"), &csrf, r#"{"outcome": "local"}"#);
    assert_eq!(r.status, 409, "{}", r.body);
    let r = api(&mut doctor, "POST", &format!("/api/v1/imaging/requests/{id}/outcome"), &csrf, r#"{"outcome": "x"}"#);
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains(r#""field":"outcome""#), "{}", r.body);
    let r = api(
        &mut doctor,
        "POST",
        &format!("/api/v1/imaging/requests/{id}/outcome"),
        &csrf,
        r#"{"outcome": "transferred"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(r#""outcome":"transferred""#) && r.body.contains(r#""tat_minutes":"#), "{}", r.body);
    let b = api(
        &mut doctor,
        "GET",
        "/api/v1/breakdown?source=imaging_requests&measure=share.on_time&by=department",
        &csrf,
        "",
    );
    assert_eq!(b.status, 200, "{}", b.body);
    let v: serde_json::Value = serde_json::from_str(&b.body).unwrap();
    assert_eq!((v["measure"].as_str(), v["parts"][0]["key"].as_str()), (Some("share.on_time"), Some("AKT-D19")));
    assert!(v["total"].is_number(), "{}", b.body);
    let list = api(&mut doctor, "GET", "/api/v1/imaging/requests", &csrf, "");
    let v: serde_json::Value = serde_json::from_str(&list.body).unwrap();
    assert_eq!(v["total"], 2);
    assert!(!list.body.contains("653022197805120020"));
}
both!(consultation_pages);

/// The report: written by the expert who accepted the request (from the exam's template), signed,
/// reviewed by a second expert where the centre requires it, issued, confirmed by the requester;
/// an amendment is a new version through the same steps, the old one kept as it was.
async fn consultation_reports(db: &TestDb) {
    use domain::imaging::{ReportAction as A, ReportText};
    let store = db.store().await;
    let w = world(&store).await;
    let manager = w.actor("manager");
    for (who, title) in [("e1", "副主任医师"), ("e2", "主任医师"), ("e3", "主治医师")] {
        let u = w.user(who);
        write(&store, &manager, async |tx| tx.set_imaging_expert(u, w.imaging_dept, title, true).await).await.unwrap();
    }
    let doctor = w.actor("doctor");
    let (e1, e2, e3) = (w.actor("e1"), w.actor("e2"), w.actor("e3"));
    let id = write(&store, &doctor, async |tx| tx.request_imaging(&request(w.imaging_dept)).await).await.unwrap();
    let text = |f: &str, i: &str| ReportText { findings: f.into(), impression: i.into(), advice: String::new() };
    // Not before it is accepted, and only by its expert.
    let e = write(&store, &e1, async |tx| tx.save_imaging_report(id, &text("", "")).await).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    write(&store, &e1, async |tx| tx.accept_imaging(id).await).await.unwrap();
    let e = write(&store, &e2, async |tx| tx.save_imaging_report(id, &text("x", "y")).await).await.unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)), "{e}");
    // The first draft comes from the exam's template (头颅 CT).
    write(&store, &e1, async |tx| tx.save_imaging_report(id, &text("", "")).await).await.unwrap();
    let v1 = &store.imaging_reports(id).await.unwrap()[0];
    assert_eq!((v1.version, v1.state.as_str(), v1.template.as_str()), (1, "draft", "头颅 CT 平扫"));
    assert!(v1.findings.contains("中线结构居中"), "{}", v1.findings);
    // A draft without its impression cannot be signed.
    write(&store, &e1, async |tx| tx.save_imaging_report(id, &text("右侧额叶见片状高密度影。", "")).await)
        .await
        .unwrap();
    let e = write(&store, &e1, async |tx| tx.imaging_report_step(id, A::Sign, None).await).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "impression"), "{e}");
    write(&store, &e1, async |tx| {
        tx.save_imaging_report(id, &text("右侧额叶见片状高密度影，周围水肿。", "右侧额叶脑出血。")).await
    })
    .await
    .unwrap();
    write(&store, &e1, async |tx| tx.imaging_report_step(id, A::Sign, None).await).await.unwrap();
    let e = write(&store, &e1, async |tx| tx.save_imaging_report(id, &text("改", "改")).await).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "a signed report is not edited: {e}");
    // The centre requires a second signature: the reader cannot issue alone, an attending cannot review.
    write(&store, &manager, async |tx| tx.set_imaging_review_required(true).await).await.unwrap();
    assert!(store.imaging_review_required().await.unwrap());
    let e = write(&store, &e1, async |tx| tx.imaging_report_step(id, A::Issue, None).await).await.unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)), "{e}");
    let e = write(&store, &e3, async |tx| tx.imaging_report_step(id, A::Review, None).await).await.unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)), "{e}");
    let e = write(&store, &e1, async |tx| tx.imaging_report_step(id, A::Review, None).await).await.unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)), "the reader does not review its own report: {e}");
    write(&store, &e2, async |tx| tx.imaging_report_step(id, A::Review, None).await).await.unwrap();
    let e = write(&store, &doctor, async |tx| tx.imaging_report_step(id, A::Confirm, None).await).await.unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)), "not confirmed before it is issued: {e}");
    let told = count(db, "notifications").await;
    write(&store, &e1, async |tx| tx.imaging_report_step(id, A::Issue, None).await).await.unwrap();
    assert_eq!(store.imaging_request_for(&doctor, id).await.unwrap().state, "reported");
    assert!(count(db, "notifications").await > told, "the requesting hospital is told");
    write(&store, &doctor, async |tx| tx.imaging_report_step(id, A::Confirm, None).await).await.unwrap();
    assert_eq!(store.imaging_request_for(&doctor, id).await.unwrap().state, "confirmed");
    let v1 = &store.imaging_reports(id).await.unwrap()[0];
    assert_eq!(v1.state, "confirmed");
    assert!(v1.signed_at.is_some() && v1.reviewed_at.is_some() && v1.issued_at.is_some() && v1.confirmed_at.is_some());
    assert_eq!((v1.author.as_deref(), v1.reviewer.as_deref()), (Some("u.e1"), Some("u.e2")));

    // An amendment: a reason, a new version through the same steps; the first one kept.
    let e = write(&store, &e1, async |tx| tx.imaging_report_step(id, A::Amend, Some(" ")).await).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "reason"), "{e}");
    write(&store, &e1, async |tx| tx.imaging_report_step(id, A::Amend, Some("补充出血量估计")).await).await.unwrap();
    write(&store, &e1, async |tx| {
        tx.save_imaging_report(
            id,
            &text("右侧额叶见片状高密度影，约 15 ml，周围水肿。", "右侧额叶脑出血（约 15 ml）。"),
        )
        .await
    })
    .await
    .unwrap();
    write(&store, &e1, async |tx| tx.imaging_report_step(id, A::Sign, None).await).await.unwrap();
    write(&store, &e2, async |tx| tx.imaging_report_step(id, A::Review, None).await).await.unwrap();
    write(&store, &e2, async |tx| tx.imaging_report_step(id, A::Issue, None).await).await.unwrap();
    let versions = store.imaging_reports(id).await.unwrap();
    assert_eq!(
        versions.iter().map(|v| (v.version, v.state.as_str())).collect::<Vec<_>>(),
        [(2, "final"), (1, "confirmed")]
    );
    assert_eq!(versions[1].impression, "右侧额叶脑出血。");
    assert_eq!(versions[0].amendment_reason.as_deref(), Some("补充出血量估计"));
    assert_eq!(store.imaging_request_for(&doctor, id).await.unwrap().state, "reported", "to be confirmed again");
    let steps: Vec<String> = store.imaging_request_events(id).await.unwrap().into_iter().map(|e| e.action).collect();
    for s in ["report_signed", "report_reviewed", "report_issued", "report_confirmed", "report_amended"] {
        assert!(steps.iter().any(|x| x == s), "{s} in {steps:?}");
    }
    // Only a manager sets the rule.
    let e = write(&store, &e1, async |tx| tx.set_imaging_review_required(false).await).await.unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)), "{e}");

    // The turnaround targets: the defaults until a manager sets the centre's own, each checked.
    let mut targets = store.imaging_tat_targets().await.unwrap();
    assert_eq!(targets, domain::imaging::default_targets());
    targets[5].minutes = 0;
    let e = write(&store, &manager, async |tx| tx.set_imaging_tat_targets(&targets).await).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "targets[5].minutes"), "{e}");
    targets[5].minutes = 180;
    let e = write(&store, &e1, async |tx| tx.set_imaging_tat_targets(&targets).await).await.unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)), "{e}");
    write(&store, &manager, async |tx| tx.set_imaging_tat_targets(&targets).await).await.unwrap();
    assert_eq!(store.imaging_tat_targets().await.unwrap()[5].minutes, 180);
    // The report was issued: when, for the clocks.
    let issued = store.imaging_issued(&[id]).await.unwrap();
    assert!(issued[&id] <= versions[0].issued_at.clone().unwrap(), "the first issue counts");
}
both!(consultation_reports);

/// Critical results: flagged by the reader from the centre's list, the requesting hospital told
/// at once; the notice recorded with who, when, how and the read-back closes the 30-minute clock;
/// the board shows them to those who may see the request.
async fn critical_results(db: &TestDb) {
    use domain::imaging::CriticalNotice;
    let store = db.store().await;
    let w = world(&store).await;
    let manager = w.actor("manager");
    let e1u = w.user("e1");
    write(&store, &manager, async |tx| tx.set_imaging_expert(e1u, w.imaging_dept, "chief", true).await).await.unwrap();
    let (doctor, e1) = (w.actor("doctor"), w.actor("e1"));
    let id = write(&store, &doctor, async |tx| tx.request_imaging(&request(w.imaging_dept)).await).await.unwrap();
    let e = write(&store, &e1, async |tx| tx.flag_critical(id, "急性脑出血", "").await).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "not before it is accepted: {e}");
    write(&store, &e1, async |tx| tx.accept_imaging(id).await).await.unwrap();
    let e = write(&store, &w.actor("e2"), async |tx| tx.flag_critical(id, "急性脑出血", "").await).await.unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)), "{e}");
    let e = write(&store, &e1, async |tx| tx.flag_critical(id, "轻度感冒", "").await).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "finding"), "{e}");
    let told = count(db, "notifications").await;
    let c =
        write(&store, &e1, async |tx| tx.flag_critical(id, "急性脑出血", "右侧额叶，约 15 ml").await).await.unwrap();
    assert!(count(db, "notifications").await > told, "the requesting hospital is told at once");
    let board = store.imaging_critical_board(&doctor, 100).await.unwrap();
    assert_eq!((board.len(), board[0].state.as_str(), board[0].finding.as_str()), (1, "open", "急性脑出血"));
    assert!(store.imaging_critical_board(&w.actor("outsider"), 100).await.unwrap().is_empty());

    let now = chrono::Utc::now();
    let notice = |read_back: &str, at: chrono::DateTime<chrono::Utc>| CriticalNotice {
        told_name: "阿卜杜拉 医生".into(),
        channel: "电话".into(),
        told_at: at,
        read_back: read_back.into(),
    };
    let e =
        write(&store, &doctor, async |tx| tx.record_critical_notice(c, &notice("收到", now)).await).await.unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)), "{e}");
    let e = write(&store, &e1, async |tx| tx.record_critical_notice(c, &notice(" ", now)).await).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "read_back"), "{e}");
    let e = write(&store, &e1, async |tx| {
        tx.record_critical_notice(c, &notice("收到", now - chrono::Duration::hours(1))).await
    })
    .await
    .unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "told_at"), "{e}");
    write(&store, &e1, async |tx| tx.record_critical_notice(c, &notice("右侧额叶急性脑出血，已收到", now)).await)
        .await
        .unwrap();
    let e = write(&store, &e1, async |tx| tx.record_critical_notice(c, &notice("再次", now)).await).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    let all = store.imaging_criticals_of(id).await.unwrap();
    assert_eq!(
        (all[0].state.as_str(), all[0].channel.as_deref(), all[0].read_back.as_deref()),
        ("closed", Some("phone"), Some("右侧额叶急性脑出血，已收到"))
    );
    let steps: Vec<String> = store.imaging_request_events(id).await.unwrap().into_iter().map(|e| e.action).collect();
    assert!(
        steps.contains(&"critical_flagged".to_string()) && steps.contains(&"critical_closed".to_string()),
        "{steps:?}"
    );

    // The centre's own list.
    let e =
        write(&store, &manager, async |tx| tx.set_imaging_critical_list(&[" ".to_string()]).await).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "critical_list"), "{e}");
    let e = write(&store, &e1, async |tx| tx.set_imaging_critical_list(&["张力性气胸".to_string()]).await)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)), "{e}");
    write(&store, &manager, async |tx| {
        tx.set_imaging_critical_list(&["张力性气胸".to_string(), "主动脉夹层".to_string()]).await
    })
    .await
    .unwrap();
    assert_eq!(store.imaging_critical_list().await.unwrap(), ["张力性气胸", "主动脉夹层"]);
    let e = write(&store, &e1, async |tx| tx.flag_critical(id, "急性脑出血", "").await).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "finding"), "off the list now: {e}");
}
both!(critical_results);

async fn exec(db: &TestDb, sql: &str) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::query(sql).execute(&mut c).await.unwrap();
    c.close().await.unwrap();
}

/// The early warnings: a request past its turnaround target without a report, and a critical
/// result not told within 30 minutes, are red lights on the owning hospital, in the scope of the
/// owning and the requesting hospital and not of another; each goes out when it is dealt with.
async fn imaging_warnings(db: &TestDb) {
    use domain::imaging::{CriticalNotice, ReportAction as A, ReportText};
    use domain::warnings::Rule;
    use services::figures::Scope;
    let store = db.store().await;
    let w = world(&store).await;
    let manager = w.actor("manager");
    let e1u = w.user("e1");
    write(&store, &manager, async |tx| tx.set_imaging_expert(e1u, w.imaging_dept, "chief", true).await).await.unwrap();
    let (doctor, e1) = (w.actor("doctor"), w.actor("e1"));
    let id = write(&store, &doctor, async |tx| tx.request_imaging(&request(w.imaging_dept)).await).await.unwrap();
    write(&store, &e1, async |tx| tx.accept_imaging(id).await).await.unwrap();
    let c = write(&store, &e1, async |tx| tx.flag_critical(id, "急性脑出血", "").await).await.unwrap();
    let program = store.default_program().await.unwrap().get();
    let today = store::reporting::today();
    let lights = |org: Option<&str>| {
        let store = &store;
        let scope = Scope { org: org.map(str::to_string), ..Scope::default() };
        async move {
            services::warnings::warnings(store, program, &scope, today)
                .await
                .unwrap()
                .into_iter()
                .filter(|w| matches!(w.rule, Rule::ConsultOverdue | Rule::CriticalOverdue))
                .collect::<Vec<_>>()
        }
    };
    assert!(lights(None).await.is_empty(), "nothing is late yet");
    // Two hours pass (the rows' times moved back, as the clock would have moved on).
    let ago = |m: i64| {
        (chrono::Utc::now() - chrono::Duration::minutes(m)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    exec(db, &format!("UPDATE imaging_studies SET complete_at = '{}'", ago(120))).await;
    exec(db, &format!("UPDATE imaging_requests SET requested_at = '{}'", ago(125))).await;
    exec(db, &format!("UPDATE imaging_critical SET flagged_at = '{}'", ago(45))).await;
    let all = lights(None).await;
    assert_eq!(all.len(), 2, "{all:?}");
    let consult = all.iter().find(|w| w.rule == Rule::ConsultOverdue).unwrap();
    assert!(consult.reason.contains("急诊头颅 CT/MR"), "{}", consult.reason);
    assert_eq!(consult.org.as_ref().map(|o| o.1.as_str()), Some("JX1"));
    let critical = all.iter().find(|w| w.rule == Rule::CriticalOverdue).unwrap();
    assert!(critical.reason.contains("急性脑出血") && critical.reason.contains("45 分钟"), "{}", critical.reason);
    assert_eq!(lights(Some("AKT")).await.len(), 2, "the requesting hospital sees them");
    assert_eq!(lights(Some("JX1")).await.len(), 2, "the owning hospital sees them");
    assert!(lights(Some("JX2")).await.is_empty(), "another hospital does not");
    // Dealt with: the notice recorded, then the report issued.
    let n = CriticalNotice {
        told_name: "阿卜杜拉".into(),
        channel: "phone".into(),
        told_at: chrono::Utc::now(),
        read_back: "收到".into(),
    };
    write(&store, &e1, async |tx| tx.record_critical_notice(c, &n).await).await.unwrap();
    assert_eq!(lights(None).await.iter().map(|w| w.rule).collect::<Vec<_>>(), [Rule::ConsultOverdue]);
    let t = ReportText {
        findings: "右侧额叶见片状高密度影。".into(),
        impression: "右侧额叶脑出血。".into(),
        advice: String::new(),
    };
    write(&store, &e1, async |tx| tx.save_imaging_report(id, &t).await).await.unwrap();
    write(&store, &e1, async |tx| tx.imaging_report_step(id, A::Sign, None).await).await.unwrap();
    write(&store, &e1, async |tx| tx.imaging_report_step(id, A::Issue, None).await).await.unwrap();
    assert!(lights(None).await.is_empty());
}
both!(imaging_warnings);

/// The figures of the imaging centre, through the one figure engine: a request's turnaround kept
/// at its report's first issue (from its images complete, on time or not by the target then in
/// force), critical results told within 30 minutes or not, the outcome the requesting hospital
/// records (only it or a manager, only once the report is out); counts, the median and the 90th
/// percentile by nearest rank, shares, a breakdown by department and the records behind a value,
/// each as the case was written.
async fn imaging_figures(db: &TestDb) {
    use chrono::{DateTime, Duration, Utc};
    use domain::figures::{FigureDef, Filter, Measure, Span, Spec};
    use domain::imaging::{CriticalNotice, ReportAction as A, ReportText};
    use services::figures::{Engine, Provenance};
    let store = db.store().await;
    let w = world(&store).await;
    let manager = w.actor("manager");
    let e1u = w.user("e1");
    write(&store, &manager, async |tx| tx.set_imaging_expert(e1u, w.imaging_dept, "chief", true).await).await.unwrap();
    let (doctor, e1) = (w.actor("doctor"), w.actor("e1"));
    // Monday 2024-03-04, 10:00 in Beijing.
    let t0: DateTime<Utc> = "2024-03-04T02:00:00Z".parse().unwrap();
    let m = |n: i64| t0 + Duration::minutes(n);
    let text = ReportText {
        findings: "右侧额叶见片状高密度影。".into(),
        impression: "右侧额叶脑出血。".into(),
        advice: String::new(),
    };
    // (requested at, issued after how many minutes, critical told after how many minutes, outcome)
    type Case = (i64, Option<i64>, Option<i64>, Option<&'static str>);
    let cases: [Case; 4] = [
        (5, Some(20), Some(12), Some("local")),
        (10, Some(50), Some(31), Some("本院治疗")),
        (15, Some(25), None, Some("transferred")),
        (20, None, None, None),
    ];
    let mut ids = Vec::new();
    for (i, (at, issued, told, outcome)) in cases.iter().enumerate() {
        let uid = format!("1.2.156.14702.99.{i}");
        let sys = Actor::system();
        write(&store, &sys, async |tx| {
            tx.backdate(m(0));
            tx.record_study(&StudySeen {
                pacs_id: format!("fig-{i}"),
                study_uid: uid.clone(),
                accession: None,
                study_date: Some("2024-03-04".into()),
                description: None,
                institution: None,
                modalities: "CT".into(),
                body_parts: "HEAD".into(),
                series_count: 1,
                instance_count: 30,
                stable: true,
            })
            .await
        })
        .await
        .unwrap();
        let mut r = request(w.imaging_dept);
        r.study_uids = vec![uid];
        let id = write(&store, &doctor, async |tx| {
            tx.backdate(m(*at));
            tx.request_imaging(&r).await
        })
        .await
        .unwrap();
        write(&store, &e1, async |tx| {
            tx.backdate(m(*at + 1));
            tx.accept_imaging(id).await
        })
        .await
        .unwrap();
        if let Some(after) = issued {
            let done = m(*at + after);
            // Not before its report is out.
            let e = write(&store, &doctor, async |tx| tx.record_imaging_outcome(id, "local").await).await.unwrap_err();
            assert!(matches!(e, StoreError::Conflict(_)), "{e}");
            write(&store, &e1, async |tx| {
                tx.backdate(done - Duration::minutes(1));
                tx.save_imaging_report(id, &text).await?;
                tx.imaging_report_step(id, A::Sign, None).await?;
                let c = match told {
                    Some(_) => Some(tx.flag_critical(id, "急性脑出血", "").await?),
                    None => None,
                };
                tx.backdate(done);
                tx.imaging_report_step(id, A::Issue, None).await?;
                if let (Some(c), Some(after)) = (c, told) {
                    let at = done - Duration::minutes(1) + Duration::minutes(*after);
                    tx.backdate(at);
                    let n = CriticalNotice {
                        told_name: "值班医生".into(),
                        channel: "phone".into(),
                        told_at: at,
                        read_back: "收到".into(),
                    };
                    tx.record_critical_notice(c, &n).await?;
                }
                Ok(())
            })
            .await
            .unwrap();
        }
        if let Some(o) = outcome {
            for who in ["outsider", "e1", "viewer"] {
                let e =
                    write(&store, &w.actor(who), async |tx| tx.record_imaging_outcome(id, o).await).await.unwrap_err();
                assert!(matches!(e, StoreError::Forbidden(_)), "{who}: {e}");
            }
            let e = write(&store, &doctor, async |tx| tx.record_imaging_outcome(id, "出院").await).await.unwrap_err();
            assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "outcome"), "{e}");
            write(&store, &doctor, async |tx| tx.record_imaging_outcome(id, o).await).await.unwrap();
        }
        ids.push(id);
    }
    // What was kept of each.
    let r = |i: usize| store.imaging_request_for(&doctor, ids[i]);
    let (r0, r1, r3) = (r(0).await.unwrap(), r(1).await.unwrap(), r(3).await.unwrap());
    assert_eq!((r0.tat_minutes, r0.on_time, r0.outcome.as_deref()), (Some(20), Some(true), Some("local")));
    assert_eq!((r1.tat_minutes, r1.on_time, r1.outcome.as_deref()), (Some(50), Some(false), Some("local")));
    assert_eq!((r3.tat_minutes, r3.on_time, r3.outcome), (None, None, None));
    assert_eq!(
        one(db, &format!("SELECT requested_on FROM imaging_requests WHERE id = {}", ids[0])).await,
        "2024-03-04"
    );
    assert_eq!(one(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'imaging_outcome'").await, "3");

    let engine = Engine::new(&store);
    let year =
        Some(Span { from: Some(Date::parse("2024-01-01").unwrap()), to: Some(Date::parse("2024-12-31").unwrap()) });
    let def = |source: &str, measure: Measure, filters: Vec<Filter>| FigureDef {
        key: "t".into(),
        name: "t".into(),
        line: "medical".into(),
        unit: String::new(),
        decimals: 1,
        description: String::new(),
        spec: Spec::Records {
            source: source.into(),
            measure,
            filters,
            span: year.clone(),
            divisor: 1,
            counted: Default::default(),
        },
    };
    let shown = async |d: FigureDef| engine.evaluate(&d).await.unwrap().display;
    assert_eq!(shown(def("imaging_requests", Measure::Count, vec![])).await, "4.0");
    // Turnarounds 20, 25, 50: the median by nearest rank is the 2nd, the 90th percentile the 3rd.
    let median = def("imaging_requests", Measure::Median("tat_minutes".into()), vec![]);
    assert_eq!(shown(median.clone()).await, "25.0");
    assert_eq!(shown(def("imaging_requests", Measure::P90("tat_minutes".into()), vec![])).await, "50.0");
    let on_time = Measure::Share(Box::new(Filter::eq("on_time", 1)));
    assert_eq!(shown(def("imaging_requests", on_time.clone(), vec![])).await, "66.7", "2 of the 3 issued");
    assert_eq!(shown(def("imaging_critical", Measure::Count, vec![])).await, "2.0");
    let in_time = Measure::Share(Box::new(Filter::eq("in_time", 1)));
    assert_eq!(shown(def("imaging_critical", in_time, vec![])).await, "50.0", "12 minutes yes, 31 no");
    assert_eq!(shown(def("imaging_requests", Measure::Count, vec![Filter::eq("outcome", "local")])).await, "2.0");
    // Taken over the records that have a value: 3 of 4 for a turnaround; none in another year.
    assert_eq!(engine.record_count(&median).await.unwrap(), 3);
    let mut other = median.clone();
    if let Spec::Records { span, .. } = &mut other.spec {
        *span = Some(Span { from: Date::parse("2023-01-01").ok(), to: Date::parse("2023-12-31").ok() });
    }
    let none = engine.evaluate(&other).await.unwrap();
    assert!(none.empty && none.display == "—" && none.value.is_nan(), "a median of nothing has no value: {none:?}");
    // By department and by hospital; a share within each part.
    let parts = engine.breakdown(&def("imaging_requests", on_time, vec![]), "department").await.unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!((parts[0].0.as_str(), parts[0].1.display(1)), ("AKT-D19", "66.7".to_string()));
    let parts = engine.breakdown(&def("imaging_requests", Measure::Count, vec![]), "hospital").await.unwrap();
    assert_eq!(parts.iter().map(|(k, v)| (k.as_str(), v.display(0))).collect::<Vec<_>>(), [("JX1", "4".to_string())]);
    // The records behind the median: the three issued, each contributing its turnaround.
    let Provenance::Records { records } = engine.provenance(&median, 100).await.unwrap() else { panic!() };
    let mut got: Vec<i64> = records.iter().map(|r| r.value).collect();
    got.sort();
    assert_eq!(got, [20, 25, 50]);
    assert!(records.iter().all(|r| r.table == "imaging_requests" && !r.label.contains("阿依古丽")), "no patient name");
    // Who may open them: the requesting hospital, not another hospital.
    let all: Vec<i64> = records.iter().map(|r| r.id).collect();
    assert_eq!(store.imaging_visible_ids(&doctor, &all).await.unwrap().len(), 3);
    assert!(store.imaging_visible_ids(&w.actor("outsider"), &all).await.unwrap().is_empty());
    // A scope of another line of work has none.
    let scope = services::figures::Scope { line: Some("education".into()), ..Default::default() };
    let (f, _) = scope.filters("imaging_requests");
    assert_eq!(shown(def("imaging_requests", Measure::Count, f)).await, "0.0");
}
both!(imaging_figures);

/// The story of one consultation, on a real Orthanc with its web viewer: a DICOM study is sent
/// to the PACS and Counterpart learns of it from the change feed; the county doctor asks 影像科;
/// the request goes to an on-duty expert of the owning hospital, who declines with a reason; the
/// next accepts and opens the images in Orthanc's own viewer through Counterpart (its page, its
/// scripts, the series, a slice, the DICOM file pass; another study's series, any other path of
/// the PACS, an expired link, the link in another's hands, the requester's or a third expert's
/// try at the link page are 404s, each audited); the report is written with a critical finding
/// whose notice closes the 30-minute clock; the requester confirms and records the patient
/// treated locally; the dashboard and the figures show exactly this case.
async fn imaging_story(db: &TestDb) {
    use crate::imaging::{dicom, TestOrthanc, PASSWORD, USER};
    let pacs = TestOrthanc::start();
    let o = pacs.client(PASSWORD);
    // The MR arrives by DICOMweb (STOW-RS), as a modality would send it; another study by the REST API.
    let (status, answer) = pacs.stow(&[dicom("test_files/MR_small.dcm")]);
    assert_eq!(status, 200, "STOW-RS: {answer}");
    assert!(answer.contains("00081199"), "the stored instances are referenced: {answer}");
    let other = o.upload(&dicom("charset_files/chrX2.dcm")).await.expect("upload to Orthanc").study;
    let store = db.store().await;
    let synced = services::pacs::sync(&store, &o, &services::pacs::actor()).await.expect("the studies arrive");
    assert_eq!(synced.created, 2, "Counterpart learns of both from the change feed");
    let mr = store.imaging_studies(10).await.unwrap().into_iter().find(|s| s.pacs_id != other).unwrap();
    assert_eq!(mr.modalities, "MR");
    let pacs_ids = [mr.pacs_id.clone(), other];
    let w = world(&store).await;
    let manager = w.actor("manager");
    for who in ["e1", "e2", "e3"] {
        let u = w.user(who);
        write(&store, &manager, async |tx| tx.set_imaging_expert(u, w.imaging_dept, "chief", true).await)
            .await
            .unwrap();
    }
    let series = o.study_series(&pacs_ids[0]).await.unwrap();
    let (sid, instances) = series[0].clone();
    let (foreign, _) = o.study_series(&pacs_ids[1]).await.unwrap()[0].clone();
    store.close().await;

    let (_server, port) = crate::support::serve_with(
        db,
        &["--orthanc-url", &pacs.url, "--orthanc-user", USER],
        &[("COUNTERPART_ORTHANC_PASSWORD", PASSWORD)],
    );
    let browse = |name: &str| signed_in(port, name);
    let denied = async || -> i64 {
        one(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'read_denied' AND object_type = 'imaging_requests'")
            .await
            .parse()
            .unwrap()
    };
    // The county doctor asks 影像科 about the study the PACS sent (through the API, with consent).
    let mut doctor = browse("doctor");
    let csrf_d = doctor.get("/imaging").hidden("csrf");
    let api = |b: &mut crate::http::Browser, method: &str, path: &str, csrf: &str, body: &str| {
        b.send(method, path, &[("X-CSRF-Token", csrf)], Some(("application/json", body))).unwrap()
    };
    let body = format!(
        r#"{{"patient_name": "阿依古丽·买买提", "patient_sex": "女", "patient_age": 46, "exam": "头颅 MR 平扫",
            "modality": "MR", "body_part": "头颅", "clinical_question": "突发头痛 3 小时", "case_summary": "突发剧烈头痛，伴呕吐。",
            "priority": "emergency", "patient_source": "emergency", "department_id": {}, "study_uids": ["{}"],
            "consent": {{"given": true, "file_name": "同意书.pdf", "content_type": "application/pdf", "data_base64": "JVBERi0xLjQ="}}}}"#,
        w.imaging_dept, mr.study_uid
    );
    let made = api(&mut doctor, "POST", "/api/v1/imaging/requests", &csrf_d, &body);
    assert_eq!(made.status, 201, "{}", made.body);
    let v: serde_json::Value = serde_json::from_str(&made.body).unwrap();
    let id = v["id"].as_i64().unwrap();
    let first = v["assignee"].as_str().unwrap().trim_start_matches("u.").to_string();
    // The expert it went to declines with a reason; it goes on to the next on duty, who accepts.
    let mut declined = browse(&first);
    let csrf = declined.get("/imaging").hidden("csrf");
    let act = format!("/imaging/requests/{id}/act");
    let r = declined.post(&act, &[("csrf", &csrf), ("action", "decline"), ("reason", "正在手术，无法及时阅片")]);
    assert_eq!(r.status, 303);
    let v: serde_json::Value =
        serde_json::from_str(&api(&mut doctor, "GET", &format!("/api/v1/imaging/requests/{id}"), &csrf_d, "").body)
            .unwrap();
    let reader = v["assignee"].as_str().unwrap().trim_start_matches("u.").to_string();
    assert_ne!(reader, first);
    assert!(v["events"].to_string().contains("正在手术，无法及时阅片"), "the decline and its reason are kept");
    let third = ["e1", "e2", "e3"].into_iter().find(|e| *e != first && *e != reader).unwrap();
    let mut expert = browse(&reader);
    let csrf = expert.get("/imaging").hidden("csrf");
    assert_eq!(expert.post(&act, &[("csrf", &csrf), ("action", "accept")]).status, 303);

    // The images, in Orthanc's viewer through Counterpart.
    let page = expert.get(&format!("/imaging/requests/{id}"));
    assert!(page.body.contains("open-viewer"), "{}", page.body);
    let links = expert.get(&format!("/imaging/requests/{id}/view"));
    assert_eq!(links.status, 200, "{}", links.body);
    assert!(links.body.contains("仅供参考"), "the advisory notice");
    let link =
        links.between("class=\"viewer-link\" target=\"_blank\" rel=\"noopener\" href=\"", "\"").replace("&amp;", "&");
    assert!(link.ends_with(&format!("viewer.html?series={sid}")), "{link}");
    assert_eq!(one(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'imaging_viewer'").await, "1");
    let base = link.split("/web-viewer/").next().unwrap().to_string();
    let viewer = expert.get(&link);
    assert_eq!(viewer.status, 200);
    assert!(viewer.body.contains("Orthanc Web Viewer"), "{}", viewer.body);
    assert_eq!(expert.get(&format!("{base}/web-viewer/app/viewer.js")).status, 200);
    let s = expert.get(&format!("{base}/web-viewer/series/{sid}"));
    assert_eq!(s.status, 200, "{}", s.body);
    assert!(s.header("cache-control").is_some_and(|c| c.contains("no-store")));
    let slice = expert.download(&format!("{base}/web-viewer/instances/jpeg95-{}_0", instances[0]));
    assert_eq!(slice.status, 200);
    let file = expert.download(&format!("{base}/instances/{}/file", instances[0]));
    assert_eq!((file.status, &file.body[128..132]), (200, b"DICM".as_slice()));
    // Nothing else of the PACS; nobody else.
    let before = denied().await;
    assert_eq!(expert.get(&format!("{base}/web-viewer/series/{foreign}")).status, 404);
    assert_eq!(denied().await, before + 1, "a series of another study: audited");
    for path in ["/system", "/patients", "/web-viewer/app/../../system", "/studies", "/instances"] {
        assert_eq!(expert.get(&format!("{base}{path}")).status, 404, "{path}");
    }
    let past = {
        let store = db.store().await;
        let t = store.viewer_token(id, w.user(&reader), chrono::Utc::now().timestamp() - 60);
        store.close().await;
        t
    };
    assert_eq!(expert.get(&format!("/imaging/view/{past}/web-viewer/app/viewer.html")).status, 404);
    assert_eq!(denied().await, before + 2, "an expired link: audited");
    let mut other = browse(third);
    assert_eq!(other.get(&link).status, 404);
    assert_eq!(other.get(&format!("/imaging/requests/{id}/view")).status, 404);
    assert!(!doctor.get(&format!("/imaging/requests/{id}")).body.contains("open-viewer"));
    assert_eq!(doctor.get(&format!("/imaging/requests/{id}/view")).status, 404);
    assert_eq!(doctor.get(&link).status, 404);
    assert_eq!(denied().await, before + 6, "each try audited: two of the third expert, two of the requester");

    // The report, with a critical finding told within its 30 minutes.
    let at = format!("/imaging/requests/{id}/report");
    let r = expert.post(
        &at,
        &[
            ("csrf", &csrf),
            ("action", "save"),
            ("findings", "右侧额叶见片状异常信号。"),
            ("impression", "右侧额叶急性脑出血。"),
            ("advice", ""),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(expert.post(&at, &[("csrf", &csrf), ("action", "sign")]).status, 303);
    let r = expert
        .post(&format!("/imaging/requests/{id}/critical"), &[("csrf", &csrf), ("finding", "急性脑出血"), ("note", "")]);
    assert_eq!(r.status, 303, "{}", r.body);
    let critical = expert.get(&format!("/imaging/requests/{id}")).between("data-critical=\"", "\"");
    let r = expert.post(
        &format!("/imaging/requests/{id}/critical/{critical}"),
        &[
            ("csrf", &csrf),
            ("told_name", "阿卜杜拉"),
            ("channel", "phone"),
            ("told_at", ""),
            ("read_back", "急性脑出血，已收到"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(expert.post(&at, &[("csrf", &csrf), ("action", "issue")]).status, 303);
    assert_eq!(doctor.post(&at, &[("csrf", &csrf_d), ("action", "confirm")]).status, 303);
    let r = doctor.post(&act, &[("csrf", &csrf_d), ("action", "outcome"), ("outcome", "local")]);
    assert_eq!(r.status, 303, "{}", r.body);

    // The figures: exactly this case.
    let v: serde_json::Value =
        serde_json::from_str(&api(&mut doctor, "GET", &format!("/api/v1/imaging/requests/{id}"), &csrf_d, "").body)
            .unwrap();
    assert_eq!(
        (v["state"].as_str(), v["outcome"].as_str(), v["on_time"].as_bool()),
        (Some("confirmed"), Some("local"), Some(true))
    );
    let tat = v["tat_minutes"].as_i64().expect("the turnaround kept");
    let breakdown = |doctor: &mut crate::http::Browser, q: &str| -> serde_json::Value {
        let r = api(doctor, "GET", &format!("/api/v1/breakdown?{q}"), &csrf_d, "");
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        serde_json::from_str(&r.body).unwrap()
    };
    let b = breakdown(&mut doctor, "source=imaging_requests&measure=count&by=department");
    assert_eq!((b["total"].as_i64(), b["parts"][0]["key"].as_str()), (Some(1), Some("AKT-D19")));
    let b = breakdown(&mut doctor, "source=imaging_requests&measure=median.tat_minutes&by=hospital");
    assert_eq!((b["total"].as_f64(), b["parts"][0]["key"].as_str()), (Some(tat as f64), Some("JX1")));
    assert_eq!(
        breakdown(&mut doctor, "source=imaging_requests&measure=share.on_time&by=priority")["total"].as_f64(),
        Some(100.0)
    );
    assert_eq!(breakdown(&mut doctor, "source=imaging_critical&measure=count&by=finding")["total"].as_i64(), Some(1));
    assert_eq!(
        breakdown(&mut doctor, "source=imaging_critical&measure=share.in_time&by=finding")["total"].as_f64(),
        Some(100.0)
    );
    assert_eq!(
        breakdown(&mut doctor, "source=imaging_requests&measure=count&by=outcome&f=outcome:eq:local")["total"].as_i64(),
        Some(1)
    );
    let home = doctor.get("/");
    let panel = home.between("id=\"imaging-panel\"", "</section>");
    assert!(panel.contains("阿克陶县人民医院影像科") && panel.contains(&format!(">{tat}<")), "{panel}");
}
both!(imaging_story);
