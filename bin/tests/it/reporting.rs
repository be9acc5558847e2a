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
                        assert_eq!(store.audit_count().await.unwrap(), audit + 1, "{what} is audited once");
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
