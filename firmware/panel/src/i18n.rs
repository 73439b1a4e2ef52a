//! Every text the panel shows, in Japanese (the default) and English. Each text is one
//! line of the table below with both languages, so a page cannot show a text that lacks
//! a translation: the compiler refuses it. Texts with a `{}` take one value.

use serde::{Deserialize, Serialize};

use crate::wizard::Problem;

/// A language of the panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// Japanese, the default.
    #[default]
    Ja,
    /// English.
    En,
}

impl Lang {
    /// Its `lang` attribute and form value.
    pub fn code(self) -> &'static str {
        match self {
            Self::Ja => "ja",
            Self::En => "en",
        }
    }

    /// Parses a form value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ja" => Some(Self::Ja),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The texts in this language.
    pub fn texts(self) -> &'static Texts {
        match self {
            Self::Ja => &JA,
            Self::En => &EN,
        }
    }
}

/// Puts `value` where the text has `{}`.
pub fn fill(text: &str, value: impl std::fmt::Display) -> String {
    text.replacen("{}", &value.to_string(), 1)
}

macro_rules! texts {
    ($($name:ident: $ja:literal, $en:literal;)*) => {
        /// The panel's texts in one language.
        #[derive(Debug)]
        pub struct Texts {
            $(
                #[allow(missing_docs)]
                pub $name: &'static str,
            )*
        }
        /// 日本語.
        pub const JA: Texts = Texts { $($name: $ja,)* };
        /// English.
        pub const EN: Texts = Texts { $($name: $en,)* };
    };
}

texts! {
    product: "Mamori 管理画面", "Mamori admin panel";
    skip_to_content: "本文へ移動", "Skip to content";
    nav_dashboard: "ダッシュボード", "Dashboard";
    nav_logout: "ログアウト", "Log out";
    language: "表示言語", "Language";
    lang_switch: "English", "日本語";
    signed_in_as: "ログイン中: {}", "Signed in as {}";
    login_title: "ログイン", "Log in";
    user_name: "ユーザー名", "User name";
    password: "パスワード", "Password";
    password_again: "パスワード(確認)", "Password (again)";
    login_button: "ログイン", "Log in";
    login_failed: "ユーザー名またはパスワードが違います。", "The user name or password is wrong.";
    login_wait: "ログインの失敗が続いたため、{} 秒待ってからもう一度お試しください。", "Too many failed logins: try again in {} seconds.";
    session_ended: "一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。", "Your session ended. Please log in again.";
    logged_out: "ログアウトしました。", "You are logged out.";
    setup_title: "初期設定", "First-time setup";
    setup_intro: "この画面で Mamori の初期設定を行います。まず、箱に付属の初期設定コードと管理者アカウントを入力してください。", "Set up Mamori here. First enter the setup code and create the administrator account.";
    setup_code: "初期設定コード", "Setup code";
    setup_code_help: "コンソール画面、または SD カードの起動パーティションにあるファイル mamori-setup-code.txt に書かれています(例: 7K2M-9XQD-4RTW)。", "It is shown on the console and written in the file mamori-setup-code.txt on the SD card's boot partition (like 7K2M-9XQD-4RTW).";
    setup_code_wrong: "初期設定コードが違います。", "The setup code is wrong.";
    setup_code_wait: "初期設定コードの誤りが続いたため、{} 秒待ってからお試しください。", "Too many wrong codes: try again in {} seconds.";
    admin_name_help: "半角英小文字で始まる 1〜32 文字(英小文字・数字・. _ -)。", "1 to 32 of a-z, 0-9, '.', '_' and '-', starting with a letter.";
    password_help: "12 文字以上。記号の強制はありません。短い単語をいくつかつなげた文が覚えやすく安全です。よく使われるパスワードは使えません。", "At least 12 characters; no required symbols. A few words strung together are easy to remember and strong. Common passwords are refused.";
    next: "次へ", "Next";
    back: "戻る", "Back";
    save: "保存", "Save";
    step_of: "手順 {}", "Step {}";
    domains_title: "事務所のドメイン", "The office's domains";
    domains_help: "事務所のメールアドレスの @ より後ろ(例: office.example.jp)。複数ある場合は 1 行に 1 つ。ここに宛てたメールは「社内」として扱われます。", "What follows the @ in the office's addresses (like office.example.jp), one a line. Mail to these counts as internal.";
    domains_field: "ドメイン", "Domains";
    lan_title: "事務所の LAN", "The office LAN";
    lan_help: "事務所のパソコンがつながるネットワーク(例: 192.168.1.0/24)。ここからのメールは認証なしで中継され、LAN として扱われます。", "The network the office's PCs are on (like 192.168.1.0/24). Mail from it is relayed without a login, and it is treated as the LAN.";
    lan_field: "LAN のサブネット", "LAN subnet";
    route_title: "メールの送信経路", "How mail goes out";
    route_help: "多くのプロバイダは迷惑メール対策(OP25B)で 25 番ポートからの直接送信を止めています。通常はプロバイダの送信サーバー(サブミッションポート 587 または 465)をアカウント情報とともに入力してください。", "Most Japanese providers block direct sending on port 25 (OP25B). Normally enter your provider's sending server (submission port 587 or 465) with its account.";
    route_provider: "プロバイダの送信サーバーを使う(推奨)", "Through the provider's sending server (recommended)";
    route_direct: "宛先のサーバーへ直接送る(25 番ポートが使える場合のみ)", "Straight to each recipient's server (only where port 25 is open)";
    route_host: "送信サーバー名", "Sending server";
    route_port: "ポート", "Port";
    route_user: "プロバイダのアカウント名", "Provider account";
    route_password: "プロバイダのパスワード", "Provider password";
    route_test: "接続を試す", "Test the route";
    route_test_ok: "接続できました: {}", "The route works: {}";
    route_test_failed: "接続できませんでした: {}", "The route failed: {}";
    route_test_needed: "保存の前に「接続を試す」で経路を確認してください。", "Test the route before saving it.";
    accounts_title: "スタッフの送信アカウント", "Staff sending accounts";
    accounts_help: "事務所の外からメールを送るスタッフや、メールソフトでログインするスタッフ用のアカウントです。LAN 内からだけ送る場合は不要です。", "Accounts for staff who send from outside the office or log in from their mail program. Not needed for sending from the LAN only.";
    account_address: "メールアドレス", "E-mail address";
    account_add: "アカウントを追加", "Add the account";
    account_added: "アカウント {} を追加しました。", "Account {} added.";
    account_howto: "設定手順(印刷用)", "Setup steps (printable)";
    no_accounts: "まだアカウントはありません。", "No accounts yet.";
    webmail_note: "注意: Web メール(ブラウザで使うメール)はこの箱を通りません。検査したいメールは、メールソフトからこの箱を通して送ってください。", "Note: webmail (mail in the browser) does not pass through this box. Send the mail you want inspected from a mail program through the box.";
    cli_intro: "Mamori の初期設定(コンソール版)です。[ ] 内は今の値で、Enter だけでそのままになります。Ctrl-D で中断すると何も保存されません。", "Mamori setup on the console. The value in [ ] is the current one: Enter alone keeps it. Ctrl-D stops, saving nothing.";
    cli_admin_exists: "パネルには管理者 {} がいます(ほかのユーザーはパネルの「ユーザー」画面で管理します)。", "The panel has an administrator, {} (other users are managed on the panel's Users page).";
    cli_admin_name: "管理者の名前", "Administrator's name";
    cli_password: "パスワード", "Password";
    cli_password_again: "パスワード(確認)", "Password again";
    cli_route_choice: "1 = プロバイダの送信サーバー(推奨)、2 = 宛先のサーバーへ直接", "1 = through the provider's sending server (recommended), 2 = straight to each recipient's server";
    cli_route_keep: "(空欄: 前に保存したパスワードのまま)", "(empty: keep the saved password)";
    cli_route_testing: "経路を試しています…", "Testing the route…";
    cli_route_again: "もう一度入力してください(2 を選ぶと直接送信)。", "Enter it again (or choose 2 to send directly).";
    cli_account_next: "追加するスタッフのメールアドレス(空欄で次へ)", "A staff member's address to add (empty: go on)";
    cli_save_question: "この内容で保存しますか? [y/N]", "Save these settings? [y/N]";
    cli_not_saved: "保存しませんでした。何も変わっていません。", "Not saved: nothing changed.";
    cli_aborted: "入力が終わったため中断しました。何も保存していません。", "The input ended: stopped, nothing saved.";
    cli_too_many_tries: "誤りが続いたため中断しました。何も保存していません。", "Too many mistakes: stopped, nothing saved.";
    cli_admin_saved: "パネルの管理者 {} を作成しました。パネルにログインできます。", "Panel administrator {} created: you can log in to the panel.";
    cli_none: "(なし)", "(none)";
    summary_title: "確認", "Summary";
    summary_help: "以下の内容で保存します。保存すると設定の新しい版として記録され、すぐに反映されます。", "These settings are saved as a new settings version and take effect at once.";
    summary_saved: "設定を保存しました(版 {})。", "Settings saved (version {}).";
    summary_failed: "保存できませんでした: {}", "Could not save: {}";
    finish: "保存して完了", "Save and finish";
    dashboard_title: "ダッシュボード", "Dashboard";
    daemons: "サービスの状態", "Services";
    daemon: "サービス", "Service";
    state: "状態", "State";
    version: "バージョン", "Version";
    settings_version: "設定の版", "Settings version";
    since: "起動時刻", "Since";
    last_error: "直近のエラー", "Last error";
    not_running: "停止中", "not running";
    state_running: "稼働中", "running";
    state_degraded: "縮退運転中(安全側の設定で動作)", "degraded (running on fail-safe settings)";
    queue_size: "送信待ちのメール", "Mail waiting";
    certificate: "管理画面の証明書", "Panel certificate";
    fingerprint: "SHA-256 指紋", "SHA-256 fingerprint";
    expires: "有効期限", "Expires";
    firmware: "ファームウェア", "Firmware";
    forbidden: "この操作を行う権限がありません。", "You do not have the right to do this.";
    not_found: "ページが見つかりません。", "Page not found.";
    csrf_refused: "フォームの有効期限が切れたか、別のサイトから送信されました。ページを開き直してからもう一度お試しください。", "The form expired or came from another site. Open the page again and retry.";
    bad_request: "リクエストを処理できません。", "The request cannot be handled.";
    problem_required: "入力してください。", "Please fill this in.";
    problem_not_a_domain: "「{}」はドメイン名ではありません。", "{} is not a domain name.";
    problem_too_many_domains: "ドメインが多すぎます(最大 20)。", "Too many domains (at most 20).";
    problem_not_a_subnet: "192.168.1.0/24 のような形で入力してください。", "Enter it like 192.168.1.0/24.";
    problem_not_private: "事務所の LAN はプライベートアドレス(10.x、172.16〜31.x、192.168.x、/8〜/30)です。", "An office LAN is a private network (10.x, 172.16-31.x, 192.168.x; /8 to /30).";
    problem_not_a_host: "サーバー名(例: smtp.example.ne.jp)または IP アドレスを入力してください。", "Enter a server name (like smtp.example.ne.jp) or an IP address.";
    problem_not_a_port: "1〜65535 のポート番号を入力してください。", "Enter a port from 1 to 65535.";
    problem_not_office_address: "上で入力した事務所のドメインのメールアドレスを入力してください。", "Enter an address of one of the office's domains.";
    problem_duplicate_account: "このアカウントはすでにあります。", "This account exists already.";
    problem_too_many_accounts: "アカウントが多すぎます。", "Too many accounts.";
    problem_passwords_differ: "2 つのパスワードが一致しません。", "The two passwords differ.";
    problem_user_name: "ユーザー名は英小文字で始まる 1〜32 文字(英小文字・数字・. _ -)です。", "A user name is 1 to 32 of a-z, 0-9, '.', '_' and '-', starting with a letter.";
    pw_too_short: "パスワードが短すぎます({} 文字)。12 文字以上にしてください。", "The password is too short ({} characters): use at least 12.";
    pw_too_long: "パスワードが長すぎます(256 文字まで)。", "The password is too long (at most 256 characters).";
    pw_control: "パスワードに改行やタブが含まれています。", "The password contains a line break or tab.";
    pw_common: "よく使われるパスワード(または数字を足しただけのもの)です。攻撃者が最初に試すため使えません。", "This is a common password (or one with digits added): attackers try these first.";
    pw_pattern: "同じ文字の繰り返しや、123…、abc…、qwerty… のような並びは使えません。", "Repeated characters and runs such as 123…, abc…, qwerty… are refused.";
    pw_name: "パスワードにアカウント名や箱の名前を含めないでください。", "The password must not contain the account's name or the box's.";
    howto_title: "メールソフトの設定手順", "Setting up the mail program";
    howto_intro: "アカウント {} をメールソフトに設定する手順です。", "How to set up the account {} in a mail program.";
    howto_server: "送信(SMTP)サーバー", "Outgoing (SMTP) server";
    howto_port: "ポート 587(STARTTLS)、または 465(SSL/TLS)", "Port 587 (STARTTLS) or 465 (SSL/TLS)";
    howto_auth: "認証: 通常のパスワード。ユーザー名はメールアドレス全体。", "Authentication: normal password; the user name is the whole address.";
    howto_outlook: "Outlook: ファイル → アカウント設定 → アカウントを選んで「変更」→ 送信サーバー欄に上のサーバー名、詳細設定でポートと暗号化(STARTTLS)を指定。", "Outlook: File → Account Settings → choose the account → Change → outgoing server as above; under More Settings set the port and STARTTLS.";
    howto_thunderbird: "Thunderbird: アカウント設定 → 送信 (SMTP) サーバー → 編集 → サーバー名・ポート・接続の保護(STARTTLS)・認証方式(通常のパスワード認証)を入力。", "Thunderbird: Account Settings → Outgoing Server (SMTP) → Edit → server, port, STARTTLS, normal password.";
    howto_iphone: "iPhone: 設定 → メール → アカウント → 該当アカウント → 送信メールサーバ → SMTP → プライマリサーバ → ホスト名・ユーザ名・パスワード・SSL を使用 オン・ポート 587。", "iPhone: Settings → Mail → Accounts → the account → Outgoing Mail Server → SMTP → Primary Server → host, user name, password, Use SSL on, port 587.";
    howto_android: "Android(Gmail アプリ等): アカウント設定 → 送信サーバーの設定 → SMTP サーバー・ポート 587・セキュリティの種類 STARTTLS・ユーザー名とパスワード。", "Android (Gmail app and others): account settings → outgoing server → SMTP server, port 587, security STARTTLS, user name and password.";
    print: "印刷", "Print";
    nav_users: "ユーザー", "Users";
    users_title: "ユーザーとパスワード", "Users and passwords";
    role: "役割", "Role";
    role_administrator: "管理者(すべて)", "Administrator (everything)";
    role_approver: "承認者(保留メールと承認)", "Approver (held mail and approvals)";
    role_auditor: "監査者(閲覧のみ)", "Auditor (read only)";
    user_add_title: "ユーザーを追加", "Add a user";
    user_add: "追加", "Add";
    user_added: "ユーザー {} を追加しました。", "User {} added.";
    user_remove: "削除", "Remove";
    user_removed: "ユーザー {} を削除しました(ログイン中のセッションも終了しました)。", "User {} removed (their sessions ended too).";
    user_exists: "その名前のユーザーはすでにいます。", "A user of that name exists.";
    user_last_admin: "最後の管理者は削除できません。", "The last administrator cannot be removed.";
    user_too_many: "ユーザーが多すぎます。", "Too many users.";
    password_change_title: "自分のパスワードを変更", "Change my password";
    current_password: "現在のパスワード", "Current password";
    current_password_help: "本人確認のため、現在のパスワードを入力してください。", "Enter your current password to confirm it is you.";
    current_password_wrong: "現在のパスワードが違います。", "The current password is wrong.";
    new_password: "新しいパスワード", "New password";
    password_changed: "パスワードを変更しました。ほかの端末のログインは終了しました。", "Password changed. Your other sessions have ended.";
    change: "変更", "Change";
    you: "(あなた)", "(you)";
    nav_audit: "監査ログ", "Audit log";
    nav_settings: "設定の履歴", "Settings history";
    history_title: "設定の履歴", "Settings history";
    history_help: "設定は変更のたびに番号付きの版として保存されます(最新 50 版)。差分を確認し、以前の版に戻すことができます(戻す操作も新しい版として記録されます)。", "Every change of the settings is kept as a numbered version (the newest 50). See what changed, and go back to an earlier version (which is recorded as a new version too).";
    history_empty: "まだ版がありません。", "No versions yet.";
    what: "内容", "What";
    diff: "差分", "Changes";
    diff_title: "版 {} での変更", "Changes in version {}";
    diff_none: "変更はありません。", "No changes.";
    key: "設定項目", "Setting";
    before: "変更前", "Before";
    after: "変更後", "After";
    rollback: "この版に戻す", "Go back to this version";
    rollback_done: "版 {} に戻しました(新しい版 {})。", "Back to version {} (as new version {}).";
    rollback_failed: "戻せませんでした: {}", "Could not go back: {}";
    reauth_help: "重要な操作のため、パスワードを入力してください(入力後しばらくは再入力不要です)。", "This is a sensitive action: enter your password (not asked again for a while after).";
    fw_reverted: "ファイアウォールの変更 #{} は時間内に確定されなかったため、{} に元の設定に戻りました。", "Firewall change #{} was not confirmed in time and went back to the rules before at {}.";
    nav_logs: "ログ", "Logs";
    logs_title: "サービスのログ", "Service logs";
    logs_help: "Mamori の各サービスがシステムのジャーナルに書いた記録です(新しい順)。管理操作の記録は「監査ログ」にあります。", "What Mamori's services wrote to the system journal, newest first. Administrative actions are in the audit log.";
    logs_service: "サービス", "Service";
    logs_all: "すべて", "All";
    logs_level: "重要度", "Level";
    logs_text: "含む文字", "Containing";
    logs_search: "表示", "Show";
    logs_shown: "直近 {} 件のうち、条件に合う {} 件を表示しています。", "Of the latest {} entries read, {} match.";
    logs_none: "条件に合う記録はありません。", "No entry matches.";
    logs_unavailable: "ジャーナルを読めませんでした: {}", "The journal could not be read: {}";
    level_error: "エラー", "Errors";
    level_warning: "警告以上", "Warnings and errors";
    level_info: "通常", "Normal";
    level_debug: "詳細", "Details";
    nav_time: "時刻", "Time";
    time_title: "日付と時刻", "Date and time";
    time_help: "この箱の時計は NTP で合わせます(既定: 情報通信研究機構 NICT の ntp.nict.jp など)。時刻がずれると、証明書の確認や監査ログの時刻が正しくなくなります。", "The box keeps its clock by NTP (by default Japan's ntp.nict.jp and others). A wrong clock breaks certificate checks and the audit log's times.";
    time_now: "箱の現在時刻", "The box's time now";
    time_synced: "NTP で同期済み", "Synchronized by NTP";
    time_not_synced: "NTP で同期できていません", "Not synchronized by NTP";
    time_applied: "最後の反映: 設定の版 {}、{}", "Last applied: settings version {}, {}";
    time_not_applied: "まだ反映されていません(反映は root 権限の mamori-time サービスが行います)。", "Not applied yet (the root-owned mamori-time service applies it).";
    time_ntp_title: "NTP サーバー", "NTP servers";
    time_ntp_on: "NTP で時刻を合わせる(推奨)", "Keep the clock by NTP (recommended)";
    time_servers: "サーバー(1 行に 1 つ、最大 8)", "Servers (one a line, at most 8)";
    time_servers_help: "ホスト名か IP アドレス。社内に NTP サーバーがあればそれを先頭に。", "Host names or addresses; an office NTP server first, if there is one.";
    time_set_title: "時刻を手で合わせる", "Set the clock by hand";
    time_set_help: "NTP サーバーに届かない場合だけ使います(NTP をオフにしてから)。日本時間で入力してください。", "Only when no NTP server is in reach (turn NTP off first). Enter Japan's time.";
    time_set_field: "日時(日本時間)", "Date and time (Japan)";
    time_set_button: "この時刻に合わせる", "Set the clock";
    time_saved: "時刻の設定を保存しました。数秒で反映されます。", "The time settings are saved; they apply within seconds.";
    time_asked: "時刻の変更を依頼しました。数秒で反映されます。", "The clock change is asked for; it applies within seconds.";
    time_last_request: "最後の手動設定: {}", "Last set by hand: {}";
    time_problem_server: "{} はホスト名でも IP アドレスでもありません。", "{} is not a host name or an IP address.";
    time_problem_many: "サーバーは 8 つまでです。", "At most 8 servers.";
    time_problem_none: "NTP をオンにする場合はサーバーを 1 つ以上入力してください。", "With NTP on, enter at least one server.";
    time_problem_time: "日時を 2026-12-04 09:30 の形で入力してください。", "Enter a date and time such as 2026-12-04 09:30.";
    time_problem_range: "2024 年から 2099 年までの日時を入力してください。", "Enter a time from 2024 to 2099.";
    reauth_needed: "重要な操作のため、現在のパスワードを入力してください。", "This is a sensitive action: enter your current password.";
    daemon_took: "{}: 反映しました", "{}: in force";
    daemon_refused: "{}: 反映されませんでした({})", "{}: not taken ({})";
    firewall_probation: "ファイアウォールは {} 秒以内に「確定」しないと元の設定に自動で戻ります(管理画面に接続できなくなった場合の安全策)。", "The firewall returns to its previous rules unless you confirm within {} seconds (in case you can no longer reach the panel).";
    firewall_confirm: "ファイアウォールの変更を確定", "Confirm the firewall change";
    firewall_confirmed: "ファイアウォールの変更を確定しました。", "The firewall change is confirmed.";
    audit_title: "監査ログ", "Audit log";
    audit_help: "管理操作はすべて、実行前にサービスごとの監査ログに記録されます。各記録は直前の記録のハッシュを含むため、書き換えや削除は検出されます。", "Every administrative action is recorded in its service's audit log before it takes effect. Each record holds the hash of the one before, so a changed or removed record is detected.";
    audit_keep_title: "監査ログの保存期間", "How long audit records are kept";
    audit_keep_days: "保存日数(0 は容量の上限まで)", "Days kept (0: until the space is full)";
    audit_keep_mib: "サービスごとの容量の上限(MiB)", "Space for each service (MiB)";
    audit_keep_help: "この日数を過ぎた監査記録は 1 日以内に消去され、消去したこと自体が監査ログに残ります。容量を超えたときは古い記録から消去されます(30〜3650 日、16〜65536 MiB)。保存期間を短くするにはパスワードが必要です。", "Audit records older than this are erased within a day, and the erasure itself is recorded. Past the space, the oldest records go first (30 to 3650 days, 16 to 65536 MiB). Keeping less needs your password.";
    audit_keep_bad: "日数は 0 または 30〜3650、容量は 16〜65536 MiB で入力してください。", "Enter 0 or 30 to 3650 days, and 16 to 65536 MiB.";
    audit_keep_saved: "監査ログの保存期間を保存しました。", "The audit retention is saved.";
    chain_intact: "改ざんなし(記録 {} 件を検証)", "Intact ({} records verified)";
    chain_broken: "改ざんまたは欠落を検出: {}", "Tampering or a gap found: {}";
    chain_unreachable: "読めません: {}", "Cannot be read: {}";
    time: "日時", "Time";
    event: "操作", "Action";
    by: "実行者", "By";
    details: "内容", "Details";
    nav_queue: "送信待ち", "Queue";
    nav_quarantine: "保留メール", "Held mail";
    queue_title: "送信待ちのメール", "Mail queue";
    queue_help: "配送を待っているメールです。相手のサーバーが一時的に受け取らないメールは、間隔をあけて自動で再送されます。", "Mail waiting for delivery. Mail the receiving server does not take for now is retried automatically, at growing intervals.";
    queue_empty: "送信待ちのメールはありません。", "No mail is waiting.";
    search: "検索", "Search";
    search_help: "ID・差出人・宛先の一部で絞り込みます。", "Filter by part of the ID, sender or recipient.";
    state_all: "すべて", "All";
    state_waiting: "再送待ち", "Waiting to retry";
    state_held: "保留中", "Held";
    state_active: "配送中", "Being delivered";
    state_due: "配送予定", "Due";
    shown_of: "{} 件を表示", "{} shown";
    queue_id: "ID", "ID";
    arrived: "受付日時", "Arrived";
    sender: "差出人", "From";
    recipients: "宛先", "To";
    size: "サイズ", "Size";
    attempts: "試行回数", "Attempts";
    next_attempt: "次の試行", "Next attempt";
    hold: "保留", "Hold";
    release: "配送を再開", "Release";
    delete: "削除", "Delete";
    retry_all: "すべて今すぐ再送", "Retry all now";
    queue_done_hold: "{} を保留にしました。", "{} is held.";
    queue_done_release: "{} の配送を再開しました。", "{} is released for delivery.";
    queue_done_delete: "{} を削除しました(配送も不達通知もしません)。", "{} deleted (neither delivered nor bounced).";
    queue_done_retry: "再送を予定したメール: {} 件", "Messages scheduled for retry: {}";
    held_by_dlp: "情報漏えい対策で保留中(「保留メール」で承認してください)", "Held by DLP (decide under Held mail)";
    action_failed: "できませんでした: {}", "Could not be done: {}";
    quarantine_title: "保留メール(承認待ち)", "Held mail (awaiting approval)";
    quarantine_help: "情報漏えい対策のルールで止めたメールです。見つかった番号は一部を伏せて表示します。承認すると 1 回だけ配送されます。拒否すると配送せず、差出人に送れなかったことを通知します。", "Mail a DLP rule stopped. Numbers found are shown masked. Approving delivers it once; refusing does not deliver it and tells the sender it was not sent.";
    quarantine_empty: "保留中のメールはありません。", "No mail is held.";
    rule: "ルール", "Rule";
    findings: "検出", "Findings";
    problems: "読めなかった部分", "Not read";
    open: "詳細", "Details";
    quarantine_message_title: "保留メール {}", "Held message {}";
    held_reason: "保留の理由", "Why held";
    explanation: "判定", "Decision";
    finding_kind: "種類", "Kind";
    confidence: "確度", "Confidence";
    place: "場所", "Where";
    excerpt: "該当箇所(一部を伏せています)", "Excerpt (masked)";
    approve: "承認して配送", "Approve and deliver";
    reject: "拒否(差出人に通知)", "Refuse (sender is told)";
    discard: "通知せずに削除", "Delete without notice";
    view_content: "本文を表示(監査ログに記録されます)", "Show the content (recorded in the audit log)";
    content_title: "メール {} の内容", "Content of message {}";
    content_help: "この表示は閲覧者の名前とともに監査ログに記録されました。", "This view was recorded in the audit log with your name.";
    content_cut: "長いため、続きは表示していません。", "Too long: the rest is not shown.";
    quarantine_done_release: "{} を承認しました。配送します。", "{} approved: it is being delivered.";
    quarantine_done_reject: "{} を拒否しました。差出人に通知します。", "{} refused: the sender is being told.";
    quarantine_done_delete: "{} を削除しました。", "{} deleted.";
    not_in_quarantine: "このメールは保留中ではありません(すでに処理されたかもしれません)。", "This message is not held (someone may have decided already).";
    nav_dlp: "漏えい対策ルール", "DLP rules";
    dlp_title: "情報漏えい対策(DLP)のルール", "Data loss prevention (DLP) rules";
    dlp_help: "送信されるメールと添付ファイルを検査し、ルールに当てはまるメールを保留・拒否などします。ルールは上から順に調べられ、保留・拒否を決めるルールは最初に当てはまったものが採られます。件名の印・通知・記録のルールは、当てはまったものすべてが適用されます。", "Outgoing mail and its attachments are inspected; mail a rule matches is held, refused and so on. Rules are checked from the top: of the rules that hold or refuse, the first that matches decides; tagging, notifying and recording rules all apply when they match.";
    dlp_defaults: "組み込みのルールが有効です。ルールを追加すると、組み込みのルールに続けて保存されます。", "The built-in rules are in force. A rule you add is saved after them.";
    dlp_rules: "ルール", "Rules";
    detectors: "検出する情報", "Detects";
    min_confidence: "確度の下限", "Least confidence";
    min_count: "件数の下限", "Least count";
    scope: "対象", "Applies to";
    action: "処置", "Action";
    remove: "削除", "Remove";
    rule_add_title: "ルールを追加", "Add a rule";
    rule_name: "ルール名", "Rule name";
    rule_name_help: "保留や拒否の理由として表示されます(64 文字まで)。", "Shown as the reason for a hold or a refusal (up to 64 characters).";
    rule_name_en: "英語の名前(任意)", "English name (optional)";
    rule_name_en_help: "拒否の返答の英語の行に表示されます(半角英数字、64 文字まで)。空欄で名前が日本語なら、英語の行にはルール名を出しません。", "Shown in the English line of a refusal (ASCII, up to 64 characters). Left empty with a Japanese name, that line names no rule.";
    problem_name_en: "英語の名前は半角英数字と記号で 1 行、64 文字以内で入力してください。", "Enter the English name on one line in ASCII letters, digits and signs, up to 64 characters.";
    det_my_number: "マイナンバー(個人番号)", "My Number";
    det_corporate_number: "法人番号", "Corporate number";
    det_credit_card: "クレジットカード番号", "Card number";
    det_phone: "電話番号", "Phone number";
    det_email_list: "メールアドレスの一覧", "List of e-mail addresses";
    det_custom: "辞書の語句", "Dictionary words";
    conf_low: "低(誤検出を含みうる)", "Low (may include false alarms)";
    conf_medium: "中", "Medium";
    conf_high: "高(根拠のあるもののみ)", "High (with supporting evidence only)";
    scope_outbound: "社外宛てのメール", "Mail to outside the office";
    scope_internal: "社内宛てのメール", "Mail within the office";
    scope_any: "すべてのメール", "All mail";
    act_hold: "保留(承認後に配送)", "Hold (delivered once approved)";
    act_reject: "拒否(送信者にエラー)", "Refuse (the sender gets an error)";
    act_tag: "件名に印を付けて配送", "Tag the subject and deliver";
    act_notify: "管理者に通知して配送", "Tell the administrator and deliver";
    act_log: "記録のみ", "Record only";
    dlp_rule_added: "ルール「{}」を追加しました。", "Rule \"{}\" added.";
    dlp_rule_removed: "ルール「{}」を削除しました。", "Rule \"{}\" removed.";
    dlp_word_added: "語句「{}」を辞書に追加しました。", "Word \"{}\" added to the dictionary.";
    dlp_word_removed: "語句「{}」を辞書から削除しました。", "Word \"{}\" removed from the dictionary.";
    not_saved: "保存できませんでした: {}", "Not saved: {}";
    problem_rule_name: "名前を 64 文字以内で入力してください(制御文字は使えません)。", "Enter a name of up to 64 characters (no control characters).";
    problem_name_taken: "同じ名前のものがすでにあります。", "One of that name exists already.";
    problem_no_detector: "検出する情報を 1 つ以上選んでください。", "Choose at least one kind of information to detect.";
    problem_bad_choice: "一覧から選んでください。", "Choose from the list.";
    problem_bad_count: "1 から 1000 までの数を入力してください。", "Enter a number from 1 to 1000.";
    problem_bad_pattern: "語句を 1 行で 1000 文字以内で入力してください。", "Enter the pattern on one line, up to 1000 characters.";
    problem_too_many: "これ以上追加できません(200 件まで)。", "No more can be added (200 at most).";
    dictionary: "辞書(社外秘の語句など)", "Dictionary (confidential words and the like)";
    dictionary_help: "辞書の語句は、「検出する情報」に「辞書の語句」を含むルールで使われます。", "Dictionary words count in rules that detect \"Dictionary words\".";
    word_name: "表示名", "Display name";
    word_name_help: "検出時に本文の代わりに表示される名前です。", "Shown in findings instead of the matched text.";
    word_kind: "種類", "Kind";
    word_spaced: "間の空白・改行", "Spaces between characters";
    word_spaced_help: "「社　外　秘」や行をまたいだ「社外」「秘」のように、文字の間に空白(全角・半角)や改行を挟んだ書き方にも一致させるかどうか。自動では日本語の語句で有効になります。語句の種類にだけ使えます。", "Whether the word also matches with spaces (full- or half-width) or line breaks between its characters, as in 社　外　秘. Automatic: on for words written in Japanese. For the word kind only.";
    spaced_auto: "自動(日本語の語句は有効)", "Automatic (on for Japanese words)";
    spaced_on: "有効", "On";
    spaced_off: "無効(書いたとおりのみ)", "Off (only as written)";
    problem_spacing_keyword: "間の空白・改行への一致は「語句」の種類にだけ使えます。", "Matching across spaces applies to the word kind only.";
    kind_keyword: "語句(大文字小文字を区別しない)", "Word (any case)";
    kind_wildcard: "ワイルドカード(* と ?)", "Wildcard (* and ?)";
    kind_regex: "正規表現", "Regular expression";
    pattern: "語句・パターン", "Word or pattern";
    word_add: "辞書に追加", "Add to the dictionary";
    try_title: "文章やファイルで試す", "Try a text or a file";
    try_help: "今有効なルールで判定します。メールは送信されず、入力した内容は保存されません。", "Decided by the rules in force. Nothing is sent, and what you enter is not stored.";
    try_text: "文章", "Text";
    try_file: "ファイル(4 MB まで)", "File (up to 4 MB)";
    try_recipient: "宛先(社外を想定する場合は空欄)", "Recipient (leave empty for one outside the office)";
    try_button: "判定する", "Check";
    try_verdict: "判定: {}", "Verdict: {}";
    try_pass: "通過(ルールに当てはまりません)", "Pass (no rule applies)";
    try_rule: "当てはまったルール: {}", "Rule that applied: {}";
    try_no_findings: "検出はありません。", "Nothing found.";
    try_failed: "判定できませんでした: {}", "Could not check: {}";
    try_nothing: "文章を入力するか、ファイルを選んでください(どちらか一方)。", "Enter a text or choose a file (one of them).";
    line_no: "{} 行目", "line {}";
    prob_archive_bomb: "圧縮爆弾(展開すると巨大になる圧縮ファイル)", "Archive bomb";
    prob_encrypted: "暗号化された添付ファイル", "Encrypted attachment";
    prob_not_fully_read: "読み取れない部分がある", "Not fully read";
    nav_accounts: "送信アカウント", "Accounts";
    senders: "送信に使えるアドレス", "May send as";
    senders_help: "1 行に 1 つ、事務所のドメインのアドレス(taro@…)かドメイン(そのドメインのすべてのアドレス)。空欄ならアカウントのアドレスのみ。", "One a line: an address of the office's domains (taro@…) or a domain (every address there). Empty: the account's own address only.";
    senders_save: "送信アドレスを保存", "Save the addresses";
    senders_saved: "{} の送信アドレスを保存しました。", "Sending addresses of {} saved.";
    account_password_reset: "パスワードを再設定", "Reset the password";
    account_password_done: "{} のパスワードを再設定しました。", "Password of {} reset.";
    account_removed: "アカウント {} を削除しました。", "Account {} removed.";
    problem_sender_not_office: "事務所のドメインのアドレスまたはドメインではありません: {}", "Not an address or domain of the office: {}";
    problem_too_many_senders: "送信アドレスが多すぎます(50 件まで)。", "Too many addresses (50 at most).";
    no_office_domains: "事務所のドメインが設定されていません。先に初期設定でドメインを入力してください。", "No office domain is set. Enter the office's domains in the setup first.";
    nav_delivery: "送信経路", "Delivery";
    delivery_title: "送信経路と暗号化", "Delivery route and encryption";
    route_now_provider: "現在: プロバイダの送信サーバー {} 経由", "Now: through the provider's server {}";
    route_now_direct: "現在: 宛先のサーバーへ直接", "Now: straight to each recipient's server";
    route_password_keep: "空欄なら保存済みのパスワードを使います。", "Leave empty to keep the saved password.";
    route_save: "試してから保存", "Test, then save";
    route_saved: "送信経路を保存しました。", "The route is saved.";
    route_password_needed: "新しいサーバーまたはアカウントには、パスワードを入力してください。", "Enter the password for a new server or account.";
    domain_routes: "特定のドメインへの経路", "Routes for single domains";
    domain_routes_help: "取引先の社内サーバーなど、特定のドメイン宛てのメールを決まったサーバーへ送ります(送信サーバー経由より優先)。", "Mail to these domains goes to the given server (a partner's own server, say), before the provider's.";
    domain: "ドメイン", "Domain";
    host: "サーバー", "Server";
    route_added: "{} への経路を追加しました。", "Route for {} added.";
    route_removed: "{} への経路を削除しました。", "Route for {} removed.";
    tls_title: "送信時の暗号化(TLS)", "Encryption when sending (TLS)";
    tls_help: "「必須」の宛先には、証明書を確認できる暗号化接続でしか送りません(送れない間はキューで待ちます)。", "To \"required\" destinations mail goes only over encryption with a verified certificate (it waits in the queue until it can).";
    tls_default: "既定", "Default";
    tls_required: "必須(証明書を確認)", "Required (certificate verified)";
    tls_opportunistic: "可能なら暗号化", "When offered";
    tls_disabled: "暗号化しない(非推奨)", "Never (not recommended)";
    tls_saved: "既定の暗号化を保存しました。", "The default is saved.";
    tls_policies: "ドメインごとの暗号化", "Per-domain encryption";
    tls_policy_added: "{} の暗号化の設定を追加しました。", "Encryption for {} added.";
    tls_policy_removed: "{} の暗号化の設定を削除しました。", "Encryption for {} removed.";
    exists_for_domain: "このドメインの設定はすでにあります。", "This domain has one already.";
    hold_title: "送信待ちのメール", "Mail waiting to be sent";
    hold_intro: "このメールは送信予定の時刻まで送信待ちです。宛先に誤りがあれば取り消せます。", "This mail waits until the time below before it leaves. If a recipient is wrong, you can cancel it.";
    hold_subject: "件名", "Subject";
    hold_recipients: "宛先", "Recipients";
    hold_until: "送信予定", "Leaves at";
    hold_send: "今すぐ送信する", "Send it now";
    hold_cancel: "送信を取り消す", "Cancel it";
    hold_note: "ボタンを押すまで何も変わりません。", "Nothing changes until you press a button.";
    hold_sent: "メールを送信しました。", "The mail is on its way.";
    hold_cancelled: "送信を取り消しました。このメールは送られません。", "Cancelled: this mail will not be sent.";
    hold_over: "このメールはすでに送信されたか、取り消されています。", "This mail has already been sent or cancelled.";
    hold_approval_intro: "このメールは承認を待っています。内容と宛先を確かめて、承認するか却下してください。", "This mail waits for approval. Check it and its recipients, then approve or reject it.";
    hold_new_domain_intro: "このメールには、これまで送ったことのないドメインの宛先があります。アドレスが正しいか確かめてください。", "This mail has recipients in domains the office never sent to before. Please check the addresses.";
    hold_approve: "承認して送信する", "Approve and send";
    hold_reject: "却下する", "Reject";
    hold_rejected: "却下しました。送信者に知らせます。", "Rejected: the sender is told.";
    hold_wait: "無効なリンクが続いたため、{} 秒待ってからもう一度お試しください。", "Too many links that open nothing: try again in {} seconds.";
    hold_invalid: "このリンクは無効です(送信済みか取り消し済みのメール、または誤ったリンクです)。", "This link is not valid (the mail was sent or cancelled, or the link is wrong).";
    link_title: "添付ファイルのダウンロードリンク", "Attachment download link";
    link_intro: "このメールの添付ファイルは、宛先の人がダウンロードリンクから受け取ります。このページでダウンロードの記録を確かめられます。宛先を誤ったときは、リンクを無効にしてください。", "The recipients of this mail fetch its attachments through a download link. This page shows the downloads. If the mail went to the wrong person, revoke the link.";
    link_state_open: "有効(ダウンロードできます)", "Open (the files can be downloaded)";
    link_state_expired: "期限切れ(もうダウンロードできません)", "Expired (nothing can be downloaded)";
    link_state_revoked: "無効(取り消し済み。もうダウンロードできません)", "Revoked (nothing can be downloaded)";
    link_state_locked: "ロック中(パスワードの誤りが多すぎます)", "Locked (too many wrong passwords)";
    link_state_used_up: "ダウンロード回数の上限に達しました", "Used up (every file was downloaded as often as allowed)";
    link_revoked_at: "無効にした日時: {}", "Revoked at {}";
    link_files: "ファイル", "Files";
    link_file: "ファイル名", "File";
    link_downloads: "ダウンロード回数 / 上限", "Downloads / limit";
    link_recent: "最近のダウンロード", "Recent downloads";
    link_at: "日時", "When";
    link_from: "ダウンロード元のアドレス", "From address";
    link_no_downloads: "まだダウンロードされていません。", "Not downloaded yet.";
    link_revoke: "リンクを無効にする", "Revoke the link";
    link_note: "ボタンを押すまで何も変わりません。無効にすると、ファイルはこの箱から消去され、もうダウンロードできません。", "Nothing changes until you press the button. Once the link is revoked, its files are erased from the box and can no longer be downloaded.";
    link_revoked_done: "リンクを無効にしました。ファイルはもうダウンロードできません。", "The link is revoked: its files can no longer be downloaded.";
    link_revoked_already: "このリンクはすでに無効になっています。", "This link was revoked already.";
    link_invalid: "このリンクは無効です(誤ったリンクか、記録が消去されたリンクです)。", "This link is not valid (the link is wrong, or its record was removed).";
    link_unavailable: "今はこのページを表示できません。しばらくしてからもう一度お試しください。", "This page cannot be shown now. Please try again later.";
    nav_links: "ダウンロードリンク", "Download links";
    links_title: "添付ファイルのダウンロードリンク", "Attachment download links";
    links_help: "リンク方式で送った添付ファイルのリンクです(新しい順)。誤送信に気づいたら、リンクを無効にすればファイルはもうダウンロードされず、この箱から消去されます。", "The download links of attachments sent in link mode, newest first. If a mail went to the wrong person, revoke its link: its files are no longer given and are erased from the box.";
    links_search_help: "件名・差出人・宛先・ファイル名の一部で絞り込みます。", "Filter by part of the subject, sender, recipient or file name.";
    links_empty: "ダウンロードリンクはありません。", "No download links.";
    links_subject: "件名", "Subject";
    links_last: "最近のダウンロード", "Last downloads";
    links_done_revoke: "リンク {} を無効にしました。", "Link {} revoked.";
    links_gone: "このリンクは見つからないか、すでに無効です。", "That link is gone or was revoked already.";
    nav_pacing: "送信ペース", "Pacing";
    pacing_title: "送信ペース(宛先ごとの送信間隔)", "Delivery pacing per destination";
    pacing_help: "携帯電話会社などは、短時間に大量のメールを送るサーバーからの受信を一時的に止めます。宛先のドメインごとに送信の速さを抑え、止められないようにします。", "Mobile carriers and others stop taking mail from a server that sends too much at once. Delivery to each destination domain is paced so that it is not stopped.";
    jp_mobile: "携帯電話会社(docomo・au・SoftBank など)向けの組み込み設定を使う", "Use the built-in limits for Japanese mobile carriers (docomo, au, SoftBank …)";
    pacing_default: "その他の宛先", "Every other destination";
    pacing_groups: "ドメインのグループ", "Groups of domains";
    group_name: "グループ名", "Group name";
    group_domains: "ドメイン(1 行に 1 つ)", "Domains (one a line)";
    lim_messages_per_minute: "1 分あたりの通数(0 は無制限)", "Messages a minute (0: no limit)";
    lim_max_connections: "同時接続数", "Connections at once";
    lim_messages_per_connection: "1 接続あたりの通数", "Messages a connection";
    lim_recipients_per_transaction: "1 通あたりの宛先数", "Recipients a message";
    lim_recipients_per_connection: "1 接続あたりの宛先数", "Recipients a connection";
    problem_limit: "{} の整数を入力してください。", "Enter a whole number, {}.";
    pacing_saved: "送信ペースを保存しました。", "Pacing saved.";
    group_added: "グループ「{}」を追加しました。", "Group \"{}\" added.";
    group_removed: "グループ「{}」を削除しました。", "Group \"{}\" removed.";
    nav_firewall: "ファイアウォール", "Firewall";
    firewall_title: "ファイアウォール", "Firewall";
    firewall_help: "変更は「お試し」で適用され、{} 秒以内に「確定」しないと元に戻ります。管理画面につながらなくなる変更をしても、自動で元に戻ります。", "A change is put in force on trial: unless you confirm it within {} seconds it goes back, so a change that cuts you off from the panel undoes itself.";
    fw_pending_title: "ファイアウォールの変更を確認", "Confirm the firewall change";
    fw_pending: "変更を適用しました。問題がなければ確定してください。残り", "The change is in force. If all is well, confirm it. Seconds left:";
    fw_pending_expired: "時間切れ: 元の設定に戻りました。", "Time is up: the previous rules are back.";
    fw_no_pending: "確認待ちの変更はありません。", "No change is waiting for confirmation.";
    fw_refused: "ファイアウォールが変更を受け付けませんでした: {}", "The firewall did not take the change: {}";
    fw_confirmed: "変更を確定しました。", "The change is confirmed.";
    fw_zones: "ゾーン", "Zones";
    fw_interfaces: "インターフェース", "Interfaces";
    fw_rules: "ルール", "Rules";
    fw_forwards: "ポート転送", "Port forwards";
    fw_sets: "アドレスの集合", "Address sets";
    fw_devices: "LAN の機器", "Devices on the LAN";
    fw_devices_help: "定期的な ARP 探索で見つかった機器です。", "Devices the periodic ARP sweep found.";
    fw_no_devices: "まだ見つかっていません。", "None found yet.";
    fw_name: "名前(英数字と - _ .、32 文字まで)", "Name (letters, digits, - _ ., up to 32)";
    fw_direction: "方向", "Direction";
    dir_input: "この箱あて", "To the box";
    dir_forward: "通過(ゾーン間)", "Through (between zones)";
    fw_zone: "送信元ゾーン", "From zone";
    fw_dest_zone: "宛先ゾーン(通過のみ)", "To zone (through only)";
    fw_protocol: "プロトコル", "Protocol";
    fw_ports: "ポート(例: 25, 8000-8010)", "Ports (e.g. 25, 8000-8010)";
    fw_source: "送信元アドレス(空欄はすべて)", "Source addresses (empty: any)";
    fw_action: "処置", "Action";
    fw_accept: "許可", "Accept";
    fw_drop: "破棄", "Drop";
    fw_reject: "拒否", "Reject";
    fw_enabled: "有効", "On";
    fw_disabled: "無効", "Off";
    fw_enable: "有効にする", "Turn on";
    fw_disable: "無効にする", "Turn off";
    fw_packets: "パケット数", "Packets";
    fw_external_port: "外部ポート", "Outside port";
    fw_internal_address: "転送先アドレス", "Inside address";
    fw_internal_port: "転送先ポート(空欄は同じ)", "Inside port (empty: the same)";
    fw_elements: "要素数", "Elements";
    fw_problem_name: "名前は英数字と - _ . で 32 文字までです。", "A name is up to 32 letters, digits, - _ or .";
    fw_problem_port: "ポートまたは範囲ではありません: {}", "Not a port or range: {}";
    fw_problem_ports_not_allowed: "このプロトコルにはポートを指定できません。", "This protocol has no ports.";
    fw_problem_address: "アドレスまたはネットワークではありません: {}", "Not an address or network: {}";
    fw_problem_dest_zone: "通過のルールには、送信元と異なる宛先ゾーンを選んでください。", "A rule for traffic through needs a destination zone other than its own.";
    fw_edit: "編集", "Edit";
    fw_zone_column: "ゾーン", "Zone";
    fw_col_input: "この箱あて", "To the box";
    fw_col_forward: "通過", "Through";
    fw_col_output: "この箱から", "From the box";
    fw_set_add_heading: "要素を追加", "Add elements";
    fw_set_list: "集合の要素", "Elements";
    fw_back: "ファイアウォールに戻る", "Back to the firewall";
    fw_unchanged: "保存しました。ファイアウォールではすでにこの内容が動いています。", "Saved; the firewall already had this in force.";
    fw_zone_title: "ゾーンの編集", "Edit a zone";
    fw_zone_heading: "ゾーン {}", "Zone {}";
    fw_zone_help: "ゾーンは信頼の度合いが同じインターフェースのまとまりです。ルールで決まらない通信には、ここで選ぶ「規定の処置」が使われます。", "A zone is a group of interfaces trusted alike. Traffic that no rule decides gets the zone's default action chosen here.";
    fw_zone_opens_help: "保護を弱める変更(規定の処置を「許可」にする、ping・DHCP/DNS・DHCP クライアントを許可する、インターフェースを加える)にはパスワードが必要です。", "A change that weakens protection (a default action to accept; allowing ping, DHCP/DNS or the DHCP client; adding an interface) asks for your password.";
    fw_interfaces_help: "スペースまたはカンマで区切って入力(例: eth0 eth2。末尾の * はその名前で始まるすべて: wlan*)。15 文字まで、英数字と - _ . が使えます。", "Separated by spaces or commas (like eth0 eth2; a trailing * matches every name starting so: wlan*). Up to 15 letters, digits, - _ or .";
    fw_input_policy: "この箱あての通信(規定の処置)", "To the box (default action)";
    fw_forward_policy: "この箱を通過する通信(規定の処置)", "Through the box (default action)";
    fw_output_policy: "この箱から出る通信(規定の処置)", "From the box (default action)";
    fw_masquerade: "マスカレード(出ていく IPv4 の送信元をこの箱のアドレスにする)", "Masquerade (IPv4 leaving here takes the box's address)";
    fw_allow_ping: "ping に応答する", "Answer ping";
    fw_allow_dhcp_dns: "この箱の DHCP と DNS を使わせる", "Let hosts use the box's DHCP and DNS";
    fw_allow_dhcp_client: "この箱の DHCP クライアント(プロバイダーからのアドレス取得)を通す", "Let the box's own DHCP client renew its lease here";
    fw_now: "現在: {}", "Now: {}";
    fw_default: "{}(既定)", "{} (default)";
    fw_port_forward: "ポート転送", "port forward";
    fw_yes: "はい", "yes";
    fw_no: "いいえ", "no";
    fw_save_try: "保存してお試し適用", "Save and try";
    fw_problem_interface: "インターフェース名ではありません: {}", "Not an interface name: {}";
    fw_problem_no_interfaces: "インターフェースを 1 つ以上入力してください。", "Enter at least one interface.";
    fw_problem_interfaces_many: "インターフェースは 16 個までです。", "At most 16 interfaces.";
    fw_problem_no_change: "変更がありません。", "Nothing was changed.";
    fw_set_title: "アドレスの集合", "Address set";
    fw_set_heading: "アドレスの集合 {}", "Address set {}";
    fw_set_family: "アドレスの種類", "Family";
    fw_set_interval: "ネットワークと範囲も入る", "Holds networks and ranges";
    fw_set_used_by: "使っているルール", "Used by";
    fw_set_unused: "この集合を使うルールはありません。", "No rule uses this set.";
    fw_set_empty: "要素はありません。", "No elements.";
    fw_element: "要素", "Element";
    fw_expires: "期限", "Expires after";
    fw_set_add_label: "追加するアドレス(1 行に 1 つ)", "Addresses to add (one a line)";
    fw_set_add_help: "アドレス(198.51.100.7)、ネットワーク(203.0.113.0/24)、範囲(10.0.0.1-10.0.0.9)。一度に 256 行、集合全体で 4096 個まで。", "An address (198.51.100.7), a network (203.0.113.0/24) or a range (10.0.0.1-10.0.0.9); up to 256 lines at once, 4096 in the set.";
    fw_set_add: "追加してお試し適用", "Add and try";
    fw_set_remove_element: "{} を削除", "Remove {}";
    fw_set_opens_help: "許可のルールやポート転送が使う集合への追加と、破棄・拒否のルールが使う集合からの削除には、パスワードが必要です。", "Adding to a set that an accepting rule or a port forward uses, or removing from one that a dropping or rejecting rule uses, asks for your password.";
    fw_problem_no_elements: "アドレスを 1 行に 1 つ入力してください。", "Enter one address a line.";
    fw_problem_lines: "一度に追加できるのは 256 行までです。", "At most 256 lines at once.";
    fw_problem_set_full: "この画面で集合に入れられるのは 4096 個までです。", "A set holds at most 4096 elements here.";
    fw_problem_element: "アドレス、ネットワーク、範囲のいずれでもありません: {}", "Not an address, network or range: {}";
    fw_problem_host_bits: "ネットワークのホスト部が 0 ではありません: {}(ネットワークなら {} と書きます)", "Host bits set in {} (the network is {})";
    fw_problem_family: "{} はこの集合のアドレスの種類({})と合いません。", "{} is not of this set's family ({}).";
    fw_problem_interval: "この集合には単独のアドレスだけが入ります: {}", "This set holds single addresses only: {}";
    fw_problem_reversed: "範囲の始まりが終わりより後です: {}", "The range ends before it starts: {}";
    fw_problem_in_set: "すでに集合にあります: {}", "Already in the set: {}";
    fw_problem_overlap: "{} は集合の {} と重なります。", "{} overlaps {} in the set.";
    fw_problem_not_in_set: "集合にありません: {}", "Not in the set: {}";
    fw_problem_set_in_use: "この集合は次の規則で使われています: {}。先にそれらを変更してください。", "These rules use the set: {}. Change them first.";
    fw_problem_zone_in_use: "このゾーンは次で使われています: {}。先にそれらを変更してください。", "These use the zone: {}. Change them first.";
    fw_problem_zone_fixed: "lan と wan は常にあるゾーンです(追加・削除できるのは dmz と guest だけです)。", "lan and wan always exist (only dmz and guest are added or removed).";
    fw_problem_zone_there: "そのゾーンはすでにあるか、まだありません。", "That zone is there already, or not yet.";
    fw_problem_forwarding_there: "その転送はすでにあるか、ありません。", "That forwarding is there already, or not.";
    fw_add_zone: "ゾーンを追加", "Add a zone";
    fw_add_zone_help: "DMZ(公開サーバー用)やゲスト用のネットワークを、そのインターフェースとともに追加します。ほかのゾーンとの通信は「ゾーン間の転送」で許可するまで止められます。", "A DMZ (for public servers) or a guest network, on its interfaces. Its traffic to other zones is refused until a forwarding allows it.";
    fw_remove_zone: "削除", "Remove";
    fw_forwardings: "ゾーン間の転送", "Forwardings between zones";
    fw_forwardings_help: "左のゾーンから右のゾーンへの新しい接続を許可します(返りの通信は常に通ります)。", "New connections from the first zone to the second are allowed (replies always pass).";
    fw_from_zone: "送信元ゾーン", "From zone";
    fw_to_zone: "宛先ゾーン", "To zone";
    fw_add_forwarding: "転送を追加", "Add the forwarding";
    fw_new_set: "アドレスの集合を作る", "New address set";
    fw_new_set_help: "空の集合を作ります。規則の送信元や宛先に使うまでは何も変わりません(英数字と - _ . で 32 文字まで)。", "An empty set: it changes nothing until a rule uses it (up to 32 letters, digits, -, _ and .).";
    fw_set_family_field: "アドレスの種類", "Address type";
    fw_set_create: "作る", "Create";
    fw_set_delete: "この集合を削除", "Delete this set";
    fw_set_delete_help: "どの規則にも使われていない集合だけ削除できます。", "Only a set no rule uses can be deleted.";
    ip: "IP アドレス", "IP address";
    mac: "MAC アドレス", "MAC address";
    vendor: "メーカー", "Maker";
    first_seen: "初めて見た日時", "First seen";
    last_seen: "最後に見た日時", "Last seen";
    user_role_changed: "{} の役割を変更しました(ログイン中のセッションは終了しました)。", "The role of {} changed (their sessions ended).";
    nav_certificate: "証明書", "Certificate";
    cert_title: "管理画面の証明書", "The panel's certificate";
    cert_help: "ブラウザーに表示される指紋(SHA-256)がここと同じなら、この箱につながっています。自分の証明書と秘密鍵(PEM 形式)をアップロードすることもできます。", "If the fingerprint (SHA-256) your browser shows is this one, you are talking to this box. You can also upload your own certificate and key (PEM).";
    cert_fingerprint: "指紋(SHA-256)", "Fingerprint (SHA-256)";
    cert_not_after: "有効期限", "Valid until";
    cert_origin: "種類", "Kind";
    cert_self_signed: "自己署名(初回起動時に作成)", "Self-signed (made on first start)";
    cert_uploaded: "アップロードされたもの", "Uploaded";
    cert_from_config: "設定ファイルで指定されたもの", "Set in the configuration file";
    cert_config_fixed: "証明書は設定ファイル(admin.cert_file)で指定されているため、ここでは変更できません。", "The certificate is set in the configuration file (admin.cert_file) and cannot be changed here.";
    cert_upload_title: "証明書をアップロード", "Upload a certificate";
    cert_chain_file: "証明書(中間証明書を含む PEM)", "Certificate (PEM, with the intermediates)";
    cert_key_file: "秘密鍵(PEM)", "Private key (PEM)";
    cert_upload: "アップロードして切り替え", "Upload and switch";
    cert_back_to_self_signed: "自己署名の証明書に戻す", "Back to the self-signed certificate";
    cert_done: "証明書を切り替えました。新しい指紋: {}", "Certificate switched. New fingerprint: {}";
    cert_refused: "この証明書は使えません: {}", "This certificate cannot be used: {}";
    cert_both_needed: "証明書と秘密鍵の両方を選んでください。", "Choose both the certificate and the key.";
    cert_too_big: "ファイルが大きすぎます。", "The files are too large.";
    nav_backup: "バックアップ", "Backup";
    backup_title: "設定のバックアップと復元", "Settings backup and restore";
    backup_help: "設定をファイルに保存し、あとで(または交換した箱に)戻せます(mamori settings import でも読めます)。プロバイダのパスワードは含まれないため、復元後に「送信経路」で入力し直してください。", "Save the settings to a file and bring them back later (or to a replacement box; mamori settings import reads it too). Providers' passwords are not in it: enter them again under Delivery after a restore.";
    backup_export_title: "バックアップを保存", "Save a backup";
    backup_export: "ダウンロード", "Download";
    backup_import_title: "バックアップから復元", "Restore from a backup";
    backup_file: "バックアップファイル(.json)", "Backup file (.json)";
    backup_passphrase: "パスフレーズ", "Passphrase";
    backup_passphrase_help: "12 文字以上のパスフレーズを入れると、スタッフの送信アカウントのパスワードも暗号化して含めます。空欄なら含めません。その場合、箱にまだないアカウントは復元できません(別の箱へ移すときはパスフレーズを付けてください)。", "With a passphrase of 12 characters or more, the staff accounts' passwords are included, sealed with it. Without one they are left out, and accounts the box does not already have cannot be restored (to move to another box, give a passphrase).";
    backup_passphrase_short: "パスフレーズは 12 文字以上にしてください。", "A passphrase needs at least 12 characters.";
    relay_not_applied: "保存しましたが、送信サーバーにまだ反映されていません: {}", "Saved, but the relay has not taken it yet: {}";
    backup_problems: "{} 件の問題", "{} problems";
    backup_import: "確認して復元", "Check and restore";
    backup_refused: "このファイルは復元できません: {}", "This file cannot be restored: {}";
    backup_restored: "復元しました(設定の版 {})。", "Restored (settings version {}).";
    backup_choose_file: "ファイルを選んでください。", "Choose a file.";
    backup_not_text: "テキスト(UTF-8)のファイルではありません。", "Not a text (UTF-8) file.";
    backup_too_big: "ファイルが大きすぎます。", "The file is too large.";
    nav_metrics: "監視と通知", "Monitoring";
    metrics_title: "監視と通知", "Monitoring and alerts";
    alerts_title: "通知メール", "Alert mails";
    alerts_help: "保留メールが 24 時間以上待っている、証明書の期限が 14 日以内、データ領域の空きが 10% 未満、サービスが応答しない、のときに、ここのアドレスへ通知します(同じ内容は 1 日 1 回まで)。", "Mail goes to these addresses when held mail waits over 24 hours, a certificate ends within 14 days, the data partition is less than 10% free, or a service does not answer (the same alert at most once a day).";
    alert_addresses: "通知先のアドレス(1 行に 1 つ)", "Addresses (one a line)";
    alert_test: "テストを送る", "Send a test";
    alert_saved: "通知先を保存しました。", "The addresses are saved.";
    alert_test_sent: "テストの通知を送りました。", "A test alert is on its way.";
    alert_test_subject: "テスト通知 / Test alert", "Test alert / テスト通知";
    alert_test_body: "Mamori からのテスト通知です。このメールが届いていれば、通知は正しく設定されています。\nA test alert from Mamori: if you read this, alerts reach you.\n", "A test alert from Mamori: if you read this, alerts reach you.\nMamori からのテスト通知です。\n";
    metrics_help: "多数の箱を見守る事業者などが、/metrics からメールやファイアウォールの数値を取得できます。取得にはここで作るトークン(Authorization: Bearer)が必要です。", "Those who watch many boxes can read mail and firewall figures from /metrics, with the token made here (Authorization: Bearer).";
    metrics_on: "有効(トークンが設定されています)", "On (a token is set)";
    metrics_off: "無効(トークンがありません)", "Off (no token)";
    metrics_new_token: "新しいトークンを作る", "Make a new token";
    metrics_turn_off: "無効にする", "Turn off";
    metrics_token_once: "このトークンは今だけ表示されます。監視システムに設定してください(以前のトークンは使えなくなりました)。", "This token is shown only now: put it in your monitoring system (the previous one no longer works).";
    nav_report: "月次報告", "Monthly report";
    report_title: "月次報告", "Monthly report";
    report_heading: "月次報告 {}", "Monthly report {}";
    report_help: "監査ログから集計した 1 か月(日本時間)の記録です。個人情報保護や番号法の監査で求められる、送信の状況・保留したメールの扱い・管理操作を示します。", "A month (Japan time) counted from the audit logs: sending, what was done with held mail, and the administrators' actions, as a P-mark or My Number audit asks.";
    report_mail: "メール", "Mail";
    report_inspected: "検査したメール", "Messages inspected";
    report_passed: "送信したもの", "Sent";
    report_held: "保留したもの", "Held";
    report_rejected: "拒否したもの", "Refused";
    report_not_fully_read: "読み取れない部分があったもの", "Not fully read";
    report_findings: "検出(種類別)", "Findings by kind";
    report_held_mail: "保留メールの扱い", "Held mail";
    report_released: "承認して配送", "Approved and delivered";
    report_refused: "拒否(差出人に通知)", "Refused (sender told)";
    report_deleted: "削除", "Deleted";
    report_erased: "保存期間を過ぎて消去", "Erased after the retention period";
    report_content_views: "本文の閲覧", "Content views";
    report_actions: "管理操作", "Administrative actions";
    report_settings_versions: "設定の変更(版の数)", "Settings changes (versions)";
    report_print: "印刷はブラウザーの印刷機能(Ctrl+P)で行えます。ナビゲーションは印刷されません。", "Print with your browser (Ctrl+P); the navigation is left out.";
    retention_title: "保留メールの保存期間", "How long held mail is kept";
    retention_days: "保存日数(0 は無期限)", "Days kept (0: until decided)";
    retention_help: "この日数を過ぎた保留メールは、送信されずに消去され、その記録が監査ログに残ります(1〜3650 日)。", "Held mail older than this is erased unsent, and the erasure recorded in the audit log (1 to 3650 days).";
    retention_bad: "0 または 1〜3650 の日数を入力してください。", "Enter 0 or a number of days from 1 to 3650.";
    retention_saved: "保存期間を保存しました。", "The retention is saved.";
    chart_hours: "過去 24 時間(1 時間ごと)", "The last 24 hours, by hour";
    chart_days: "過去 30 日(1 日ごと)", "The last 30 days, by day";
    chart_findings: "検出の件数(24 時間 / 30 日)", "Findings (24 hours / 30 days)";
    dlp_last_rule: "最後のルールは削除できません(ルールがなくなると組み込みのルールに戻ります)。処置を「記録のみ」にしたルールを追加してから削除してください。", "The last rule cannot be removed (with none, the built-in rules come back). Add a rule that only records, then remove this one.";
    try_too_big: "大きすぎます(4 MB まで)。", "Too large (4 MB at most).";
    nav_encrypt: "添付ファイル暗号化", "Attachment encryption";
    enc_title: "添付ファイルの自動暗号化(パスワード付き ZIP・ダウンロード リンク)", "Automatic attachment encryption (encrypted ZIP or download link)";
    enc_help: "社外宛てのメールの添付ファイルをパスワード付きの ZIP にまとめ、パスワードは別に伝えます。AES-256 の ZIP は 7-Zip、Lhaplus、CubeICE などで開けますが、Windows の標準機能(エクスプローラー)では開けません。ZipCrypto の ZIP はエクスプローラーでも開けますが、暗号としては弱いものです。DLP のルールで処置を「暗号化」(encrypt)にすると、そのルールに当てはまったメールもこの機能に渡されます。", "Attachments of mail to outside the office are packed into an encrypted ZIP, and the password goes separately. An AES-256 ZIP opens in 7-Zip, Lhaplus, CubeICE and the like, but not in Windows Explorer; a ZipCrypto ZIP opens in Explorer too, but its encryption is weaker. A DLP rule with the action \"encrypt\" hands the mail it matches to this feature.";
    enc_general: "全体の設定", "General settings";
    enc_enabled: "添付ファイルを暗号化する", "Encrypt attachments";
    enc_enabled_help: "オフの間、メールはそのまま送られます(DLP で「暗号化」を指定したルールに当てはまるメールは保留されます)。オフにするときはパスワードの再入力が必要です。", "While off, mail goes as it is (mail a DLP rule asks to encrypt is held). Turning it off asks for your password.";
    enc_cipher: "暗号方式", "Cipher";
    enc_cipher_help: "AES-256 を推奨します。ZipCrypto は、相手がほかの方法で開けない場合に限って使ってください。", "AES-256 is recommended. Use ZipCrypto only for recipients whose tools open nothing else.";
    enc_cipher_aes256: "AES-256(推奨)", "AES-256 (recommended)";
    enc_cipher_zipcrypto: "ZipCrypto(弱い: Windows のエクスプローラーで開けますが、既知平文攻撃で破られます)", "ZipCrypto (weaker: Windows Explorer opens it, but a known-plaintext attack breaks it)";
    enc_names: "ZIP 内のファイル名の文字コード", "File names in the archive";
    enc_names_utf8: "UTF-8(推奨)", "UTF-8 (recommended)";
    enc_names_cp932: "CP932(Shift_JIS: 古い日本語の解凍ソフト向け)", "CP932 (Shift_JIS, for old Japanese archivers)";
    enc_password_to: "パスワードの送り先", "Who gets the password";
    enc_pwto_sender: "送信者(電話やチャットなど別の方法で相手に伝えます。既定)", "The sender, who passes it on by phone or chat (the default)";
    enc_pwto_recipients: "受信者(別のメールで送ります)", "The recipients, in a separate mail";
    enc_pwto_both: "送信者と受信者の両方", "Both the sender and the recipients";
    enc_password_length: "パスワードの文字数", "Password length";
    enc_password_length_help: "8〜128 文字(既定は 12 文字)。", "8 to 128 characters (12 by default).";
    enc_password_delay: "パスワードを送るまでの時間(分)", "Minutes before the password is sent";
    enc_password_delay_help: "0〜1440 分(既定は 5 分)。その間に誤送信に気づけば、パスワードが届く前に対処できます。", "0 to 1440 (5 by default). Someone who notices a misdelivery in that time can still act before the password arrives.";
    enc_archive_name: "ZIP のファイル名", "Archive file name";
    enc_archive_name_help: "既定は attachments.zip です。.zip がなければ付けます。", "attachments.zip by default; .zip is added when missing.";
    enc_exempt_internal: "事務所のドメイン宛てには暗号化せず、そのまま送る", "Mail to the office's own domains goes as it is";
    enc_exempt_recipients: "暗号化しない宛先", "Recipients who get the original";
    enc_exempt_recipients_help: "アドレス(taro@example.jp)またはドメイン(example.jp)を 1 行に 1 つ、またはカンマ区切りで。ほかの方法で保護すると取り決めた取引先などに。", "Addresses (taro@example.jp) or domains (example.jp), one a line or comma-separated: partners with an agreed other protection, say.";
    enc_subject_tag: "件名の先頭に付ける印(任意)", "Subject tag (optional)";
    enc_subject_tag_help: "例: [暗号化]。空欄なら件名はそのままです(40 文字まで)。", "Like [encrypted]. Empty: the subject is kept (up to 40 characters).";
    enc_off_password: "オフにするには現在のパスワードを入力してください。", "To turn it off, enter your current password.";
    enc_zipcrypto_warning: "ZipCrypto を使う設定があります。ZipCrypto は既知平文攻撃で破られるため、相手がほかの方法で開けない場合に限って使ってください。", "ZipCrypto is in use. It falls to a known-plaintext attack: use it only for recipients whose tools open nothing else.";
    enc_saved: "添付ファイル暗号化の設定を保存しました。", "Attachment encryption settings saved.";
    enc_unchanged: "変更はありませんでした。", "Nothing changed.";
    enc_rules: "ルール", "Rules";
    enc_rules_help: "ルールは宛先ごとに上から順に調べられ、最初に当てはまったものが採られます。ルールが 1 つもなければ、添付ファイルのあるメールはすべて(暗号化しない宛先を除き)暗号化されます。", "Rules are checked from the top for each recipient; the first that matches decides. With no rules, every mail with attachments is encrypted (except for the recipients who get the original).";
    enc_no_rules: "ルールはありません。添付ファイルのあるメールはすべて暗号化されます。", "No rules: every mail with attachments is encrypted.";
    enc_rule_senders: "送信者(空欄: すべて)", "Senders (empty: any)";
    enc_rule_recipients: "宛先(空欄: 暗号化しない宛先以外すべて)", "Recipients (empty: any who does not get the original)";
    enc_rule_patterns_help: "アドレスまたはドメインを 1 行に 1 つ、またはカンマ区切りで。", "Addresses or domains, one a line or comma-separated.";
    enc_rule_types: "添付ファイルの種類(空欄: すべて)", "Attachment types (empty: any)";
    enc_rule_types_help: ".pdf や xlsx のような拡張子、または application/pdf や image/* のようなメディアタイプを 1 行に 1 つ。", "Extensions such as .pdf or xlsx, or media types such as application/pdf or image/*, one a line.";
    enc_rule_min_size: "添付ファイルの合計サイズの下限(KB、0: 制限なし)", "Least total size of the attachments (KB, 0: any)";
    enc_rule_action: "処置", "Action";
    enc_action_encrypt: "暗号化する", "Encrypt";
    enc_action_skip: "暗号化しない(そのまま送る)", "Do not encrypt (send as it is)";
    enc_section_default: "全体の設定に従う", "Section default";
    enc_overrides: "個別の設定", "Overrides";
    enc_any: "すべて", "Any";
    enc_rule_added: "ルール「{}」を追加しました。", "Rule \"{}\" added.";
    enc_rule_removed: "ルール「{}」を削除しました。", "Rule \"{}\" removed.";
    enc_size_kb: "{} KB", "{} KB";
    enc_size_bytes: "{} バイト", "{} bytes";
    enc_unreadable: "現在の設定を読み取れませんでした: {}", "The settings in force could not be read: {}";
    enc_problem_too_many: "これ以上追加できません({} 件まで)。", "No more can be added ({} at most).";
    enc_problem_pattern: "アドレス(taro@example.jp)またはドメイン(example.jp)として読めません: {}", "Not an address (taro@example.jp) or a domain (example.jp): {}";
    enc_problem_type: "拡張子(.pdf)またはメディアタイプ(application/pdf、image/*)で入力してください: {}", "Enter an extension (.pdf) or a media type (application/pdf, image/*): {}";
    enc_problem_length: "この長さでは使えません。8〜128 文字で、使う文字の種類に対して十分な強さ(48 ビット以上)になる長さにしてください。", "This length cannot be used: 8 to 128 characters, enough for 48 bits from the password's characters.";
    enc_problem_archive_name: "ファイル名は 1〜100 文字で、制御文字と / \\ : * ? \" < > | は使えません。", "A file name of 1 to 100 characters, without control characters or any of / \\ : * ? \" < > |.";
    enc_problem_tag: "件名の印は 1 行で 40 文字までです。", "The tag is one line of up to 40 characters.";
    enc_problem_other: "設定の確認で問題が見つかりました: {}", "The settings check found a problem: {}";
    enc_mode: "保護の方法", "How attachments are protected";
    enc_mode_help: "ZIP(既定): 添付ファイルをパスワード付き ZIP にしてメールに入れます。ダウンロード リンク: 添付ファイルはこの箱に暗号化して置き、メールにはダウンロード用のリンクを書きます(期限と回数の制限付き)。", "ZIP (the default): the attachments go in the mail as an encrypted ZIP. Download link: the attachments stay on this box, sealed, and the mail carries a link to download them (with an expiry and a download limit).";
    enc_mode_zip: "パスワード付き ZIP", "Encrypted ZIP";
    enc_mode_link: "ダウンロード リンク", "Download link";
    enc_link_title: "ダウンロード リンク方式(リンク モード)", "Link mode (download links)";
    enc_link_help: "リンク モードでは、受信者がインターネットからこの箱のダウンロード サービスに接続します。そのために次の 3 つが必要です。(1) 事務所のインターネット側のアドレスを指す公開のホスト名(例: files.example.co.jp。DNS に登録します)。(2) プロバイダーのルーターの内側にこの箱があるなら、ルーターでのポート フォワード(ルーターのポートをこの箱のダウンロード用ポート {} へ転送)。(3) その名前の証明書(設定の links.cert と links.key)。自己署名の証明書のままだと、受信者のブラウザーに警告が出ます。リンク モードに切り替える前に、下のボタンでダウンロード用ポートを開き、自己診断に成功する必要があります。", "In link mode, recipients connect to this box's download service from the Internet. That needs three things: (1) a public host name pointing at the office's Internet address (files.example.co.jp, say, registered in DNS); (2) behind the provider's router, a port forward there from the router to this box's download port {}; (3) a certificate for that name (the settings' links.cert and links.key) — with a self-signed one, recipients' browsers warn. Before link mode can be switched on, the download port must be opened with the button below and the self-test must pass.";
    enc_link_url: "リンクのアドレス", "Address of the links";
    enc_link_url_help: "受信者がインターネットからこの箱に届くアドレスを https:// から。例: https://files.example.co.jp、https://files.example.co.jp:8443", "The address recipients reach this box at from the Internet, starting with https://: https://files.example.co.jp or https://files.example.co.jp:8443, say.";
    enc_link_expiry: "リンクの有効期間(日)", "Links last (days)";
    enc_link_expiry_help: "1 分〜90 日。日数で、または 12h や 30m のような時間で(既定は 7 日)。", "1 minute to 90 days: a number of days, or a time such as 12h or 30m (7 days by default).";
    enc_link_downloads: "ファイルごとのダウンロード回数の上限", "Downloads of each file";
    enc_link_downloads_help: "1〜100 回(既定は 3 回)。", "1 to 100 (3 by default).";
    enc_link_password: "リンクを開くときにパスワードも求める(パスワードは「パスワードの送り先」に送ります)", "A link also asks for a password (sent as \"Who gets the password\" says)";
    enc_link_port: "ダウンロード用ポート", "The download port";
    enc_link_port_is_open: "ファイアウォールは WAN からダウンロード用ポート {} への接続を通します。", "The firewall lets connections to the download port {} in from the WAN.";
    enc_link_port_is_closed: "ファイアウォールは WAN からダウンロード用ポート {} への接続を通しません。", "The firewall does not let connections to the download port {} in from the WAN.";
    enc_link_port_open: "ダウンロード用ポートを開く", "Open the download port";
    enc_link_port_open_help: "WAN からダウンロード用ポートへの接続を通すルール mamori-linkd をファイアウォールに加えます。ほかのファイアウォールの変更と同じく確認待ちになり、時間内に確認しなければ元に戻ります。", "Adds the rule mamori-linkd, which lets connections to the download port in from the WAN, to the firewall. As every firewall change, it waits for confirmation and goes back by itself unless confirmed in time.";
    enc_link_port_password: "ポートを開くには現在のパスワードを入力してください。", "To open the port, enter your current password.";
    enc_link_port_already: "ダウンロード用ポート {} はすでに開いています。", "The download port {} is open already.";
    enc_link_port_shadowed: "ルールを加えても、その前にあるルールがポート {} をふさぎます。ファイアウォールの画面でルールを確かめてください。", "Even with the rule, an earlier rule blocks port {}: check the rules on the firewall page.";
    enc_link_port_first: "リンク モードを使う前に、ダウンロード用ポート {} を開いてください(この画面の「ダウンロード用ポートを開く」)。", "Open the download port {} before link mode is used (\"Open the download port\" on this page).";
    enc_link_listen_bad: "ダウンロード サービスの待ち受けアドレス(links.listen)を読み取れません: {}", "The download service's address (links.listen) cannot be read: {}";
    enc_reach: "到達性の自己診断", "Reachability self-test";
    enc_reach_help: "リンクのアドレスの名前を引き、この箱からそこへ接続し、証明書を確かめ、応答がこの箱のダウンロード サービスかを調べます。事務所の外から届くかを、この箱からルーターを経由して試します(ルーターが内側からの折り返し接続に対応していないと、外からは届くのに失敗することがあります)。", "Resolves the name of the links' address, connects to it from this box, checks the certificate and that this box's download service answers. It goes out through the router and back in, as a recipient would come (a router that cannot turn connections from inside back in fails it although the Internet could reach the box).";
    enc_reach_run: "自己診断を実行", "Run the self-test";
    enc_reach_passed: "自己診断に成功しました: {} で、この箱のダウンロード サービスに届きます。", "The self-test passed: this box's download service is reached at {}.";
    enc_reach_failed: "自己診断に失敗しました。", "The self-test failed.";
    enc_reach_step_resolve: "名前の解決", "Name";
    enc_reach_step_connect: "接続", "Connection";
    enc_reach_step_tls: "証明書", "Certificate";
    enc_reach_step_service: "ダウンロード サービスの応答", "Download service";
    enc_reach_ok: "成功", "Passed";
    enc_reach_ng: "失敗", "Failed";
    enc_reach_not_run: "未実施", "Not run";
    enc_reach_resolved: "アドレス: {}", "Addresses: {}";
    enc_reach_connected: "{} に接続しました。", "Connected to {}.";
    enc_reach_cert_ok: "信頼できる認証局の、この名前の証明書です。", "Issued by a trusted authority, for this name.";
    enc_reach_this_box: "この箱のダウンロード サービスが応答しました。", "This box's download service answered.";
    enc_reach_unchecked: "ダウンロード サービスが応答しましたが、この箱の識別子を読めないため、この箱のものかは確かめられませんでした。", "A download service answered, but this box's id could not be read to check that it is this box's.";
    enc_reach_bad_url: "リンクのアドレスを https://名前 または https://名前:ポート の形で入力してください。", "Enter the links' address as https://name or https://name:port.";
    enc_reach_no_name: "名前を解決できません({})。DNS に、事務所のインターネット側のアドレスを指す名前を登録してください。", "The name does not resolve ({}). Register a name in DNS that points at the office's Internet address.";
    enc_reach_no_answer: "名前は解決できましたが、接続しても応答がありません({})。プロバイダーのルーターでこのポートをこの箱へ転送(ポート フォワード)していますか? ダウンロード用ポートを開くファイアウォールのルールはありますか? ダウンロード サービス(mamori linkd)は動いていますか?", "The name resolves, but nothing answers there ({}). Does the provider's router forward this port to the box (port forward)? Does the firewall rule that opens the download port exist? Is the download service (mamori linkd) running?";
    enc_reach_untrusted: "証明書が信頼されていません。自己署名の証明書ではありませんか? 公的な認証局が発行したその名前の証明書を links.cert と links.key に設定してください。", "The certificate is not trusted. Is it self-signed? Set a certificate for that name from a public authority as links.cert and links.key.";
    enc_reach_wrong_name: "証明書がこの名前({})のものではありません。その名前の証明書を links.cert と links.key に設定してください。", "The certificate is not for this name ({}). Set a certificate for that name as links.cert and links.key.";
    enc_reach_expired: "証明書の有効期限が切れています(または、まだ有効になっていません)。", "The certificate has expired (or is not valid yet).";
    enc_reach_no_roots: "この箱に信頼する認証局の証明書がないため、証明書を確かめられません。", "The box trusts no certificate authority, so the certificate cannot be checked.";
    enc_reach_cert_other: "証明書を確かめられませんでした: {}", "The certificate could not be checked: {}";
    enc_reach_not_service: "何かが応答しましたが、この箱のダウンロード サービスではありません({})。名前とポート フォワードがこの箱を指しているか確かめてください。", "Something answers, but it is not this box's download service ({}). Check that the name and the port forward lead to this box.";
    enc_reach_other_box: "応答したのは別の Mamori のダウンロード サービスです。名前とポート フォワードがこの箱を指しているか確かめてください。", "Another Mamori's download service answered. Check that the name and the port forward lead to this box.";
    enc_problem_link_url: "https://files.example.co.jp や https://files.example.co.jp:8443 のようなアドレスを入力してください。", "Enter an address such as https://files.example.co.jp or https://files.example.co.jp:8443.";
    enc_problem_link_expiry: "1 分〜90 日で入力してください(日数、または 12h や 30m のような時間)。", "From 1 minute to 90 days: a number of days, or a time such as 12h or 30m.";
    enc_problem_rule_link_url: "リンク モードを使うには、先に全体の設定でリンクのアドレスを保存してください。", "For link mode, save the links' address in the general settings first.";
    nav_misdelivery: "誤送信防止", "Misdelivery prevention";
    mis_title: "誤送信防止", "Misdelivery prevention";
    mis_help: "送ったメールが相手に届く前に、宛先の誤りに気づいて止められるようにする機能です。どれも個別にオン・オフできます。保留中のメールは「送信待ち」の画面でも確認・取り消しできます。", "These protections give the office a chance to catch a wrong recipient before the mail arrives. Each is turned on or off on its own. Mail that waits is also shown on the Queue page, where it can be cancelled.";
    mis_active: "有効な保護: {}", "On now: {}";
    mis_none_active: "誤送信防止の保護はどれも有効になっていません。", "None of the protections is on.";
    mis_protection_hold: "時間差送信", "Timed hold";
    mis_protection_bcc: "BCC への自動変換", "Bcc conversion";
    mis_protection_approval: "承認", "Approval";
    mis_protection_new_domain: "初めてのドメインの確認", "New-domain confirmation";
    mis_hold_title: "時間差送信(送信の一時保留)", "Timed hold";
    mis_hold_help: "社外宛てのメールは、送信ボタンを押してからここで決めた分数だけこの箱で待ち、その後に送られます。送信者には、送信を取り消すか今すぐ送るためのリンクが書かれたメールが届きます。0 分にすると待たずに送ります。", "Mail to outside the office waits this many minutes in the box before it leaves. The sender gets a mail with a link to cancel it or send it now. 0: mail leaves at once.";
    mis_hold_minutes: "待つ時間(分)", "Wait (minutes)";
    mis_hold_minutes_help: "0〜1440 分(1440 分 = 24 時間)。5 分程度がおすすめです。", "0 to 1440 (1440 minutes is 24 hours). About 5 is a good start.";
    mis_hold_scope: "待たせるメール", "Which mail waits";
    mis_scope_external: "社外の宛先が 1 つでもあるメール(推奨)", "Mail with at least one recipient outside the office (recommended)";
    mis_scope_all: "すべてのメール(社内宛ても)", "All mail (internal mail too)";
    mis_hold_except: "待たせない送信者", "Senders whose mail never waits";
    mis_hold_except_help: "アドレス(taro@example.jp)またはドメイン(example.jp)を 1 行に 1 つ、またはカンマ区切りで。送信者が確かめられたメール(ログインして送ったか、事務所の LAN から事務所のアドレスで送ったもの)にだけ効きます。", "Addresses (taro@example.jp) or domains (example.jp), one a line or comma-separated. Only mail whose sender the box can vouch for (sent with a login, or from the office LAN with an office address) is let through.";
    mis_future_title: "指定時刻の送信(FUTURERELEASE)", "Sending later (FUTURERELEASE)";
    mis_future_help: "メールソフトによっては「この時刻に送る」とこの箱に頼めます(FUTURERELEASE)。何日先まで預かるかを決めます。0 日にするとこの機能を提供しません。", "Some mail programs can ask the box to send a mail at a later time (FUTURERELEASE). This is how many days ahead the box accepts. 0: not offered.";
    mis_future_days: "最長の預かり期間(日)", "Longest wait (days)";
    mis_future_days_help: "0〜30 日(既定は 7 日)。", "0 to 30 (7 by default).";
    mis_bcc_title: "BCC への自動変換", "Bcc conversion";
    mis_bcc_help: "To と Cc に社外の宛先がこの数より多く並んだメールは、社外の宛先を BCC に移して送ります。社外の受信者どうしには、お互いのアドレスが見えなくなります(メールは全員に届きます)。送信者にはそのことをメールで知らせます。0 にするとオフです。", "When To and Cc name more recipients outside the office than this, those recipients are moved to Bcc: recipients outside the office are hidden from each other (everyone still gets the mail). The sender is told by mail. 0: off.";
    mis_bcc_threshold: "社外の宛先がこの数より多いとき(0: オフ)", "When more outside recipients than this (0: off)";
    mis_bcc_threshold_help: "0〜1000。例えば 5 にすると、社外の宛先が 6 つ以上並んだメールで働きます。", "0 to 1000. With 5, it acts on mail that shows 6 or more outside recipients.";
    mis_approval_title: "承認", "Approval";
    mis_approval_help: "条件に合うメールは、承認者が承認するまで送られません。承認者には、承認または却下のためのリンクが書かれたメールが届きます。送信者には承認待ちであることだけが知らされ、リンクは送られません(自分のメールを自分で承認できないように)。承認者が自分で送ったメールは、ほかの承認者が承認します(承認者が 1 人だけなら、その人のメールは待ちません)。", "Mail that matches is not sent until an approver approves it. The approver gets a mail with a link to approve or reject it. The sender is only told that the mail waits, and is not sent a link (nobody approves their own mail). Mail an approver sends is approved by another approver (with one approver only, their own mail does not wait).";
    mis_approvers: "承認者のメールアドレス(空欄: 承認はオフ)", "Approvers' addresses (empty: approval is off)";
    mis_approvers_help: "事務所のアドレスを 1 行に 1 つ、またはカンマ区切りで(20 人まで)。承認のリンクが届くので、事務所の外のアドレスは使えません。", "Addresses of the office, one a line or comma-separated (up to 20). They receive the link that approves, so addresses outside the office are refused.";
    mis_approval_senders: "承認が必要な送信者(空欄: すべて)", "Senders whose mail needs approval (empty: any)";
    mis_approval_senders_help: "アドレス(taro@example.jp)またはドメイン(example.jp)を 1 行に 1 つ、またはカンマ区切りで。新人のアドレスだけ、などに。", "Addresses (taro@example.jp) or domains (example.jp), one a line or comma-separated: new staff only, say.";
    mis_approval_when: "承認が必要なメール(チェックした条件をすべて満たすもの)", "Mail that needs approval (all ticked conditions met)";
    mis_external_only: "社外の宛先があるメールだけ", "Only mail with a recipient outside the office";
    mis_with_attachment: "添付ファイルがあるメールだけ", "Only mail with an attachment";
    mis_with_finding: "漏えい対策(DLP)で何か見つかったメールだけ(「記録のみ」のルールで見つかったものも含む)", "Only mail in which DLP found something (even what a rule only records)";
    mis_approval_timeout: "承認を待つ時間(時間)", "How long it waits for a decision (hours)";
    mis_wait_hours_help: "1〜168 時間(168 時間 = 7 日、既定は 24 時間)。", "1 to 168 (168 hours is 7 days; 24 by default).";
    mis_on_timeout: "時間内に決まらなかったメール", "Mail not decided on in time";
    mis_outcome_reject: "送らない(送信者に理由を知らせます。既定)", "Not sent (the sender is told why; the default)";
    mis_outcome_send: "送る", "Sent";
    mis_new_domain_title: "初めてのドメインの確認", "New-domain confirmation";
    mis_new_domain_help: "事務所がこれまでメールを送ったことのないドメイン宛てのメールは、送信者が確認するまで送られません(いちばん多い誤送信は、打ち間違えた見慣れないドメインです)。送信者には、宛先を確かめて送るか取り消すためのリンクが書かれたメールが届きます。「送ったことがある」は、下の日数のあいだに届けたメールから覚えます。使い始めて最初の 1 週間は覚えるための期間で、何も待たせません。事務所のアドレスから、ログインまたは事務所の LAN で送ったメールに働きます。", "Mail to a domain the office has not sent to before does not leave until its sender confirms it (the commonest misdelivery is a mistyped, unfamiliar domain). The sender gets a mail with a link to check the recipients and send or cancel it. Known domains are learned from mail delivered in the last number of days set below; nothing is held during the first week, while the box learns. It applies to mail from an office address, sent with a login or from the office LAN.";
    mis_new_domain_enabled: "初めてのドメイン宛てのメールを確認する", "Confirm mail to new domains";
    mis_learn_days: "覚えておく期間(日)", "Days a domain stays known";
    mis_learn_days_help: "1〜3650 日(既定は 90 日)。この日数のあいだにメールを届けたドメインは確認なしで送ります。", "1 to 3650 (90 by default). Domains mail was delivered to within this many days need no confirmation.";
    mis_new_domain_timeout: "確認を待つ時間(時間)", "How long it waits for the sender (hours)";
    mis_link_title: "通知メールのリンクのアドレス", "The address in the notices' links";
    mis_link_base: "リンクの始まりのアドレス(空欄: 既定)", "Start of the links (empty: the default)";
    mis_link_base_help: "送信者や承認者への通知メールのリンクは、このアドレスで始まります。事務所のパソコンからこの管理画面を開くときのアドレスを、https:// から入力してください。空欄なら {} です。", "The links in the notices to senders and approvers start with this address: the address the office's computers open this panel at, starting with https://. Empty: {}.";
    mis_off_password: "保護(時間差送信・BCC への自動変換・承認・初めてのドメインの確認)をオフにするには、現在のパスワードを入力してください。", "To turn a protection off (timed hold, Bcc conversion, approval, new-domain confirmation), enter your current password.";
    mis_saved: "誤送信防止の設定を保存しました。", "Misdelivery prevention settings saved.";
    mis_problem_too_many: "多すぎます({} 件まで)。", "Too many ({} at most).";
    mis_problem_address: "メールアドレス(bucho@office.example.jp のような形)として読めません: {}", "Not a mail address (like bucho@office.example.jp): {}";
    mis_problem_not_office: "承認者は事務所のドメインのアドレスにしてください(承認のリンクが届くため): {}", "An approver must have an address of the office's domains (they receive the link that approves): {}";
    mis_problem_link_base: "https:// で始まるアドレスを入力してください(例: https://mamori.office.lan)。空白やパスだけのものは使えません。", "Enter an address starting with https:// (like https://mamori.office.lan), without spaces.";
}

/// The text for a wizard problem.
pub fn problem(t: &Texts, p: &Problem) -> String {
    use mamori_core::password::PasswordProblem as P;
    match p {
        Problem::Required => t.problem_required.into(),
        Problem::NotADomain(v) => fill(t.problem_not_a_domain, v),
        Problem::TooManyDomains => t.problem_too_many_domains.into(),
        Problem::NotASubnet => t.problem_not_a_subnet.into(),
        Problem::NotAPrivateSubnet => t.problem_not_private.into(),
        Problem::NotAHost => t.problem_not_a_host.into(),
        Problem::NotAPort => t.problem_not_a_port.into(),
        Problem::NotAnOfficeAddress => t.problem_not_office_address.into(),
        Problem::DuplicateAccount => t.problem_duplicate_account.into(),
        Problem::TooManyAccounts => t.problem_too_many_accounts.into(),
        Problem::PasswordsDiffer => t.problem_passwords_differ.into(),
        Problem::Password(P::TooShort(n)) => fill(t.pw_too_short, n),
        Problem::Password(P::TooLong) => t.pw_too_long.into(),
        Problem::Password(P::ControlCharacter) => t.pw_control.into(),
        Problem::Password(P::Common) => t.pw_common.into(),
        Problem::Password(P::Pattern) => t.pw_pattern.into(),
        Problem::Password(P::ContainsName) => t.pw_name.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_is_the_default_and_both_languages_differ() {
        assert_eq!(Lang::default(), Lang::Ja);
        assert_ne!(JA.login_title, EN.login_title);
        assert_eq!(
            fill(EN.login_wait, 30),
            "Too many failed logins: try again in 30 seconds."
        );
    }
}
