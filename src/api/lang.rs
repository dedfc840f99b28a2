//! The language of error messages: `msg` (and Ark's and OpenAI's `message`) in Chinese when the
//! request's `Accept-Language` prefers Chinese (`zh`, `zh-CN`, `zh-Hans`, … over English by
//! q-value), in English otherwise. Codes never change.
//!
//! A message is translated whole when it matches one of [`TEMPLATES`] (the validator's field
//! messages, balance, quota, keys, limits, bodies, routes); any other message gets its code's
//! Chinese summary with the English detail after it (`请求参数错误：…`), so a Chinese reader always
//! learns what went wrong and the detail is never lost.

use std::sync::LazyLock;

use regex::Regex;

use super::error::ErrorCode;

/// The language answers are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

tokio::task_local! {
    static LANG: Lang;
}

impl Lang {
    /// The language an `Accept-Language` value prefers: Chinese when a `zh` range has a higher
    /// q-value than every `en` range (or comes first at the same q-value), else English.
    pub fn from_accept_language(value: Option<&str>) -> Lang {
        let Some(value) = value else {
            return Lang::En;
        };
        let mut best: Option<(f32, Lang)> = None;
        for range in value.split(',') {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = if tag == "zh" || tag.starts_with("zh-") {
                Lang::Zh
            } else if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(best_q, _)| q > best_q) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }

    /// Runs `answer` with `self` as the language of the errors it writes.
    pub async fn scope<F: std::future::Future>(self, answer: F) -> F::Output {
        LANG.scope(self, answer).await
    }

    /// The language of the request being answered (English outside a request).
    pub fn current() -> Lang {
        LANG.try_with(|lang| *lang).unwrap_or(Lang::En)
    }
}

/// `message` (of an error with `code`) in the current request's language.
pub fn localize(code: ErrorCode, message: String) -> String {
    match Lang::current() {
        Lang::En => message,
        Lang::Zh => to_chinese(code, &message),
    }
}

/// Whole-message translations: an English pattern and its Chinese, `$name` for the captures.
const TEMPLATES: &[(&str, &str)] = &[
    (
        r"^balance too low: this task costs (?P<p>-?\d+) credits and the balance is (?P<b>-?\d+) credits$",
        "余额不足：此任务需要 $p 积分，当前余额为 $b 积分",
    ),
    (
        r"^this API key's quota is too low: this task costs (?P<p>\d+) credits and the key has (?P<l>\d+) of its quota of (?P<q>\d+) credits left$",
        "此 API Key 的额度不足：此任务需要 $p 积分，该 Key 的 $q 积分额度还剩 $l 积分",
    ),
    (r"^API key is invalid or revoked$", "API Key 无效或已被吊销"),
    (
        r"^missing Authorization header; send `Authorization: Bearer sk_\.\.\.`$",
        "缺少 Authorization 请求头；请发送 `Authorization: Bearer sk_...`",
    ),
    (
        r"^Authorization must be `Bearer sk_\.\.\.`$",
        "Authorization 必须是 `Bearer sk_...` 的形式",
    ),
    (
        r"^this API key is limited to (?P<r>\d+) requests per minute, paced evenly; retry after (?P<s>\d+) s$",
        "此 API Key 每分钟最多 $r 次请求（均匀分布）；请在 $s 秒后重试",
    ),
    (
        r"^this API key already has (?P<l>\d+) tasks queued or processing \(its limit\); retry when one finishes$",
        "此 API Key 已有 $l 个排队或处理中的任务（已达上限）；请待其中一个结束后重试",
    ),
    (
        r"^(?P<f>[\w\[\]\.]+): must be an integer from (?P<a>-?\d+) to (?P<b>-?\d+) for model (?P<m>\S+) \(got (?P<g>.*)\)$",
        "$f：模型 $m 要求 $a 到 $b 之间的整数（收到 $g）",
    ),
    (
        r"^prompt: required, a non-empty string of at most (?P<n>\d+) characters for model (?P<m>\S+)$",
        "prompt：必填，模型 $m 要求不超过 $n 个字符的非空字符串",
    ),
    (
        r"^prompt: must be a non-empty string of at most (?P<n>\d+) characters for model (?P<m>\S+) \(got (?P<g>.*)\)$",
        "prompt：模型 $m 要求不超过 $n 个字符的非空字符串（收到 $g）",
    ),
    (
        r"^model: required, a string naming one of: (?P<v>.*) \(got (?P<g>.*)\)$",
        "model：必填，须为以下模型之一：$v（收到 $g）",
    ),
    (
        r"^model: unknown model (?P<x>.*) \(valid models: (?P<v>.*); see (?P<s>.*)\)$",
        "model：未知模型 $x（可用模型：$v；参见 $s）",
    ),
    (
        r"^(?P<f>[\w\[\]\.]+): must be one of (?P<c>.*) for model (?P<m>\S+) \(got (?P<g>.*)\)$",
        "$f：模型 $m 的取值须为 $c 之一（收到 $g）",
    ),
    (
        r"^(?P<f>[\w\[\]\.]+): must be one of (?P<c>.*) \(got (?P<g>.*)\)$",
        "$f：取值须为 $c 之一（收到 $g）",
    ),
    (
        r"^limit: must be an integer from 1 to 100 \(got (?P<g>.*)\)$",
        "limit：须为 1 到 100 之间的整数（收到 $g）",
    ),
    (
        r"^cursor: not a cursor this server issued; pass next_cursor unchanged$",
        "cursor：不是本服务器给出的游标；请原样传入 next_cursor",
    ),
    (
        r"^q: at most (?P<n>\d+) characters \(got (?P<g>\d+)\)$",
        "q：最多 $n 个字符（收到 $g 个）",
    ),
    (
        r"^(?P<f>since|until): must be a time in unix seconds, a whole number ≥ 0 \(got (?P<g>.*)\)$",
        "$f：须为 Unix 时间（秒），不小于 0 的整数（收到 $g）",
    ),
    (
        r"^(?P<f>[\w\[\]\.]+): not allowed for model (?P<m>\S+) \(it takes no (?P<w>.*)\)$",
        "$f：模型 $m 不接受此字段（它不支持 $w）",
    ),
    (
        r"^(?P<w>.*) not found for this API key's account$",
        "此 API Key 所属账户下没有 $w",
    ),
    (
        r"^no such route; see the API reference for the routes reelay serves$",
        "没有这个路由；请参阅 API 文档中 reelay 提供的路由",
    ),
    (
        r"^(?P<m>\S+) is not allowed on this route; the Allow header lists the methods it takes$",
        "此路由不接受 $m 方法；响应头 Allow 列出了它接受的方法",
    ),
    (
        r"^body must be JSON with `Content-Type: application/json`$",
        "请求体必须是 JSON，并带有 `Content-Type: application/json`",
    ),
    (r"^body must be a JSON object$", "请求体必须是 JSON 对象"),
    (
        r"^body is not valid JSON: (?P<e>.*)$",
        "请求体不是有效的 JSON：$e",
    ),
    (
        r"^body is larger than (?P<n>\d+) bytes$",
        "请求体超过 $n 字节",
    ),
    (
        r"^internal error; the server log has details under this response's X-Request-Id$",
        "服务器内部错误；服务器日志中以本响应的 X-Request-Id 记录了详情",
    ),
    (
        r"^no configured channel serves model (?P<m>\S+)$",
        "没有已配置的通道提供模型 $m",
    ),
    (
        r"^Idempotency-Key was already used with a different body in the last 24 hours$",
        "此 Idempotency-Key 在过去 24 小时内已用于不同的请求体",
    ),
];

static COMPILED: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    TEMPLATES
        .iter()
        .filter_map(|(pattern, chinese)| Regex::new(pattern).ok().map(|re| (re, *chinese)))
        .collect()
});

/// A Chinese summary of each error code.
fn summary(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::BadJson => "请求体格式错误",
        ErrorCode::InvalidField => "请求参数错误",
        ErrorCode::UnknownModel => "未知模型",
        ErrorCode::BadAsset => "素材引用无效",
        ErrorCode::Unauthorized => "API Key 缺失或无效",
        ErrorCode::InsufficientBalance => "余额或额度不足",
        ErrorCode::Forbidden => "无权执行此操作",
        ErrorCode::NotFound => "资源不存在",
        ErrorCode::MethodNotAllowed => "不支持该请求方法",
        ErrorCode::Conflict => "请求冲突",
        ErrorCode::TooLarge => "请求体或上传文件过大",
        ErrorCode::RangeNotSatisfiable => "请求的字节范围无法满足",
        ErrorCode::RateLimited => "请求过于频繁或超出并发上限",
        ErrorCode::BodyTimeout => "请求体传输过慢",
        ErrorCode::Internal => "服务器内部错误",
        ErrorCode::NoChannel => "暂无可用通道处理该模型",
        ErrorCode::Busy => "服务器连接已满，请稍后重试",
    }
}

fn to_chinese(code: ErrorCode, message: &str) -> String {
    for (pattern, chinese) in COMPILED.iter() {
        if let Some(captures) = pattern.captures(message) {
            let mut out = String::new();
            captures.expand(chinese, &mut out);
            return out.replace(" or ", "、");
        }
    }
    format!("{}：{message}", summary(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_wins_only_when_preferred() {
        assert_eq!(
            Lang::from_accept_language(Some("zh-CN,zh;q=0.9,en;q=0.8")),
            Lang::Zh
        );
        assert_eq!(
            Lang::from_accept_language(Some("en-US,en;q=0.9,zh-CN;q=0.8")),
            Lang::En
        );
        assert_eq!(
            Lang::from_accept_language(Some("fr-FR, zh-Hans;q=0.5")),
            Lang::Zh
        );
        assert_eq!(Lang::from_accept_language(Some("zh;q=0")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("*")), Lang::En);
        assert_eq!(Lang::from_accept_language(None), Lang::En);
    }

    #[test]
    fn every_template_compiles_and_known_messages_read_whole_in_chinese() {
        assert_eq!(COMPILED.len(), TEMPLATES.len());
        assert_eq!(
            to_chinese(
                ErrorCode::InvalidField,
                "duration: must be an integer from 4 to 15 for model seedance2.0-sp (got 20)"
            ),
            "duration：模型 seedance2.0-sp 要求 4 到 15 之间的整数（收到 20）"
        );
        assert_eq!(
            to_chinese(
                ErrorCode::InsufficientBalance,
                "balance too low: this task costs 50 credits and the balance is 1 credits"
            ),
            "余额不足：此任务需要 50 积分，当前余额为 1 积分"
        );
        assert_eq!(
            to_chinese(
                ErrorCode::InvalidField,
                "since: must be a time in unix seconds, a whole number ≥ 0 (got \"x\")"
            ),
            "since：须为 Unix 时间（秒），不小于 0 的整数（收到 \"x\"）"
        );
        assert_eq!(
            to_chinese(
                ErrorCode::InvalidField,
                "q: at most 200 characters (got 201)"
            ),
            "q：最多 200 个字符（收到 201 个）"
        );
        assert_eq!(
            to_chinese(ErrorCode::Conflict, "something new"),
            "请求冲突：something new"
        );
    }
}
