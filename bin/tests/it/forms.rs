//! Create, edit and delete through the web forms, for the record types beyond projects and
//! activities: as the demo's front command, and as a reporter kept to its own subtree.

use crate::http::{signed_in, urlencode, Browser, Response};
use crate::support::{serve_demo, Backend, TestDb};

/// Post a form with the page's CSRF token; `fields` as (name, value).
fn submit(b: &mut Browser, csrf: &str, path: &str, fields: &[(&str, &str)]) -> Response {
    let mut all = vec![("csrf", csrf)];
    all.extend_from_slice(fields);
    b.post(path, &all)
}

/// The record's URL a successful save redirects to.
fn saved(r: &Response, slug: &str) -> String {
    assert_eq!(r.status, 303, "{}", r.body);
    let loc = r.header("location").expect("a redirect").to_string();
    assert!(loc.starts_with(&format!("/records/{slug}/")), "{loc}");
    loc
}

fn org_id(b: &mut Browser, name: &str) -> String {
    b.get(&format!("/records/organizations?q={}", urlencode(name))).first_id("/records/organizations/")
}

/// Create, edit (checking the history shows the change) and delete one record.
fn round_trip(
    b: &mut Browser,
    csrf: &str,
    slug: &str,
    create: &[(&str, &str)],
    edit: &[(&str, &str)],
    shows: (&str, &str),
) {
    let form = b.get(&format!("/records/{slug}/new"));
    assert_eq!(form.status, 200, "{slug}: {}", form.body);
    let loc = saved(&submit(b, csrf, &format!("/records/{slug}/new"), create), slug);
    assert!(b.get(&loc).body.contains(shows.0), "{slug} shows {}", shows.0);
    let page = b.get(&format!("{loc}/edit"));
    assert!(page.status == 200 && page.body.contains(shows.0), "{slug}: the edit form holds the values");
    saved(&submit(b, csrf, &format!("{loc}/edit"), edit), slug);
    let detail = b.get(&loc);
    assert!(detail.body.contains(&format!("<ins>{}", shows.1)), "{slug}: the history shows {}", shows.1);
    let r = submit(b, csrf, &format!("{loc}/delete"), &[]);
    assert_eq!(r.status, 303, "{slug}: {}", r.body);
    assert_eq!(b.get(&loc).status, 404, "{slug} is gone");
}

/// Every byte of the SQLite database (the file and its write-ahead log).
fn database_bytes(db: &TestDb) -> Vec<u8> {
    let mut all = Vec::new();
    for f in ["test.db", "test.db-wal", "test.db-journal"] {
        if let Ok(b) = std::fs::read(db.dir.path().join(f)) {
            all.extend(b);
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn every_record_type_is_created_edited_and_deleted_through_forms() {
    let db = TestDb::new(Backend::Sqlite).await;
    let (_server, port, accounts) = serve_demo(&db);
    let mut b = signed_in(port, &accounts, "demo.manager", "Akto#Pamir2025");
    let csrf = b.get("/records").hidden("csrf");
    let hosp = org_id(&mut b, "阿克陶县人民医院");

    // Every record type has its forms: a new one, and an edit of an existing record.
    for t in domain::catalog::RECORD_TYPES {
        let page = b.get(&format!("/records/{}/new", t.slug));
        assert_eq!(page.status, 200, "{}: {}", t.slug, page.body);
        let list = b.get(&format!("/records/{}", t.slug));
        if list.total() > 0 {
            let id = list.first_id(&format!("/records/{}/", t.slug));
            let want = if domain::forms::changeable(t.table) { 200 } else { 403 };
            assert_eq!(b.get(&format!("/records/{}/{id}/edit", t.slug)).status, want, "{}", t.slug);
        }
    }
    // The new types are offered for creation in their lists.
    for slug in ["organizations", "people", "indicator-values", "donations", "activity-types", "batches"] {
        let list = b.get(&format!("/records/{slug}"));
        assert!(list.body.contains(&format!("href=\"/records/{slug}/new\"")), "{slug} offers 新建");
    }

    // An organization under another.
    let loc = saved(
        &submit(
            &mut b,
            &csrf,
            "/records/organizations/new",
            &[
                ("code", "AKT-HOSP-WEB"),
                ("name", "网页新建科室"),
                ("side", "recipient"),
                ("kind", "department"),
                ("parent_id", &hosp),
                ("region_code", "653022100"),
                ("credit_code", ""),
            ],
        ),
        "organizations",
    );
    let page = b.get(&loc);
    assert!(
        page.body.contains("网页新建科室") && page.body.contains(&format!("href=\"/records/organizations/{hosp}\""))
    );
    let bad = submit(
        &mut b,
        &csrf,
        &format!("{loc}/edit"),
        &[
            ("code", "AKT-HOSP-WEB"),
            ("name", "网页新建科室"),
            ("side", "recipient"),
            ("kind", "department"),
            ("region_code", "653022100"),
            ("credit_code", "91110000600037341N"),
        ],
    );
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("GB 32100 统一社会信用代码") && bad.body.contains("校验码错误"), "the rule is named");
    saved(
        &submit(
            &mut b,
            &csrf,
            &format!("{loc}/edit"),
            &[
                ("code", "AKT-HOSP-WEB"),
                ("name", "网页改名科室"),
                ("side", "recipient"),
                ("kind", "department"),
                ("parent_id", &hosp),
                ("region_code", "653022100"),
            ],
        ),
        "organizations",
    );
    assert!(b.get(&loc).body.contains("<del>网页新建科室</del>"));
    let dept = loc.rsplit('/').next().unwrap().to_string();

    // A person with an identity number and phone: validated, stored encrypted, shown masked.
    let id_number = domain::people::IdNumber::synthesize("653022", "19900101", 417).unwrap();
    let clear = id_number.expose().to_string();
    let masked = id_number.masked();
    let wrong_check = format!("{}{}", &clear[..17], if clear.ends_with('0') { '1' } else { '0' });
    let person = |id: &str, phone: &str, post: &str| {
        vec![
            ("name".to_string(), "古丽米拉".to_string()),
            ("kind".into(), "aid".into()),
            ("gender".into(), "女".into()),
            ("category".into(), "professional".into()),
            ("line".into(), "medical".into()),
            ("post".into(), post.into()),
            ("host_org_id".into(), dept.clone()),
            ("start_date".into(), "2024-03-01".into()),
            ("id_number".into(), id.into()),
            ("phone".into(), phone.into()),
        ]
    };
    let post_person = |b: &mut Browser, path: &str, v: Vec<(String, String)>| {
        let refs: Vec<(&str, &str)> = v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        submit(b, &csrf, path, &refs)
    };
    let refused = post_person(&mut b, "/records/people/new", person(&wrong_check, "12345", "护士"));
    assert_eq!(refused.status, 422);
    let body = &refused.body;
    assert!(
        body.contains("身份证号") && body.contains("校验码错误") && body.contains("GB 11643 公民身份号码"),
        "{body}"
    );
    assert!(body.contains("不是有效的电话号码"), "every bad field is named");
    let at = body.find("span class=\"label\">身份证号").expect("the field");
    // The field's own block (up to the next field's label) carries the message.
    let end = body[at + 1..].find("span class=\"label\">").map_or(body.len(), |n| at + 1 + n);
    let here = &body[at..end];
    assert!(here.contains("class=\"error\"") && here.contains("校验码错误"), "next to its field: {here}");
    assert!(!body.contains(&wrong_check), "an identifier is never echoed into the page");
    let loc = saved(&post_person(&mut b, "/records/people/new", person(&clear, "13800131234", "护士")), "people");
    let page = b.get(&loc);
    assert!(page.body.contains(&masked) && page.body.contains("138****1234"), "masked on the detail page");
    assert!(!page.body.contains(&clear));
    let edit = b.get(&format!("{loc}/edit"));
    assert!(edit.body.contains(&masked) && !edit.body.contains(&clear), "the edit form shows the mask only");
    assert!(!edit.body.contains("13800131234"));
    saved(&post_person(&mut b, &format!("{loc}/edit"), person("", "", "护士长")), "people");
    let page = b.get(&loc);
    assert!(page.body.contains("<del>护士</del>"), "the edit was saved");
    assert!(page.body.contains(&masked) && page.body.contains("138****1234"), "blank identifiers were kept");
    let bytes = database_bytes(&db);
    assert!(!bytes.is_empty());
    assert!(!contains(&bytes, &clear) && !contains(&bytes, "13800131234"), "no clear identifier in the database file");
    let csrf_reveal = page.hidden("csrf");
    let shown = b.post(&format!("{loc}/reveal"), &[("csrf", &csrf_reveal)]);
    assert!(shown.body.contains(&clear), "the identifier is still the one entered");

    // A department with a person cannot be deleted; the page says what depends on it.
    let r = submit(&mut b, &csrf, &format!("/records/organizations/{dept}/delete"), &[]);
    assert_eq!(r.status, 409);
    assert!(r.body.contains("不能删除") && r.body.contains("人员 1 条"), "{}", r.body);
    let r = submit(&mut b, &csrf, &format!("/records/organizations/{hosp}/delete"), &[]);
    assert_eq!(r.status, 409);
    assert!(r.body.contains("人员") && r.body.contains("单位（上级单位）"), "{}", r.body);
    assert_eq!(submit(&mut b, &csrf, &format!("{loc}/delete"), &[]).status, 303);
    assert_eq!(submit(&mut b, &csrf, &format!("/records/organizations/{dept}/delete"), &[]).status, 303);

    // An indicator (configuration), a value of it, a donation, an activity type.
    let ind =
        &[("code", "web_beds"), ("name", "网页床位数"), ("unit", "张"), ("combine", "sum"), ("higher_is_better", "1")];
    let def = saved(&submit(&mut b, &csrf, "/records/indicators/new", ind), "indicators");
    round_trip(
        &mut b,
        &csrf,
        "indicator-values",
        &[("indicator_code", "web_beds"), ("org_id", &hosp), ("period", "2024-Q2"), ("value", "120")],
        &[("indicator_code", "web_beds"), ("org_id", &hosp), ("period", "2024-Q2"), ("value", "135")],
        ("2024-Q2", "135"),
    );
    let bad = submit(
        &mut b,
        &csrf,
        "/records/indicator-values/new",
        &[("indicator_code", "web_beds"), ("org_id", &hosp), ("period", "2024-Q5"), ("value", "1")],
    );
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("年 YYYY、季 YYYY-Qn 或月 YYYY-MM"), "the period rule is named");
    assert_eq!(submit(&mut b, &csrf, &format!("{def}/delete"), &[]).status, 303);
    let donor = org_id(&mut b, "江西省人民政府");
    round_trip(
        &mut b,
        &csrf,
        "donations",
        &[
            ("description", "网页捐赠医疗设备"),
            ("kind", "in_kind"),
            ("donor_org_id", &donor),
            ("recipient_org_id", &hosp),
            ("value_fen", "12.5"),
            ("date", "2024-06-01"),
        ],
        &[
            ("description", "网页捐赠医疗设备"),
            ("kind", "in_kind"),
            ("donor_org_id", &donor),
            ("recipient_org_id", &hosp),
            ("value_fen", "130000"),
            ("value_fen__unit", "yuan"),
            ("date", "2024-06-01"),
        ],
        ("网页捐赠医疗设备", "13000000"),
    );
    round_trip(
        &mut b,
        &csrf,
        "activity-types",
        &[("code", "web_sports_day"), ("name", "网页运动会")],
        &[("code", "web_sports_day"), ("name", "民族团结运动会")],
        ("网页运动会", "民族团结运动会"),
    );
    let bad = submit(&mut b, &csrf, "/records/activity-types/new", &[("code", "Sports Day"), ("name", "x")]);
    assert!(bad.status == 422 && bad.body.contains("小写字母开头"), "the code rule is named");
    // Built-in types stay; a project's status history only grows.
    let builtin = b.get("/records/activity-types?q=free_clinic").first_id("/records/activity-types/");
    let page = b.get(&format!("/records/activity-types/{builtin}"));
    assert!(!page.body.contains("/edit\""), "a built-in type offers no edit");
    let r = submit(&mut b, &csrf, &format!("/records/activity-types/{builtin}/delete"), &[]);
    assert!(r.status == 409 && r.body.contains("系统内置"), "{}", r.body);
    let ev = b.get("/records/project-status").first_id("/records/project-status/");
    let r = b.get(&format!("/records/project-status/{ev}/edit"));
    assert!(r.status == 403 && r.body.contains("项目状态记录是项目的历史"), "{}", r.body);
    assert_eq!(b.get("/records/project-status/new").status, 200, "new steps are added through the form");

    // A reporter of the county hospital: no program configuration, nothing outside its subtree.
    let mut r = signed_in(port, &accounts, "demo.reporter", "Rep#Akto2025");
    let rcsrf = r.get("/records").hidden("csrf");
    let list = r.get("/records/activity-types");
    assert!(!list.body.contains("href=\"/records/activity-types/new\""), "not offered");
    let refused =
        submit(&mut r, &rcsrf, "/records/activity-types/new", &[("code", "rep_type"), ("name", "填报员类型")]);
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("项目配置") && refused.body.contains("项目管理"), "{}", refused.body);
    assert!(!b.get("/records/activity-types").body.contains("rep_type"));
    let school = org_id(&mut b, "克州第三中学");
    let outside = &[
        ("code", "REP-ORG"),
        ("name", "填报员单位"),
        ("side", "recipient"),
        ("kind", "school"),
        ("parent_id", &school),
        ("region_code", "653001"),
    ];
    let refused = submit(&mut r, &rcsrf, "/records/organizations/new", outside);
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("填报员只能填报本单位及下级单位的记录"), "{}", refused.body);
    let inside = &[
        ("code", "REP-ORG"),
        ("name", "填报员新建科室"),
        ("side", "recipient"),
        ("kind", "department"),
        ("parent_id", &hosp),
        ("region_code", "653022100"),
    ];
    saved(&submit(&mut r, &rcsrf, "/records/organizations/new", inside), "organizations");
}
