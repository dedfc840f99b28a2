//! The public JSON of a task (API.md §2 "query"), built from its row.
//!
//! [`TaskView`] writes the bytes of `crate::wire::seed::Task`, the task's one declared shape
//! (its schema in `/openapi.json`, what the client reads), without building that owned struct:
//! it borrows the row, and copies the stored request between the task's other members (the
//! poll runs on every call). The tests below hold the two together: what the view writes reads
//! back as a `wire::seed::Task` that writes the same bytes.

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

pub mod ark;
pub mod openai;

use super::StoredResult;
use crate::storage::Storage;
use crate::store::tasks::{StoredRequest, TaskRow};

/// What the view needs besides the row.
pub struct ViewContext<'a> {
    pub storage: &'a Storage,
    /// `server.public_url`, without a trailing slash.
    pub public_url: &'a str,
    /// 0 = results kept forever.
    pub retention_secs: i64,
}

/// Sets the `tasks` gauge of `metrics` (tasks by model and status) from the database.
pub(crate) async fn count_into(
    db: &crate::store::Db,
    metrics: &crate::metrics::Metrics,
) -> Result<(), sqlx::Error> {
    metrics.set_task_counts(crate::store::tasks::count_by_model_and_status(db).await?);
    Ok(())
}

/// Result URLs stop working at this time (None: never).
pub(crate) fn result_expires_at(completed_at: i64, retention_secs: i64) -> Option<i64> {
    (retention_secs > 0).then_some(completed_at + retention_secs)
}

/// The task object returned by `GET /videos/{id}`, the list, webhooks and events.
pub fn task_json(row: &TaskRow, ctx: &ViewContext<'_>) -> Value {
    serde_json::to_value(task_view(row, ctx)).unwrap_or(Value::Null)
}

/// The task object, typed: serialized straight to the response instead of through a `Value`
/// tree (the poll writes it on every call). Fields are in alphabetical order, so it writes the
/// same bytes as [`task_json`]'s sorted map. The members before and after `request` are two
/// flattened structs, so that [`TaskView::write_json`] can copy a stored request between them.
#[derive(Serialize)]
pub(crate) struct TaskView<'a> {
    #[serde(flatten)]
    head: Head<'a>,
    request: RequestEcho<'a>,
    #[serde(flatten)]
    tail: Tail<'a>,
}

/// The task's members that sort before `request`.
#[derive(Serialize)]
struct Head<'a> {
    channel: Option<&'a str>,
    completed_at: Option<i64>,
    cost: CostView<'a>,
    created_at: i64,
    error: Option<ErrorView<'a>>,
    error_message: Option<&'a str>,
    model: &'a str,
    progress: i64,
}

/// The task's members that sort after `request`.
#[derive(Serialize)]
struct Tail<'a> {
    result: Option<ResultView>,
    status: &'a str,
    task_id: &'a str,
    updated_at: i64,
}

/// [`Tail`] and the members a caller appends after it.
#[derive(Serialize)]
struct TailWith<'t, 'a, E> {
    #[serde(flatten)]
    tail: &'t Tail<'a>,
    #[serde(flatten)]
    extra: &'t E,
}

#[derive(Serialize)]
struct CostView<'a> {
    credits: i64,
    refunded: bool,
    seconds: i64,
    unit: Echoed<'a>,
}

/// The stored request as the view echoes it: its fields in name order, `price` left out.
enum RequestEcho<'a> {
    /// A request stored by [`StoredRequest::encode`] (`whole`): `members` is its text after the
    /// price, up to and with its closing brace.
    Stored { whole: &'a str, members: &'a str },
    /// The usual case: top-level fields borrowed from the row, sorted by name, no tree built.
    Fields(Vec<(&'a str, Echoed<'a>)>),
    /// A request these borrowed fields cannot hold (escaped names, not an object).
    Tree(Value),
}

/// One echoed value: written as stored, or rebuilt when it holds an object (so that the object's
/// keys come out sorted too, as in a `Value`).
#[derive(Serialize)]
#[serde(untagged)]
enum Echoed<'a> {
    Raw(&'a RawValue),
    Text(&'a str),
    Tree(Value),
}

impl Serialize for RequestEcho<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            RequestEcho::Stored { members, .. } => RawValue::from_string(format!("{{{members}"))
                .map_err(serde::ser::Error::custom)?
                .serialize(serializer),
            RequestEcho::Fields(fields) => {
                serializer.collect_map(fields.iter().map(|(name, value)| (name, value)))
            }
            RequestEcho::Tree(value) => value.serialize(serializer),
        }
    }
}

impl TaskView<'_> {
    pub fn task_id(&self) -> &str {
        self.tail.task_id
    }

    /// Writes the task object to `out` followed by the members of `extra` (whose names must
    /// sort after `updated_at`): the bytes serializing `TaskView` and `extra` flattened into one
    /// object would write. A request [`StoredRequest::encode`] wrote is copied as stored — serializing
    /// it would first check again, on every poll, JSON that reelay wrote.
    pub(crate) fn write_json<E: Serialize>(
        &self,
        out: &mut Vec<u8>,
        extra: &E,
    ) -> serde_json::Result<()> {
        serde_json::to_writer(&mut *out, &self.head)?;
        // `{…}` of the head, which has members: its closing brace gives way to the request.
        out.pop();
        out.extend_from_slice(b",\"request\":");
        match &self.request {
            RequestEcho::Stored { members, .. } => {
                out.push(b'{');
                out.extend_from_slice(members.as_bytes());
            }
            other => serde_json::to_writer(&mut *out, other)?,
        }
        let tail_at = out.len();
        serde_json::to_writer(
            &mut *out,
            &TailWith {
                tail: &self.tail,
                extra,
            },
        )?;
        // `{…}` of the tail: its opening brace becomes the comma after the request.
        if let Some(brace) = out.get_mut(tail_at) {
            *brace = b',';
        }
        Ok(())
    }

    /// True when the task's request names a (non-empty) `callback_url`.
    pub(crate) fn has_callback_url(&self) -> bool {
        let non_empty = |value: &Value| value.as_str().is_some_and(|url| !url.is_empty());
        match &self.request {
            RequestEcho::Stored { whole, members } => {
                // `callback_url` sorts first; a request without one writes `null` there.
                !members.starts_with(r#""callback_url":null"#)
                    && crate::store::webhooks::callback_url_in(whole).is_some()
            }
            RequestEcho::Fields(fields) => match fields
                .iter()
                .find_map(|(name, value)| (*name == "callback_url").then_some(value))
            {
                Some(Echoed::Raw(raw)) => {
                    serde_json::from_str::<Option<std::borrow::Cow<'_, str>>>(raw.get())
                        .ok()
                        .flatten()
                        .is_some_and(|url| !url.is_empty())
                }
                Some(Echoed::Tree(value)) => non_empty(value),
                Some(Echoed::Text(url)) => !url.is_empty(),
                None => false,
            },
            RequestEcho::Tree(request) => request.get("callback_url").is_some_and(non_empty),
        }
    }
}

#[derive(serde::Deserialize)]
struct Price<'a> {
    #[serde(borrow)]
    unit: Option<&'a RawValue>,
}

/// The echo and price unit of a request [`StoredRequest::encode`] wrote; `None` for any other form.
fn echo_stored(stored: &str) -> Option<(RequestEcho<'_>, Option<Echoed<'_>>)> {
    let rest = stored.strip_prefix(StoredRequest::PRICE_FIRST)?;
    // The price is a flat object of numbers and a unit name: its first `}` closes it.
    let (price, after) = rest.split_at(rest.find('}')? + 1);
    let members = after.strip_prefix(',')?;
    let unit = serde_json::from_str::<Price<'_>>(price)
        .ok()?
        .unit
        .map(echo);
    Some((
        RequestEcho::Stored {
            whole: stored,
            members,
        },
        unit,
    ))
}

/// The request of `row` without its `price`, and the price's unit.
fn echo_request(row: &TaskRow) -> (RequestEcho<'_>, Option<Echoed<'_>>) {
    if let Some(echoed) = echo_stored(row.request.as_str()) {
        return echoed;
    }
    let Ok(Members(mut raw)) = serde_json::from_str::<Members<'_>>(row.request.as_str()) else {
        let mut request: Value = serde_json::from_str(row.request.as_str()).unwrap_or(Value::Null);
        let unit = request
            .as_object_mut()
            .and_then(|o| o.remove("price"))
            .and_then(|p| p.get("unit").cloned())
            .map(Echoed::Tree);
        return (RequestEcho::Tree(request), unit);
    };
    // As a map would hold them: sorted by name, the last of equal names kept.
    raw.sort_by(|a, b| a.0.cmp(b.0));
    let mut fields: Vec<(&str, Echoed<'_>)> = Vec::with_capacity(raw.len());
    let mut unit = None;
    for (name, value) in raw {
        if name == "price" {
            unit = serde_json::from_str::<Price<'_>>(value.get())
                .ok()
                .and_then(|price| price.unit)
                .map(echo);
            continue;
        }
        match fields.last_mut() {
            Some(last) if last.0 == name => last.1 = echo(value),
            _ => fields.push((name, echo(value))),
        }
    }
    (RequestEcho::Fields(fields), unit)
}

/// The top-level members of a JSON object, in their written order, names and values borrowed
/// (a map would allocate a node per few members on every poll).
struct Members<'a>(Vec<(&'a str, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Members<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Members<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(24));
                while let Some(member) = map.next_entry::<&'de str, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

fn echo(value: &RawValue) -> Echoed<'_> {
    if value.get().contains('{') {
        Echoed::Tree(serde_json::from_str(value.get()).unwrap_or(Value::Null))
    } else {
        Echoed::Raw(value)
    }
}

#[derive(Serialize)]
struct ErrorView<'a> {
    code: &'a str,
    message: Option<&'a str>,
}

#[derive(Serialize)]
struct ResultView {
    channel: String,
    duration: f64,
    expired: bool,
    expires_at: Option<i64>,
    fps: u32,
    frames: u32,
    has_audio: bool,
    height: u32,
    last_frame_url: Option<String>,
    preview: bool,
    ratio: String,
    size_bytes: u64,
    video_url: Option<String>,
    width: u32,
}

/// The typed task object of `row` (see [`TaskView`]).
pub(crate) fn task_view<'a>(row: &'a TaskRow, ctx: &ViewContext<'_>) -> TaskView<'a> {
    let (request, unit) = echo_request(row);
    let unit = unit.unwrap_or(Echoed::Text(&row.cost_unit));
    let result = signed_result(row, ctx).map(result_view);
    TaskView {
        head: Head {
            channel: row.channel.as_deref(),
            completed_at: row.completed_at,
            cost: CostView {
                credits: row.cost_credits,
                refunded: row.refunded != 0,
                seconds: row.cost_seconds,
                unit,
            },
            created_at: row.created_at,
            error: row.error_code.as_deref().map(|code| ErrorView {
                code,
                message: row.error_message.as_deref(),
            }),
            error_message: row.error_message.as_deref(),
            model: &row.model,
            progress: row.progress,
        },
        request,
        tail: Tail {
            result,
            status: row.status.as_str(),
            task_id: &row.id,
            updated_at: row.updated_at,
        },
    }
}

/// A completed task's stored outputs with the URLs a client downloads them from (the one
/// place result URLs are signed for every dialect's view).
pub(crate) struct SignedResult {
    pub stored: StoredResult,
    /// `None` once the files were deleted by retention.
    pub video_url: Option<String>,
    pub last_frame_url: Option<String>,
    /// When the URLs stop working (`None`: never).
    pub expires_at: Option<i64>,
    /// The files were deleted by retention.
    pub expired: bool,
}

/// The outputs of `row` with signed URLs; `None` when it has no (readable) result.
pub(crate) fn signed_result(row: &TaskRow, ctx: &ViewContext<'_>) -> Option<SignedResult> {
    let stored = serde_json::from_str::<StoredResult>(row.result.as_deref()?).ok()?;
    let completed_at = row.completed_at.unwrap_or(row.updated_at);
    let expires_at = result_expires_at(completed_at, ctx.retention_secs);
    let expired = row.expired != 0;
    let now = crate::clock::now();
    let sign = |key: &str| ctx.storage.result_url(ctx.public_url, key, expires_at, now);
    let video_url = (!expired).then(|| sign(&stored.video_key));
    let last_frame_url = if expired {
        None
    } else {
        stored.last_frame_key.as_deref().map(sign)
    };
    Some(SignedResult {
        stored,
        video_url,
        last_frame_url,
        expires_at,
        expired,
    })
}

fn result_view(signed: SignedResult) -> ResultView {
    let SignedResult {
        stored,
        video_url,
        last_frame_url,
        expires_at,
        expired,
    } = signed;
    ResultView {
        preview: stored.channel == "local",
        channel: stored.channel,
        duration: stored.duration,
        expired,
        expires_at,
        fps: stored.fps,
        frames: stored.frames,
        has_audio: stored.has_audio,
        height: stored.height,
        last_frame_url,
        ratio: stored.ratio,
        size_bytes: stored.size_bytes,
        video_url,
        width: stored.width,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reelay_catalog::ValidatedRequest;
    use serde_json::json;

    use crate::store::tasks::TaskStatus;

    fn row(result: Option<&StoredResult>, error: Option<(&str, &str)>) -> TaskRow {
        TaskRow {
            id: "vid_1".into(),
            account_id: "acc_1".into(),
            key_id: None,
            model: "seedance2.0-sp".into(),
            status: if result.is_some() {
                TaskStatus::Completed
            } else {
                TaskStatus::Failed
            },
            progress: 100,
            // As stored: struct order (not sorted), nested objects, a brace inside a string.
            request: StoredRequest::from_stored(r#"{"model":"seedance2.0-sp","prompt":"a \"quoted\" {lighthouse}","duration":5,"ratio":"16:9","images":[{"url":"https://x.test/a.png","role":"reference"}],"first_image":null,"seed":null,"callback_url":null,"price":{"credits":10,"unit":"credits","seconds":5}}"#.to_string()),
            cost_credits: 10,
            cost_unit: "credits".into(),
            cost_seconds: 5,
            refunded: i64::from(error.is_some()),
            channel: Some("local".into()),
            result: result.map(|r| serde_json::to_string(r).expect("result json")),
            error_code: error.map(|(code, _)| code.into()),
            error_message: error.map(|(_, message)| message.into()),
            attempts: 1,
            claimed_by: None,
            lease_until: None,
            created_at: 1_700_000_000,
            updated_at: 1_700_000_050,
            completed_at: Some(1_700_000_050),
            expired: 0,
            client: None,
            start_deadline: None,
            hidden_at: None,
        }
    }

    /// Local storage in a temporary directory, for the view's signed URLs.
    struct Files {
        _dir: tempfile::TempDir,
        storage: Storage,
    }

    impl Files {
        fn new() -> Files {
            let dir = tempfile::tempdir().expect("dir");
            let storage = Storage::local(dir.path(), b"k".to_vec()).expect("store");
            Files { _dir: dir, storage }
        }

        fn ctx(&self, retention_secs: i64) -> ViewContext<'_> {
            ViewContext {
                storage: &self.storage,
                public_url: "http://reelay.test",
                retention_secs,
            }
        }
    }

    /// `write_json` writes what serde writes for the view and a trailing member flattened into
    /// one object, with and without that member's value.
    fn assert_written_as_serialized(view: &TaskView<'_>) {
        #[derive(Serialize)]
        struct Extra {
            webhook: Option<Value>,
        }
        #[derive(Serialize)]
        struct Both<'v, 'a> {
            #[serde(flatten)]
            task: &'v TaskView<'a>,
            #[serde(flatten)]
            extra: &'v Extra,
        }
        for extra in [
            Extra { webhook: None },
            Extra {
                webhook: Some(json!({"status": "pending", "attempts": 1})),
            },
        ] {
            let mut out = b"prefix:".to_vec();
            view.write_json(&mut out, &extra).expect("write");
            let mut expected = b"prefix:".to_vec();
            serde_json::to_writer(
                &mut expected,
                &Both {
                    task: view,
                    extra: &extra,
                },
            )
            .expect("serialize");
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&expected)
            );
        }
    }

    #[test]
    fn a_callback_url_is_found_in_every_form_of_stored_request() {
        let files = Files::new();
        let ctx = files.ctx(0);
        for (request, expected) in [
            (r#"{"callback_url":"https://hook.test/a"}"#, true),
            (r#"{"callback_url":"https://hook.test/{id}"}"#, true),
            (r#"{"callback_url":"https:\/\/hook.test\/a"}"#, true),
            (r#"{"callback_url":""}"#, false),
            (r#"{"callback_url":null}"#, false),
            (r#"{"prompt":"x"}"#, false),
            // An escaped name cannot be borrowed: the tree path answers.
            (
                r#"{"callback_url":"https://hook.test/a","n\u0061me":1}"#,
                true,
            ),
        ] {
            let mut task = row(None, None);
            task.request = StoredRequest::from_stored(request.to_string());
            let view = task_view(&task, &ctx);
            assert_eq!(view.has_callback_url(), expected, "{request}");
        }
    }

    /// A name written twice echoes once, with its last value, as a JSON map would hold it.
    #[test]
    fn a_repeated_name_echoes_once_with_its_last_value() {
        let files = Files::new();
        let ctx = files.ctx(0);
        let mut task = row(None, None);
        task.request = StoredRequest::from_stored(
            r#"{"prompt":"first","seed":1,"prompt":"second","price":{"unit":"a"},"price":{"unit":"b"}}"#.to_string(),
        );
        let typed = serde_json::to_string(&task_view(&task, &ctx)).expect("serialize");
        assert_eq!(typed.matches("\"prompt\"").count(), 1, "{typed}");
        let value: Value = serde_json::from_str(&typed).expect("json");
        assert_eq!(value["request"], json!({"prompt": "second", "seed": 1}));
        assert_eq!(value["cost"]["unit"], "b");
        assert_eq!(typed, task_json(&task, &ctx).to_string());
    }

    /// The typed view writes exactly the bytes of the sorted `Value` map (field order included).
    #[test]
    fn the_typed_view_writes_the_sorted_map() {
        let files = Files::new();
        let ctx = files.ctx(3600);
        let stored = StoredResult {
            video_key: "results/vid_1.mp4".into(),
            last_frame_key: Some("results/vid_1.png".into()),
            width: 1280,
            height: 720,
            duration: 5.0,
            fps: 24,
            frames: 120,
            size_bytes: 12345,
            has_audio: false,
            channel: "local".into(),
            ratio: "16:9".into(),
        };
        for task in [
            row(Some(&stored), None),
            row(None, Some(("upstream_failed", "the render failed"))),
        ] {
            let typed = serde_json::to_string(&task_view(&task, &ctx)).expect("serialize");
            assert_eq!(typed, task_json(&task, &ctx).to_string());
            assert!(!task_view(&task, &ctx).has_callback_url());
            assert_written_as_serialized(&task_view(&task, &ctx));
            let value: Value = serde_json::from_str(&typed).expect("json");
            assert!(value["request"].get("price").is_none());
            assert_eq!(value["cost"]["unit"], "credits");
        }
        let done = task_json(&row(Some(&stored), None), &ctx);
        assert_eq!(done["result"]["width"], 1280);
        assert_eq!(done["result"]["preview"], true);
        assert!(done["result"]["video_url"]
            .as_str()
            .is_some_and(|url| url.starts_with("http://reelay.test/")));
        assert_eq!(done["error"], Value::Null);
        let failed = task_json(&row(None, Some(("upstream_failed", "boom"))), &ctx);
        assert_eq!(
            failed["error"],
            json!({ "code": "upstream_failed", "message": "boom" })
        );
        assert_eq!(failed["cost"]["refunded"], true);
    }

    /// What the view writes (the poll's bytes, with its `webhook` member, and the list's,
    /// events' and webhooks', without it) reads back as the wire `Task`, which writes the same
    /// bytes: completed, failed and queued tasks, with and without a callback and a delivery,
    /// with requests in both stored forms.
    #[test]
    fn what_the_view_writes_reads_back_as_the_wire_task_byte_for_byte() {
        use crate::wire::seed::{Task, WebhookDelivery};

        #[derive(Serialize)]
        struct Nothing {}
        #[derive(Serialize)]
        struct Polled {
            webhook: Option<WebhookDelivery>,
        }

        let files = Files::new();
        let catalog = reelay_catalog::Catalog::embedded();
        let options = reelay_catalog::ValidateOptions::default();
        let stored = StoredResult {
            video_key: "results/vid_1/video.mp4".into(),
            last_frame_key: None,
            width: 864,
            height: 480,
            duration: 4.0,
            fps: 24,
            frames: 96,
            size_bytes: 2048,
            has_audio: false,
            channel: "local".into(),
            ratio: "16:9".into(),
        };
        let plain = json!({"model": "seedance2.0-sp", "prompt": "waves", "duration": 4});
        let full = json!({"model": "seedance2.0-sp", "prompt": "a \"quoted\" {lighthouse}",
            "duration": 5, "resolution": "480p", "images": ["https://example.com/a.png", "asset://ast_1"],
            "seed": 7, "watermark": true, "callback_url": "https://hook.example.com/a?b={c}"});
        let delivery = WebhookDelivery {
            attempts: 2,
            delivered_at: None,
            last_error: Some("HTTP 500".into()),
            last_status: Some(500),
            next_attempt_at: Some(1_700_000_100),
            state: "pending".into(),
            url: "https://hook.example.com/a?b={c}".into(),
            webhook_id: "msg_1".into(),
        };
        let mut written = 0;
        for body in [&plain, &full] {
            let request = catalog.validate(body, &options).expect("valid");
            let new_form = StoredRequest::encode(&request).expect("stored");
            let old_form =
                StoredRequest::from_stored(serde_json::to_string(&request).expect("struct order"));
            let completed = row(Some(&stored), None);
            let failed = row(None, Some(("cancelled", "cancelled by the user")));
            let mut queued = row(None, None);
            queued.status = TaskStatus::Queued;
            queued.progress = 0;
            queued.channel = None;
            queued.completed_at = None;
            queued.refunded = 0;
            for mut task in [completed, failed, queued] {
                for form in [&new_form, &old_form] {
                    task.request = form.clone();
                    for retention in [0, 3600] {
                        let ctx = files.ctx(retention);
                        let view = task_view(&task, &ctx);
                        let mut outs = Vec::new();
                        let mut out = Vec::new();
                        view.write_json(&mut out, &Nothing {}).expect("write");
                        outs.push(out);
                        for webhook in [None, Some(delivery.clone())] {
                            let mut out = Vec::new();
                            view.write_json(&mut out, &Polled { webhook })
                                .expect("write");
                            outs.push(out);
                        }
                        outs.push(serde_json::to_vec(&view).expect("serialize"));
                        for out in outs {
                            let text = String::from_utf8_lossy(&out).to_string();
                            let wire: Task = serde_json::from_slice(&out).expect(&text);
                            let again = serde_json::to_string(&wire).expect("serialize");
                            assert_eq!(again, text);
                            written += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(written, 2 * 3 * 2 * 2 * 4);
    }

    /// A request written by `StoredRequest::encode` (price first, the rest sorted) echoes the same
    /// bytes as the same request written in the struct's order (the rows before 2026-12), and
    /// its callback URL is found the same way; its workers read it back as the same request.
    #[test]
    fn both_stored_forms_of_a_request_echo_the_same_bytes() {
        let files = Files::new();
        let ctx = files.ctx(0);
        let catalog = reelay_catalog::Catalog::embedded();
        let options = reelay_catalog::ValidateOptions::default();
        for body in [
            json!({"model": "seedance2.0-sp", "prompt": "a \"quoted\" {lighthouse}, \"price\":{}", "duration": 5}),
            json!({"model": "seedance2.0-sp", "prompt": "x", "duration": 4, "resolution": "480p",
                   "images": ["https://example.com/a.png", "asset://ast_1"], "seed": 7,
                   "callback_url": "https://hook.example.com/a?b={c}"}),
            json!({"model": "seedance2.0-sp", "prompt": "ünïcödé \u{1F600}", "duration": 5}),
        ] {
            let request = catalog.validate(&body, &options).expect("valid");
            let stored = StoredRequest::encode(&request).expect("stored");
            assert!(
                stored.as_str().starts_with(StoredRequest::PRICE_FIRST),
                "{}",
                stored.as_str()
            );
            let back: ValidatedRequest = stored.decode().expect("reads back");
            assert_eq!(back, request);

            let mut new = row(None, None);
            new.request = stored;
            let mut old = row(None, None);
            old.request =
                StoredRequest::from_stored(serde_json::to_string(&request).expect("struct order"));
            let new_view = task_view(&new, &ctx);
            assert!(
                matches!(new_view.request, RequestEcho::Stored { .. }),
                "{}",
                new.request.as_str()
            );
            assert!(!matches!(
                task_view(&old, &ctx).request,
                RequestEcho::Stored { .. }
            ));
            let typed = serde_json::to_string(&new_view).expect("serialize");
            assert_eq!(
                typed,
                serde_json::to_string(&task_view(&old, &ctx)).expect("serialize")
            );
            assert_eq!(typed, task_json(&new, &ctx).to_string());
            assert_written_as_serialized(&new_view);
            assert_written_as_serialized(&task_view(&old, &ctx));
            assert_eq!(
                new_view.has_callback_url(),
                request
                    .callback_url
                    .as_deref()
                    .is_some_and(|u| !u.is_empty()),
                "{body}"
            );
            assert_eq!(
                new_view.has_callback_url(),
                task_view(&old, &ctx).has_callback_url()
            );
            let value: Value = serde_json::from_str(&typed).expect("json");
            assert!(value["request"].get("price").is_none(), "{typed}");
            assert_eq!(value["cost"]["unit"], json!(request.price.unit), "{typed}");
        }
        // An empty callback URL (which the validator refuses) is no callback URL.
        let body = json!({"model": "seedance2.0-sp", "prompt": "x", "duration": 5});
        let mut request = catalog.validate(&body, &options).expect("valid");
        request.callback_url = Some(String::new());
        let mut task = row(None, None);
        task.request = StoredRequest::encode(&request).expect("stored");
        assert!(!task_view(&task, &ctx).has_callback_url());
    }
}
