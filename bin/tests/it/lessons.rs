//! Two-site classes on SQLite and PostgreSQL, their first part: classrooms, class groups with
//! rosters and each school's term set up; a weekly 专递课堂 between a Jiangxi school and an Akto
//! school scheduled across both calendars; conflicts of the teacher, a classroom or a class group
//! refused naming what they meet; a lesson on a holiday, a receiving classroom of a school outside
//! the pairing, a stranger's try, each refused naming the field, writing nothing.

use crate::both;
use crate::support::TestDb;
use domain::audit::Actor;
use domain::ids::{OrgId, ProgramId};
use domain::lessons::{NewLesson, NewTerm};
use domain::orgs::{NewOrg, Side};
use domain::pairings::NewPairing;
use domain::people::NewPerson;
use domain::program::NewProgram;
use domain::regions::RegionCode;
use domain::users::Role;
use domain::Date;
use store::{Store, StoreError};

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

fn term(start: &str, end: &str, off: &[&str], makeup: &[(&str, u32)]) -> NewTerm {
    NewTerm {
        name: "2026 年春季学期".into(),
        start: start.into(),
        end: end.into(),
        days_off: off.iter().map(|d| (d.to_string(), "放假".to_string())).collect(),
        makeup: makeup.iter().map(|(d, w)| (d.to_string(), *w)).collect(),
    }
}

/// Rows of a table, counted directly.
async fn count(db: &TestDb, table: &str) -> i64 {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let n: i64 =
        sqlx::query(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&mut c).await.unwrap().try_get(0).unwrap();
    c.close().await.unwrap();
    n
}

/// Everything a refused scheduling could have written.
async fn counts(db: &TestDb) -> Vec<i64> {
    let mut v = Vec::new();
    for t in [
        "lessons",
        "lesson_sites",
        "lesson_occurrences",
        "classrooms",
        "class_groups",
        "class_group_members",
        "terms",
        "term_days",
        "audit_log",
    ] {
        v.push(count(db, t).await);
    }
    v
}

async fn scheduling_two_site_lessons(db: &TestDb) {
    let store = db.store().await;
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
    let org = |code: &str, name: &str, side, region: &str| NewOrg {
        code: code.into(),
        name: name.into(),
        side,
        kind: "school",
        parent_id: None,
        region: RegionCode::parse(region).unwrap(),
        credit_code: None,
    };
    let jx = tx.insert_org(&org("JX-S1", "南昌市第二中学", Side::Donor, "360100")).await.unwrap();
    let akto = tx.insert_org(&org("AKT-S1", "阿克陶县第一中学", Side::Recipient, "653022")).await.unwrap();
    let other = tx.insert_org(&org("AKT-S2", "阿克陶县第二中学", Side::Recipient, "653022")).await.unwrap();
    let pairing = tx
        .insert(&NewPairing {
            program_id: program,
            type_code: "school_school".into(),
            a_org_id: Some(jx),
            b_org_id: Some(akto),
            a_person_id: None,
            b_person_id: None,
            start_date: Date::parse("2024-09-01").unwrap(),
            end_date: None,
            note: None,
        })
        .await
        .unwrap();
    let teacher = |name: &str, home: OrgId| NewPerson {
        program_id: program,
        kind: "aid",
        name: name.into(),
        gender: Some("女"),
        batch_id: None,
        category: Some("professional"),
        line: Some("education"),
        title: None,
        post: Some("语文教师".into()),
        home_org_id: Some(home),
        host_org_id: Some(akto),
        start_date: None,
        end_date: None,
        id_number: None,
        phone: None,
    };
    let t1 = tx.insert(&teacher("王丽华", jx)).await.unwrap().get();
    let t2 = tx.insert(&teacher("古丽娜", akto)).await.unwrap().get();
    let mut actors = Vec::new();
    for (name, role, code, oid) in [
        ("manager", Role::Manager, Some("JX-S1"), Some(jx)),
        ("jx", Role::Reporter, Some("JX-S1"), Some(jx)),
        ("stranger", Role::Reporter, Some("AKT-S2"), Some(other)),
    ] {
        let id = tx.add_user(&format!("u.{name}"), role, code, "Akto#Pamir2025").await.unwrap();
        actors.push((name, Actor { user_id: Some(id), name: format!("u.{name}"), role, org_id: oid, source: None }));
    }
    tx.commit().await.unwrap();
    let who = |n: &str| actors.iter().find(|(k, _)| *k == n).map(|(_, a)| a.clone()).unwrap();
    let (manager, jx_user, stranger) = (who("manager"), who("jx"), who("stranger"));
    let (program, pairing) = (program.get(), pairing.get());

    // Set up: classrooms, class groups with rosters, the two schools' terms.
    let roster = |prefix: &str| -> Vec<(String, String)> {
        (1..=3).map(|i| (format!("{prefix}{i:02}"), ["阿依古丽", "买买提", "热依拉"][i - 1].to_string())).collect()
    };
    let (main_room, jx_group) = write(&store, &jx_user, async |tx| {
        let room = tx.add_classroom(jx.get(), "录播教室一", "主讲教室", "录播主机、双屏").await?;
        let group = tx.add_class_group(jx.get(), "七年级（3）班", "七年级", &roster("JX")).await?;
        Ok((room, group))
    })
    .await
    .unwrap();
    let e = write(&store, &stranger, async |tx| tx.add_classroom(jx.get(), "别校教室", "main", "").await)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)), "{e}");
    let (akto_room, akto_group, other_room) = write(&store, &manager, async |tx| {
        let room = tx.add_classroom(akto.get(), "远程接收教室", "receiving", "大屏、全向麦").await?;
        let group = tx.add_class_group(akto.get(), "七年级（1）班", "七年级", &roster("AK")).await?;
        let other_room = tx.add_classroom(other.get(), "接收教室", "receiving", "").await?;
        Ok((room, group, other_room))
    })
    .await
    .unwrap();
    let mut twice = roster("AK");
    twice.push(("AK01".into(), "重复".into()));
    let e = write(&store, &manager, async |tx| tx.add_class_group(akto.get(), "七年级（2）班", "", &twice).await)
        .await
        .unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "members[3]"), "{e}");
    // 清明 2026-04-06 off in Jiangxi; Akto off on 2026-03-16, and 2026-04-12 (a Sunday) a make-up Monday.
    write(&store, &manager, async |tx| {
        tx.add_term(jx.get(), &term("2026-03-02", "2026-07-10", &["2026-04-06"], &[("2026-04-12", 1)])).await?;
        tx.add_term(akto.get(), &term("2026-03-02", "2026-07-10", &["2026-03-16"], &[("2026-04-12", 1)])).await?;
        tx.add_term(other.get(), &term("2026-03-02", "2026-07-10", &[], &[])).await
    })
    .await
    .unwrap();
    let e = write(&store, &manager, async |tx| {
        tx.add_term(akto.get(), &NewTerm { name: "重叠".into(), ..term("2026-06-01", "2026-08-01", &[], &[]) }).await
    })
    .await
    .unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "start"), "terms do not overlap: {e}");

    // A weekly 专递课堂 on Mondays at 10:00, 45 minutes, from Jiangxi to Akto under the pairing.
    let lesson = |first: &str, last: &str| NewLesson {
        kind: "专递课堂".into(),
        course: "七年级语文·古诗词".into(),
        subject: "语文".into(),
        teacher_person_id: Some(t1),
        main_classroom_id: Some(main_room),
        main_group_id: Some(jx_group),
        receiving: vec![(akto_room, Some(akto_group))],
        pairing_id: Some(pairing),
        start_time: "10:00".into(),
        minutes: 45,
        first: first.into(),
        last: last.into(),
    };
    let weekly = lesson("2026-03-02", "2026-04-27");
    let id = write(&store, &jx_user, async |tx| tx.schedule_lesson(program, &weekly).await).await.unwrap();
    let days: Vec<String> = store.lesson_occurrences(id).await.unwrap().into_iter().map(|o| o.day).collect();
    // Not 03-16 (Akto off) nor 04-06 (Jiangxi off); the make-up Sunday 04-12 follows Monday.
    assert_eq!(
        days,
        [
            "2026-03-02",
            "2026-03-09",
            "2026-03-23",
            "2026-03-30",
            "2026-04-12",
            "2026-04-13",
            "2026-04-20",
            "2026-04-27"
        ]
    );
    let first = &store.lesson_occurrences(id).await.unwrap()[0];
    assert_eq!(
        (first.starts_at.as_str(), first.ends_at.as_str()),
        ("2026-03-02T02:00:00.000Z", "2026-03-02T02:45:00.000Z")
    );

    // Refusals, each naming its field, none writing anything.
    let before = counts(db).await;
    let refused = async |who: &Actor, l: NewLesson| {
        write(&store, who, async |tx| tx.schedule_lesson(program, &l).await).await.unwrap_err()
    };
    // The same teacher at the same time, elsewhere.
    let mut clash = lesson("2026-03-09", "2026-03-09");
    clash.main_group_id = None;
    clash.receiving = vec![(other_room, None)];
    clash.pairing_id = None;
    clash.start_time = "10:30".into();
    let e = refused(&manager, clash.clone()).await;
    assert!(
        matches!(&e, StoreError::Invalid(i) if i.0[0].field == "first" && i.0[0].message.contains("同一主讲教师") && i.0[0].message.contains("古诗词")),
        "{e}"
    );
    // Another teacher in the receiving classroom at that time.
    let other_teacher = NewLesson {
        teacher_person_id: Some(t2),
        main_classroom_id: Some(main_room),
        main_group_id: None,
        receiving: vec![(akto_room, None)],
        ..clash.clone()
    };
    let e = refused(&manager, other_teacher).await;
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].message.contains("同一教室")), "{e}");
    // Once, on Jiangxi's holiday.
    let e = refused(&manager, lesson("2026-04-06", "2026-04-06")).await;
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "first"), "{e}");
    // A receiving classroom of a school outside the pairing.
    let mut outside = lesson("2026-03-03", "2026-03-03");
    outside.receiving = vec![(akto_room, Some(akto_group)), (other_room, None)];
    let e = refused(&manager, outside).await;
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "receiving[1]"), "{e}");
    // A class group of another school in a classroom; a main classroom that only receives.
    let mut wrong_group = lesson("2026-03-03", "2026-03-03");
    wrong_group.receiving = vec![(akto_room, Some(jx_group))];
    let e = refused(&manager, wrong_group).await;
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "receiving[0]"), "{e}");
    let mut receiving_main = lesson("2026-03-03", "2026-03-03");
    receiving_main.main_classroom_id = Some(akto_room);
    receiving_main.receiving = vec![(main_room, None)];
    let e = refused(&manager, receiving_main).await;
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "main_classroom_id"), "{e}");
    // Somebody of another school.
    let e = refused(&stranger, lesson("2026-03-03", "2026-03-03")).await;
    assert!(matches!(e, StoreError::Forbidden(_)), "{e}");
    assert_eq!(counts(db).await, before, "nothing half-written");

    // Tuesdays at the same hour: no conflict.
    let tuesdays = lesson("2026-03-03", "2026-03-31");
    let id2 = write(&store, &jx_user, async |tx| tx.schedule_lesson(program, &tuesdays).await).await.unwrap();
    assert_eq!(store.lesson_occurrences(id2).await.unwrap().len(), 5);
    assert_eq!(count(db, "lessons").await, 2);

    // The same through the JSON API, as the main school's user.
    store.close().await;
    let (_server, port) = crate::support::serve(db);
    let mut b = crate::http::Browser::new(port);
    assert_eq!(b.login("u.jx", "Akto#Pamir2025").status, 303);
    let csrf = b.get("/password").hidden("csrf");
    let new = "Kizilsu#2026new";
    let r = b.post(
        "/password",
        &[("csrf", &csrf), ("old_password", "Akto#Pamir2025"), ("new_password", new), ("confirm", new)],
    );
    assert_eq!(r.status, 303);
    let csrf = b.get("/").hidden("csrf");
    let mut api = |method: &str, path: &str, body: &str| {
        let r = b.send(method, path, &[("X-CSRF-Token", &csrf)], Some(("application/json", body))).unwrap();
        (r.status, r.body)
    };
    let room = api(
        "POST",
        "/api/v1/classrooms",
        &format!(r#"{{"org_id": {}, "name": "录播教室二", "role": "main"}}"#, jx.get()),
    );
    assert_eq!(room.0, 201, "{}", room.1);
    let (status, body) = api(
        "POST",
        "/api/v1/terms",
        &format!(
            r#"{{"org_id": {}, "name": "2026 年秋季学期", "start": "2026-09-01", "end": "2027-01-20",
        "days_off": [{{"day": "2026-10-01", "note": "国庆"}}], "makeup": [{{"day": "2026-09-27", "weekday": 3}}]}}"#,
            jx.get()
        ),
    );
    assert_eq!(status, 201, "{body}");
    let wednesday = format!(
        r#"{{"kind": "专递课堂", "course": "七年级语文·散文", "subject": "语文", "teacher_person_id": {t1}, "main_classroom_id": {main_room},
            "main_group_id": {jx_group}, "receiving": [{{"classroom_id": {akto_room}, "group_id": {akto_group}}}], "pairing_id": {pairing},
            "start_time": "10:00", "minutes": 45, "first": "2026-03-04", "last": "2026-03-25"}}"#
    );
    let (status, body) = api("POST", "/api/v1/lessons", &wednesday);
    assert_eq!(status, 201, "{body}");
    let made: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (made["occurrences"].as_i64(), made["receiving"][0]["school"].as_str()),
        (Some(4), Some("阿克陶县第一中学"))
    );
    let (status, body) = api("POST", "/api/v1/lessons", &wednesday.replace("散文", "诗歌"));
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("同一主讲教师") && body.contains("散文"), "the conflict named: {body}");
    let (status, body) = api("POST", "/api/v1/lessons", &wednesday.replace("\"subject\"", "\"topic\""));
    assert_eq!(status, 400, "{body}");
    let (status, body) = api("POST", "/api/v1/lessons", "[]");
    assert_eq!(status, 400, "{body}");
    let (status, body) = api("GET", "/api/v1/lessons", "");
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["total"], 3);
    let (status, body) = api("GET", &format!("/api/v1/lessons/{}", made["id"]), "");
    assert_eq!(status, 200);
    let one: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(one["schedule"].as_array().map(Vec::len), Some(4));
    assert_eq!(api("GET", "/api/v1/lessons/999999", "").0, 404);
    let (status, body) = api(
        "POST",
        "/api/v1/classrooms",
        &format!(r#"{{"org_id": {}, "name": "别校教室", "role": "main"}}"#, other.get()),
    );
    assert_eq!(status, 403, "another school's classroom: {body}");
    // The pages: the list and a lesson with each time it is given, in Beijing time.
    let list = b.get("/lessons");
    assert_eq!(list.status, 200);
    assert_eq!(list.total(), 3);
    assert!(
        list.body.contains("七年级语文·散文")
            && list.body.contains("每周三 10:00")
            && list.body.contains("阿克陶县第一中学 · 远程接收教室"),
        "{}",
        list.body
    );
    let page = b.get(&format!("/lessons/{}", made["id"]));
    assert_eq!(page.status, 200);
    assert_eq!(page.all_between("<tr><td>2026-03-", "</td>").len(), 4, "{}", page.body);
    assert!(page.body.contains("2026-03-04 10:00"), "{}", page.body);
    assert_eq!(b.get("/lessons/999999").status, 404);
}
both!(scheduling_two_site_lessons);
