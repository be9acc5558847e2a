//! The OpenAPI 3.0.3 document of the JSON API (`/api/v1/openapi.json`), generated from the
//! catalogue (`domain::catalog`): one schema per record type from its fields and their kinds,
//! enums for the fixed code lists, the required fields read off the form parser, a path per
//! record type, the figure endpoints, both ways to authenticate and the error shape. The page
//! `/api/v1/docs` renders that same document as HTML (no script, nothing from outside).

use crate::api::{labelled, MAX_PAGE, MAX_PER_PAGE, PER_PAGE};
use crate::layout;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::catalog::{Field, FieldKind, RecordType, RECORD_TYPES};
use domain::forms::{changeable, derived, required_fields, MAX_NUMBER};
use maud::{html, Markup};
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

/// `indicator-values` → `IndicatorValues`.
pub fn schema_name(t: &RecordType) -> String {
    t.slug
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
        })
        .collect()
}

const PERIOD: &str = "^[0-9]{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$";
const REGION: &str = "^[0-9]{6}([0-9]{3}([0-9]{3})?)?$";

/// The JSON schema of a field's value, and what it means.
fn value_schema(f: &Field) -> Value {
    let what = format!("{}（{}）", f.zh, f.en);
    match f.kind {
        FieldKind::Text => json!({ "type": "string", "description": what }),
        FieldKind::Int => json!({
            "type": "integer", "format": "int64", "minimum": -MAX_NUMBER, "maximum": MAX_NUMBER,
            "description": format!("{what}（数量不得为负数）"),
        }),
        FieldKind::Date => json!({ "type": "string", "format": "date", "description": format!("{what}，YYYY-MM-DD") }),
        FieldKind::Money => json!({
            "type": "integer", "format": "int64", "minimum": 0, "maximum": MAX_NUMBER,
            "description": format!("{what}，单位：分（整数；1 万元 = 1000000 分）。Money in fen (1/100 yuan), an integer."),
        }),
        FieldKind::Flag => json!({ "type": "boolean", "description": what }),
        FieldKind::Period => json!({
            "type": "string", "pattern": PERIOD,
            "description": format!("{what}，统计期：YYYY、YYYY-Qn 或 YYYY-MM"),
        }),
        FieldKind::Code(list) => {
            let codes: Vec<&str> = list.iter().map(|(c, _)| *c).collect();
            let names: Vec<String> = list.iter().map(|(c, n)| format!("{c} = {n}")).collect();
            json!({ "type": "string", "enum": codes, "description": format!("{what}：{}", names.join("，")) })
        }
        FieldKind::Ref { table, .. } => json!({
            "type": "integer", "format": "int64", "minimum": 1,
            "description": format!("{what}：{table} 记录的编号（id）"),
        }),
        FieldKind::CodeRef { table } => {
            json!({ "type": "string", "description": format!("{what}：{table} 的编码（code）") })
        }
        FieldKind::Region => json!({
            "type": "string", "pattern": REGION,
            "description": format!("{what}：GB/T 2260 行政区划代码（6 位）或统计用区划代码（9 或 12 位）"),
        }),
        FieldKind::Secret => json!({
            "type": "string",
            "description": format!("{what}：个人信息。写入时为明文（加密保存）；读出时只有掩码。更新时省略则保持不变，null 或空串则清除，原样回传掩码亦保持不变。Personal data: written in clear, read back masked."),
        }),
    }
}

fn nullable(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.insert("nullable".into(), Value::Bool(true));
    }
    v
}

/// The fields of `t` a request may write.
fn writable_fields(t: &RecordType) -> impl Iterator<Item = &'static Field> + '_ {
    t.fields.iter().filter(move |f| !derived(t, f.name))
}

/// A record as answered.
fn record_schema(t: &RecordType) -> Value {
    let mut props = Map::new();
    props.insert("id".into(), json!({ "type": "integer", "format": "int64", "description": "记录编号" }));
    let mut labels = Map::new();
    for f in t.fields {
        props.insert(f.name.into(), nullable(value_schema(f)));
        if labelled(f.kind) {
            labels.insert(f.name.into(), json!({ "type": "string", "nullable": true }));
        }
    }
    if !labels.is_empty() {
        props.insert(
            "labels".into(),
            json!({ "type": "object", "properties": labels, "description": "引用字段所显示的名称（单位名称、地区名称等）" }),
        );
    }
    json!({ "type": "object", "title": t.zh, "description": format!("{}（{}）", t.zh, t.en), "properties": props, "required": ["id"] })
}

/// A record as written: whole (`required` listed) or in part.
fn input_schema(t: &RecordType, whole: bool) -> Value {
    let required = required_fields(t);
    let mut props = Map::new();
    for f in writable_fields(t) {
        let s = value_schema(f);
        let must = required.iter().any(|r| r == f.name);
        props.insert(f.name.into(), if must { s } else { nullable(s) });
    }
    let mut s = json!({
        "type": "object",
        "properties": props,
        "additionalProperties": false,
        "description": if whole {
            format!("{}：整条记录。省略的字段视为空（个人信息除外）。", t.zh)
        } else {
            format!("{}：只含要修改的字段，其余保持不变。", t.zh)
        },
    });
    let req: Vec<&String> = required.iter().filter(|r| t.field(r).is_some_and(|f| !derived(t, f.name))).collect();
    if whole && !req.is_empty() {
        s["required"] = json!(req);
    }
    s
}

fn page_schema(t: &RecordType) -> Value {
    json!({
        "type": "object",
        "required": ["total", "page", "per_page", "items"],
        "properties": {
            "total": { "type": "integer", "description": "符合条件的记录总数" },
            "page": { "type": "integer" },
            "per_page": { "type": "integer" },
            "items": { "type": "array", "items": { "$ref": format!("#/components/schemas/{}", schema_name(t)) } },
        },
    })
}

/// A query parameter's schema for filtering by `f`.
fn filter_schema(f: &Field) -> Value {
    match f.kind {
        FieldKind::Flag => json!({ "type": "boolean" }),
        FieldKind::Region => json!({ "type": "string", "pattern": REGION }),
        _ => value_schema(f),
    }
}

fn list_parameters(t: &RecordType) -> Vec<Value> {
    let sortable: Vec<&str> =
        t.fields.iter().filter(|f| !matches!(f.kind, FieldKind::Secret)).map(|f| f.name).collect();
    let mut ps = vec![
        json!({ "name": "q", "in": "query", "required": false, "schema": { "type": "string", "maxLength": 200 },
            "description": format!("在 {} 中查找的文字", if t.search.is_empty() { "（此类记录不支持文字查找）".to_string() } else { t.search.join("、") }) }),
        json!({ "name": "sort", "in": "query", "required": false, "schema": { "type": "string", "enum": sortable },
            "description": "排序字段（默认按编号从新到旧）" }),
        json!({ "name": "desc", "in": "query", "required": false, "schema": { "type": "boolean" }, "description": "倒序" }),
        json!({ "name": "page", "in": "query", "required": false,
            "schema": { "type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1 }, "description": "页码，从 1 开始" }),
        json!({ "name": "per_page", "in": "query", "required": false,
            "schema": { "type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": PER_PAGE }, "description": "每页条数" }),
    ];
    for f in t.fields.iter().filter(|f| f.filter) {
        let how = match f.kind {
            FieldKind::Region => "（含下级地区）",
            _ => "",
        };
        ps.push(json!({
            "name": f.name, "in": "query", "required": false, "schema": filter_schema(f),
            "description": format!("按{}筛选{how}", f.zh),
        }));
    }
    if let Some(date) = t.date.and_then(|d| t.field(d)) {
        let own = |n: &str| t.field(n).is_some_and(|f| f.filter);
        let (year, from, to) = period_parameters(&format!("按{}（{}）", date.zh, date.name));
        ps.extend([("year", year), ("from", from), ("to", to)].into_iter().filter(|(n, _)| !own(n)).map(|(_, p)| p));
    }
    ps
}

/// The period parameters: `year`, or `from`/`to` (both included), selecting by `what`.
fn period_parameters(what: &str) -> (Value, Value, Value) {
    (
        json!({ "name": "year", "in": "query", "required": false, "schema": { "type": "string", "pattern": "^[0-9]{4}$" },
            "description": format!("{what}选取一整年（YYYY，即 YYYY-01-01 至 YYYY-12-31）；不能与 from、to 同时使用") }),
        json!({ "name": "from", "in": "query", "required": false, "schema": { "type": "string", "format": "date" },
            "description": format!("{what}选取：起始日期（含），YYYY-MM-DD") }),
        json!({ "name": "to", "in": "query", "required": false, "schema": { "type": "string", "format": "date" },
            "description": format!("{what}选取：截止日期（含），YYYY-MM-DD，不得早于 from") }),
    )
}

/// The parameters of `/api/v1/breakdown`: those of a dashboard drill-down, the period and `by`.
fn breakdown_parameters() -> Vec<Value> {
    let (year, from, to) = period_parameters("按数据集的日期");
    vec![
        json!({ "name": "source", "in": "query", "required": true,
            "schema": { "type": "string", "enum": store::figures::source_names() },
            "description": "数据集（指标口径所用的记录集合），如 activities" }),
        json!({ "name": "measure", "in": "query", "required": false,
            "schema": { "type": "string", "pattern": "^(count|(sum|distinct|median|p90|share)\\.[a-z_]+)$", "default": "count" },
            "description": "统计方式：count（记录数）、sum.字段（求和，如 sum.beneficiaries；金额字段 *_fen 以分为单位）、distinct.字段（去重计数，仅限单位字段）、median.字段 与 p90.字段（有该值的记录的中位数与第 90 百分位数，最近秩法，如 median.tat_minutes）、share.字段（该字段为 1 的记录占有该字段值的记录的百分比，如 share.on_time）" }),
        json!({ "name": "by", "in": "query", "required": true, "schema": { "type": "string", "minLength": 1 },
            "description": "分类字段：按该字段的取值分组，如 type、month、region、organizer" }),
        json!({ "name": "f", "in": "query", "required": false, "style": "form", "explode": true,
            "schema": { "type": "array", "items": { "type": "string", "pattern": "^[a-z_]+:(eq|in|under|not_under|ge|le|empty):.*$" } },
            "description": "筛选条件，可重复：字段:方式:值，方式为 eq、in（值以逗号分隔）、under / not_under（地区或单位及其下级）、ge、le、empty（未填）；如 f=region:under:653022" }),
        year,
        from,
        to,
    ]
}

fn errors(codes: &[&str]) -> Map<String, Value> {
    codes.iter().map(|c| (c.to_string(), json!({ "$ref": format!("#/components/responses/E{c}") }))).collect()
}

fn json_body(schema: &str) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn ok(description: &str, schema: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn operation(
    id: String,
    tag: &str,
    summary: String,
    params: Vec<Value>,
    body: Option<Value>,
    success: (&str, Value),
    errs: &[&str],
) -> Value {
    let mut responses = errors(errs);
    responses.insert(success.0.into(), success.1);
    let mut op =
        json!({ "operationId": id, "tags": [tag], "summary": summary, "parameters": params, "responses": responses });
    if let Some(b) = body {
        op["requestBody"] = b;
    }
    op
}

fn id_param(t: &RecordType) -> Value {
    json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "integer", "format": "int64", "minimum": 1 },
        "description": format!("{}记录编号", t.zh) })
}

fn paths() -> Map<String, Value> {
    let mut paths = Map::new();
    for t in RECORD_TYPES {
        let name = schema_name(t);
        let slug = t.slug.replace('-', "_");
        let mut coll = Map::new();
        coll.insert(
            "get".into(),
            operation(
                format!("list_{slug}"),
                t.zh,
                format!("列出{}（List {}）", t.zh, t.en),
                list_parameters(t),
                None,
                ("200", ok("一页记录", &format!("{name}Page"))),
                &["400", "401", "403"],
            ),
        );
        // The id a create answers with opens the record's other operations (OpenAPI links).
        let mut created = ok("已创建的记录", &name);
        let verbs: &[&str] = if changeable(t.table) { &["get", "replace", "update", "delete"] } else { &["get"] };
        let links: Map<String, Value> = verbs
            .iter()
            .map(|v| {
                let link =
                    json!({ "operationId": format!("{v}_{slug}"), "parameters": { "id": "$response.body#/id" } });
                (v.to_string(), link)
            })
            .collect();
        created["links"] = Value::Object(links);
        coll.insert(
            "post".into(),
            operation(
                format!("create_{slug}"),
                t.zh,
                format!("新建{}（Create）", t.zh),
                vec![],
                Some(json_body(&format!("{name}Input"))),
                ("201", created),
                &["400", "401", "403", "409", "422"],
            ),
        );
        paths.insert(format!("/api/v1/records/{}", t.slug), Value::Object(coll));
        let mut one = Map::new();
        one.insert(
            "get".into(),
            operation(
                format!("get_{slug}"),
                t.zh,
                format!("读取一条{}（Get）", t.zh),
                vec![id_param(t)],
                None,
                ("200", ok("记录", &name)),
                &["401", "403", "404"],
            ),
        );
        if changeable(t.table) {
            one.insert(
                "put".into(),
                operation(
                    format!("replace_{slug}"),
                    t.zh,
                    format!("整条替换一条{}（Replace）", t.zh),
                    vec![id_param(t)],
                    Some(json_body(&format!("{name}Input"))),
                    ("200", ok("修改后的记录", &name)),
                    &["400", "401", "403", "404", "409", "422"],
                ),
            );
            one.insert(
                "patch".into(),
                operation(
                    format!("update_{slug}"),
                    t.zh,
                    format!("修改一条{}的部分字段（Update in part）", t.zh),
                    vec![id_param(t)],
                    Some(json_body(&format!("{name}Patch"))),
                    ("200", ok("修改后的记录", &name)),
                    &["400", "401", "403", "404", "409", "422"],
                ),
            );
            one.insert(
                "delete".into(),
                operation(
                    format!("delete_{slug}"),
                    t.zh,
                    format!("删除一条{}（Delete）", t.zh),
                    vec![id_param(t)],
                    None,
                    ("204", json!({ "description": "已删除" })),
                    &["401", "403", "404", "409"],
                ),
            );
        }
        paths.insert(format!("/api/v1/records/{}/{{id}}", t.slug), Value::Object(one));
    }
    paths.insert(
        "/api/v1/figures".into(),
        json!({ "get": operation("list_figures".into(), "指标", "全部指标的当前值（All figures）".into(), vec![], None,
            ("200", ok("已计算的指标，及无法计算的指标与原因", "Board")), &["401", "403"]) }),
    );
    paths.insert(
        "/api/v1/figures/{key}/records".into(),
        json!({ "get": operation("figure_records".into(), "指标", "一个指标的来源记录（The records behind a figure）".into(),
            vec![json!({ "name": "key", "in": "path", "required": true, "schema": { "type": "string" }, "description": "指标键，如 personnel.total" })],
            None, ("200", ok("来源记录（只列出本人权限范围内的记录）", "Provenance")), &["401", "403", "404"]) }),
    );
    paths.insert(
        "/api/v1/breakdown".into(),
        json!({ "get": operation("breakdown".into(), "指标", "分类统计：一个口径按某字段分组（Breakdown of a figure by one field）".into(),
            breakdown_parameters(), None,
            ("200", ok("分组结果：每组的值与其来源记录的地址，各组之和为合计", "Breakdown")), &["400", "401", "403"]) }),
    );
    paths.insert(
        "/api/v1/warnings".into(),
        json!({ "get": operation("warnings".into(), "预警", "预警：本人范围内的红灯、黄灯（Warnings in the caller's scope）".into(),
            vec![json!({ "name": "org", "in": "query", "required": false, "schema": { "type": "string" },
                "description": "单位代码：项目管理或无所属单位的用户可据此缩小范围" })],
            None, ("200", ok("预警列表，红灯在前", "Warnings")), &["401", "403"]) }),
    );
    imaging_paths(&mut paths);
    lesson_paths(&mut paths);
    paths
}

const IMAGING: &str = "远程影像";

const LESSONS: &str = "两地课堂";

/// Two-site classes: classrooms, class groups, terms and lessons.
fn lesson_paths(paths: &mut Map<String, Value>) {
    let write = |id: &str, summary: &str, input: &str, made: &str| {
        json!({ "post": operation(id.into(), LESSONS, summary.into(), vec![], Some(json_body(input)),
            ("201", ok(made, "Created")), &["400", "401", "403", "422"]) })
    };
    paths.insert(
        "/api/v1/classrooms".into(),
        write("classroom_create", "新增学校的教室：主讲、接收或两用（A classroom）", "ClassroomInput", "已新增的教室"),
    );
    paths.insert(
        "/api/v1/class-groups".into(),
        write(
            "class_group_create",
            "新增教学班及其学生名单（A class group with its roster）",
            "ClassGroupInput",
            "已新增的教学班",
        ),
    );
    paths.insert(
        "/api/v1/terms".into(),
        write("term_create", "新增学校的学期：放假日与调休补课日（A school's term）", "TermInput", "已新增的学期"),
    );
    paths.insert(
        "/api/v1/lessons".into(),
        json!({
            "get": operation("lessons".into(), LESSONS, "本项目的两地课堂，按首次上课日期（The program's lessons）".into(),
                vec![], None, ("200", ok("两地课堂", "LessonList")), &["401", "403"]),
            "post": operation("lesson_schedule".into(), LESSONS, "排课：一次或每周一次，跨各校学期；与同一教师、教室或教学班的课冲突时拒绝并说明（Schedule a lesson）".into(),
                vec![], Some(json_body("LessonInput")), ("201", ok("已排的课", "Lesson")), &["400", "401", "403", "422"]),
        }),
    );
    let id = json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "integer", "format": "int64", "minimum": 1 },
        "description": "课的编号" });
    paths.insert(
        "/api/v1/lessons/{id}".into(),
        json!({ "get": operation("lesson".into(), LESSONS, "一节课及其每次上课时间（A lesson with its occurrences）".into(),
            vec![id], None, ("200", ok("课", "Lesson")), &["401", "403", "404"]) }),
    );
}

fn lesson_schemas(s: &mut Map<String, Value>) {
    let text = json!({ "type": "string" });
    let int = json!({ "type": "integer", "format": "int64" });
    let opt_int = json!({ "type": "integer", "format": "int64", "nullable": true });
    let date = json!({ "type": "string", "description": "YYYY-MM-DD" });
    s.insert("Created".into(), json!({ "type": "object", "properties": { "id": int, "org_id": int } }));
    s.insert(
        "ClassroomInput".into(),
        json!({ "type": "object", "required": ["org_id", "name", "role"], "additionalProperties": false, "properties": {
        "org_id": { "type": "integer", "format": "int64", "description": "学校（单位编号）" }, "name": text,
        "role": { "type": "string", "enum": ["main", "receiving", "both", "主讲教室", "接收教室", "主讲与接收"] },
        "equipment": { "type": "string", "description": "设备说明" } } }),
    );
    s.insert("ClassGroupInput".into(), json!({ "type": "object", "required": ["org_id", "name"], "additionalProperties": false, "properties": {
        "org_id": int, "name": text, "grade": text,
        "members": { "type": "array", "maxItems": 2000, "items": { "type": "object", "required": ["student_no", "student_name"], "additionalProperties": false,
            "properties": { "student_no": text, "student_name": text } } } } }));
    s.insert("TermInput".into(), json!({ "type": "object", "required": ["org_id", "name", "start", "end"], "additionalProperties": false, "properties": {
        "org_id": int, "name": text, "start": date, "end": date,
        "days_off": { "type": "array", "maxItems": 2000, "items": { "type": "object", "required": ["day"], "additionalProperties": false, "properties": { "day": date, "note": text } } },
        "makeup": { "type": "array", "maxItems": 2000, "items": { "type": "object", "required": ["day", "weekday"], "additionalProperties": false,
            "properties": { "day": date, "weekday": { "type": "integer", "minimum": 1, "maximum": 7, "description": "按星期几的课表（1 = 星期一）" } } } } } }));
    s.insert("LessonInput".into(), json!({ "type": "object", "additionalProperties": false,
        "required": ["kind", "course", "subject", "teacher_person_id", "main_classroom_id", "receiving", "start_time", "minutes", "first"],
        "properties": {
            "kind": { "type": "string", "enum": ["synchronous", "research", "broadcast", "专递课堂", "同步课堂", "教研", "直播讲座"] },
            "course": text, "subject": text, "teacher_person_id": int, "main_classroom_id": int, "main_group_id": opt_int,
            "receiving": { "type": "array", "maxItems": 2000, "items": { "type": "object", "required": ["classroom_id"], "additionalProperties": false,
                "properties": { "classroom_id": int, "group_id": opt_int } } },
            "pairing_id": opt_int,
            "start_time": { "type": "string", "description": "HH:MM，北京时间" },
            "minutes": { "type": "integer", "minimum": 10, "maximum": 240 },
            "first": date, "last": { "type": "string", "description": "YYYY-MM-DD；缺省为只上一次" } } }));
    let site = json!({ "type": "object", "properties": { "classroom_id": int, "classroom": text, "school": text, "group_id": opt_int } });
    let occurrence = json!({ "type": "object", "properties": { "id": int, "lesson_id": int, "day": date, "starts_at": text, "ends_at": text,
        "state": { "type": "string", "enum": ["scheduled", "held", "cancelled"] } } });
    s.insert("Lesson".into(), json!({ "type": "object", "properties": {
        "id": int, "kind": { "type": "string", "enum": ["synchronous", "research", "broadcast"] }, "course": text, "subject": text,
        "teacher_person_id": int, "teacher": text, "main_classroom_id": int, "main_classroom": text, "main_school": text,
        "main_group_id": opt_int, "pairing_id": opt_int, "start_time": text, "minutes": int, "first_date": date, "last_date": date,
        "receiving": { "type": "array", "items": site }, "occurrences": int,
        "schedule": { "type": "array", "items": occurrence, "description": "每次上课（仅单个课的答复）" } } }));
    s.insert(
        "LessonList".into(),
        json!({ "type": "object", "properties": { "total": int,
        "items": { "type": "array", "items": { "$ref": "#/components/schemas/Lesson" } } } }),
    );
}

/// The remote imaging centre's consultation requests.
fn imaging_paths(paths: &mut Map<String, Value>) {
    let id = json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "integer", "format": "int64", "minimum": 1 },
        "description": "会诊申请编号" });
    paths.insert(
        "/api/v1/imaging/requests".into(),
        json!({
            "get": operation("imaging_requests".into(), IMAGING, "远程影像会诊的工作列表：分派给本人的、本人排班科室的待分派队列、本院提出的；急诊在前（The caller's consultation worklist）".into(),
                vec![], None, ("200", ok("会诊申请", "ImagingRequestList")), &["401", "403"]),
            "post": operation("imaging_request_create".into(), IMAGING, "提出远程影像会诊申请：交给院包科结对的江西医院，分派给该科室在岗专家（Request a consultation）".into(),
                vec![], Some(json_body("ImagingRequestInput")),
                ("201", ok("已提出的会诊申请", "ImagingRequest")), &["400", "401", "403", "422"]),
        }),
    );
    paths.insert(
        "/api/v1/imaging/requests/{id}".into(),
        json!({ "get": operation("imaging_request".into(), IMAGING, "一份会诊申请，含关联检查与办理过程（A consultation request with its studies and steps）".into(),
            vec![id.clone()], None, ("200", ok("会诊申请", "ImagingRequestDetail")), &["401", "403", "404"]) }),
    );
    paths.insert(
        "/api/v1/imaging/requests/{id}/{action}".into(),
        json!({ "post": operation("imaging_request_act".into(), IMAGING, "办理会诊申请与报告：接收、拒绝（须写理由）、领取、改派（项目管理）；书写、签署、审核、签发、确认与修订报告（Routing and report steps）".into(),
            vec![id, json!({ "name": "action", "in": "path", "required": true,
                "schema": { "type": "string", "enum": ["accept", "decline", "take", "reassign", "report", "sign", "review", "issue", "confirm", "amend", "critical", "critical_notice", "outcome"] },
                "description": "办理操作：accept 接收，decline 拒绝，take 领取，reassign 改派；report 保存报告草稿，sign 签署初步报告，review 审核签名，issue 签发正式报告，confirm 申请医院确认，amend 修订（新版本）；critical 标记危急值（finding、note），critical_notice 登记危急值的通知与回读（critical_id、told_name、channel、told_at、read_back）；outcome 申请医院登记患者去向（outcome：local 本院治疗，即避免转院；transferred 转院）" })],
            Some(json!({ "required": false, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ImagingAction" } } } })),
            ("200", ok("办理后的会诊申请", "ImagingRequest")), &["400", "401", "403", "404", "409", "422"]) }),
    );
}

fn imaging_schemas(s: &mut Map<String, Value>) {
    let text = json!({ "type": "string" });
    let opt_text = json!({ "type": "string", "nullable": true });
    let int = json!({ "type": "integer", "format": "int64" });
    let opt_int = json!({ "type": "integer", "format": "int64", "nullable": true });
    let clock = json!({ "type": "object", "description": "报告时限：适用的规则、计时起点（申请提出且图像完整）、截止时间、是否超时或按时", "properties": {
        "target": text, "minutes": int, "working_hours": { "type": "boolean" },
        "state": { "type": "string", "enum": ["waiting_for_images", "running", "done"] },
        "start": text, "due": text, "issued": text, "overdue": { "type": "boolean" }, "within": { "type": "boolean" }, "minutes_taken": int } });
    let mut request = json!({ "type": "object", "properties": {
            "id": int, "program_id": int, "requesting_org_id": int, "requesting_org": text, "requested_by": opt_int,
            "department_org_id": int, "department": text, "owner_org_id": int, "owner": text, "pairing_id": int,
            "patient_name": text, "patient_sex": text, "patient_age": int,
            "patient_id_number_mask": { "type": "string", "nullable": true, "description": "身份证号掩码（明文从不返回）" },
            "exam": text, "modality": text, "body_part": text, "clinical_question": text, "case_summary": text,
            "priority": { "type": "string", "enum": ["emergency", "urgent", "routine"] }, "expert_title": text,
            "state": { "type": "string", "enum": ["queued", "offered", "accepted", "reported", "confirmed"], "description": "queued 待分派，offered 待接收，accepted 已接收，reported 已出报告，confirmed 已确认" },
            "assignee_user_id": opt_int, "assignee": opt_text, "requested_at": text, "updated_at": text,
            "patient_source": { "type": "string", "enum": ["outpatient", "inpatient", "emergency"] }, "complex": { "type": "boolean" },
            "outcome": { "type": "string", "nullable": true, "enum": ["local", "transferred", null], "description": "患者去向：local 本院治疗（避免转院），transferred 转院；未登记为 null" },
            "tat_minutes": { "type": "integer", "format": "int64", "nullable": true, "description": "报告首次签发时记下的周转时间（分钟，自计时起点）" },
            "on_time": { "type": "boolean", "nullable": true, "description": "首次签发是否在当时的报告时限内" },
            "issued_at": { "type": "string", "nullable": true, "description": "报告首次签发时间（UTC，RFC 3339）" },
            "images": { "type": "object", "properties": { "complete": { "type": "boolean" }, "series": int, "instances": int },
                "description": "关联检查的图像：影像平台是否已宣告完整，序列与图像数" } } });
    request["properties"]["clock"] = clock;
    s.insert("ImagingRequest".into(), request);
    s.insert(
        "ImagingRequestList".into(),
        json!({ "type": "object", "required": ["total", "items"], "properties": { "total": int,
            "items": { "type": "array", "items": { "$ref": "#/components/schemas/ImagingRequest" } } } }),
    );
    s.insert(
        "ImagingRequestDetail".into(),
        json!({ "allOf": [ { "$ref": "#/components/schemas/ImagingRequest" }, { "type": "object", "properties": {
            "studies": { "type": "array", "items": { "type": "object" } },
            "reports": { "type": "array", "items": { "type": "object" }, "description": "报告的各版本，最新的在前" },
            "events": { "type": "array", "items": { "type": "object", "properties": {
                "at": text, "action": text, "by_user_id": opt_int, "to_user_id": opt_int, "reason": opt_text } } } } } ] }),
    );
    s.insert(
        "ImagingRequestInput".into(),
        json!({ "type": "object", "additionalProperties": false,
            "required": ["patient_name", "patient_sex", "patient_age", "exam", "modality", "body_part", "clinical_question",
                "case_summary", "priority", "department_id", "study_uids", "consent"],
            "properties": {
                "patient_name": text, "patient_sex": { "type": "string", "enum": ["男", "女"] },
                "patient_age": { "type": "integer", "minimum": 0, "maximum": 150 },
                "patient_id_number": { "type": "string", "nullable": true, "description": "身份证号（选填，GB 11643），加密保存" },
                "exam": text, "modality": { "type": "string", "description": "DICOM 检查类型：CT、MR、DX、CR、US、MG、XA、RF、NM、PT" },
                "body_part": text, "clinical_question": text, "case_summary": text,
                "priority": { "type": "string", "enum": ["emergency", "urgent", "routine", "急诊", "加急", "常规"] },
                "department_id": { "type": "integer", "format": "int64", "description": "县医院的院包科科室（单位编号）" },
                "expert_title": { "type": "string", "enum": ["any", "attending", "associate_chief", "chief", "不限", "主治医师", "副主任医师", "主任医师"] },
                "patient_source": { "type": "string", "enum": ["outpatient", "inpatient", "emergency", "门诊", "住院", "急诊"], "description": "患者来源（缺省为门诊）" },
                "complex": { "type": "boolean", "description": "疑难病例" },
                "study_uids": { "type": "array", "items": { "type": "string" }, "description": "影像平台已收到的检查的 StudyInstanceUID" },
                "consent": { "type": "object", "additionalProperties": false, "required": ["given", "data_base64"], "properties": {
                    "given": { "type": "boolean" }, "file_name": text,
                    "content_type": { "type": "string", "enum": ["application/pdf", "image/jpeg", "image/png"] },
                    "data_base64": { "type": "string", "description": "签字的知情同意书，Base64，不超过 10 MB" } } } } }),
    );
    s.insert(
        "ImagingAction".into(),
        json!({ "type": "object", "additionalProperties": false, "properties": {
            "reason": { "type": "string", "description": "拒绝、改派或修订的理由（这三种操作必填）" },
            "findings": { "type": "string", "description": "检查所见（report）" },
            "impression": { "type": "string", "description": "诊断意见（report）" },
            "advice": { "type": "string", "description": "建议（report）" },
            "finding": { "type": "string", "description": "危急值：本中心危急值清单中的一项（critical）" },
            "note": { "type": "string", "description": "危急值的说明（critical）" },
            "critical_id": { "type": "integer", "format": "int64", "description": "危急值编号（critical_notice）" },
            "told_name": { "type": "string", "description": "接收人（critical_notice）" },
            "channel": { "type": "string", "enum": ["phone", "in_person", "video", "电话", "当面", "视频"], "description": "通知方式（critical_notice）" },
            "told_at": { "type": "string", "description": "通知时间，RFC 3339；缺省为现在（critical_notice）" },
            "read_back": { "type": "string", "description": "接收人回读的内容（critical_notice）" },
            "outcome": { "type": "string", "enum": ["local", "transferred", "本院治疗", "转院"], "description": "患者去向（outcome）：local 本院治疗（避免转院），transferred 转院" },
            "to_user_id": { "type": "integer", "format": "int64", "description": "改派给的专家（用户编号）" } } }),
    );
}

fn figure_schemas(s: &mut Map<String, Value>) {
    s.insert(
        "Warnings".into(),
        json!({ "type": "object", "required": ["as_of", "red", "amber", "items"],
            "properties": {
                "as_of": { "type": "string", "format": "date", "description": "判断日期（北京时间）" },
                "scope": { "type": "string", "nullable": true, "description": "单位代码；空为全部" },
                "red": { "type": "integer" }, "amber": { "type": "integer" },
                "items": { "type": "array", "items": { "type": "object", "properties": {
                    "rule": { "type": "string", "enum": ["not_started", "behind", "disbursement", "unreported"] },
                    "light": { "type": "string", "enum": ["red", "amber", "green"] },
                    "project": { "type": "object", "nullable": true, "properties": {
                        "id": { "type": "integer" }, "code": { "type": "string" }, "name": { "type": "string" } } },
                    "org": { "type": "array", "nullable": true, "description": "[id, code, name]", "items": {} },
                    "period": { "type": "array", "nullable": true, "description": "[id, code]", "items": {} },
                    "reason": { "type": "string" } } } } } }),
    );
    s.insert(
        "Exact".into(),
        json!({ "type": "object", "description": "精确值：分子/分母（十进制字符串）",
            "properties": { "num": { "type": "string" }, "den": { "type": "string" } } }),
    );
    s.insert(
        "FigureValue".into(),
        json!({ "type": "object", "properties": {
            "key": { "type": "string" }, "name": { "type": "string" }, "line": { "type": "string" }, "unit": { "type": "string" },
            "decimals": { "type": "integer" }, "exact": { "$ref": "#/components/schemas/Exact" },
            "display": { "type": "string", "description": "四舍五入后的显示值；无值时为“—”" },
            "value": { "type": "number", "nullable": true, "description": "四舍五入后的数值；无值时为 null" },
            "empty": { "type": "boolean", "description": "中位数、百分位数或占比没有可计算的记录：无值（不是口径错误）；有值时省略" },
            "computed_at": { "type": "string", "format": "date-time" } } }),
    );
    s.insert(
        "FailedFigure".into(),
        json!({ "type": "object", "properties": { "key": { "type": "string" }, "name": { "type": "string" },
            "line": { "type": "string" }, "message": { "type": "string" } } }),
    );
    s.insert(
        "Board".into(),
        json!({ "type": "object", "properties": {
            "values": { "type": "array", "items": { "$ref": "#/components/schemas/FigureValue" } },
            "failed": { "type": "array", "items": { "$ref": "#/components/schemas/FailedFigure" } } } }),
    );
    s.insert(
        "Breakdown".into(),
        json!({ "type": "object", "required": ["source", "measure", "by", "from", "to", "total", "parts"],
            "description": "分类统计结果。计数与求和的 value 与 total 为统计所得的原始整数：计数为条数，求和为字段本身的单位——金额（*_fen）一律为分（1 万元 = 1000000 分），不做换算与舍入；中位数、百分位数与占比（%）在各组与整体中分别计算，保留两位小数，各组不相加。Values are raw integers (money sums in fen); medians, percentiles and shares are taken per part and over the whole, to two decimals.",
            "properties": {
                "source": { "type": "string" },
                "measure": { "type": "string", "description": "count、sum.字段、distinct.字段、median.字段、p90.字段 或 share.字段" },
                "by": { "type": "string" },
                "from": { "type": "string", "format": "date", "nullable": true, "description": "起始日期（year 已换算为 YYYY-01-01）" },
                "to": { "type": "string", "format": "date", "nullable": true, "description": "截止日期（year 已换算为 YYYY-12-31）" },
                "total": { "type": "number", "nullable": true, "description": "合计（计数与求和为各组之和；去重计数为整体去重后的数目；中位数、百分位数与占比为整体计算的值，没有记录时为 null）" },
                "parts": { "type": "array", "description": "按 key 排序（数字按数值），未填该字段的记录（key 为空串）在最后",
                    "items": { "type": "object", "required": ["key", "value", "records"], "properties": {
                        "key": { "type": "string", "description": "分组字段的取值（单位为其编码）；空串表示未填" },
                        "value": { "type": "number", "description": "该组的统计值（金额为分；计数与求和为整数）" },
                        "records": { "type": "string", "description": "该组来源记录的页面地址（/figures/drill?…），与本组的值按同一口径计算" } } } } } }),
    );
    s.insert(
        "Provenance".into(),
        json!({ "type": "object", "required": ["kind"], "description": "kind = records：记录清单；kind = indicator：指标值清单",
            "properties": {
                "kind": { "type": "string", "enum": ["records", "indicator"] },
                "records": { "type": "array", "items": { "type": "object", "properties": {
                    "table": { "type": "string" }, "id": { "type": "integer" }, "label": { "type": "string" },
                    "date": { "type": "string", "nullable": true }, "value": { "type": "integer" } } } },
                "values": { "type": "array", "items": { "type": "object", "properties": {
                    "id": { "type": "integer" }, "indicator": { "type": "string" }, "org_id": { "type": "integer" },
                    "org_name": { "type": "string" }, "period": { "type": "string" }, "value": { "type": "integer" } } } } } }),
    );
}

fn components() -> Value {
    let mut s = Map::new();
    s.insert(
        "Invalid".into(),
        json!({ "type": "object", "required": ["field", "label", "rule", "message"], "properties": {
            "field": { "type": "string", "description": "字段名（与请求体的字段名相同）" },
            "label": { "type": "string", "description": "字段的中文名称" },
            "rule": { "type": "string", "description": "违反的规则或标准" },
            "message": { "type": "string" } } }),
    );
    s.insert(
        "Error".into(),
        json!({ "type": "object", "required": ["error"], "properties": { "error": { "type": "object",
            "required": ["message", "errors"], "properties": {
                "message": { "type": "string" },
                "errors": { "type": "array", "items": { "$ref": "#/components/schemas/Invalid" } } } } } }),
    );
    for t in RECORD_TYPES {
        let name = schema_name(t);
        s.insert(name.clone(), record_schema(t));
        s.insert(format!("{name}Input"), input_schema(t, true));
        s.insert(format!("{name}Patch"), input_schema(t, false));
        s.insert(format!("{name}Page"), page_schema(t));
    }
    figure_schemas(&mut s);
    imaging_schemas(&mut s);
    lesson_schemas(&mut s);
    let resp = |d: &str| json!({ "description": d, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    json!({
        "schemas": s,
        "responses": {
            "E400": resp("请求格式有误（查询参数、JSON），errors 指出参数与规则"),
            "E401": resp("未认证：缺少、无效、过期或已撤销的令牌"),
            "E403": resp("角色无权进行此操作，或缺少防伪令牌"),
            "E404": resp("记录不存在，或不在权限范围内"),
            "E409": resp("与已有数据冲突（编码重复、仍被其他记录引用）"),
            "E422": resp("数据校验未通过：errors 逐项列出字段、名称、规则与说明"),
        },
        "securitySchemes": {
            "bearerAuth": { "type": "http", "scheme": "bearer", "bearerFormat": "cpt_<64 位十六进制>",
                "description": "个人 API 令牌：在“API 令牌”页面（/tokens）创建，只显示一次，有效期 1–365 天，可随时撤销；或 `counterpart token create`。" },
            "cookieAuth": { "type": "apiKey", "in": "cookie", "name": "cp_session",
                "description": "浏览器登录会话。以会话修改数据（POST、PUT、PATCH、DELETE）时，须在 X-CSRF-Token 请求头中提供本会话的防伪令牌。" },
        },
    })
}

const DESCRIPTION: &str = "对口支援信息系统的 JSON 接口：每类业务记录的列表（筛选、查找、排序、分页）、读取、新建、整条替换（PUT）、部分修改（PATCH）与删除，校验、权限范围与审计与网页相同；以及全部指标、每个指标的来源记录和任意口径的分类统计（/api/v1/breakdown）。有日期的记录类型可按 year 或 from/to 选取。\n\n\
取值规则：文字、日期（YYYY-MM-DD）、统计期、编码、区划代码为字符串；数量与记录编号为整数；是否类字段为布尔值；**金额一律以分为单位的整数**（读写相同，1 万元 = 1000000 分）；身份证号、手机号写入时为明文，读出时只有掩码。引用字段的显示名称在 labels 中。\n\n\
错误一律为 JSON：{\"error\": {\"message\", \"errors\": [{\"field\", \"label\", \"rule\", \"message\"}]}}；400 请求格式有误，401 未认证，403 无权限，404 不存在或不在权限范围内，409 冲突，422 校验未通过。";

/// The document, built once from the catalogue.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        json!({
            "openapi": "3.0.3",
            "info": { "title": "Counterpart 对口支援信息系统 API", "version": "1", "description": DESCRIPTION },
            "security": [ { "bearerAuth": [] }, { "cookieAuth": [] } ],
            "tags": RECORD_TYPES.iter().map(|t| json!({ "name": t.zh, "description": t.en })).chain([json!({ "name": "指标", "description": "Figures" }), json!({ "name": IMAGING, "description": "Remote imaging consultations" })]).collect::<Vec<_>>(),
            "paths": paths(),
            "components": components(),
        })
    })
}

pub async fn json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document().to_string()).into_response()
}

/// A schema's type as a short text: `string (date)`, `integer ≥ 1`, `enum: a, b`, a reference.
fn type_text(s: &Value) -> String {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        let codes: Vec<String> = e.iter().filter_map(Value::as_str).map(str::to_string).collect();
        return format!("enum: {}", codes.join(", "));
    }
    let mut t = s.get("type").and_then(Value::as_str).unwrap_or("object").to_string();
    if t == "array" {
        t = format!("array of {}", s.get("items").map(type_text).unwrap_or_default());
    }
    if let Some(f) = s.get("format").and_then(Value::as_str) {
        t.push_str(&format!(" ({f})"));
    }
    if let Some(p) = s.get("pattern").and_then(Value::as_str) {
        t.push_str(&format!(" /{p}/"));
    }
    if let Some(m) = s.get("minimum") {
        t.push_str(&format!(" ≥ {m}"));
    }
    if let Some(m) = s.get("maximum") {
        t.push_str(&format!(" ≤ {m}"));
    }
    if s.get("nullable") == Some(&Value::Bool(true)) {
        t.push_str("，可为 null");
    }
    t
}

fn schema_table(name: &str, s: &Value) -> Markup {
    let required: Vec<&str> = s
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let props = s.get("properties").and_then(Value::as_object);
    html! {
        section id={ "schema-" (name) } {
            h3 { code { (name) } }
            @if let Some(d) = s.get("description").and_then(Value::as_str) { p.hint { (d) } }
            @if let Some(props) = props {
                table.data {
                    thead { tr { th { "字段" } th { "类型" } th { "必填" } th { "说明" } } }
                    tbody {
                        @for (k, v) in props {
                            tr {
                                td { code { (k) } }
                                td { (type_text(v)) }
                                td { @if required.contains(&k.as_str()) { "是" } }
                                td { (v.get("description").and_then(Value::as_str).unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `/api/v1/docs`: the document as a page.
pub async fn page() -> Markup {
    let doc = document();
    let empty = Map::new();
    let paths = doc["paths"].as_object().unwrap_or(&empty);
    let schemas = doc["components"]["schemas"].as_object().unwrap_or(&empty);
    let info = doc["info"]["description"].as_str().unwrap_or("");
    let body = html! {
        h1 { "API 接口说明" }
        p { "机器可读的 OpenAPI 3.0.3 文档：" a href="/api/v1/openapi.json" { code { "/api/v1/openapi.json" } } "（本页由同一文档生成）。" }
        @for para in info.split("\n\n") { p { (para.replace("**", "")) } }
        h2 { "认证" }
        ul {
            li { "脚本：" code { "Authorization: Bearer cpt_…" } "，个人 API 令牌在 " a href="/tokens" { "API 令牌" } " 页面创建（只显示一次）。" }
            li { "浏览器会话：登录后的 Cookie；修改数据时须带 " code { "X-CSRF-Token" } " 请求头。" }
        }
        h2 { "接口" }
        table.data {
            thead { tr { th { "方法" } th { "路径" } th { "说明" } th { "参数" } th { "请求体" } th { "成功" } } }
            tbody {
                @for (path, ops) in paths {
                    @if let Some(ops) = ops.as_object() {
                        @for (method, op) in ops {
                            @let params: Vec<String> = op["parameters"].as_array().map(|ps| ps.iter().filter_map(|p| p["name"].as_str().map(str::to_string)).collect()).unwrap_or_default();
                            @let body = op["requestBody"]["content"]["application/json"]["schema"].get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()).unwrap_or("");
                            @let success = op["responses"].as_object().and_then(|r| r.keys().find(|k| k.starts_with('2')).cloned()).unwrap_or_default();
                            tr {
                                td { code { (method.to_uppercase()) } }
                                td { code { (path) } }
                                td { (op["summary"].as_str().unwrap_or("")) }
                                td { (params.join(", ")) }
                                td { @if !body.is_empty() { a href={ "#schema-" (body) } { (body) } } }
                                td { (success) }
                            }
                        }
                    }
                }
            }
        }
        h2 { "数据结构" }
        @for (name, s) in schemas { (schema_table(name, s)) }
    };
    layout::bare(crate::i18n::Lang::Zh, "API 接口说明", body)
}
