//! The DLP rules page: the rules in force and the dictionary (every role reads them),
//! adding a rule or a word and removing one (administrators; a removal turns a protection
//! off, so it asks for the password again), and the test box — a text or a file decided by
//! the rules in force, with the verdict and masked findings, nothing sent or stored.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Extension, Form, Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use mamori_panel::dlp::{self, DlpProblem, RuleDraft, WordDraft};
use mamori_panel::i18n::{Texts, fill};
use mamori_panel::session::Session;
use mamori_panel::users::Role;
use serde::Deserialize;
use serde_json::Value;

use super::json::{strings, text};
use super::{Chrome, Peer, ask, checked, csrf_form, or_answer, render, render_status, require};
use crate::state::Panel;

/// The largest upload the test box takes: the relay's sample limit and the form around it.
pub const MAX_TRY_BODY: usize = (4 << 20) + (64 << 10);

/// The largest file the relay tries.
const MAX_SAMPLE_BYTES: usize = 4 << 20;

/// One rule in force.
struct RuleRow {
    name: String,
    name_en: Option<String>,
    detects: String,
    confidence: String,
    count: u64,
    scope: String,
    action: String,
}

/// One dictionary word.
struct WordRow {
    name: String,
    kind: String,
    /// Its spacing when set in so many words (`on`/`off`), as text; else empty.
    spaced: String,
    pattern: String,
    confidence: String,
}

/// One finding of the test box, masked.
struct FindingRow {
    kind: String,
    place: String,
    excerpt: String,
}

/// The test box's answer.
struct TryResult {
    verdict: String,
    held: bool,
    rule: Option<String>,
    explanation: Vec<String>,
    findings: Vec<FindingRow>,
    problems: Vec<String>,
}

#[derive(Template)]
#[template(path = "dlp.html")]
struct DlpPage {
    c: Chrome,
    admin: bool,
    ask_password: bool,
    defaults: bool,
    rules: Vec<RuleRow>,
    words: Vec<WordRow>,
    done: Option<String>,
    error: Option<String>,
    /// The add-rule form as typed, with its errors.
    rule: RuleDraft,
    rule_name_error: Option<String>,
    rule_name_en_error: Option<String>,
    rule_detectors_error: Option<String>,
    rule_count_error: Option<String>,
    rule_error: Option<String>,
    /// The add-word form as typed, with its errors.
    word: WordDraft,
    word_name_error: Option<String>,
    word_pattern_error: Option<String>,
    word_spaced_error: Option<String>,
    word_error: Option<String>,
    remove_error: Option<String>,
    /// The test box as typed, and its answer.
    try_text: String,
    try_recipient: String,
    try_error: Option<String>,
    tried: Option<TryResult>,
    /// The choices of the forms, with their texts.
    detector_choices: Vec<(&'static str, &'static str)>,
    confidence_choices: Vec<(&'static str, &'static str)>,
    scope_choices: Vec<(&'static str, &'static str)>,
    action_choices: Vec<(&'static str, &'static str)>,
    kind_choices: Vec<(&'static str, &'static str)>,
    spaced_choices: Vec<(&'static str, &'static str)>,
}

impl DlpPage {
    /// Whether the add-rule form has `detector` ticked.
    fn ticked(&self, detector: &str) -> bool {
        self.rule.detectors.iter().any(|d| d == detector)
    }
}

/// The text of a form value (a detector, a confidence …), or the value itself.
fn label(t: &Texts, value: &str) -> &'static str {
    match value {
        "my_number" => t.det_my_number,
        "corporate_number" => t.det_corporate_number,
        "credit_card" => t.det_credit_card,
        "phone" => t.det_phone,
        "email_list" => t.det_email_list,
        "custom" => t.det_custom,
        "low" => t.conf_low,
        "medium" => t.conf_medium,
        "high" => t.conf_high,
        "outbound" => t.scope_outbound,
        "internal" => t.scope_internal,
        "any" => t.scope_any,
        "hold" => t.act_hold,
        "reject" => t.act_reject,
        "tag" => t.act_tag,
        "notify" => t.act_notify,
        "log" => t.act_log,
        "pass" => t.try_pass,
        "keyword" => t.kind_keyword,
        "wildcard" => t.kind_wildcard,
        "regex" => t.kind_regex,
        "auto" => t.spaced_auto,
        "on" => t.spaced_on,
        "off" => t.spaced_off,
        "archive_bomb" => t.prob_archive_bomb,
        "encrypted" => t.prob_encrypted,
        "not_fully_read" => t.prob_not_fully_read,
        _ => "",
    }
}

/// `value`'s text, or `value` when the panel has none (a rule written in the file).
pub(crate) fn shown(t: &Texts, value: &str) -> String {
    match label(t, value) {
        "" => value.to_string(),
        text => text.to_string(),
    }
}

fn choices(t: &Texts, values: &[&'static str]) -> Vec<(&'static str, &'static str)> {
    values.iter().map(|v| (*v, label(t, v))).collect()
}

/// The policy in force, as the relay reports it: (built-in rules?, rules, dictionary).
async fn policy(panel: &Panel, s: &Session) -> Result<(bool, Vec<Value>, Vec<Value>), String> {
    let p = ask(
        &panel.sockets.smtpd,
        s,
        serde_json::json!({"op": "dlp_policy"}),
    )
    .await?;
    let list = |key: &str| p[key].as_array().cloned().unwrap_or_default();
    Ok((
        p["default_rules"].as_bool().unwrap_or(false),
        list("rules"),
        list("custom"),
    ))
}

async fn page(panel: &Panel, s: &Session) -> DlpPage {
    let c = Chrome::new(Some(s), s.lang, |t| t.dlp_title);
    let t = c.t;
    let (defaults, rules, words, error) = match policy(panel, s).await {
        Ok((d, r, w)) => (d, r, w, None),
        Err(why) => (false, Vec::new(), Vec::new(), Some(why)),
    };
    let rules = rules
        .iter()
        .map(|r| {
            let detectors: Vec<String> = r["detectors"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .chain(
                    r["problems"]
                        .as_array()
                        .map(Vec::as_slice)
                        .unwrap_or_default(),
                )
                .filter_map(Value::as_str)
                .map(|d| shown(t, d))
                .collect();
            RuleRow {
                name: text(r, "name"),
                name_en: r["name_en"].as_str().map(str::to_owned),
                detects: detectors.join("、"),
                confidence: shown(t, &text(r, "min_confidence")),
                count: r["min_count"].as_u64().unwrap_or(1),
                scope: shown(t, &text(r, "scope")),
                action: shown(t, &text(r, "action")),
            }
        })
        .collect();
    let words = words
        .iter()
        .map(|w| WordRow {
            name: text(w, "name"),
            kind: shown(t, &text(w, "kind")),
            spaced: match w["spaced"].as_bool() {
                Some(true) => t.spaced_on.to_owned(),
                Some(false) => t.spaced_off.to_owned(),
                None => String::new(),
            },
            pattern: text(w, "pattern"),
            confidence: shown(t, &text(w, "confidence")),
        })
        .collect();
    let now = mamori_core::clock::unix_now();
    DlpPage {
        admin: s.role == Role::Administrator,
        ask_password: !s.recently_authenticated(now),
        defaults,
        rules,
        words,
        done: None,
        error,
        rule: RuleDraft {
            min_confidence: "medium".into(),
            min_count: "1".into(),
            scope: "outbound".into(),
            action: "hold".into(),
            ..RuleDraft::default()
        },
        rule_name_error: None,
        rule_name_en_error: None,
        rule_detectors_error: None,
        rule_count_error: None,
        rule_error: None,
        word: WordDraft {
            kind: "keyword".into(),
            confidence: "high".into(),
            spaced: "auto".into(),
            ..WordDraft::default()
        },
        word_name_error: None,
        word_pattern_error: None,
        word_spaced_error: None,
        word_error: None,
        remove_error: None,
        try_text: String::new(),
        try_recipient: String::new(),
        try_error: None,
        tried: None,
        detector_choices: choices(t, dlp::DETECTORS),
        confidence_choices: choices(t, dlp::CONFIDENCES),
        scope_choices: choices(t, dlp::SCOPES),
        action_choices: choices(t, dlp::ACTIONS),
        kind_choices: choices(t, dlp::WORD_KINDS),
        spaced_choices: choices(t, dlp::SPACINGS),
        c,
    }
}

fn problem_text(t: &Texts, p: &DlpProblem) -> String {
    match p {
        DlpProblem::BadName => t.problem_rule_name,
        DlpProblem::BadEnglishName => t.problem_name_en,
        DlpProblem::SpacingNotKeyword => t.problem_spacing_keyword,
        DlpProblem::NameTaken => t.problem_name_taken,
        DlpProblem::NoDetector => t.problem_no_detector,
        DlpProblem::BadChoice => t.problem_bad_choice,
        DlpProblem::BadCount => t.problem_bad_count,
        DlpProblem::BadPattern => t.problem_bad_pattern,
        DlpProblem::TooMany => t.problem_too_many,
    }
    .to_string()
}

/// `?done=rule-added:NAME` and the like.
#[derive(Deserialize)]
pub(crate) struct DoneQuery {
    done: String,
}

pub(crate) async fn show(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Auditor));
    let mut p = page(&panel, &s).await;
    let t = p.c.t;
    if let Ok(Query(q)) = query {
        // Only fixed messages, naming a rule or word the page lists (or no longer lists).
        let listed = |name: &str| {
            p.rules.iter().any(|r| r.name == name) || p.words.iter().any(|w| w.name == name)
        };
        p.done = match q.done.split_once(':') {
            Some(("rule-added", n)) if listed(n) => Some(fill(t.dlp_rule_added, n)),
            Some(("word-added", n)) if listed(n) => Some(fill(t.dlp_word_added, n)),
            Some(("rule-removed", n)) if !listed(n) => Some(fill(t.dlp_rule_removed, n)),
            Some(("word-removed", n)) if !listed(n) => Some(fill(t.dlp_word_removed, n)),
            _ => None,
        };
    }
    render(&p)
}

/// A change of one list of the DLP settings.
struct Save<'a> {
    /// The settings key (`dlp.rules`, `dlp.scan.custom.rules`).
    key: &'a str,
    /// Its new value.
    value: Vec<Value>,
    /// The panel's audit event.
    event: &'a str,
    /// The rule's or word's name.
    name: &'a str,
    /// The `done` message after it.
    done: &'a str,
}

/// Saves the change (audited by the panel first), then back to the page with its `done`
/// message; the settings service's refusal is shown at `error_at` on the page `p`.
async fn save(
    panel: &Panel,
    s: &Session,
    peer: &Peer,
    change: Save<'_>,
    mut p: DlpPage,
    error_at: fn(&mut DlpPage) -> &mut Option<String>,
) -> Response {
    let t = p.c.t;
    let Save {
        key,
        value,
        event,
        name,
        done,
    } = change;
    let set = vec![(key.to_string(), Value::Array(value))];
    let from = super::source(peer);
    match super::apply::audited_change(panel, s, from, (event, name), set, Vec::new()).await {
        Ok(applied) => match applied.relay_refused {
            None => {
                Redirect::to(&format!("/mail/dlp?done={done}:{}", urlencode(name))).into_response()
            }
            Some(why) => {
                let mut p = page(panel, s).await;
                p.error = Some(fill(t.relay_not_applied, why));
                render_status(StatusCode::CONFLICT, &p)
            }
        },
        Err(why) => {
            *error_at(&mut p) = Some(fill(t.not_saved, why));
            render_status(StatusCode::BAD_REQUEST, &p)
        }
    }
}

/// Percent-encodes a name for the `done` query.
pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) async fn add_rule(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    // Ticked boxes repeat their name, which a plain form struct cannot take: read the pairs.
    let pairs = form.map(|Form(pairs)| pairs).unwrap_or_default();
    let value = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if !super::csrf_ok(&s, &value("_csrf")) {
        return super::csrf_refused(s.lang);
    }
    let draft = RuleDraft {
        name: value("name").chars().take(200).collect(),
        name_en: value("name_en").chars().take(200).collect(),
        detectors: pairs
            .iter()
            .filter(|(n, _)| n == "detector")
            .map(|(_, v)| v.clone())
            .take(16)
            .collect(),
        min_confidence: value("min_confidence"),
        min_count: value("min_count"),
        scope: value("scope"),
        action: value("action"),
    };
    let mut p = page(&panel, &s).await;
    let t = p.c.t;
    let rules = match policy(&panel, &s).await {
        Ok((_, rules, _)) => rules,
        Err(why) => {
            p.rule_error = Some(fill(t.not_saved, why));
            return render_status(StatusCode::CONFLICT, &p);
        }
    };
    let added = dlp::add_rule(&rules, &draft);
    p.rule = draft.clone();
    let new = match added {
        Ok(new) => new,
        Err(problem) => {
            let at = match problem {
                DlpProblem::BadName | DlpProblem::NameTaken => &mut p.rule_name_error,
                DlpProblem::BadEnglishName => &mut p.rule_name_en_error,
                DlpProblem::NoDetector => &mut p.rule_detectors_error,
                DlpProblem::BadCount => &mut p.rule_count_error,
                _ => &mut p.rule_error,
            };
            *at = Some(problem_text(t, &problem));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    let name = draft.name.trim().to_string();
    save(
        &panel,
        &s,
        &peer,
        Save {
            key: "dlp.rules",
            value: new,
            event: "panel_dlp_rule_added",
            name: &name,
            done: "rule-added",
        },
        p,
        |p| &mut p.rule_error,
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct WordForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    kind: String,
    pattern: String,
    confidence: String,
    /// Absent from a form of an older page: the relay's default.
    #[serde(default)]
    spaced: String,
}

pub(crate) async fn add_word(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<WordForm>, FormRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let draft = WordDraft {
        name: f.name.chars().take(200).collect(),
        kind: f.kind,
        pattern: f.pattern.chars().take(2000).collect(),
        confidence: f.confidence,
        spaced: f.spaced,
    };
    let mut p = page(&panel, &s).await;
    let t = p.c.t;
    p.word = draft.clone();
    let words = match policy(&panel, &s).await {
        Ok((_, _, words)) => words,
        Err(why) => {
            p.word_error = Some(fill(t.not_saved, why));
            return render_status(StatusCode::CONFLICT, &p);
        }
    };
    let new = match dlp::add_word(&words, &draft) {
        Ok(new) => new,
        Err(problem) => {
            let at = match problem {
                DlpProblem::BadName | DlpProblem::NameTaken => &mut p.word_name_error,
                DlpProblem::BadPattern => &mut p.word_pattern_error,
                DlpProblem::SpacingNotKeyword => &mut p.word_spaced_error,
                _ => &mut p.word_error,
            };
            *at = Some(problem_text(t, &problem));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    let name = draft.name.trim().to_string();
    // A bad regular expression is refused by the settings service's check of the whole
    // configuration (`dlp.scan.custom.rules[N].pattern: …`), shown next to the pattern.
    save(
        &panel,
        &s,
        &peer,
        Save {
            key: "dlp.scan.custom.rules",
            value: new,
            event: "panel_dlp_word_added",
            name: &name,
            done: "word-added",
        },
        p,
        |p| &mut p.word_pattern_error,
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct RemoveForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    /// `rule` or `word`.
    what: String,
    name: String,
    #[serde(default)]
    password: String,
}

pub(crate) async fn remove(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<RemoveForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let from = super::source(&peer);
    // Removing a rule or a word turns a protection off: the password again.
    let reauth = super::reauthenticate(
        &panel,
        &id,
        &s,
        &f.password,
        from,
        "DLP rule removal",
        false,
    )
    .await;
    let mut p = page(&panel, &s).await;
    let t = p.c.t;
    if let Err(why) = reauth {
        p.remove_error = Some(why);
        return render_status(StatusCode::FORBIDDEN, &p);
    }
    let (_, rules, words) = match policy(&panel, &s).await {
        Ok(found) => found,
        Err(why) => {
            p.remove_error = Some(fill(t.not_saved, why));
            return render_status(StatusCode::CONFLICT, &p);
        }
    };
    let (key, list, event, done) = match f.what.as_str() {
        "rule" => ("dlp.rules", rules, "panel_dlp_rule_removed", "rule-removed"),
        "word" => (
            "dlp.scan.custom.rules",
            words,
            "panel_dlp_word_removed",
            "word-removed",
        ),
        _ => return super::message(StatusCode::BAD_REQUEST, s.lang, t.bad_request),
    };
    // With no rule at all the built-in ones would come back: the last one stays.
    if f.what == "rule" && list.len() == 1 && list.iter().any(|r| r["name"] == f.name.as_str()) {
        p.remove_error = Some(t.dlp_last_rule.into());
        return render_status(StatusCode::CONFLICT, &p);
    }
    let Some(new) = dlp::remove_named(&list, &f.name) else {
        return super::message(StatusCode::NOT_FOUND, s.lang, t.not_found);
    };
    save(
        &panel,
        &s,
        &peer,
        Save {
            key,
            value: new,
            event,
            name: &f.name,
            done,
        },
        p,
        |p| &mut p.remove_error,
    )
    .await
}

/// The test box: a multipart form (a file may come with it), the CSRF token among its
/// fields.
pub(crate) async fn try_sample(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let t = s.lang.texts();
    let form = super::upload::read(multipart).await;
    let too_big = form.is_err();
    let form = form.unwrap_or(super::upload::Fields::empty());
    let csrf = form.text("_csrf");
    let text = form.text("text");
    let recipient: String = form.text("recipient").trim().chars().take(254).collect();
    let file = form
        .file("file")
        .map(|f| (f.file_name.clone().unwrap_or_default(), f.bytes.clone()));
    // A body past the limit cannot be read for its token: the page says so, and nothing
    // else happens.
    if !too_big && !super::csrf_ok(&s, &csrf) {
        return super::csrf_refused(s.lang);
    }
    let mut p = page(&panel, &s).await;
    p.try_recipient = recipient.clone();
    let has_text = !text.trim().is_empty();
    p.try_text = text.chars().take(100_000).collect();
    if too_big
        || file
            .as_ref()
            .is_some_and(|(_, b)| b.len() > MAX_SAMPLE_BYTES)
    {
        p.try_error = Some(t.try_too_big.into());
        return render_status(StatusCode::PAYLOAD_TOO_LARGE, &p);
    }
    let sample = match (has_text, file) {
        (true, None) => serde_json::json!({"text": text, "recipient": recipient}),
        (false, Some((name, bytes))) => serde_json::json!({
            "file_name": name,
            "file_base64": base64::engine::general_purpose::STANDARD.encode(bytes),
            "recipient": recipient,
        }),
        _ => {
            p.try_error = Some(t.try_nothing.into());
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    let answer = ask(
        &panel.sockets.smtpd,
        &s,
        serde_json::json!({"op": "dlp_try", "sample": sample}),
    )
    .await;
    match answer {
        Ok(v) => {
            p.tried = Some(tried(t, &v));
            render(&p)
        }
        Err(why) => {
            p.try_error = Some(fill(t.try_failed, why));
            render_status(StatusCode::BAD_REQUEST, &p)
        }
    }
}

/// The relay's verdict as the page shows it.
fn tried(t: &Texts, v: &Value) -> TryResult {
    let action = text(v, "action");
    let list = |key: &str| v[key].as_array().map(Vec::as_slice).unwrap_or_default();
    TryResult {
        verdict: fill(t.try_verdict, shown(t, &action)),
        held: !matches!(action.as_str(), "pass" | "log"),
        rule: v["rule"].as_str().map(|r| fill(t.try_rule, r)),
        explanation: strings(&v["explanation"]),
        findings: list("findings")
            .iter()
            .map(|f| FindingRow {
                kind: shown(t, &dlp::detector_name(&f["detector"])),
                place: strings(&f["location"]).join(" › "),
                excerpt: text(f, "masked"),
            })
            .collect(),
        problems: list("problems")
            .iter()
            .map(|p| format!("{}: {}", text(p, "kind"), text(p, "detail")))
            .collect(),
    }
}

csrf_form!(WordForm, RemoveForm);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_is_shown_in_words_with_masked_findings() {
        let t = &mamori_panel::i18n::EN;
        let v = serde_json::json!({
            "action": "hold", "rule": "My Number sent outside", "explanation": ["rule …"],
            "findings": [{"location": ["file \"a.zip\"", "entry \"b.csv\""], "segment": "attachment",
                          "detector": "my_number", "confidence": "high", "line": 2, "masked": "9876******93"}],
            "problems": [], "total_findings": 1,
        });
        let r = tried(t, &v);
        assert!(r.held);
        assert!(r.verdict.contains(t.act_hold));
        assert_eq!(r.findings[0].kind, t.det_my_number);
        assert_eq!(r.findings[0].place, "file \"a.zip\" › entry \"b.csv\"");
        let pass = tried(t, &serde_json::json!({"action": "pass", "findings": []}));
        assert!(!pass.held && pass.rule.is_none());
    }

    #[test]
    fn names_in_the_done_query_are_encoded() {
        assert_eq!(urlencode("a b&c=d"), "a%20b%26c%3Dd");
        assert_eq!(urlencode("社外秘"), "%E7%A4%BE%E5%A4%96%E7%A7%98");
    }

    #[test]
    fn unknown_values_are_shown_as_they_are() {
        let t = &mamori_panel::i18n::JA;
        assert_eq!(shown(t, "discard"), "discard");
        assert_eq!(shown(t, "custom:社外秘"), "custom:社外秘");
        assert_eq!(shown(t, "hold"), t.act_hold);
    }
}
