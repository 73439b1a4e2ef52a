//! `mamori setup`: the panel's setup wizard on the console, for a box set up over a serial
//! line or SSH, or by a script piping the answers. The same steps and checks as the web
//! wizard (`mamori_panel::wizard`, its texts in both languages): the panel's administrator
//! (when it has none yet), the office's domains, the LAN subnet, the outgoing route — the
//! provider's submission server by default, tried live with the relay's own client before
//! it is kept — and the staff's relay accounts; then a summary, and on "y" one settings
//! version (the provider's password in the store's secret file, never in a version), put
//! in force by the running daemons. Nothing is saved before that "y"; the end of the input
//! stops with nothing saved.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use mamori_panel::i18n::{Lang, Texts, fill, problem};
use mamori_panel::wizard::{self, Draft, Problem, Route};
use mamori_settings::store::Store;

/// The longest answer line read.
const MAX_LINE: usize = 4096;
/// How many wrong answers to one question before giving up (a script feeding bad answers
/// must not loop for ever).
const MAX_TRIES: usize = 5;

/// Why the wizard stopped without saving.
#[derive(Debug, thiserror::Error)]
enum Stop {
    /// The input ended.
    #[error("the input ended")]
    Ended,
    /// Too many wrong answers.
    #[error("too many wrong answers")]
    TooManyTries,
    /// Reading or writing the terminal.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Questions and answers over a reader and a writer (the terminal, or a pipe).
struct Console<R, W> {
    input: R,
    out: W,
    /// Whether the input is a terminal (then passwords are read without echo).
    terminal: bool,
}

impl<R: BufRead, W: Write> Console<R, W> {
    /// One answer line (at most [`MAX_LINE`] bytes, trimmed); `default` for an empty one.
    fn ask(&mut self, question: &str, default: &str) -> Result<String, Stop> {
        if default.is_empty() {
            write!(self.out, "{question}: ")?;
        } else {
            write!(self.out, "{question} [{default}]: ")?;
        }
        self.out.flush()?;
        let answer = self.line()?;
        Ok(if answer.is_empty() {
            default.to_string()
        } else {
            answer
        })
    }

    /// A password: not echoed on a terminal, not trimmed.
    fn secret(&mut self, question: &str) -> Result<String, Stop> {
        write!(self.out, "{question}: ")?;
        self.out.flush()?;
        let echo = self.terminal.then(echo_off).flatten();
        let answer = self.raw_line();
        if let Some(saved) = echo {
            restore_echo(&saved);
            writeln!(self.out)?;
        }
        answer
    }

    fn line(&mut self) -> Result<String, Stop> {
        Ok(self.raw_line()?.trim().to_string())
    }

    fn raw_line(&mut self) -> Result<String, Stop> {
        let mut bytes = Vec::new();
        let n = std::io::Read::take(&mut self.input, MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut bytes)?;
        if n == 0 {
            return Err(Stop::Ended);
        }
        while matches!(bytes.last(), Some(b'\n' | b'\r')) {
            bytes.pop();
        }
        if bytes.len() > MAX_LINE {
            // The rest of an over-long line is not another answer (read through in
            // bounded pieces, never held).
            bytes.truncate(MAX_LINE);
            loop {
                let mut rest = Vec::new();
                let n =
                    std::io::Read::take(&mut self.input, 64 * 1024).read_until(b'\n', &mut rest)?;
                if n == 0 || rest.last() == Some(&b'\n') {
                    break;
                }
            }
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Asks until `check` takes the answer, saying why not each time.
    fn until<T>(
        &mut self,
        question: &str,
        default: &str,
        mut check: impl FnMut(&str) -> Result<T, String>,
    ) -> Result<T, Stop> {
        for _ in 0..MAX_TRIES {
            let answer = self.ask(question, default)?;
            match check(&answer) {
                Ok(v) => return Ok(v),
                Err(why) => writeln!(self.out, "  ✗ {why}")?,
            }
        }
        Err(Stop::TooManyTries)
    }

    fn say(&mut self, text: &str) -> Result<(), Stop> {
        writeln!(self.out, "{text}")?;
        Ok(())
    }
}

/// The terminal's settings before echo was turned off.
type Saved = rustix::termios::Termios;

fn echo_off() -> Option<Saved> {
    let stdin = std::io::stdin();
    let saved = rustix::termios::tcgetattr(&stdin).ok()?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(rustix::termios::LocalModes::ECHO);
    rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &quiet).ok()?;
    Some(saved)
}

fn restore_echo(saved: &Saved) {
    let stdin = std::io::stdin();
    let _ = rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, saved);
}

/// Where `mamori setup` works.
pub struct Places<'a> {
    /// The settings store.
    pub store: &'a Path,
    /// The board's defaults file.
    pub defaults: Option<&'a Path>,
    /// The running daemons' data directory (default: the settings' `general.data_dir`).
    pub data_dir: Option<&'a Path>,
    /// The panel's state directory (default: `<data_dir>/admind`).
    pub panel_dir: Option<&'a Path>,
}

/// Runs the wizard on the terminal.
pub fn run(places: &Places<'_>, lang: Lang) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    let terminal = std::io::stdin().is_terminal();
    let mut console = Console {
        input: std::io::stdin().lock(),
        out: std::io::stdout().lock(),
        terminal,
    };
    run_on(&mut console, places, lang)
}

fn run_on<R: BufRead, W: Write>(
    console: &mut Console<R, W>,
    places: &Places<'_>,
    lang: Lang,
) -> anyhow::Result<ExitCode> {
    let t = lang.texts();
    let store = Store::open(places.store, places.defaults)
        .with_context(|| format!("opening the settings store {}", places.store.display()))?;
    let config = store.current_config()?.unwrap_or_default();
    let mut general = config.general.clone();
    if let Some(dir) = places.data_dir {
        general.data_dir = dir.to_path_buf();
        general.run_dir = None;
    }
    let panel_dir = places
        .panel_dir
        .map_or_else(|| general.data_dir.join("admind"), Path::to_path_buf);
    let current = serde_json::to_value(&config).unwrap_or_default();
    match ask_all(
        console,
        t,
        &current,
        &panel_dir,
        &general.hostname,
        config.smtp.delivery.ca_file.as_deref(),
    ) {
        Ok(Some(answers)) => save(console, t, &store, &general, &panel_dir, answers, lang),
        Ok(None) => {
            console.say(t.cli_not_saved)?;
            Ok(ExitCode::from(1))
        }
        Err(stop) => {
            let why = match stop {
                Stop::Ended => t.cli_aborted.to_string(),
                Stop::TooManyTries => t.cli_too_many_tries.to_string(),
                Stop::Io(e) => format!("{}: {e}", t.cli_aborted),
            };
            let _ = writeln!(console.out);
            eprintln!("mamori setup: {why}");
            Ok(ExitCode::from(1))
        }
    }
}

/// What the answers come to, before anything is written.
struct Answers {
    /// A new panel administrator: name and password.
    admin: Option<(String, String)>,
    draft: Draft,
}

/// Asks every question; `None` when the summary is not confirmed.
fn ask_all<R: BufRead, W: Write>(
    console: &mut Console<R, W>,
    t: &Texts,
    current: &serde_json::Value,
    panel_dir: &Path,
    helo: &str,
    ca_file: Option<&Path>,
) -> Result<Option<Answers>, Stop> {
    console.say(&format!("== {} ==\n{}", t.setup_title, t.cli_intro))?;
    // The panel's administrator, unless it has one.
    let admin = match mamori_admind::state::has_administrator(panel_dir) {
        Ok(Some(name)) => {
            console.say(&fill(t.cli_admin_exists, name))?;
            None
        }
        Ok(None) => {
            console.say(&format!("\n-- {} --\n{}", t.setup_title, t.admin_name_help))?;
            let name = console.until(t.cli_admin_name, "", |a| {
                mamori_panel::users::valid_name(a)
                    .then(|| a.to_string())
                    .ok_or_else(|| t.problem_user_name.to_string())
            })?;
            console.say(t.password_help)?;
            let password = new_password(console, t, &[&name])?;
            Some((name, password))
        }
        Err(e) => {
            console.say(&format!("  ✗ {e}"))?;
            return Err(Stop::TooManyTries);
        }
    };
    let mut draft = Draft::default();
    // Domains.
    console.say(&format!("\n-- {} --\n{}", t.domains_title, t.domains_help))?;
    let domains_now = strings(&current["smtp"]["office_domains"]).join(" ");
    draft.domains = console.until(t.domains_field, &domains_now, |a| {
        wizard::domains(a).map_err(|e| problem(t, &e))
    })?;
    // The LAN.
    console.say(&format!("\n-- {} --\n{}", t.lan_title, t.lan_help))?;
    let lan_now = strings(&current["smtp"]["trusted_networks"])
        .into_iter()
        .find(|n| wizard::lan(n).is_ok())
        .unwrap_or_default();
    draft.lan = Some(console.until(t.lan_field, &lan_now, |a| {
        wizard::lan(a)
            .map(|n| n.to_string())
            .map_err(|e| problem(t, &e))
    })?);
    // The route.
    console.say(&format!("\n-- {} --\n{}", t.route_title, t.route_help))?;
    draft.route = Some(route(
        console,
        t,
        &current["smtp"]["delivery"]["smarthost"],
        helo,
        ca_file,
    )?);
    // Accounts.
    console.say(&format!(
        "\n-- {} --\n{}\n{}",
        t.accounts_title, t.accounts_help, t.webmail_note
    ))?;
    loop {
        let address = console.ask(t.cli_account_next, "")?;
        if address.is_empty() {
            break;
        }
        let existing: Vec<&str> = draft.accounts.iter().map(|a| a.username.as_str()).collect();
        let username = match wizard::new_account(&draft.domains, &existing, &address, "x", "x") {
            Err(Problem::Password(_)) | Ok(_) => address.trim().to_lowercase(),
            Err(e) => {
                console.say(&format!("  ✗ {}", problem(t, &e)))?;
                continue;
            }
        };
        let password = new_password(console, t, &[&username])?;
        let hash = mamori_panel::users::hash(&password)
            .map_err(|e| Stop::Io(std::io::Error::other(e.to_string())))?;
        draft.accounts.push(wizard::Account {
            username: username.clone(),
            password_hash: hash,
        });
        console.say(&format!("  ✓ {}", fill(t.account_added, &username)))?;
    }
    // The summary.
    console.say(&format!("\n-- {} --\n{}", t.summary_title, t.summary_help))?;
    if let Some((name, _)) = &admin {
        console.say(&format!("  {}: {name}", t.cli_admin_name))?;
    }
    console.say(&format!(
        "  {}: {}",
        t.domains_field,
        draft.domains.join(", ")
    ))?;
    console.say(&format!(
        "  {}: {}",
        t.lan_field,
        draft.lan.as_deref().unwrap_or("")
    ))?;
    let route_text = match &draft.route {
        Some(Route::Provider {
            host,
            port,
            username,
            ..
        }) => format!("{host}:{port} ({username})"),
        _ => t.route_direct.to_string(),
    };
    console.say(&format!("  {}: {route_text}", t.route_title))?;
    let accounts: Vec<&str> = draft.accounts.iter().map(|a| a.username.as_str()).collect();
    console.say(&format!(
        "  {}: {}",
        t.accounts_title,
        if accounts.is_empty() {
            t.cli_none.to_string()
        } else {
            accounts.join(", ")
        }
    ))?;
    let yes = console.ask(t.cli_save_question, "")?;
    Ok(matches!(yes.to_lowercase().as_str(), "y" | "yes" | "はい")
        .then_some(Answers { admin, draft }))
}

/// A new password under the policy, typed twice alike.
fn new_password<R: BufRead, W: Write>(
    console: &mut Console<R, W>,
    t: &Texts,
    context: &[&str],
) -> Result<String, Stop> {
    for _ in 0..MAX_TRIES {
        let password = console.secret(t.cli_password)?;
        let why = match mamori_core::password::check(&password, context) {
            Err(p) => problem(t, &Problem::Password(p)),
            Ok(()) => {
                if console.secret(t.cli_password_again)? == password {
                    return Ok(password);
                }
                problem(t, &Problem::PasswordsDiffer)
            }
        };
        console.say(&format!("  ✗ {why}"))?;
    }
    Err(Stop::TooManyTries)
}

/// The outgoing route: the provider's server, tried live until it works, or direct.
fn route<R: BufRead, W: Write>(
    console: &mut Console<R, W>,
    t: &Texts,
    saved: &serde_json::Value,
    helo: &str,
    ca_file: Option<&Path>,
) -> Result<Route, Stop> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    for _ in 0..MAX_TRIES {
        let choice = console.until(t.cli_route_choice, "1", |a| match a {
            "1" | "2" => Ok(a.to_string()),
            _ => Err(t.cli_route_choice.to_string()),
        })?;
        if choice == "2" {
            return Ok(Route::Direct);
        }
        let host_now = saved["host"].as_str().unwrap_or("");
        let host = console.until(t.route_host, host_now, |a| {
            wizard::host(a).map_err(|e| problem(t, &e))
        })?;
        let port_now = saved["port"]
            .as_u64()
            .map_or("587".into(), |p| p.to_string());
        let port = console.until(t.route_port, &port_now, |a| {
            wizard::port(a).map_err(|e| problem(t, &e))
        })?;
        let user_now = saved["username"].as_str().unwrap_or("");
        let username = console.ask(t.route_user, user_now)?;
        // The saved password stays when the field is left empty for the same server and
        // login (read from its file, as the relay would).
        let same_as_saved = host == host_now && username == user_now;
        let saved_password = saved["password_file"]
            .as_str()
            .filter(|_| same_as_saved)
            .and_then(|f| std::fs::read_to_string(f).ok())
            .map(|p| p.trim().to_string());
        let label = if saved_password.is_some() {
            format!("{} {}", t.route_password, t.cli_route_keep)
        } else {
            t.route_password.to_string()
        };
        let mut password = console.secret(&label)?;
        if password.is_empty()
            && let Some(p) = &saved_password
        {
            password.clone_from(p);
        }
        console.say(t.cli_route_testing)?;
        let test = mamori_smtp::outbound::probe::RouteTest {
            host: host.clone(),
            port,
            implicit_tls: port == 465,
            username: (!username.is_empty()).then(|| username.clone()),
            password: (!password.is_empty()).then(|| password.clone()),
            use_saved_password: false,
        };
        match runtime.block_on(mamori_smtp::outbound::probe::test_route(
            &test, helo, ca_file,
        )) {
            Ok(found) => {
                console.say(&format!(
                    "  ✓ {}",
                    fill(
                        t.route_test_ok,
                        format!("{} — {}", found.address, found.greeting)
                    )
                ))?;
                return Ok(Route::Provider {
                    host,
                    port,
                    username,
                    password,
                });
            }
            Err(why) => {
                console.say(&format!("  ✗ {}", fill(t.route_test_failed, why)))?;
                console.say(t.cli_route_again)?;
            }
        }
    }
    Err(Stop::TooManyTries)
}

/// The strings of a JSON array.
fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Writes what the answers say: the provider's password to the secret file, one settings
/// version (recorded under the caller's name), the panel's administrator; then the running
/// daemons take the version.
fn save<R: BufRead, W: Write>(
    console: &mut Console<R, W>,
    t: &Texts,
    store: &Store,
    general: &mamori_core::general::General,
    panel_dir: &Path,
    answers: Answers,
    lang: Lang,
) -> anyhow::Result<ExitCode> {
    let Answers { admin, draft } = answers;
    let mut password_file = None;
    if let Some(Route::Provider { password, .. }) = &draft.route
        && !password.is_empty()
    {
        let path = mamori_settings::secret::write(store.dir(), "smarthost-password", password)
            .context("storing the provider's password")?;
        password_file = Some(path.display().to_string());
    }
    let existing: Vec<serde_json::Value> = store
        .current_config()?
        .map(|c| serde_json::to_value(c.smtp.accounts).unwrap_or_default())
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    let (set, unset) = wizard::settings(&draft, password_file.as_deref(), &existing);
    let by = crate::cli_settings::caller();
    let committed = store.change(&by, "setup wizard (mamori setup)", |doc| {
        for key in &unset {
            mamori_settings::document::unset(doc, key)
                .map_err(|e| mamori_settings::store::StoreError::Document(e.to_string()))?;
        }
        for (key, value) in set {
            let value: toml::Value = serde_json::from_value(value)
                .map_err(|e| mamori_settings::store::StoreError::Document(format!("{key}: {e}")))?;
            mamori_settings::document::set(doc, &key, value)
                .map_err(|e| mamori_settings::store::StoreError::Document(e.to_string()))?;
        }
        Ok(())
    });
    let committed = match committed {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mamori setup: {}", fill(t.summary_failed, e));
            return Ok(ExitCode::from(2));
        }
    };
    console.say(&format!("  ✓ {}", fill(t.summary_saved, committed.version)))?;
    if let Some((name, password)) = admin {
        std::fs::create_dir_all(panel_dir)
            .with_context(|| format!("creating {}", panel_dir.display()))?;
        match mamori_admind::state::add_console_administrator(panel_dir, &name, &password, lang)? {
            Ok(()) => console.say(&format!("  ✓ {}", fill(t.cli_admin_saved, &name)))?,
            Err(e) => {
                eprintln!("mamori setup: {e}");
                return Ok(ExitCode::from(2));
            }
        }
    }
    console.out.flush()?;
    if !crate::cli_settings::apply_everywhere(general, committed.version, None) {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console(input: &str) -> Console<&[u8], Vec<u8>> {
        Console {
            input: input.as_bytes(),
            out: Vec::new(),
            terminal: false,
        }
    }

    #[test]
    fn answers_are_lines_with_defaults_and_the_end_stops() {
        let mut c = console("office.example.jp\n\n  spaced  \r\n");
        assert_eq!(c.ask("q", "d").unwrap(), "office.example.jp");
        assert_eq!(c.ask("q", "d").unwrap(), "d");
        assert_eq!(c.ask("q", "").unwrap(), "spaced");
        assert!(matches!(c.ask("q", "d"), Err(Stop::Ended)));
    }

    #[test]
    fn an_over_long_line_is_cut_and_its_rest_is_not_the_next_answer() {
        let long = "a".repeat(MAX_LINE * 3);
        let input = format!("{long}\nnext\n");
        let mut c = console(&input);
        assert_eq!(c.ask("q", "").unwrap().len(), MAX_LINE);
        assert_eq!(c.ask("q", "").unwrap(), "next");
    }

    #[test]
    fn wrong_answers_are_explained_and_bounded() {
        let t = Lang::En.texts();
        let mut c = console("not a domain;\nlocalhost\noffice.example.jp\n");
        let domains = c
            .until("d", "", |a| wizard::domains(a).map_err(|e| problem(t, &e)))
            .unwrap();
        assert_eq!(domains, vec!["office.example.jp"]);
        let said = String::from_utf8(c.out).unwrap();
        assert_eq!(said.matches('✗').count(), 2, "{said}");
        let input = "bad;\n".repeat(20);
        let mut c = console(&input);
        assert!(matches!(
            c.until("d", "", |a| wizard::domains(a).map_err(|e| problem(t, &e))),
            Err(Stop::TooManyTries)
        ));
    }

    #[test]
    fn a_password_is_checked_and_typed_twice() {
        let t = Lang::En.texts();
        let mut c = console(
            "short\npassword1234\nyama-kawa-umi-sora\nyama-kawa-umi-sorA\nyama-kawa-umi-sora\nyama-kawa-umi-sora\n",
        );
        assert_eq!(new_password(&mut c, t, &[]).unwrap(), "yama-kawa-umi-sora");
        let said = String::from_utf8(c.out).unwrap();
        assert!(said.contains("too short"), "{said}");
        assert!(said.contains("common") || said.contains("Common"), "{said}");
        assert!(said.contains("differ"), "{said}");
    }
}
