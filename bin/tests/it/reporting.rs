//! The reporting cycle on SQLite and PostgreSQL: every review step tried by every standing in
//! every state (allowed or refused, as a table written out here, not derived from the code),
//! each allowed step audited once and each refused one writing nothing; the author's lock; the
//! figures counting approved records only unless the definition says otherwise, the rollup
//! equal to a recount; the period lock and its reopening; the completeness board's rates.

use crate::both;
use crate::support::TestDb;
use domain::activities::NewActivity;
use domain::audit::Actor;
use domain::figures::{FigureDef, Measure, Spec};
use domain::ids::{ActivityId, OrgId, ProgramId};
use domain::orgs::{NewOrg, Side};
use domain::program::NewProgram;
use domain::regions::RegionCode;
use domain::reporting::{Action, Completeness, Counted, Frequency, NewPeriod, State};
use domain::users::Role;
use domain::Date;
use services::figures::Engine;
use store::{Store, StoreError};

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

struct World {
    program: ProgramId,
    township: OrgId,
    /// (name, actor) for: the township's reporter (the author), the county's reviewer, the front
    /// command's manager, the province's manager, another township's reporter, a viewer.
    actors: Vec<(&'static str, Actor)>,
}

async fn world(store: &Store) -> World {
    let sys = Actor::system();
    let mut tx = store.write(&sys).await.unwrap();
    let program = tx
        .insert(&NewProgram {
            code: "P1".into(),
            name: "测试援疆工作".into(),
            donor_region: RegionCode::parse("360000").unwrap(),
            recipient_region: RegionCode::parse("653000").unwrap(),
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
        region: RegionCode::parse(region).unwrap(),
        credit_code: None,
    };
    let province = tx.insert_org(&org("PROV", Side::Donor, None, "360000")).await.unwrap();
    let command = tx.insert_org(&org("CMD", Side::Donor, Some(province), "653022")).await.unwrap();
    let county = tx.insert_org(&org("CTY", Side::Recipient, None, "653022")).await.unwrap();
    let township = tx.insert_org(&org("TWN", Side::Recipient, Some(county), "653022")).await.unwrap();
    let _other = tx.insert_org(&org("TWN2", Side::Recipient, Some(county), "653022")).await.unwrap();
    tx.set_review_chain(
        program.get(),
        &[
            ("县级".into(), vec![county.get()]),
            ("前方指挥部".into(), vec![command.get()]),
            ("省级".into(), vec![province.get()]),
        ],
    )
    .await
    .unwrap();
    tx.set_schedule(program.get(), "activities", Frequency::Monthly, 5).await.unwrap();
    let mut actors = Vec::new();
    for (name, role, org, oid) in [
        ("author", Role::Reporter, Some("TWN"), Some(township)),
        ("county", Role::Reporter, Some("CTY"), Some(county)),
        ("command", Role::Manager, Some("CMD"), Some(command)),
        ("province", Role::Manager, Some("PROV"), Some(province)),
        ("other", Role::Reporter, Some("TWN2"), None),
        ("viewer", Role::Viewer, None, None),
    ] {
        let id = tx.add_user(&format!("u.{name}"), role, org, "Akto#Pamir2025").await.unwrap();
        let oid = match (name, oid) {
            ("other", _) => tx.org_ids(&["TWN2"]).await.unwrap().first().map(|i| OrgId::issued(*i)),
            (_, o) => o,
        };
        actors.push((name, Actor { user_id: Some(id), name: format!("u.{name}"), role, org_id: oid, source: None }));
    }
    tx.commit().await.unwrap();
    World { program, township, actors }
}

impl World {
    fn actor(&self, name: &str) -> &Actor {
        &self.actors.iter().find(|(n, _)| *n == name).unwrap().1
    }
    fn activity(&self, date: &str, beneficiaries: i64) -> NewActivity {
        NewActivity {
            program_id: self.program,
            type_code: "free_clinic".into(),
            brand_code: None,
            line: "medical",
            title: "义诊（报送测试）".into(),
            date: d(date),
            end_date: None,
            region: RegionCode::parse("653022").unwrap(),
            organizer_org_id: Some(self.township),
            project_id: None,
            pairing_id: None,
            participants: 3,
            beneficiaries,
        }
    }
}

async fn step(store: &Store, who: &Actor, id: i64, action: Action, reason: Option<&str>) -> Result<(), StoreError> {
    let mut tx = store.write(who).await?;
    tx.review(id, action, reason).await?;
    tx.commit().await
}

/// The states to try, each with the path that reaches it from a new draft.
type Path = &'static [(&'static str, Action)];
const PATHS: &[(State, u32, Path)] = &[
    (State::Draft, 0, &[]),
    (State::Submitted, 1, &[("author", Action::Submit)]),
    (State::InReview, 1, &[("author", Action::Submit), ("county", Action::Start)]),
    (State::Returned, 0, &[("author", Action::Submit), ("county", Action::Return)]),
    (State::Approved, 1, &[("author", Action::Submit), ("county", Action::Approve)]),
    (
        State::Consolidated,
        2,
        &[("author", Action::Submit), ("county", Action::Approve), ("command", Action::Consolidate)],
    ),
    (
        State::Consolidated,
        3,
        &[
            ("author", Action::Submit),
            ("county", Action::Approve),
            ("command", Action::Consolidate),
            ("province", Action::Consolidate),
        ],
    ),
];

/// What is allowed, written out: (state, level, who, action) → the state and level after.
fn allowed(state: State, level: u32, who: &str, action: Action) -> Option<(State, u32)> {
    use Action::*;
    use State::*;
    match (state, level, who, action) {
        (Draft, _, "author", Submit) | (Returned, _, "author", Submit) => Some((Submitted, 1)),
        (Submitted, 1, "county", Start) => Some((InReview, 1)),
        (Submitted | InReview, 1, "county", Approve) => Some((Approved, 1)),
        (Submitted | InReview, 1, "county", Return) => Some((Returned, 0)),
        (Approved, 1, "command", Consolidate) => Some((Consolidated, 2)),
        (Approved, 1, "command", Return) => Some((Returned, 0)),
        (Consolidated, 2, "province", Consolidate) => Some((Consolidated, 3)),
        (Consolidated, 2, "province", Return) => Some((Returned, 0)),
        _ => None,
    }
}

async fn position(store: &Store, id: i64) -> (State, u32) {
    let (p, _, _, _) = store.review_standing(&Actor::system(), id).await.unwrap();
    (p.state, p.level)
}

async fn every_transition_by_standing_and_state(db: &TestDb) {
    let store = db.store().await;
    let w = world(&store).await;
    let actions = [Action::Submit, Action::Start, Action::Return, Action::Approve, Action::Consolidate];
    let (mut allowed_n, mut refused_n) = (0, 0);
    for (state, level, path) in PATHS {
        for (who, actor) in &w.actors {
            for action in actions {
                let id: ActivityId = store.insert(w.actor("author"), &w.activity("2026-11-10", 10)).await.unwrap();
                let id = id.get();
                for (by, a) in *path {
                    step(&store, w.actor(by), id, *a, Some("人数有误")).await.unwrap();
                }
                assert_eq!(position(&store, id).await, (*state, *level), "the path reaches {state:?}@{level}");
                let audit = store.audit_count().await.unwrap();
                let got = step(&store, actor, id, action, Some("人数有误，请核对")).await;
                let what = format!("{who} {action:?} on {state:?}@{level}");
                match allowed(*state, *level, who, action) {
                    Some(to) => {
                        got.unwrap_or_else(|e| panic!("{what} must be allowed: {e}"));
                        assert_eq!(position(&store, id).await, to, "{what}");
                        // A return also tells the unit's users (the author): one more entry.
                        let notices = if action == Action::Return { 1 } else { 0 };
                        assert_eq!(store.audit_count().await.unwrap(), audit + 1 + notices, "{what} is audited once");
                        let step_entries = store
                            .audit_recent(1 + notices)
                            .await
                            .unwrap()
                            .into_iter()
                            .filter(|e| e.action == format!("review_{}", action.code()))
                            .count();
                        assert_eq!(step_entries, 1, "{what}");
                        allowed_n += 1;
                    }
                    None => {
                        let e = got.expect_err(&format!("{what} must be refused"));
                        assert!(matches!(e, StoreError::Forbidden(_)), "{what}: {e}");
                        assert_eq!(position(&store, id).await, (*state, *level), "{what} changes nothing");
                        assert_eq!(store.audit_count().await.unwrap(), audit, "{what} writes nothing");
                        refused_n += 1;
                    }
                }
            }
        }
    }
    assert_eq!((allowed_n, refused_n), (11, 199));

    // A return needs a reason; the reason is shown to the author, and kept in the log.
    let id = store.insert(w.actor("author"), &w.activity("2026-11-11", 10)).await.unwrap().get();
    step(&store, w.actor("author"), id, Action::Submit, None).await.unwrap();
    let e = step(&store, w.actor("county"), id, Action::Return, Some("  ")).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(i) if i.0[0].field == "reason"), "{e}");
    step(&store, w.actor("county"), id, Action::Return, Some("受益人数与签到表不符")).await.unwrap();
    let returned = store.review_items(w.program.get(), &[State::Returned], None, None, 10).await.unwrap();
    assert_eq!(
        returned.iter().find(|i| i.id == id).and_then(|i| i.reason.clone()).as_deref(),
        Some("受益人数与签到表不符")
    );
}
both!(every_transition_by_standing_and_state);

fn count_def(counted: Counted) -> FigureDef {
    FigureDef {
        key: "t".into(),
        name: "受益人数".into(),
        line: "medical".into(),
        unit: "人".into(),
        decimals: 0,
        description: String::new(),
        spec: Spec::Records {
            source: "activities".into(),
            measure: Measure::Sum("beneficiaries".into()),
            filters: vec![],
            span: None,
            divisor: 1,
            counted,
        },
    }
}

async fn value(store: &Store, counted: Counted) -> String {
    Engine::new(store).evaluate(&count_def(counted)).await.unwrap().display
}

async fn figures_locks_and_completeness(db: &TestDb) {
    let store = db.store().await;
    let w = world(&store).await;
    let author = w.actor("author");
    // A system load (the demo, the generator) is approved; a user's new record is a draft.
    store.insert(&Actor::system(), &w.activity("2026-10-02", 100)).await.unwrap();
    let id = store.insert(author, &w.activity("2026-11-10", 7)).await.unwrap();
    assert_eq!(position(&store, id.get()).await, (State::Draft, 0));
    assert_eq!(
        (value(&store, Counted::Approved).await, value(&store, Counted::Submitted).await),
        ("100".into(), "100".into())
    );

    // The author edits its draft; once reported it is locked for the author, not for review.
    let mut tx = store.write(author).await.unwrap();
    tx.update(id, &w.activity("2026-11-10", 8)).await.unwrap();
    tx.commit().await.unwrap();
    step(&store, author, id.get(), Action::Submit, None).await.unwrap();
    let mut tx = store.write(author).await.unwrap();
    let e = tx.update(id, &w.activity("2026-11-10", 9)).await.unwrap_err();
    assert!(matches!(&e, StoreError::Forbidden(m) if m.contains("已上报")), "{e}");
    drop(tx);
    let mut tx = store.write(author).await.unwrap();
    assert!(matches!(tx.delete(id).await.unwrap_err(), StoreError::Forbidden(_)));
    drop(tx);
    // Reported: counted only by a definition that includes submitted records.
    assert_eq!(
        (value(&store, Counted::Approved).await, value(&store, Counted::Submitted).await),
        ("100".into(), "108".into())
    );
    step(&store, w.actor("county"), id.get(), Action::Approve, None).await.unwrap();
    assert_eq!(value(&store, Counted::Approved).await, "108", "approval moves the figure");
    let board = Engine::new(&store).breakdown(&count_def(Counted::Approved), "month").await.unwrap();
    assert_eq!(board.len(), 2, "{board:?}");
    assert_eq!(store.rollup_differences().await.unwrap(), Vec::<String>::new());
    step(&store, w.actor("command"), id.get(), Action::Return, Some("请补充照片")).await.unwrap();
    assert_eq!(value(&store, Counted::Approved).await, "100", "a return takes it out again");
    assert_eq!(store.rollup_differences().await.unwrap(), Vec::<String>::new());

    // The period: the township reports late (the deadline has passed), the other not at all.
    let sys = Actor::system();
    let mut tx = store.write(w.actor("command")).await.unwrap();
    let p = NewPeriod::parse("activities", Frequency::Monthly, "2026-11", "2026-12-01").unwrap();
    let units = tx.org_ids(&["TWN", "TWN2"]).await.unwrap();
    let period = tx.open_period(w.program.get(), &p, Frequency::Monthly, &units).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.write(author).await.unwrap();
    assert_eq!(tx.submit_period(period, w.township.get()).await.unwrap(), 1, "the returned record goes again");
    tx.commit().await.unwrap();
    let today = d("2026-12-02");
    let board = store.completeness(period, today).await.unwrap();
    let states: Vec<Completeness> = board.iter().map(|a| a.completeness).collect();
    let on = store::reporting::today();
    let expect_first = if on <= d("2026-12-01") { Completeness::OnTime } else { Completeness::Late };
    assert_eq!(states, vec![expect_first, Completeness::Missing]);
    let (reported, _) = domain::reporting::rates(&states);
    assert_eq!(reported, (1, 2));

    // The lock: refused while a record waits, then given by the front command only.
    let mut tx = store.write(w.actor("command")).await.unwrap();
    assert!(matches!(tx.lock_period(period).await.unwrap_err(), StoreError::Conflict(m) if m.contains("未审核")));
    drop(tx);
    step(&store, w.actor("county"), id.get(), Action::Approve, None).await.unwrap();
    let mut tx = store.write(w.actor("county")).await.unwrap();
    assert!(matches!(tx.lock_period(period).await.unwrap_err(), StoreError::Forbidden(_)));
    drop(tx);
    let mut tx = store.write(w.actor("command")).await.unwrap();
    tx.lock_period(period).await.unwrap();
    tx.commit().await.unwrap();
    // Locked: no new record, change or review step in the period, not even by the system.
    let e = store.insert(&sys, &w.activity("2026-11-20", 1)).await.unwrap_err();
    assert!(matches!(&e, StoreError::Conflict(m) if m.contains("锁定")), "{e}");
    assert!(step(&store, w.actor("command"), id.get(), Action::Consolidate, None).await.is_err());
    store.insert(&sys, &w.activity("2026-12-01", 1)).await.unwrap();
    // Reopening: not by the county, not without a reason; by the front command, audited.
    let mut tx = store.write(w.actor("county")).await.unwrap();
    assert!(matches!(tx.reopen_period(period, Some("更正")).await.unwrap_err(), StoreError::Forbidden(_)));
    drop(tx);
    let mut tx = store.write(w.actor("command")).await.unwrap();
    assert!(matches!(tx.reopen_period(period, None).await.unwrap_err(), StoreError::Invalid(_)));
    drop(tx);
    let audit = store.audit_count().await.unwrap();
    let mut tx = store.write(w.actor("command")).await.unwrap();
    tx.reopen_period(period, Some("补录遗漏的义诊")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.audit_count().await.unwrap(), audit + 1);
    step(&store, w.actor("command"), id.get(), Action::Consolidate, None).await.unwrap();
    store.insert(&sys, &w.activity("2026-11-20", 1)).await.unwrap();
    assert_eq!(store.rollup_differences().await.unwrap(), Vec::<String>::new());
    assert_eq!(store.audit_verify().await.unwrap().broken, None);
}
both!(figures_locks_and_completeness);

/// A local SMTP sink: accepts every message and keeps what DATA carried.
async fn smtp_sink() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = got.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let mut r = BufReader::new(sock);
                let _ = r.get_mut().write_all(b"220 sink ESMTP\r\n").await;
                let (mut data, mut body) = (false, String::new());
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        break;
                    }
                    let reply: &[u8] = if data {
                        if line == ".\r\n" {
                            data = false;
                            keep.lock().unwrap().push(std::mem::take(&mut body));
                            b"250 queued\r\n"
                        } else {
                            body.push_str(&line);
                            continue;
                        }
                    } else if line.starts_with("EHLO") {
                        b"250-sink\r\n250 AUTH PLAIN\r\n"
                    } else if line.starts_with("DATA") {
                        data = true;
                        b"354 go on\r\n"
                    } else if line.starts_with("QUIT") {
                        let _ = r.get_mut().write_all(b"221 bye\r\n").await;
                        break;
                    } else if line.starts_with("AUTH") {
                        b"235 ok\r\n"
                    } else if line.starts_with("RCPT") && line.contains("nobody@") {
                        b"550 no such user\r\n"
                    } else {
                        b"250 ok\r\n"
                    };
                    let _ = r.get_mut().write_all(reply).await;
                }
            });
        }
    });
    (port, got)
}

fn days(n: i64) -> Date {
    Date::from_naive(store::reporting::today().naive() + chrono::Duration::days(n))
}

/// Early warnings, follow-up orders and the bell on both backends: each rule lights the project
/// or organization it should and no other, thresholds move the lights and only a manager sets
/// them; an order is opened only by a manager, answered (with evidence) only by its assignee,
/// closed or returned only by a manager, each step audited and the other side notified; the
/// digest is given once a day; the e-mail sender delivers to a local SMTP sink, once.
async fn warnings_orders_and_notices(db: &TestDb) {
    use domain::projects::{NewFunding, NewProject, Schedule};
    use domain::warnings::{NewOrder, OrderAction, Rule, Thresholds};
    use services::warnings::{digest, warnings, Mailer, SmtpSettings};
    use store::followups::Target;
    let store = db.store().await;
    let w = world(&store).await;
    let p = w.program.get();
    let today = store::reporting::today();
    let (author, command, other) = (w.actor("author").clone(), w.actor("command").clone(), w.actor("other").clone());
    let sys = Actor::system();
    let mut tx = store.write(&sys).await.unwrap();
    let project = |code: &str, start: Option<Date>| NewProject {
        program_id: w.program,
        batch_id: None,
        code: code.into(),
        name: format!("项目{code}"),
        sector: "medical",
        region: RegionCode::parse("653022").unwrap(),
        org_id: Some(w.township),
        planned_start: start,
        planned_end: None,
        multi_year: false,
        livelihood: false,
    };
    let red = tx.insert(&project("W-RED", Some(days(-60)))).await.unwrap();
    let amber = tx.insert(&project("W-AMB", Some(days(-5)))).await.unwrap();
    let green = tx.insert(&project("W-OK", Some(days(30)))).await.unwrap();
    let funds = tx.insert(&project("W-FUND", Some(days(30)))).await.unwrap();
    let year = today.year() as i64;
    let line = |p, planned, disbursed| NewFunding {
        project_id: p,
        year,
        source: "province",
        planned: domain::Fen(planned),
        allocated: domain::Fen(planned),
        disbursed: domain::Fen(disbursed),
    };
    tx.insert(&line(funds, 1_000_000, 100_000)).await.unwrap();
    tx.insert(&line(green, 1_000_000, 900_000)).await.unwrap();
    tx.commit().await.unwrap();

    // The thresholds: only a manager sets them; the checkpoint at 01-01 makes funds count today.
    let t = Thresholds { checkpoint_month: 1, checkpoint_day: 1, ..Thresholds::default() };
    let mut tx = store.write(&author).await.unwrap();
    assert!(matches!(tx.set_warning_thresholds(p, &t).await, Err(StoreError::Forbidden(_))));
    drop(tx);
    let mut tx = store.write(&command).await.unwrap();
    tx.set_warning_thresholds(p, &t).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.warning_thresholds(p).await.unwrap(), t);

    let all = warnings(&store, p, &Default::default(), today).await.unwrap();
    let of = |ws: &[services::warnings::Warning], id: domain::ids::ProjectId| -> Vec<(Rule, Schedule)> {
        ws.iter().filter(|x| x.project.as_ref().map(|p| p.id) == Some(id.get())).map(|x| (x.rule, x.light)).collect()
    };
    assert_eq!(of(&all, red), [(Rule::NotStarted, Schedule::Red)]);
    assert_eq!(of(&all, amber), [(Rule::NotStarted, Schedule::Amber)]);
    assert_eq!(of(&all, green), []);
    assert_eq!(of(&all, funds), [(Rule::Disbursement, Schedule::Red)]);
    assert!(all.iter().all(|x| x.rule != Rule::Unreported));
    // Red first.
    assert!(all.windows(2).all(|x| x[0].light <= x[1].light));
    // Another township's scope holds none of them.
    let scope = services::figures::Scope { org: Some("TWN2".into()), ..Default::default() };
    assert!(warnings(&store, p, &scope, today).await.unwrap().is_empty());
    // A longer grace turns the red project amber; the project's own light agrees with the list.
    let lenient = Thresholds { start_grace_days: 100, ..t };
    let mut tx = store.write(&command).await.unwrap();
    tx.set_warning_thresholds(p, &lenient).await.unwrap();
    tx.commit().await.unwrap();
    let (light, _) = services::warnings::project_light(&store, p, red.get(), today).await.unwrap();
    assert_eq!(light, Schedule::Amber);
    let mut tx = store.write(&command).await.unwrap();
    tx.set_warning_thresholds(p, &t).await.unwrap();
    tx.commit().await.unwrap();
    let (light, ws) = services::warnings::project_light(&store, p, red.get(), today).await.unwrap();
    assert_eq!((light, ws.len()), (Schedule::Red, 1));
    let (light, _) = services::warnings::project_light(&store, p, green.get(), today).await.unwrap();
    assert_eq!(light, Schedule::Green);

    // A period past its deadline and not reported lights its organization; opening it told the
    // township's users it was due.
    let author_id = author.user_id.unwrap().get();
    let before = store.unread_count(author_id).await.unwrap();
    let month = days(-70);
    let code = format!("{}-{:02}", month.year(), chrono::Datelike::month(&month.naive()));
    let period = NewPeriod::parse("activities", Frequency::Monthly, &code, &days(-1).to_string()).unwrap();
    let mut tx = store.write(&command).await.unwrap();
    tx.open_period(p, &period, Frequency::Monthly, &[w.township.get()]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.unread_count(author_id).await.unwrap(), before + 1);
    let all = warnings(&store, p, &Default::default(), today).await.unwrap();
    let late: Vec<_> = all.iter().filter(|x| x.rule == Rule::Unreported).collect();
    assert_eq!(late.len(), 1);
    assert_eq!((late[0].light, late[0].org.as_ref().map(|o| o.1.as_str())), (Schedule::Red, Some("TWN")));

    // Follow-up orders.
    let order = NewOrder::parse("W-RED 未按期开工", "十日内开工并报送开工报告", &days(7).to_string(), today).unwrap();
    assert!(NewOrder::parse("x", "y", &days(-1).to_string(), today).is_err());
    let target = Target::Warning { rule: Rule::NotStarted, project: Some(red.get()) };
    let mut tx = store.write(&author).await.unwrap();
    assert!(matches!(tx.open_follow_up(p, &target, w.township.get(), &order).await, Err(StoreError::Forbidden(_))));
    drop(tx);
    let unread = store.unread_count(author_id).await.unwrap();
    let mut tx = store.write(&command).await.unwrap();
    let id = tx.open_follow_up(p, &target, w.township.get(), &order).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.unread_count(author_id).await.unwrap(), unread + 1, "the assignee is told");
    let o = store.follow_up_for(&command, id).await.unwrap();
    assert_eq!((o.state.as_str(), o.rule.as_deref(), o.project_id), ("open", Some("not_started"), Some(red.get())));
    assert_eq!(o.overdue(today), 0);
    assert_eq!(o.overdue(days(10)), 3, "past its due date it is overdue (escalated)");
    // Scoped boards: the township sees it, the other township does not.
    assert_eq!(store.follow_ups(p, Some(w.township.get())).await.unwrap().len(), 1);
    let twn2 = other.org_id.unwrap().get();
    assert!(store.follow_ups(p, Some(twn2)).await.unwrap().is_empty());

    let step = |who: &Actor, action: OrderAction, text: Option<&'static str>| {
        let (store, who) = (&store, who.clone());
        async move {
            let mut tx = store.write(&who).await?;
            match action {
                OrderAction::Answer => {
                    let files =
                        vec![("整改报告.txt".to_string(), "text/plain".to_string(), "已开工。".as_bytes().to_vec())];
                    tx.answer_follow_up(id, text.unwrap_or(""), &files).await?
                }
                a => tx.decide_follow_up(id, a, text).await?,
            }
            tx.commit().await
        }
    };
    let audited = || async {
        store
            .audit_recent(500)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.object_type == "follow_ups" && e.object_id == Some(id) && e.action != "read_denied")
            .count()
    };
    assert_eq!(audited().await, 1);
    // Refused, writing nothing: another township answers; the assignee closes; a manager closes
    // an open order; an empty answer.
    assert!(matches!(step(&other, OrderAction::Answer, Some("x")).await, Err(StoreError::Forbidden(_))));
    assert!(matches!(step(&author, OrderAction::Close, None).await, Err(StoreError::Forbidden(_))));
    assert!(matches!(step(&command, OrderAction::Close, None).await, Err(StoreError::Forbidden(_))));
    assert!(matches!(step(&author, OrderAction::Answer, Some(" ")).await, Err(StoreError::Invalid(_))));
    // A manager never answers, not even an order on its own organization: it opens and closes.
    let own = command.org_id.unwrap().get();
    let mut tx = store.write(&command).await.unwrap();
    let mine = tx.open_follow_up(p, &Target::Org, own, &order).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.write(&command).await.unwrap();
    assert!(matches!(tx.answer_follow_up(mine, "自答", &[]).await, Err(StoreError::Forbidden(_))));
    drop(tx);
    assert!(store.follow_up_files(id).await.unwrap().is_empty());
    assert_eq!(audited().await, 1);
    let opener = command.user_id.unwrap().get();
    let told = store.unread_count(opener).await.unwrap();
    step(&author, OrderAction::Answer, Some("已于本周开工，附开工报告。")).await.unwrap();
    assert_eq!(store.unread_count(opener).await.unwrap(), told + 1, "the opener is told");
    let files = store.follow_up_files(id).await.unwrap();
    assert_eq!(files.len(), 1);
    let (f, bytes) = store.follow_up_file_for(&author, files[0].id).await.unwrap();
    // Outside the assignee's subtree the order and its evidence are not found.
    assert!(matches!(store.follow_up_for(&other, id).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(store.follow_up_file_for(&other, files[0].id).await, Err(StoreError::NotFound { .. })));
    let admin = Actor { role: Role::SysAdmin, ..Actor::system() };
    assert!(matches!(store.follow_up_for(&admin, id).await, Err(StoreError::Forbidden(_))));
    assert_eq!((f.name.as_str(), bytes.as_slice(), f.sm3.len()), ("整改报告.txt", "已开工。".as_bytes(), 64));
    // A return needs a reason; then the assignee answers again and the manager closes it.
    assert!(matches!(step(&command, OrderAction::Return, Some("")).await, Err(StoreError::Invalid(_))));
    step(&command, OrderAction::Return, Some("缺少开工报告盖章件")).await.unwrap();
    let o = store.follow_up_for(&command, id).await.unwrap();
    assert_eq!((o.state.as_str(), o.return_reason.as_deref()), ("returned", Some("缺少开工报告盖章件")));
    step(&author, OrderAction::Answer, Some("已补盖章件。")).await.unwrap();
    step(&command, OrderAction::Close, None).await.unwrap();
    let o = store.follow_up_for(&command, id).await.unwrap();
    assert_eq!(o.state.as_str(), "closed");
    assert_eq!(o.overdue(days(30)), 0, "a closed order is never overdue");
    assert!(step(&author, OrderAction::Answer, Some("再答复")).await.is_err());
    assert_eq!(audited().await, 5, "open, answer, return, answer, close");
    let denied = store.audit_recent(500).await.unwrap().into_iter().filter(|e| e.action == "read_denied").count();
    assert_eq!(denied, 2, "the other township's two tries are audited");

    // The digest: once a day.
    let d1 = digest(&store, p, today, &sys).await.unwrap();
    assert!(d1.notified >= 2, "{d1:?}");
    assert_eq!(digest(&store, p, today, &sys).await.unwrap().notified, 0);
    let notes = store.notices(author_id, 50).await.unwrap();
    let dg = notes.iter().find(|n| n.kind == "digest").unwrap();
    assert!(dg.title.contains("红灯") && dg.body.contains("W-RED"), "{dg:?}");
    // The other township's reporter has nothing in its scope: no digest.
    let other_id = other.user_id.unwrap().get();
    assert!(store.notices(other_id, 50).await.unwrap().iter().all(|n| n.kind != "digest"));
    // Reading.
    assert!(store.unread_count(author_id).await.unwrap() > 0);
    store.mark_read(&author, None).await.unwrap();
    assert_eq!(store.unread_count(author_id).await.unwrap(), 0);

    // E-mail: only the system administrator sets an address, a bad one is refused.
    let admin = Actor { role: Role::SysAdmin, ..Actor::system() };
    assert!(matches!(store.set_user_email(&author, author_id, "a@b.cn").await, Err(StoreError::Forbidden(_))));
    assert!(matches!(store.set_user_email(&admin, author_id, "not an address").await, Err(StoreError::Invalid(_))));
    store.set_user_email(&admin, author_id, "twn.reporter@example.cn").await.unwrap();
    let county_id = w.actor("county").user_id.unwrap().get();
    store.set_user_email(&admin, county_id, "nobody@example.cn").await.unwrap();
    // What was given before an address was set is not mailed; tomorrow's digest is.
    let (port, got) = smtp_sink().await;
    let settings = |port| SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        from: "counterpart@example.cn".into(),
        user: Some("relay".into()),
        password: Some("secret".into()),
        base_url: "https://cp.example.cn".into(),
    };
    assert_eq!(Mailer { settings: settings(port) }.send_pending(&store, 100).await.unwrap(), 0);
    assert!(digest(&store, p, days(1), &sys).await.unwrap().notified >= 2);
    // A relay that is not there: an error, nothing marked mailed.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    assert!(Mailer { settings: settings(dead_port) }.send_pending(&store, 100).await.is_err());
    // The relay takes the reporter's and refuses the county's for good: one sent, one marked,
    // neither tried again.
    let sent = Mailer { settings: settings(port) }.send_pending(&store, 100).await.unwrap();
    assert_eq!(sent, 1);
    assert_eq!(Mailer { settings: settings(port) }.send_pending(&store, 100).await.unwrap(), 0, "mailed once");
    let mails = got.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(mail.contains("To: twn.reporter@example.cn") && mail.contains("Message-ID: <"), "{mail}");
    assert!(mail.contains("Subject: =?UTF-8?B?"), "{mail}");
    use base64::Engine as _;
    let body: String = mail.split("\r\n\r\n").nth(1).unwrap().lines().collect();
    let text = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(body).unwrap()).unwrap();
    assert!(text.contains("https://cp.example.cn/warnings") && text.contains("W-RED"), "{text}");
    let refused = store
        .audit_recent(5)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.action == "mail_notifications")
        .and_then(|e| e.after)
        .unwrap();
    assert!(refused["refused"][0][1].as_str().unwrap().contains("550"), "{refused}");
}
both!(warnings_orders_and_notices);

/// The configuration pages over HTTP: the manager sets the review chain, the schedule and the
/// warning thresholds, each refusal naming the field or the line; a reporter may not; the
/// warnings, orders and notifications pages answer every reading role, and an order outside
/// one's scope is not found.
#[test]
fn the_pages_configure_the_cycle_and_the_warnings() {
    use crate::http::signed_in;
    use crate::support::{serve_demo, Backend};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDb::new(Backend::Sqlite));
    let (_server, port, accounts) = serve_demo(&db);
    let mut m = signed_in(port, &accounts, "demo.manager", "Akto#Pamir2025");
    let page = m.get("/reporting");
    assert!(page.body.contains("县级审核：AKT-GOV、KZ-GOV"), "the chain as configured");
    let csrf = page.hidden("csrf");
    let r = m.post("/reporting/chain", &[("csrf", &csrf), ("levels", "县级审核：AKT-GOV\n前方指挥部")]);
    assert_eq!(r.status, 422);
    assert!(r.body.contains("第 2 行"), "{}", r.body);
    let r = m.post("/reporting/chain", &[("csrf", &csrf), ("levels", "县级审核：NOPE")]);
    assert!(r.status >= 400 && r.body.contains("NOPE"), "{}", r.body);
    let r = m.post(
        "/reporting/chain",
        &[("csrf", &csrf), ("levels", "县级审核：AKT-GOV、KZ-GOV\n前方指挥部：JX-CMD\n省级：JX-GOV\n国家级：JX-EDU")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(m.get("/reporting").body.contains("国家级：JX-EDU"));
    let r = m.post(
        "/reporting/schedule",
        &[("csrf", &csrf), ("kind", "activities"), ("frequency", "quarterly"), ("deadline_days", "400")],
    );
    assert!(r.status >= 400 && r.body.contains("366"), "{}", r.body);
    let r = m.post(
        "/reporting/schedule",
        &[("csrf", &csrf), ("kind", "activities"), ("frequency", "quarterly"), ("deadline_days", "10")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(m.get("/reporting").body.contains("<option value=\"quarterly\" selected>"));

    let t = |k: &'static str, v: &'static str| (k, v);
    let mut form = vec![
        t("start_grace_days", "10"),
        t("end_near_days", "30"),
        t("behind_days", "0"),
        t("checkpoint", "13-01"),
        t("disbursed_amber", "80"),
        t("disbursed_red", "50"),
    ];
    let warnings = m.get("/warnings");
    assert_eq!(warnings.status, 200);
    assert!(warnings.body.contains("超过 30 天为红灯"), "the default thresholds in words");
    form.push(("csrf", &csrf));
    let r = m.post("/warnings/thresholds", &form);
    assert_eq!(r.status, 422);
    assert!(r.body.contains("资金检查节点"), "{}", r.body);
    form[3] = t("checkpoint", "06-30");
    assert_eq!(m.post("/warnings/thresholds", &form).status, 303);
    let warnings = m.get("/warnings");
    assert!(warnings.body.contains("超过 10 天为红灯") && warnings.body.contains("下达督办"));
    // The demo's order is on the board, and its page opens.
    let board = m.get("/followups");
    assert!(board.body.contains("未按期开工"), "{}", board.body);
    let order = board.body.split("href=\"/followups/").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();
    assert_eq!(m.get(&format!("/followups/{order}")).status, 200);
    assert_eq!(m.get("/followups/999999").status, 404);
    assert_eq!(m.get("/followups/new").status, 200);

    // A reporter configures nothing and opens no order; another unit's order is not found.
    let mut r = signed_in(port, &accounts, "demo.reporter", "Akto#Pamir2025");
    let csrf = r.get("/reporting").hidden("csrf");
    assert_eq!(r.post("/reporting/chain", &[("csrf", &csrf), ("levels", "县级审核：AKT-GOV")]).status, 403);
    let mut form2 = form.clone();
    form2.retain(|(k, _)| *k != "csrf");
    form2.push(("csrf", &csrf));
    assert_eq!(r.post("/warnings/thresholds", &form2).status, 403);
    assert_eq!(r.get("/followups/new").status, 403);
    assert_eq!(r.get("/warnings").status, 200);
    assert_eq!(r.get("/notifications").status, 200);
    // An order on the township school, answered with a file: the school sees both, the county
    // hospital's reporter neither.
    let (id, file) = rt.block_on(async {
        let store = db.store().await;
        let program = store.default_program().await.unwrap().get();
        let mut tx = store.write(&Actor::system()).await.unwrap();
        let school = tx.org_ids(&["AKT-S01"]).await.unwrap()[0];
        let today = store::reporting::today();
        let due = Date::from_naive(today.naive() + chrono::Duration::days(3));
        let o = domain::warnings::NewOrder::parse("补报开工资料", "补报", &due.to_string(), today).unwrap();
        let id = tx.open_follow_up(program, &store::followups::Target::Org, school, &o).await.unwrap();
        tx.commit().await.unwrap();
        let teacher = Actor {
            user_id: None,
            name: "t".into(),
            role: Role::Reporter,
            org_id: Some(OrgId::issued(school)),
            source: None,
        };
        let mut tx = store.write(&teacher).await.unwrap();
        let files = [("资料.txt".to_string(), "text/plain".to_string(), b"ok".to_vec())];
        tx.answer_follow_up(id, "已补报", &files).await.unwrap();
        tx.commit().await.unwrap();
        (id, store.follow_up_files(id).await.unwrap()[0].id)
    });
    assert_eq!(r.get(&format!("/followups/{id}")).status, 404, "an order outside one's scope is not found");
    assert_eq!(r.download(&format!("/followups/files/{file}")).status, 404);
    assert!(!r.get("/followups").body.contains(&format!("href=\"/followups/{id}\"")));
    let mut t = signed_in(port, &accounts, "demo.township", "Akto#Pamir2025");
    assert_eq!(t.get(&format!("/followups/{id}")).status, 200);
    let d = t.download(&format!("/followups/files/{file}"));
    assert_eq!((d.status, d.body.as_slice()), (200, b"ok".as_slice()));
    assert_eq!(d.header("content-type"), Some("application/octet-stream"));
    assert!(d.header("content-disposition").unwrap().contains("UTF-8''%E8%B5%84%E6%96%99.txt"));
    // The school's notice of the order opens the order for the school, and is nobody else's.
    let notices = t.get("/notifications");
    let notice = notices.body.split("/open\"").next().and_then(|s| s.rsplit('/').next()).unwrap().to_string();
    assert!(notice.parse::<i64>().is_ok(), "{notice}");
    let open = format!("/notifications/{notice}/open");
    let csrf_r = r.get("/notifications").hidden("csrf");
    let other = r.post(&open, &[("csrf", &csrf_r)]);
    assert_eq!(other.status, 404, "another user's notice: {}", other.body);
    let csrf_t = notices.hidden("csrf");
    let opened = t.post(&open, &[("csrf", &csrf_t)]);
    assert_eq!(opened.status, 303);
    assert!(opened.header("location").is_some_and(|l| l.starts_with('/')), "{:?}", opened.header("location"));
    // The administrators see none of it.
    let mut a = signed_in(port, &accounts, "demo.sysadmin", "Akto#Pamir2025");
    assert_eq!(a.get("/warnings").status, 403);
}
