//! The JSON API under `/api/v1`: every catalogued record type listed, read, created, replaced,
//! changed in part and deleted, through the same parser (`domain::forms`), the same write path
//! (`services::records::save`), the same scoped store reads and the same role rules
//! (`forms::may_write`) as the pages; so the same validation, scope and audit. A script
//! authenticates with a personal token (`Authorization: Bearer cpt_…`, see `store::tokens`);
//! a browser's session cookie works too, but then a state-changing request must carry the
//! session's anti-forgery token in `X-CSRF-Token`. Every error is JSON:
//! `{"error": {"message", "errors": [{"field", "label", "rule", "message"}]}}`.
//!
//! Values in bodies and answers: text, dates (`YYYY-MM-DD`), periods, codes and region codes as
//! strings; counts and record ids as integers; flags as booleans; money as integer 分 (fen), in
//! answers and in requests alike; personal identifiers are written in clear and read back only
//! masked. The OpenAPI document (`openapi`) is generated from the same catalogue.

use crate::auth::{cookie, Ctx, SESSION_COOKIE};
use crate::dashboard::Drill;
use crate::error::AppError;
use crate::forms::{may_write, Change};
use crate::i18n::Lang;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::catalog::{by_slug, FieldKind, RecordType};
use domain::figures::{Exact, Filter, Measure, Span};
use domain::forms::{derived, parse, secret_fields};
use domain::money::Fen;
use domain::values::has_control;
use domain::{Date, Invalid, Invalids};
use serde_json::{json, Map, Value};
use services::figures::Engine;
use services::ServiceError;
use store::records::ListQuery;
use store::StoreError;

/// The page size of a list unless `per_page` says otherwise, and the most it may say.
pub const PER_PAGE: i64 = 50;
pub const MAX_PER_PAGE: i64 = 500;
/// The highest page number a list accepts.
pub const MAX_PAGE: i64 = 1_000_000;

/// An API refusal or failure, answered as JSON with its HTTP status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub errors: Vec<Invalid>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), errors: Vec::new() }
    }
    fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }
    /// Refused values: every one named with its field and rule.
    pub fn invalid(status: StatusCode, e: Invalids) -> ApiError {
        let message = if e.0.len() == 1 {
            format!("数据校验未通过：{}", e.0[0])
        } else {
            format!("数据校验未通过：共 {} 处错误", e.0.len())
        };
        ApiError { status, message, errors: e.0 }
    }
    fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }
    fn bad_request(e: Invalid) -> ApiError {
        ApiError::invalid(StatusCode::BAD_REQUEST, Invalids(vec![e]))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "message": self.message, "errors": self.errors } });
        let mut r = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"counterpart\""));
        }
        r
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let status = match &e {
            ServiceError::UnknownFigure(_) | ServiceError::Store(StoreError::NotFound { .. }) => StatusCode::NOT_FOUND,
            ServiceError::Store(StoreError::Invalid(inv)) => {
                return ApiError::invalid(StatusCode::UNPROCESSABLE_ENTITY, inv.clone())
            }
            ServiceError::Definition { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ServiceError::Store(StoreError::Forbidden(_)) => StatusCode::FORBIDDEN,
            ServiceError::Store(StoreError::Conflict(_)) | ServiceError::NotEmpty => StatusCode::CONFLICT,
            _ => {
                tracing::error!(error = %e, "API request failed");
                return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "系统内部错误，请稍后重试或联系管理员");
            }
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ServiceError::Store(e).into()
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Service(e) => e.into(),
            AppError::Csrf => ApiError::new(StatusCode::FORBIDDEN, AppError::Csrf.to_string()),
            AppError::NotFound(m) => ApiError::not_found(m),
            AppError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
        }
    }
}

/// The caller of an API request: a bearer token's user, or a signed-in browser session (whose
/// state-changing requests have shown the session's CSRF token already).
pub struct ApiCtx {
    pub ctx: Ctx,
    /// Who and where, for the audit log: `API 令牌 cpt_1a2b3c4d` or `API 会话`, and the address.
    pub source: String,
}

impl ApiCtx {
    fn actor(&self) -> domain::audit::Actor {
        self.ctx.user.actor(Some(self.source.clone()))
    }
}

/// Does this method change anything?
fn changes(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The refusal of a user who must change their password first, by session or by token.
fn must_change_password() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "首次登录须先修改密码（/password）")
}

impl FromRequestParts<AppState> for ApiCtx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let path = parts.uri.path().to_string();
        let addr = crate::auth::Source::from_request_parts(parts, state).await.ok().and_then(|s| s.0);
        let at = addr.map(|a| format!("（{a}）")).unwrap_or_default();
        if let Some(h) = parts.headers.get(header::AUTHORIZATION) {
            let bad = || ApiError::unauthorized("API 令牌无效、已过期或已撤销（Authorization: Bearer cpt_…）");
            let h = h.to_str().map_err(|_| bad())?;
            let (scheme, token) = h.trim().split_once(' ').ok_or_else(bad)?;
            if !scheme.eq_ignore_ascii_case("bearer") {
                return Err(bad());
            }
            let token = token.trim();
            let user = state.store.token_user(token).await?.ok_or_else(bad)?;
            if user.second_factor != store::sessions::SecondFactor::Done {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "该用户的角色须使用两步验证：请先登录并完成两步验证登记（/totp/enrol），API 令牌才能使用",
                ));
            }
            if user.must_change_password {
                return Err(must_change_password());
            }
            let shown: String = token.chars().take(12).collect();
            let lang = Lang::parse(&user.lang);
            return Ok(ApiCtx {
                ctx: Ctx { user, token: String::new(), lang, path, unread: 0 },
                source: format!("API 令牌 {shown}{at}"),
            });
        }
        let none = || ApiError::unauthorized("未认证：请使用个人 API 令牌（Authorization: Bearer cpt_…），或先登录");
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or_else(none)?;
        let user = state.store.session(&token).await?.ok_or_else(none)?;
        if user.second_factor != store::sessions::SecondFactor::Done {
            return Err(ApiError::unauthorized("须先完成两步验证（/login/totp 或 /totp/enrol），再使用 API"));
        }
        if user.must_change_password {
            return Err(must_change_password());
        }
        let lang = Lang::parse(&user.lang);
        let ctx = Ctx { user, token, lang, path, unread: 0 };
        if changes(&parts.method) {
            let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
            ctx.check_csrf(sent).map_err(|_| {
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "以登录会话调用 API 修改数据时，须在 X-CSRF-Token 请求头中提供本会话的防伪令牌；脚本请使用 API 令牌",
                )
            })?;
        }
        Ok(ApiCtx { ctx, source: format!("API 会话{at}") })
    }
}

/// Any path under `/api/` that is not an endpoint.
pub async fn not_found() -> ApiError {
    ApiError::not_found("没有这个 API 接口；接口说明见 /api/v1/openapi.json")
}

fn record_type(slug: &str) -> Result<&'static RecordType, ApiError> {
    by_slug(slug).ok_or_else(|| ApiError::not_found(format!("没有这类记录：{slug}")))
}

/// The record types a reader may read: the business roles.
fn readable(api: &ApiCtx, slug: &str) -> Result<&'static RecordType, ApiError> {
    crate::reads_business(&api.ctx)?;
    record_type(slug)
}

fn writable(api: &ApiCtx, slug: &str, change: Change) -> Result<&'static RecordType, ApiError> {
    let t = readable(api, slug)?;
    may_write(&api.ctx, t, change).map_err(|m| ApiError::new(StatusCode::FORBIDDEN, m))?;
    Ok(t)
}

/// Does a reference-like field carry a shown name (`labels` in a record)?
pub fn labelled(kind: FieldKind) -> bool {
    matches!(kind, FieldKind::Ref { .. } | FieldKind::CodeRef { .. } | FieldKind::Region)
}

/// A stored row as the API shows it: `id`, every field of the catalogue (flags as booleans,
/// money in 分, personal identifiers masked), and `labels`: the names references show.
pub fn record_json(t: &RecordType, row: &Map<String, Value>) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), row.get("id").cloned().unwrap_or(Value::Null));
    let mut labels = Map::new();
    for f in t.fields {
        let v = row.get(f.name).cloned().unwrap_or(Value::Null);
        let v = match f.kind {
            FieldKind::Flag => v.as_i64().map(|i| Value::Bool(i != 0)).unwrap_or(Value::Null),
            _ => v,
        };
        m.insert(f.name.into(), v);
        if labelled(f.kind) {
            labels.insert(f.name.into(), row.get(&format!("{}__show", f.name)).cloned().unwrap_or(Value::Null));
        }
    }
    if !labels.is_empty() {
        m.insert("labels".into(), Value::Object(labels));
    }
    Value::Object(m)
}

fn control_chars(field: &str, label: &str) -> Invalid {
    Invalid::new(field, label, "不得含控制字符", format!("{label}含有控制字符"))
}

/// A JSON body as the text values a form gives (see the module's rules for each kind). Unknown
/// fields are refused; `id`, `labels` and derived fields ([`derived`]) are ignored, so that a record read
/// can be sent back. A personal identifier given as null or "" is cleared; one equal to its
/// stored mask (`masks`) is kept.
pub fn body_values(
    t: &RecordType,
    body: &Map<String, Value>,
    masks: &Map<String, Value>,
) -> Result<Vec<(String, String)>, Invalids> {
    let mut out = Vec::new();
    let mut errs = Invalids::default();
    for (k, v) in body {
        if k == "id" || k == "labels" || derived(t, k) {
            continue;
        }
        let Some(f) = t.field(k) else {
            let shown: String = k.chars().filter(|c| !c.is_control()).take(60).collect();
            errs.push(Invalid::new(
                shown.clone(),
                shown.clone(),
                "须为该记录类型的字段",
                format!("{}没有字段“{shown}”", t.zh),
            ));
            continue;
        };
        let (name, label) = (f.name, f.zh);
        let kind_error = |rule: &str| Invalid::new(name, label, rule, format!("{label}的值类型不符：{rule}"));
        match (f.kind, v) {
            (FieldKind::Secret, Value::Null) => {
                out.push((name.into(), String::new()));
                out.push((format!("{name}__clear"), "1".into()));
            }
            (FieldKind::Secret, Value::String(s)) if s.trim().is_empty() => {
                out.push((name.into(), String::new()));
                out.push((format!("{name}__clear"), "1".into()));
            }
            (FieldKind::Secret, Value::String(s)) if masks.get(name).and_then(Value::as_str) == Some(s.as_str()) => {}
            (_, Value::Null) => out.push((name.into(), String::new())),
            (FieldKind::Money, v) => {
                let fen = match v {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) if !s.trim().is_empty() && s.trim().bytes().all(|b| b.is_ascii_digit()) => {
                        s.trim().parse::<i64>().ok()
                    }
                    _ => None,
                };
                match fen {
                    Some(fen) => {
                        out.push((name.into(), Fen(fen).yuan_exact()));
                        out.push((format!("{name}__unit"), "yuan".into()));
                    }
                    None => errs.push(kind_error("金额以分为单位，须为整数")),
                }
            }
            (FieldKind::Flag, v) => match v {
                Value::Bool(b) => out.push((name.into(), if *b { "1" } else { "0" }.into())),
                Value::Number(n) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => {
                    out.push((name.into(), n.to_string()))
                }
                _ => errs.push(kind_error("须为 true 或 false")),
            },
            (_, Value::String(s)) if has_control(s) => errs.push(control_chars(name, label)),
            (_, Value::String(s)) => out.push((name.into(), s.clone())),
            (_, Value::Number(n)) => out.push((name.into(), n.to_string())),
            (_, _) => errs.push(kind_error("须为字符串或数字")),
        }
    }
    errs.finish(|| out)
}

/// The request body as a JSON object.
fn object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    let bad = |m: String| ApiError::bad_request(Invalid::new("body", "请求体", "须为 JSON 对象（字段名 → 值）", m));
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(bad("请求体不是 JSON 对象".into())),
        Err(e) => Err(bad(format!("请求体不是有效的 JSON：{e}"))),
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "1" | "true" => Some(true),
        "0" | "false" => Some(false),
        _ => None,
    }
}

/// A query parameter refused: 400 naming it and the rule.
fn bad_param(param: &str, label: &str, rule: &str, message: String) -> ApiError {
    ApiError::bad_request(Invalid::new(param, label, rule, message))
}

/// The dates a query selects by: `year=YYYY` (the whole calendar year), or `from` and `to`
/// (`YYYY-MM-DD`, both included), never both ways at once.
#[derive(Debug, Default)]
struct Dates {
    year: Option<(Date, Date)>,
    from: Option<Date>,
    to: Option<Date>,
}

impl Dates {
    /// Is `k` one of the date parameters?
    fn names(k: &str) -> bool {
        matches!(k, "year" | "from" | "to")
    }

    /// Take parameter `k` (one of [`Dates::names`]) with value `v`; an empty value is no date.
    fn set(&mut self, k: &str, v: &str) -> Result<(), ApiError> {
        let v = v.trim();
        if v.is_empty() {
            return Ok(());
        }
        match k {
            "year" => {
                let y = Some(v)
                    .filter(|v| v.len() == 4 && v.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|v| v.parse::<i32>().ok());
                let span = y.and_then(|y| Some((Date::ymd(y, 1, 1)?, Date::ymd(y, 12, 31)?)));
                self.year = Some(span.ok_or_else(|| {
                    bad_param(
                        "year",
                        "年度（year）",
                        "四位数字年份 YYYY",
                        format!("year=“{v}”不是四位数字的年份，如 2024"),
                    )
                })?);
            }
            _ => {
                let label = if k == "from" { "起始日期（from）" } else { "截止日期（to）" };
                let d = Date::parse(v).map_err(|e| ApiError::bad_request(e.at(k, label)))?;
                if k == "from" {
                    self.from = Some(d);
                } else {
                    self.to = Some(d);
                }
            }
        }
        Ok(())
    }

    /// The period: (from, to), each end optional. Refuses `year` with `from`/`to`, and a `to`
    /// before `from`.
    fn span(&self) -> Result<(Option<Date>, Option<Date>), ApiError> {
        if let Some((first, last)) = self.year {
            if self.from.is_some() || self.to.is_some() {
                return Err(bad_param(
                    "year",
                    "年度（year）",
                    "year 与 from/to 不能同时使用",
                    "year 已指定整年，不能再给出 from 或 to".into(),
                ));
            }
            return Ok((Some(first), Some(last)));
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if to < from {
                return Err(bad_param(
                    "to",
                    "截止日期（to）",
                    "to 不得早于 from",
                    format!("截止日期 to={to} 早于起始日期 from={from}"),
                ));
            }
        }
        Ok((self.from, self.to))
    }

    /// The parameter a period came from, to name in a refusal of it.
    fn param(&self) -> &'static str {
        match (self.year, self.from) {
            (Some(_), _) => "year",
            (None, Some(_)) => "from",
            (None, None) => "to",
        }
    }
}

/// A list's query: the catalogue's filter fields, `q`, `sort`, `desc`, `page`, `per_page`, and
/// for a type with a date field (`RecordType::date`) `year` or `from`/`to` (a field of the type's
/// own called so is its filter first). Anything else is refused, naming the parameter.
pub fn list_query(t: &RecordType, pairs: Vec<(String, String)>) -> Result<ListQuery, ApiError> {
    let mut q = ListQuery { page: 1, per_page: PER_PAGE, ..Default::default() };
    let mut dates = Dates::default();
    let bad =
        |field: &str, rule: &str, message: String| ApiError::bad_request(Invalid::new(field, field, rule, message));
    for (k, v) in pairs {
        if has_control(&k) || has_control(&v) {
            return Err(ApiError::bad_request(control_chars("query", "查询参数")));
        }
        let int = |lo: i64, hi: i64| {
            v.trim().parse::<i64>().ok().filter(|n| (lo..=hi).contains(n)).ok_or_else(|| {
                bad(&k, &format!("{lo}–{hi} 之间的整数"), format!("参数 {k}=“{v}”不是 {lo}–{hi} 之间的整数"))
            })
        };
        match k.as_str() {
            "page" => q.page = int(1, MAX_PAGE)?,
            "per_page" => q.per_page = int(1, MAX_PER_PAGE)?,
            "q" => q.q = Some(v),
            "desc" => {
                q.desc = parse_bool(&v)
                    .ok_or_else(|| bad("desc", "true 或 false", format!("desc=“{v}”不是 true 或 false")))?
            }
            "sort" => match t.field(&v) {
                Some(f) if !matches!(f.kind, FieldKind::Secret) => q.sort = Some(v),
                _ => return Err(bad("sort", "须为该记录类型的字段", format!("{}不能按“{v}”排序", t.zh))),
            },
            _ => match t.field(&k).filter(|f| f.filter) {
                Some(f) if matches!(f.kind, FieldKind::Flag) => {
                    let b = parse_bool(&v)
                        .ok_or_else(|| bad(&k, "true 或 false", format!("{k}=“{v}”不是 true 或 false")))?;
                    q.filters.push((k, if b { "1" } else { "0" }.into()));
                }
                Some(_) => q.filters.push((k, v)),
                None if Dates::names(&k) && t.date.is_some() => dates.set(&k, &v)?,
                None if Dates::names(&k) => {
                    return Err(bad(
                        &k,
                        "仅限有日期字段的记录类型",
                        format!("{}没有日期字段，不能按日期筛选（{k}）", t.zh),
                    ))
                }
                None => {
                    let shown: String = k.chars().take(60).collect();
                    return Err(bad(
                        &shown,
                        "须为 q、sort、desc、page、per_page、year、from、to 或该记录类型的筛选字段",
                        format!("{}没有查询参数“{shown}”", t.zh),
                    ));
                }
            },
        }
    }
    (q.from, q.to) = dates.span()?;
    Ok(q)
}

/// List records: `{ total, page, per_page, items }`.
pub async fn list(
    State(s): State<AppState>,
    api: ApiCtx,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let t = readable(&api, &slug)?;
    let q = list_query(t, crate::records::pairs(raw.as_deref()))?;
    let listed = match s.store.records(&api.actor(), t, &q).await {
        Ok(l) => l,
        // A filter value that does not fit its field is a bad request, not a bad record.
        Err(StoreError::Invalid(e)) => return Err(ApiError::invalid(StatusCode::BAD_REQUEST, e)),
        Err(e) => return Err(e.into()),
    };
    let items: Vec<Value> = listed.rows.iter().map(|r| record_json(t, r)).collect();
    Ok(Json(json!({ "total": listed.total, "page": listed.page, "per_page": listed.per_page, "items": items })))
}

/// Record `id` of `t` as `api` may see it; otherwise 404 (and the attempt is logged).
async fn existing(s: &AppState, api: &ApiCtx, t: &RecordType, id: &str) -> Result<(i64, Map<String, Value>), ApiError> {
    let nf = || ApiError::not_found(format!("{}记录不存在，或不在您的权限范围内", t.zh));
    let id: i64 = id.trim().parse().ok().filter(|i| *i > 0).ok_or_else(nf)?;
    let actor = api.actor();
    match s.store.record(&actor, t, id).await? {
        Some(row) => Ok((id, row)),
        None => {
            s.store.log_denied(&actor, t.table, id).await?;
            Err(nf())
        }
    }
}

pub async fn get_one(
    State(s): State<AppState>,
    api: ApiCtx,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let t = readable(&api, &slug)?;
    let (_, row) = existing(&s, &api, t, &id).await?;
    Ok(Json(record_json(t, &row)))
}

/// Parse `values` as a record of `t` and save it (new, or over record `id`) through the one write
/// path; answer with the record as stored.
async fn save(
    s: &AppState,
    api: &ApiCtx,
    t: &'static RecordType,
    id: Option<i64>,
    values: Vec<(String, String)>,
) -> Result<(i64, Value), ApiError> {
    let program = s.store.default_program().await?;
    let parsed = parse(t, program, values).map_err(|e| ApiError::invalid(StatusCode::UNPROCESSABLE_ENTITY, e))?;
    let actor = api.actor();
    let mut tx = s.store.write(&actor).await?;
    let id = services::records::save(&mut tx, parsed, id).await?;
    tx.commit().await?;
    let shown = match s.store.record(&actor, t, id).await? {
        Some(row) => record_json(t, &row),
        None => json!({ "id": id }),
    };
    Ok((id, shown))
}

pub async fn create(
    State(s): State<AppState>,
    api: ApiCtx,
    Path(slug): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let t = writable(&api, &slug, Change::Create)?;
    let values = body_values(t, &object(&body)?, &Map::new())
        .map_err(|e| ApiError::invalid(StatusCode::UNPROCESSABLE_ENTITY, e))?;
    let (id, shown) = save(&s, &api, t, None, values).await?;
    let mut r = (StatusCode::CREATED, Json(shown)).into_response();
    if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/records/{}/{id}", t.slug)) {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(r)
}

/// PUT (`partial` false: the body is the whole record; fields left out are emptied, personal
/// identifiers left out are kept) and PATCH (`partial`: the given fields over the stored ones).
async fn change(
    s: AppState,
    api: ApiCtx,
    slug: String,
    id: String,
    body: Bytes,
    partial: bool,
) -> Result<Json<Value>, ApiError> {
    let t = writable(&api, &slug, Change::Modify)?;
    let (id, row) = existing(&s, &api, t, &id).await?;
    let masks: Map<String, Value> =
        secret_fields(t).into_iter().filter_map(|n| row.get(n).map(|v| (n.to_string(), v.clone()))).collect();
    let given =
        body_values(t, &object(&body)?, &masks).map_err(|e| ApiError::invalid(StatusCode::UNPROCESSABLE_ENTITY, e))?;
    let mut values = if partial { services::records::row_values(t, &row) } else { Vec::new() };
    values.extend(given);
    Ok(Json(save(&s, &api, t, Some(id), values).await?.1))
}

pub async fn replace(
    State(s): State<AppState>,
    api: ApiCtx,
    Path((slug, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    change(s, api, slug, id, body, false).await
}

pub async fn patch(
    State(s): State<AppState>,
    api: ApiCtx,
    Path((slug, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    change(s, api, slug, id, body, true).await
}

/// Delete a record: 204; 409 naming the records that still depend on it.
pub async fn remove(
    State(s): State<AppState>,
    api: ApiCtx,
    Path((slug, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let t = writable(&api, &slug, Change::Modify)?;
    let (id, _) = existing(&s, &api, t, &id).await?;
    let mut tx = s.store.write(&api.actor()).await?;
    tx.delete_record(t, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A breakdown's query: the parameters of `/figures/drill` (`source`, `measure`, repeated `f`),
/// the period (`year`, or `from`/`to`), and `by`, the field to group by (required). Anything else
/// is refused, naming the parameter.
fn breakdown_query(pairs: Vec<(String, String)>) -> Result<(Drill, String, Dates), ApiError> {
    let mut drill = Vec::new();
    let mut dates = Dates::default();
    let mut by = None;
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in pairs {
        if has_control(&k) || has_control(&v) {
            return Err(ApiError::bad_request(control_chars("query", "查询参数")));
        }
        if k != "f" && seen.contains(&k) {
            return Err(bad_param(&k, &k, "只能给出一次", format!("参数 {k} 给出了不止一次")));
        }
        seen.push(k.clone());
        match k.as_str() {
            "by" => by = Some(v.trim().to_string()),
            "source" | "measure" | "f" => drill.push((k, v)),
            _ if Dates::names(&k) => dates.set(&k, &v)?,
            _ => {
                let shown: String = k.chars().take(60).collect();
                return Err(bad_param(
                    &shown,
                    &shown,
                    "须为 source、measure、f、by、year、from 或 to",
                    format!("分类统计没有查询参数“{shown}”"),
                ));
            }
        }
    }
    let by = by
        .filter(|b| !b.is_empty())
        .ok_or_else(|| bad_param("by", "分类字段（by）", "必填", "缺少分类字段（by），如 by=type".into()))?;
    let mut d = Drill::parse(&drill).map_err(ApiError::bad_request)?;
    let (from, to) = dates.span()?;
    d.span = (from.is_some() || to.is_some()).then_some(Span { from, to });
    Ok((d, by, dates))
}

/// A refusal of the figure engine named by the parameter it came from: the record set
/// (`source`), the measure, the field to group by, a filter (`f`, also an organization that does
/// not exist), or the period (a record set without dates).
fn breakdown_refusal(e: ServiceError, d: &Drill, by: &str, dates: &Dates) -> ApiError {
    let param = |i: &Invalid| -> (&'static str, &'static str) {
        let missing = |name: &str| i.message.contains(&format!("没有字段“{name}”"));
        match i.field.as_str() {
            "source" => ("source", "数据集（source）"),
            "measure" => ("measure", "统计方式（measure）"),
            "span" => match dates.param() {
                "year" => ("year", "年度（year）"),
                "from" => ("from", "起始日期（from）"),
                _ => ("to", "截止日期（to）"),
            },
            _ if matches!(&d.measure, Measure::CountDistinct(n) if missing(n)) => ("measure", "统计方式（measure）"),
            "filters" if missing(by) => ("by", "分类字段（by）"),
            _ => ("f", "筛选条件（f）"),
        }
    };
    match e {
        ServiceError::Store(StoreError::Invalid(inv)) => {
            let named = inv
                .0
                .into_iter()
                .map(|i| {
                    let (p, label) = param(&i);
                    i.at(p, label)
                })
                .collect();
            ApiError::invalid(StatusCode::BAD_REQUEST, Invalids(named))
        }
        ServiceError::Store(StoreError::NotFound { what, id }) => ApiError::bad_request(Invalid::new(
            "f",
            "筛选条件（f）",
            "须引用已有的记录",
            format!("筛选条件（f）中的{what}“{id}”不存在"),
        )),
        e => e.into(),
    }
}

/// A value the engine computed without a divisor, as the integer it is.
fn integer(v: Exact) -> Result<i64, ApiError> {
    (v.den == 1).then(|| i64::try_from(v.num).ok()).flatten().ok_or_else(|| {
        tracing::error!(value = ?v, "a breakdown value is not a 64-bit integer");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "系统内部错误，请稍后重试或联系管理员")
    })
}

/// `GET /api/v1/breakdown`: a record figure made on the fly (as `/figures/drill` reads it)
/// broken down by one field, through the one figure engine. Values are the raw integers the
/// store measures: counts, and sums in the field's unit (分 for money). Each part carries the
/// `/figures/drill` address of its records; the parts are in the order of their keys (numbers by
/// value), records with no value in the field (key "") last, and add up to `total` (but for a
/// distinct count, whose total is counted once over all parts).
pub async fn breakdown(
    State(s): State<AppState>,
    api: ApiCtx,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    crate::reads_business(&api.ctx)?;
    let (d, by, dates) = breakdown_query(crate::records::pairs(raw.as_deref()))?;
    let engine = Engine::new(&s.store);
    let def = d.raw_def();
    let refused = |e| breakdown_refusal(e, &d, &by, &dates);
    // A median, a percentile or a share is taken within each part and over the whole: its parts
    // do not add up, and a share is a fraction (given to two decimals, in per cent).
    let taken = matches!(d.measure, Measure::Median(_) | Measure::P90(_) | Measure::Share(_));
    let mut parts: Vec<(String, Value)> = Vec::new();
    let mut sum = 0i128;
    for (key, v) in engine.breakdown(&def, &by).await.map_err(refused)? {
        if taken {
            parts.push((key, json!(v.rounded_f64(2))));
        } else {
            let n = integer(v)?;
            sum += i128::from(n);
            parts.push((key, json!(n)));
        }
    }
    parts.sort_by(|(a, _), (b, _)| {
        (a.is_empty(), a.parse::<i64>().ok(), a).cmp(&(b.is_empty(), b.parse::<i64>().ok(), b))
    });
    let total = match d.measure {
        Measure::CountDistinct(_) => json!(integer(engine.evaluate(&def).await.map_err(refused)?.exact)?),
        _ if taken => {
            // No record to take it over: no total.
            let v = engine.evaluate(&def).await.map_err(refused)?;
            if v.empty {
                Value::Null
            } else {
                json!(v.exact.rounded_f64(2))
            }
        }
        _ => json!(integer(Exact::int(sum))?),
    };
    let parts: Vec<Value> = parts
        .into_iter()
        .map(|(key, value)| {
            let only = if key.is_empty() { Filter::empty(&by) } else { Filter::eq(&by, key.as_str()) };
            json!({ "key": key, "value": value, "records": d.with(only).href() })
        })
        .collect();
    let (from, to) = d.span.as_ref().map_or((None, None), |s| (s.from, s.to));
    Ok(Json(json!({
        "source": d.source,
        "measure": d.measure_code(),
        "by": by,
        "from": from.map(|d| d.to_string()),
        "to": to.map(|d| d.to_string()),
        "total": total,
        "parts": parts,
    })))
}

/// `GET /api/v1/warnings[?org=CODE]`: the warnings of the caller's scope (its organization's
/// subtree; a manager or a caller with none may narrow it by `org`), from the same engine as the
/// pages, red first.
pub async fn warnings(
    State(s): State<AppState>,
    api: ApiCtx,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    crate::reads_business(&api.ctx)?;
    let pairs = crate::records::pairs(raw.as_deref());
    let asked = pairs.iter().find(|(k, _)| k == "org").map(|(_, v)| v.as_str());
    let program = s.store.default_program().await?.get();
    let scope = crate::followups::scope_of(&s, &api.ctx, asked).await?;
    let today = store::reporting::today();
    let items = services::warnings::warnings(&s.store, program, &scope, today).await?;
    let (red, amber) = services::warnings::tally(&items);
    Ok(Json(json!({ "as_of": today.to_string(), "scope": scope.org, "red": red, "amber": amber, "items": items })))
}
