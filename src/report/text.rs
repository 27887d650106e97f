//! The report's words in English and Japanese.
//!
//! Every sentence the report shows comes from here, so a language is one
//! table. Rule ids, reply codes, addresses and file names stay as they are in
//! both languages. The Japanese follows the usage of Japanese mail
//! documentation: SMTP, TLS, HELO and the relay's setting names in
//! katakana or English as the Admin console shows them, エンベロープ送信者
//! for the envelope sender.

use std::fmt::Write as _;

/// Language of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Lang {
    #[default]
    En,
    Ja,
}

impl Lang {
    /// Returns the BCP 47 tag for the `lang` attribute.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }

    pub fn words(self) -> &'static Words {
        match self {
            Lang::En => &EN,
            Lang::Ja => &JA,
        }
    }
}

/// Fixed strings of one language.
pub struct Words {
    pub title: &'static str,
    pub subtitle: &'static str,
    pub contents: &'static str,
    pub sec_verdict: &'static str,
    pub sec_break: &'static str,
    pub sec_senders: &'static str,
    pub sec_clients: &'static str,
    pub sec_headroom: &'static str,
    pub sec_compliance: &'static str,
    pub sec_assumptions: &'static str,
    pub sec_provenance: &'static str,
    pub ready: &'static str,
    pub ready_after_changes: &'static str,
    pub not_ready: &'static str,
    pub verdict_rule: &'static str,
    pub reasons: &'static str,
    pub no_reasons: &'static str,
    pub key_figures: &'static str,
    pub messages_read: &'static str,
    pub messages_replayed: &'static str,
    pub recipients_replayed: &'static str,
    pub relay_setting: &'static str,
    pub none: &'static str,
    pub col_rule: &'static str,
    pub col_outcome: &'static str,
    pub col_reply: &'static str,
    pub col_recipients: &'static str,
    pub col_messages: &'static str,
    pub col_meaning: &'static str,
    pub col_location: &'static str,
    pub col_sender: &'static str,
    pub col_recipient: &'static str,
    pub col_relay_time: &'static str,
    pub col_detail: &'static str,
    pub col_counter: &'static str,
    pub col_fix: &'static str,
    pub col_limit: &'static str,
    pub col_relay_limit: &'static str,
    pub col_peak: &'static str,
    pub col_percent: &'static str,
    pub col_when: &'static str,
    pub col_message: &'static str,
    pub col_from: &'static str,
    pub col_to: &'static str,
    pub col_file: &'static str,
    pub col_bytes: &'static str,
    pub col_item: &'static str,
    pub col_value: &'static str,
    pub break_intro: &'static str,
    pub nothing_breaks: &'static str,
    pub examples: &'static str,
    pub assumed_mark: &'static str,
    pub senders_intro: &'static str,
    pub no_senders: &'static str,
    pub clients_not_applicable: &'static str,
    pub clients_intro: &'static str,
    pub clients_none: &'static str,
    pub headroom_intro: &'static str,
    pub no_peak: &'static str,
    pub charts: &'static str,
    pub chart_missing: &'static str,
    pub storage_on: &'static str,
    pub storage_off: &'static str,
    pub storage_unknown: &'static str,
    pub external_heading: &'static str,
    pub internal_heading: &'static str,
    pub rewritten_heading: &'static str,
    pub no_rewrites: &'static str,
    pub null_sender_heading: &'static str,
    pub assumed_codes_heading: &'static str,
    pub no_assumed_codes: &'static str,
    pub policy_numbers_heading: &'static str,
    pub no_policy_numbers: &'static str,
    pub not_judged_heading: &'static str,
    pub engine_notes_heading: &'static str,
    pub connection_not_judged_heading: &'static str,
    /// Marks a note shown in the replay's English because this version has
    /// no words for it.
    pub untranslated_mark: &'static str,
    pub connection_heading: &'static str,
    pub findings_heading: &'static str,
    pub findings_intro: &'static str,
    pub no_findings: &'static str,
    pub warnings_heading: &'static str,
    pub warnings_intro: &'static str,
    pub no_warnings: &'static str,
    pub col_example: &'static str,
    pub provenance_intro: &'static str,
    pub tool: &'static str,
    pub command: &'static str,
    pub policy_file: &'static str,
    pub builtin_policy: &'static str,
    pub users_file: &'static str,
    pub year: &'static str,
    pub zone: &'static str,
    pub inputs: &'static str,
    pub year_not_given: &'static str,
    pub mode: &'static str,
    pub footer: &'static str,
}

pub static EN: Words = Words {
    title: "SMTP relay readiness report",
    subtitle: "What Google Workspace's SMTP relay service (smtp-relay.gmail.com) would have done with the mail in these logs",
    contents: "Contents",
    sec_verdict: "Verdict at a glance",
    sec_break: "What would break, and why",
    sec_senders: "Senders to fix",
    sec_clients: "Clients to reconfigure",
    sec_headroom: "Headroom against each limit",
    sec_compliance: "Compliance and archival",
    sec_assumptions: "Assumptions",
    sec_provenance: "Provenance",
    ready: "Ready",
    ready_after_changes: "Ready after changes",
    not_ready: "Not ready",
    verdict_rule: "How the verdict is decided: not ready when the relay would reject any recipient; ready after changes when only rewritten senders, throttled recipients, warnings or rules that could not be judged remain; ready otherwise.",
    reasons: "Reasons",
    no_reasons: "The relay would accept every recipient as it is, and every rule could be judged.",
    key_figures: "Key figures",
    messages_read: "Messages in the logs",
    messages_replayed: "Messages replayed through the relay",
    recipients_replayed: "Recipients replayed",
    relay_setting: "Relay setting that judged the senders",
    none: "none",
    col_rule: "Rule",
    col_outcome: "Outcome",
    col_reply: "Reply",
    col_recipients: "Recipients",
    col_messages: "Messages",
    col_meaning: "What it means",
    col_location: "Log file:line",
    col_sender: "Envelope sender",
    col_recipient: "Recipient",
    col_relay_time: "Relay time",
    col_detail: "Detail",
    col_counter: "Counter / limit",
    col_fix: "What to change",
    col_limit: "Limit",
    col_relay_limit: "Relay limit",
    col_peak: "Peak",
    col_percent: "Peak as % of limit",
    col_when: "When",
    col_message: "Message",
    col_from: "Logged sender",
    col_to: "Sender the relay uses",
    col_file: "File",
    col_bytes: "Bytes",
    col_item: "Item",
    col_value: "Value",
    break_intro: "Every rule that refused, throttled or rewrote at least one recipient, with the reply the relay would give. The examples are the first recipients the rule decided, in relay order; each points to the log lines behind it: the message's first line, then (after →) the line of the recipient's delivery.",
    nothing_breaks: "No rule refused, throttled or rewrote any recipient.",
    examples: "Examples",
    assumed_mark: "assumed",
    senders_intro: "Envelope senders that the relay would reject because of who they are. Fix them in the Admin console or in the sending application before the move.",
    no_senders: "No envelope sender would be rejected.",
    clients_not_applicable: "Not applicable in smarthost mode: the on-premises MTA is the only client of the relay, and its connection comes from the policy's [smarthost] section.",
    clients_intro: "Clients seen in the logs that would connect to the relay themselves (direct mode), with what each would need to change.",
    clients_none: "No client needs to change.",
    headroom_intro: "Highest value each limit counter reached, as a share of the limit, and when. The window counters count recipients the relay takes; transaction and size peaks count what the MTA offered.",
    no_peak: "no traffic",
    charts: "Charts",
    chart_missing: "Not drawn: the logs have no data for this chart.",
    storage_on: "Comprehensive mail storage is on in the policy: Vault keeps a copy of relayed mail in the sender's mailbox.",
    storage_off: "Comprehensive mail storage is off in the policy: Vault would not archive relayed mail for its senders.",
    storage_unknown: "The summary does not record whether comprehensive mail storage is on.",
    external_heading: "Recipients outside your domains",
    internal_heading: "Recipients in your domains",
    rewritten_heading: "Rewritten envelope senders",
    no_rewrites: "No envelope sender would be rewritten.",
    null_sender_heading: "Mail with the null sender <>",
    assumed_codes_heading: "Reply codes that Google does not document",
    no_assumed_codes: "Every verdict uses a reply code that Google documents.",
    policy_numbers_heading: "Policy numbers that Google does not document",
    no_policy_numbers: "The policy uses Google's documented limits.",
    not_judged_heading: "Rules that could not be judged with this policy",
    engine_notes_heading: "Notes recorded by the replay",
    connection_not_judged_heading: "Connection rules that could not be judged for some connections",
    untranslated_mark: "(not translated)",
    connection_heading: "The connection to the relay",
    findings_heading: "Findings about the connection",
    findings_intro: "Conflicts between the policy and the logs, and other facts to check. Findings do not change any verdict.",
    no_findings: "No findings.",
    warnings_heading: "Warnings",
    warnings_intro: "Warning rules leave the outcome of each verdict as it is, but the relay may throttle such connections with 421 4.7.0.",
    no_warnings: "No warning rule applies.",
    col_example: "Example",
    provenance_intro: "Everything needed to repeat this run and to check that its inputs are the ones reviewed.",
    tool: "Tool",
    command: "Command",
    policy_file: "Policy file",
    builtin_policy: "built-in default (Google's documented limits, allowed senders \"any\")",
    users_file: "Users file",
    year: "Year of classic syslog stamps",
    zone: "Time zone of stamps without an offset",
    inputs: "Inputs",
    year_not_given: "not given",
    mode: "Replay mode",
    footer: "Written by relayaudit from the Parquet tables and JSON files in this folder. The same folder gives the same report, byte for byte, on a machine with the same fonts.",
};

pub static JA: Words = Words {
    title: "SMTP リレー移行可否レポート",
    subtitle: "このログのメールを Google Workspace の SMTP リレー サービス (smtp-relay.gmail.com) に送っていた場合の判定結果",
    contents: "目次",
    sec_verdict: "判定の概要",
    sec_break: "問題になる送信とその理由",
    sec_senders: "修正が必要な送信者",
    sec_clients: "設定変更が必要なクライアント",
    sec_headroom: "各上限に対する余裕",
    sec_compliance: "コンプライアンスとアーカイブ",
    sec_assumptions: "前提と仮定",
    sec_provenance: "入力と実行条件",
    ready: "移行可能",
    ready_after_changes: "設定変更後に移行可能",
    not_ready: "移行不可",
    verdict_rule: "判定基準: リレーが受信者を 1 件でも拒否する場合は「移行不可」。エンベロープ送信者の書き換え、一時拒否 (スロットリング)、警告、判定できなかったルールだけが残る場合は「設定変更後に移行可能」。それ以外は「移行可能」です。",
    reasons: "判定の理由",
    no_reasons: "リレーはすべての受信者をそのまま受け付け、すべてのルールを判定できました。",
    key_figures: "主な数値",
    messages_read: "ログ上のメッセージ数",
    messages_replayed: "リレー経由で再生したメッセージ数",
    recipients_replayed: "再生した受信者数",
    relay_setting: "送信者を判定したリレー設定",
    none: "なし",
    col_rule: "ルール",
    col_outcome: "結果",
    col_reply: "応答コード",
    col_recipients: "受信者数",
    col_messages: "メッセージ数",
    col_meaning: "内容",
    col_location: "ログファイル:行",
    col_sender: "エンベロープ送信者",
    col_recipient: "受信者",
    col_relay_time: "リレー時刻",
    col_detail: "詳細",
    col_counter: "カウンタ / 上限",
    col_fix: "対処",
    col_limit: "上限の種類",
    col_relay_limit: "リレーの上限",
    col_peak: "最大値",
    col_percent: "上限に対する割合",
    col_when: "発生日時",
    col_message: "メッセージ",
    col_from: "ログ上の送信者",
    col_to: "リレーが使う送信者",
    col_file: "ファイル",
    col_bytes: "バイト数",
    col_item: "項目",
    col_value: "値",
    break_intro: "1 件以上の受信者を拒否、一時拒否、または書き換えたルールと、リレーが返す応答コードです。例はリレー順で最初に該当した受信者で、根拠となるログの行 (メッセージの最初の行と、→ の後に受信者の配送の行) を示します。",
    nothing_breaks: "拒否、一時拒否、書き換えの対象になった受信者はありません。",
    examples: "例",
    assumed_mark: "推定",
    senders_intro: "送信者そのものが原因でリレーに拒否されるエンベロープ送信者です。移行前に Google 管理コンソールか送信元アプリケーションで修正してください。",
    no_senders: "拒否されるエンベロープ送信者はありません。",
    clients_not_applicable: "スマートホスト モードでは該当しません。リレーに接続するのはオンプレミスの MTA だけで、その接続条件はポリシーの [smarthost] セクションから取っています。",
    clients_intro: "ログに現れたクライアントのうち、リレーに直接接続する (ダイレクト モード) ものと、それぞれに必要な変更です。",
    clients_none: "変更が必要なクライアントはありません。",
    headroom_intro: "各上限のカウンタが達した最大値、その上限に対する割合、発生日時です。期間あたりのカウンタはリレーが受け付けた受信者を数え、トランザクションとサイズの最大値は MTA が送ろうとした値です。",
    no_peak: "送信なし",
    charts: "グラフ",
    chart_missing: "このグラフのデータがログにないため、描画していません。",
    storage_on: "ポリシーでは包括的なメール ストレージが有効です。リレー経由のメールは送信者のメールボックスにコピーが保存され、Vault の対象になります。",
    storage_off: "ポリシーでは包括的なメール ストレージが無効です。リレー経由のメールは送信者側では Vault にアーカイブされません。",
    storage_unknown: "包括的なメール ストレージの設定はサマリーに記録されていません。",
    external_heading: "組織外ドメインの受信者",
    internal_heading: "組織内ドメインの受信者",
    rewritten_heading: "書き換えられるエンベロープ送信者",
    no_rewrites: "書き換えられるエンベロープ送信者はありません。",
    null_sender_heading: "空のエンベロープ送信者 <> のメール",
    assumed_codes_heading: "Google が公開していない応答コード",
    no_assumed_codes: "すべての判定で Google が公開している応答コードを使っています。",
    policy_numbers_heading: "Google が公開していないポリシー上の数値",
    no_policy_numbers: "ポリシーは Google が公開している上限値を使っています。",
    not_judged_heading: "このポリシーでは判定できなかったルール",
    engine_notes_heading: "再生処理が記録した注記",
    connection_not_judged_heading: "一部の接続で判定できなかった接続ルール",
    untranslated_mark: "(英語のまま)",
    connection_heading: "リレーへの接続",
    findings_heading: "接続についての指摘",
    findings_intro: "ポリシーとログの食い違いなど、確認が必要な事実です。指摘によって判定が変わることはありません。",
    no_findings: "指摘はありません。",
    warnings_heading: "警告",
    warnings_intro: "警告のルールは判定結果を変えませんが、リレーはこのような接続を 421 4.7.0 で一時拒否することがあります。",
    no_warnings: "該当する警告はありません。",
    col_example: "例",
    provenance_intro: "この実行を再現し、入力がレビュー対象と同じであることを確認するための情報です。",
    tool: "ツール",
    command: "コマンド",
    policy_file: "ポリシー ファイル",
    builtin_policy: "組み込みの既定値 (Google が公開している上限、許可する送信者は「任意のアドレス」)",
    users_file: "ユーザー ファイル",
    year: "従来形式の syslog タイムスタンプの年",
    zone: "オフセットのないタイムスタンプのタイムゾーン",
    inputs: "入力ファイル",
    year_not_given: "指定なし",
    mode: "再生モード",
    footer: "このフォルダーの Parquet テーブルと JSON ファイルから relayaudit が作成しました。同じフォントがインストールされたマシンでは、同じフォルダーから 1 バイトも違わない同じレポートが作成されます。",
};

/// Formats `value` with a comma between groups of three digits.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// Formats `value` as a percentage of `limit` with enough digits to show a
/// small share: `0.0013 %`, `2.5 %`, `114 %`.
pub fn percent(value: u64, limit: u64) -> String {
    if limit == 0 {
        return "-".to_string();
    }
    let share = 100.0 * value as f64 / limit as f64;
    let text = if share == 0.0 {
        "0".to_string()
    } else if share >= 100.0 {
        format!("{share:.0}")
    } else if share >= 1.0 {
        format!("{share:.1}")
    } else {
        // Two significant digits.
        let decimals = (1.0 - share.log10().floor()) as usize;
        format!("{share:.decimals$}")
    };
    format!("{text} %")
}

/// Describes a window length: `10 minutes` / `10 分間`.
pub fn window(lang: Lang, seconds: u64) -> String {
    let (value, unit_en, unit_ja) = if seconds > 0 && seconds.is_multiple_of(3600) {
        (seconds / 3600, "hour", "時間")
    } else if seconds > 0 && seconds.is_multiple_of(60) {
        (seconds / 60, "minute", "分間")
    } else {
        (seconds, "second", "秒間")
    };
    match lang {
        Lang::En if value == 1 => format!("1 {unit_en}"),
        Lang::En => format!("{} {unit_en}s", thousands(value)),
        Lang::Ja => format!("{}{unit_ja}", thousands(value)),
    }
}

/// Names an outcome.
pub fn outcome(lang: Lang, outcome: &str) -> String {
    let name = match (lang, outcome) {
        (Lang::En, "accepted") => "accepted",
        (Lang::En, "rewritten") => "rewritten",
        (Lang::En, "throttled") => "throttled",
        (Lang::En, "rejected") => "rejected",
        (Lang::En, "warning") => "warning",
        (Lang::Ja, "accepted") => "受理",
        (Lang::Ja, "rewritten") => "送信者を書き換え",
        (Lang::Ja, "throttled") => "一時拒否",
        (Lang::Ja, "rejected") => "拒否",
        (Lang::Ja, "warning") => "警告",
        (_, other) => other,
    };
    name.to_string()
}

/// Meaning of a rule and the change that avoids it.
pub struct RuleText {
    pub meaning: &'static str,
    pub fix: &'static str,
}

/// Returns the description of `rule`, or `None` for a rule id without
/// words in this version. The report then shows the id alone.
pub fn rule(lang: Lang, rule: &str) -> Option<RuleText> {
    let (meaning, fix) = match lang {
        Lang::En => rule_en(rule)?,
        Lang::Ja => rule_ja(rule)?,
    };
    Some(RuleText { meaning, fix })
}

fn rule_en(rule: &str) -> Option<(&'static str, &'static str)> {
    Some(match rule {
        "auth.ip_not_allowed" => (
            "The connecting IP address is in none of the allowed ranges of a relay setting that requires IP authentication.",
            "Add the address to the relay setting's allowed IP ranges.",
        ),
        "auth.smtp_auth_required" => (
            "The relay setting requires SMTP AUTH and the session did not authenticate.",
            "Configure SMTP AUTH (after STARTTLS) on the client.",
        ),
        "auth.auth_without_tls" => (
            "SMTP AUTH was attempted without TLS; the relay offers AUTH only after STARTTLS.",
            "Turn on STARTTLS before AUTH on the client.",
        ),
        "tls.required" => (
            "The relay setting requires TLS and the session is plain text.",
            "Turn on STARTTLS on the client, or turn off \"Require TLS encryption\".",
        ),
        "sender.not_registered_user" => (
            "The relay setting accepts only registered users, and the envelope sender is not one.",
            "Create a user for this address, or let the relay setting accept addresses in your domains.",
        ),
        "sender.no_gmail_licence" => (
            "The envelope sender is a registered user without a Gmail licence.",
            "Assign a Gmail licence to the user, or send from a licensed address.",
        ),
        "sender.domain_not_owned" => (
            "The relay setting accepts only addresses in your domains, and the envelope sender's domain is not one of them.",
            "Add the domain in the Admin console, or make the application send from an address in an owned domain.",
        ),
        "sender.unidentified" => (
            "The relay setting accepts any address, but neither SMTP AUTH nor an owned HELO/EHLO domain identifies your organisation.",
            "Use SMTP AUTH, or make the HELO name a domain you own.",
        ),
        "sender.rewrite_postmaster" => (
            "The relay setting accepts any address and rewrites a sender outside your domains to postmaster@ your domain.",
            "Send from an owned domain if replies and bounces must reach the original sender.",
        ),
        "sender.null_multi_rcpt" => (
            "The null envelope sender <> with more than one recipient in one transaction.",
            "Send notifications with the null sender to one recipient per transaction.",
        ),
        "limit.transaction_recipients" => (
            "Recipient beyond the relay's limit per transaction; the MTA has to retry it in a new transaction.",
            "Lower the MTA's recipients per outbound transaction to the relay's limit.",
        ),
        "limit.message_size" => (
            "The message is larger than the relay's size limit (base64 makes attachments about a third larger on the wire).",
            "Send large files as links, or lower the MTA's size limit so senders learn it early.",
        ),
        "limit.user_messages" => (
            "The user sent more messages in the day window than the relay allows.",
            "Spread the sending over time, or send from several users.",
        ),
        "limit.user_recipients" => (
            "The user sent to more unique recipients in the day window than the relay allows.",
            "Spread the sending over time, or use a bulk mail service for campaigns.",
        ),
        "limit.org_recipients_day" => (
            "The organisation sent to more recipients in the day window than the relay allows.",
            "Move bulk mail elsewhere, or spread it over several days.",
        ),
        "limit.org_recipients_10min" => (
            "The organisation sent to more recipients in the short window than the relay allows.",
            "Rate-limit the MTA's outbound queue.",
        ),
        "dos.generic_helo" => (
            "The HELO/EHLO name is generic (localhost, an IP literal, an unqualified name, ...).",
            "Set the client's HELO name to its fully qualified host name in an owned domain.",
        ),
        "dos.no_connection_reuse" => (
            "The sending MTA opens a new connection per message or per recipient at high volume.",
            "Turn on connection caching in the MTA.",
        ),
        _ => return None,
    })
}

fn rule_ja(rule: &str) -> Option<(&'static str, &'static str)> {
    Some(match rule {
        "auth.ip_not_allowed" => (
            "IP アドレス認証が必要なリレー設定で、接続元 IP アドレスが許可された範囲にありません。",
            "リレー設定の許可する IP アドレス範囲にこのアドレスを追加します。",
        ),
        "auth.smtp_auth_required" => (
            "リレー設定で SMTP 認証が必須ですが、セッションが認証していません。",
            "クライアントで SMTP 認証 (STARTTLS の後) を設定します。",
        ),
        "auth.auth_without_tls" => (
            "TLS なしで SMTP 認証を試みました。リレーは STARTTLS の後でしか AUTH を提示しません。",
            "クライアントで AUTH の前に STARTTLS を有効にします。",
        ),
        "tls.required" => (
            "リレー設定で TLS が必須ですが、セッションが平文です。",
            "クライアントで STARTTLS を有効にするか、「TLS 暗号化を必須にする」をオフにします。",
        ),
        "sender.not_registered_user" => (
            "リレー設定が登録済みユーザーのみを許可しており、エンベロープ送信者が登録済みユーザーではありません。",
            "このアドレスのユーザーを作成するか、リレー設定で自分のドメインのアドレスを許可します。",
        ),
        "sender.no_gmail_licence" => (
            "エンベロープ送信者は登録済みユーザーですが、Gmail のライセンスがありません。",
            "ユーザーに Gmail のライセンスを割り当てるか、ライセンスのあるアドレスから送信します。",
        ),
        "sender.domain_not_owned" => (
            "リレー設定が自分のドメインのアドレスのみを許可しており、エンベロープ送信者のドメインが所有ドメインではありません。",
            "管理コンソールでドメインを追加するか、所有ドメインのアドレスから送信するようアプリケーションを変更します。",
        ),
        "sender.unidentified" => (
            "リレー設定はすべてのアドレスを許可していますが、SMTP 認証も所有ドメインの HELO/EHLO 名もなく、組織を識別できません。",
            "SMTP 認証を使うか、HELO 名を所有ドメインにします。",
        ),
        "sender.rewrite_postmaster" => (
            "リレー設定がすべてのアドレスを許可しており、所有ドメイン外の送信者を postmaster@ 所有ドメインに書き換えます。",
            "返信やバウンスを元の送信者に届ける必要がある場合は、所有ドメインのアドレスから送信します。",
        ),
        "sender.null_multi_rcpt" => (
            "空のエンベロープ送信者 <> で、1 トランザクションに複数の受信者があります。",
            "空の送信者で送る通知は 1 トランザクションにつき受信者 1 件にします。",
        ),
        "limit.transaction_recipients" => (
            "1 トランザクションあたりの受信者数の上限を超えた受信者です。MTA は新しいトランザクションで再送する必要があります。",
            "MTA の送信トランザクションあたりの受信者数をリレーの上限以下にします。",
        ),
        "limit.message_size" => (
            "メッセージがリレーのサイズ上限を超えています (base64 エンコードで添付ファイルは約 3 分の 1 大きくなります)。",
            "大きなファイルはリンクで送るか、MTA のサイズ上限を下げて送信者に早く知らせます。",
        ),
        "limit.user_messages" => (
            "ユーザーが 1 日の期間内にリレーの上限を超えるメッセージを送りました。",
            "送信を時間的に分散するか、複数のユーザーから送信します。",
        ),
        "limit.user_recipients" => (
            "ユーザーが 1 日の期間内にリレーの上限を超える一意な受信者に送りました。",
            "送信を時間的に分散するか、一斉配信には配信サービスを使います。",
        ),
        "limit.org_recipients_day" => (
            "組織全体で 1 日の期間内にリレーの上限を超える受信者に送りました。",
            "一斉配信を別の経路に移すか、数日に分散します。",
        ),
        "limit.org_recipients_10min" => (
            "組織全体で短い期間内にリレーの上限を超える受信者に送りました。",
            "MTA の送信キューに流量制限を設定します。",
        ),
        "dos.generic_helo" => (
            "HELO/EHLO 名が汎用的です (localhost、IP アドレス リテラル、ドメインのない名前など)。",
            "クライアントの HELO 名を所有ドメインの FQDN にします。",
        ),
        "dos.no_connection_reuse" => (
            "送信元 MTA が大量送信時にメッセージごと (または受信者ごと) に新しい接続を開いています。",
            "MTA の接続キャッシュを有効にします。",
        ),
        _ => return None,
    })
}

/// Names a peak counter of `summary.json`'s `peaks`; unknown keys are
/// shown as they are.
pub fn peak_name(lang: Lang, key: &str, day: &str, short: &str) -> String {
    let known = match (lang, key) {
        (Lang::En, "user_messages") => format!("Messages per user in {day}"),
        (Lang::En, "user_unique_recipients") => format!("Unique recipients per user in {day}"),
        (Lang::En, "org_recipients_day") => format!("Recipients of the organisation in {day}"),
        (Lang::En, "org_recipients_10min") => format!("Recipients of the organisation in {short}"),
        (Lang::En, "transaction_recipients") => "Recipients in one transaction".to_string(),
        (Lang::En, "message_bytes") => "Message size in bytes".to_string(),
        (Lang::Ja, "user_messages") => format!("ユーザーあたりのメッセージ数 ({day})"),
        (Lang::Ja, "user_unique_recipients") => format!("ユーザーあたりの一意な受信者数 ({day})"),
        (Lang::Ja, "org_recipients_day") => format!("組織全体の受信者数 ({day})"),
        (Lang::Ja, "org_recipients_10min") => format!("組織全体の受信者数 ({short})"),
        (Lang::Ja, "transaction_recipients") => "1 トランザクションあたりの受信者数".to_string(),
        (Lang::Ja, "message_bytes") => "メッセージ サイズ (バイト)".to_string(),
        (_, other) => other.to_string(),
    };
    known
}

/// Formats one reason for the verdict: `{n} recipients rejected by {rule}`.
pub fn reason(lang: Lang, rule: &str, outcome_name: &str, recipients: u64) -> String {
    let rule = if rule.is_empty() { "-" } else { rule };
    let done = match (lang, outcome_name) {
        (Lang::En, "rewritten") => "sent with a rewritten sender".to_string(),
        (Lang::En, "warning") => "flagged".to_string(),
        (Lang::En, other) => outcome(lang, other),
        (Lang::Ja, "rejected") => "拒否されます".to_string(),
        (Lang::Ja, "throttled") => "一時拒否されます".to_string(),
        (Lang::Ja, "rewritten") => "送信者を書き換えて送られます".to_string(),
        (Lang::Ja, "warning") => "警告の対象になります".to_string(),
        (Lang::Ja, other) => format!("{} になります", outcome(lang, other)),
    };
    match lang {
        Lang::En if recipients == 1 => format!("1 recipient {done} by {rule}"),
        Lang::En => format!("{} recipients {done} by {rule}", thousands(recipients)),
        Lang::Ja => format!("{rule} により受信者 {} 件が{done}", thousands(recipients)),
    }
}

/// Formats the reason for "ready after changes" when rules were not judged.
pub fn not_judged_reason(lang: Lang, rules: usize) -> String {
    match lang {
        Lang::En if rules == 1 => "1 rule could not be judged with this policy".to_string(),
        Lang::En => format!("{rules} rules could not be judged with this policy"),
        Lang::Ja => format!("このポリシーでは {rules} 件のルールを判定できませんでした"),
    }
}

pub fn warnings_reason(lang: Lang, rules: usize) -> String {
    match lang {
        Lang::En if rules == 1 => "1 warning rule fired".to_string(),
        Lang::En => format!("{rules} warning rules fired"),
        Lang::Ja => format!("警告のルールが {rules} 件該当しました"),
    }
}

pub fn findings_reason(lang: Lang, findings: usize) -> String {
    match lang {
        Lang::En if findings == 1 => {
            "1 connection finding: the policy and the logs disagree, or a fact is missing".to_string()
        }
        Lang::En => {
            format!("{findings} connection findings: the policy and the logs disagree, or facts are missing")
        }
        Lang::Ja => format!(
            "接続に関する指摘が {findings} 件あります (ポリシーとログの不一致、または不足している情報)"
        ),
    }
}

/// Keys of `summary.clients` entries, in the order of the clients table.
pub const CLIENT_FIELDS: [&str; 10] = [
    "ip",
    "relay_ip",
    "host_names",
    "sessions",
    "messages",
    "recipients",
    "refused_messages",
    "rule",
    "messages_by_rule",
    "warnings",
];

/// Names a column of the clients table; `None` for a key this version
/// does not know, which the table then shows as it is.
pub fn client_field(lang: Lang, key: &str) -> Option<&'static str> {
    Some(match (lang, key) {
        (Lang::En, "ip") => "Address",
        (Lang::En, "relay_ip") => "Address the relay sees",
        (Lang::En, "host_names") => "Host names",
        (Lang::En, "sessions") => "Sessions",
        (Lang::En, "messages") => "Messages",
        (Lang::En, "recipients") => "Recipients",
        (Lang::En, "refused_messages") => "Refused messages",
        (Lang::En, "rule") => "Main rule",
        (Lang::En, "messages_by_rule") => "Refused messages by rule",
        (Lang::En, "warnings") => "Warnings",
        (Lang::Ja, "ip") => "アドレス",
        (Lang::Ja, "relay_ip") => "リレーから見たアドレス",
        (Lang::Ja, "host_names") => "ホスト名",
        (Lang::Ja, "sessions") => "セッション数",
        (Lang::Ja, "messages") => "メッセージ数",
        (Lang::Ja, "recipients") => "受信者数",
        (Lang::Ja, "refused_messages") => "拒否・一時拒否されたメッセージ数",
        (Lang::Ja, "rule") => "主なルール",
        (Lang::Ja, "messages_by_rule") => "ルール別の拒否メッセージ数",
        (Lang::Ja, "warnings") => "警告",
        _ => return None,
    })
}

/// Names where the year of classic syslog stamps came from, as
/// `manifest.json` records it in `sets[].year_source`.
pub fn year_source(lang: Lang, source: &str) -> String {
    let name = match (lang, source) {
        (Lang::En, "option") => "from --year",
        (Lang::En, "modification_time") => "from the newest file's modification time",
        (Lang::En, "none") => "no year source",
        (Lang::Ja, "option") => "--year で指定",
        (Lang::Ja, "modification_time") => "最新ファイルの更新日時から推定",
        (Lang::Ja, "none") => "年の情報なし",
        (_, other) => other,
    };
    name.to_string()
}

/// Formats an English count with its noun: `1 recipient`, `4 recipients`.
pub(crate) fn count_en(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{} {noun}s", thousands(count))
    }
}

/// Sentence on recipients outside the organisation's domains.
pub fn external_sentence(lang: Lang, recipients: u64, messages: u64, storage_on: Option<bool>) -> String {
    let mut text = match lang {
        Lang::En => format!(
            "The relay would take {} outside your domains, in {}. No mailbox of your organisation receives these.",
            count_en(recipients, "recipient"),
            count_en(messages, "message")
        ),
        Lang::Ja => format!(
            "リレーは組織外ドメインの受信者 {} 件 (メッセージ {} 通) を受け付けます。これらは組織内のメールボックスには届きません。",
            thousands(recipients),
            thousands(messages)
        ),
    };
    let tail = match (lang, storage_on) {
        (Lang::En, Some(false)) => {
            " With comprehensive mail storage off, Vault would not archive them at all."
        }
        (Lang::En, _) => " If comprehensive mail storage is turned off, Vault would not archive them at all.",
        (Lang::Ja, Some(false)) => {
            " 包括的なメール ストレージが無効なため、Vault にはまったくアーカイブされません。"
        }
        (Lang::Ja, _) => " 包括的なメール ストレージを無効にすると、Vault にはまったくアーカイブされません。",
    };
    text.push_str(tail);
    text
}

/// Sentence on recipients in the organisation's domains.
pub fn internal_sentence(lang: Lang, recipients: u64, messages: u64) -> String {
    match lang {
        Lang::En => format!(
            "The relay would take {} in your domains, in {}. Vault archives these through the recipients' mailboxes, but it keeps the sender's copy only with comprehensive mail storage on.",
            count_en(recipients, "recipient"),
            count_en(messages, "message")
        ),
        Lang::Ja => format!(
            "リレーは組織内ドメインの受信者 {} 件 (メッセージ {} 通) を受け付けます。受信者のメールボックス経由で Vault にアーカイブされますが、送信者側のコピーは包括的なメール ストレージが有効な場合にのみ保存されます。",
            thousands(recipients),
            thousands(messages)
        ),
    }
}

/// Sentence on null-sender mail.
pub fn null_sender_sentence(lang: Lang, messages: u64, recipients: u64, refused: u64) -> String {
    if messages == 0 {
        return match lang {
            Lang::En => "No replayed message has the null envelope sender <>.".to_string(),
            Lang::Ja => "再生したメッセージに空のエンベロープ送信者 <> のものはありません。".to_string(),
        };
    }
    match lang {
        Lang::En => format!(
            "{} with the null envelope sender <> (bounces and notifications) went to {}, and the relay would refuse {} of them. Null-sender mail has no sender mailbox, so with comprehensive mail storage off Vault keeps no sender copy of it.",
            count_en(messages, "message"),
            count_en(recipients, "recipient"),
            thousands(refused)
        ),
        Lang::Ja => format!(
            "空のエンベロープ送信者 <> のメッセージ (バウンスや通知) が {} 通、受信者 {} 件あり、そのうちリレーが受け付けない受信者は {} 件です。空の送信者のメールには送信者のメールボックスがないため、包括的なメール ストレージが無効な場合、送信者側のコピーは Vault に残りません。",
            thousands(messages),
            thousands(recipients),
            thousands(refused)
        ),
    }
}

/// Sentence for one rule whose reply code is assumed.
pub fn assumed_code_sentence(lang: Lang, rule: &str, reply: &str, recipients: u64) -> String {
    match lang {
        Lang::En => format!(
            "{rule} replies {reply} to {}. Google documents the condition but not this reply, so the closest documented Gmail code is used.",
            count_en(recipients, "recipient")
        ),
        Lang::Ja => format!(
            "{rule} は受信者 {} 件に {reply} を返します。Google は条件を公開していますが応答コードは公開していないため、最も近い Gmail の公開済みコードを使っています。",
            thousands(recipients)
        ),
    }
}

/// Sentence for a policy limit that is not Google's documented value.
pub fn policy_number_sentence(
    lang: Lang,
    key: &str,
    value: u64,
    documented: Option<u64>,
    account: &str,
) -> String {
    let mut text = String::new();
    match (lang, documented) {
        (Lang::En, Some(google)) if account != "paid" => {
            let _ = write!(
                text,
                "limits.{key} = {} is the policy's number for a {account} account; Google publishes {} for paid accounts only.",
                thousands(value),
                thousands(google)
            );
        }
        (Lang::En, Some(google)) => {
            let _ = write!(
                text,
                "limits.{key} = {} is set by the policy in place of Google's documented {}.",
                thousands(value),
                thousands(google)
            );
        }
        (Lang::En, None) => {
            let _ = write!(
                text,
                "limits.{key} = {} is set by the policy; Google documents no value.",
                thousands(value)
            );
        }
        (Lang::Ja, Some(google)) if account != "paid" => {
            let _ = write!(
                text,
                "limits.{key} = {} は {account} アカウント向けにポリシーで設定した値です。Google は有料アカウントの値 ({}) しか公開していません。",
                thousands(value),
                thousands(google)
            );
        }
        (Lang::Ja, Some(google)) => {
            let _ = write!(
                text,
                "limits.{key} = {} はポリシーで設定した値で、Google が公開している値は {} です。",
                thousands(value),
                thousands(google)
            );
        }
        (Lang::Ja, None) => {
            let _ = write!(
                text,
                "limits.{key} = {} はポリシーで設定した値で、Google は値を公開していません。",
                thousands(value)
            );
        }
    }
    text
}

/// Sentence for a trial or unpaid account whose per-user limits the policy
/// sets.
pub fn account_sentence(lang: Lang, account: &str) -> String {
    match lang {
        Lang::En => format!(
            "The organisation is a {account} account. Google does not publish the relay limits of such accounts, so every per-user limit in this report is the policy's assumption."
        ),
        Lang::Ja => format!(
            "組織は {account} アカウントです。Google はこの種類のアカウントのリレー上限を公開していないため、このレポートのユーザーごとの上限はすべてポリシー上の仮定です。"
        ),
    }
}

/// Note under a list cut to its first `shown` entries.
pub fn more_examples(lang: Lang, shown: usize, total: u64) -> String {
    match lang {
        Lang::En => format!(
            "{shown} of {} shown; verdicts.parquet has all of them.",
            thousands(total)
        ),
        Lang::Ja => format!(
            "{} 件中 {shown} 件を表示しています。すべて verdicts.parquet にあります。",
            thousands(total)
        ),
    }
}

/// Chart titles, axis descriptions and legends of one language. `{window}`,
/// `{sender}` and `{value}` are replaced when a chart is drawn.
pub struct ChartWords {
    pub org_short_title: &'static str,
    pub org_day_title: &'static str,
    pub senders_title: &'static str,
    pub rules_title: &'static str,
    pub transactions_title: &'static str,
    pub sizes_title: &'static str,
    pub connections_title: &'static str,
    pub org_short_about: &'static str,
    pub org_day_about: &'static str,
    pub senders_about: &'static str,
    pub rules_about: &'static str,
    pub transactions_about: &'static str,
    pub sizes_about: &'static str,
    pub connections_about_smarthost: &'static str,
    pub connections_about_direct: &'static str,
    pub y_window_recipients: &'static str,
    pub y_window_count: &'static str,
    pub x_recipients: &'static str,
    pub y_rules: &'static str,
    pub x_transaction: &'static str,
    pub y_transactions: &'static str,
    pub x_size: &'static str,
    pub y_messages: &'static str,
    pub y_connections: &'static str,
    pub legend_taken: &'static str,
    pub legend_sender_messages: &'static str,
    pub legend_sender_unique: &'static str,
    pub legend_connections: &'static str,
    pub accepted_no_rule: &'static str,
    pub limit: &'static str,
    pub time: &'static str,
    pub log_scale: &'static str,
}

pub static CHART_EN: ChartWords = ChartWords {
    org_short_title: "Recipients sent to the relay in any {window}",
    org_day_title: "Rolling {window} recipients of the whole organisation",
    senders_title: "Busiest senders: rolling {window} messages and unique recipients",
    rules_title: "Verdicts by rule",
    transactions_title: "Recipients per relay transaction",
    sizes_title: "Message sizes",
    connections_title: "New connections per minute toward the relay",
    org_short_about: "Each point is the number of recipients the relay took in the {window} ending at that moment, counted as the relay counts them for its limit.",
    org_day_about: "Recipients the relay took in the {window} ending at each moment, for the whole organisation.",
    senders_about: "The envelope senders with the highest day-window counts. The per-user limits apply to registered users only.",
    rules_about: "Recipients per rule and outcome; accepted recipients have no rule.",
    transactions_about: "How many recipients the MTA puts in each transaction toward the relay; recipients beyond the limit are throttled.",
    sizes_about: "Sizes of the replayed messages as the MTA logged them; the relay measures the message on the wire.",
    connections_about_smarthost: "Connections the on-premises MTA opened for replayed mail (delivery attempts that did not reuse a cached connection). Google documents no limit on new connections per minute.",
    connections_about_direct: "SMTP sessions the clients opened, each of which would connect to the relay itself. Google documents no limit on new connections per minute.",
    y_window_recipients: "recipients in the window",
    y_window_count: "count in the window",
    x_recipients: "recipients",
    y_rules: "rule (outcome)",
    x_transaction: "recipients in the transaction",
    y_transactions: "transactions",
    x_size: "message size (1 MB = 1,048,576 bytes)",
    y_messages: "messages",
    y_connections: "new connections per minute",
    legend_taken: "recipients taken by the relay",
    legend_sender_messages: "{sender}: messages",
    legend_sender_unique: "{sender}: unique recipients",
    legend_connections: "new connections",
    accepted_no_rule: "(accepted)",
    limit: "relay limit {value}",
    time: "time",
    log_scale: "log scale",
};

pub static CHART_JA: ChartWords = ChartWords {
    org_short_title: "リレーに送った受信者数 (任意の{window})",
    org_day_title: "組織全体の受信者数 (直近{window}の累計)",
    senders_title: "送信の多い送信者: 直近{window}のメッセージ数と一意な受信者数",
    rules_title: "ルール別の判定結果",
    transactions_title: "リレー トランザクションあたりの受信者数",
    sizes_title: "メッセージ サイズの分布",
    connections_title: "リレーへの新規接続数 (1 分あたり)",
    org_short_about: "各点は、その時点で終わる{window}にリレーが受け付けた受信者数です。リレーが上限の判定に使うのと同じ数え方です。",
    org_day_about: "各時点で終わる{window}に、組織全体でリレーが受け付けた受信者数です。",
    senders_about: "期間内の件数が多いエンベロープ送信者です。ユーザーごとの上限は登録済みユーザーにだけ適用されます。",
    rules_about: "ルールと結果ごとの受信者数です。受理された受信者にはルールがありません。",
    transactions_about: "MTA がリレーへの 1 トランザクションに入れる受信者数です。上限を超えた受信者は一時拒否されます。",
    sizes_about: "再生したメッセージの、MTA のログ上のサイズです。リレーは送信時のサイズで判定します。",
    connections_about_smarthost: "再生したメールのためにオンプレミスの MTA が開いた接続 (キャッシュした接続を再利用しなかった配送) です。Google は 1 分あたりの新規接続数の上限を公開していません。",
    connections_about_direct: "クライアントが開いた SMTP セッションで、それぞれがリレーに直接接続します。Google は 1 分あたりの新規接続数の上限を公開していません。",
    y_window_recipients: "期間内の受信者数",
    y_window_count: "期間内の件数",
    x_recipients: "受信者数",
    y_rules: "ルール (結果)",
    x_transaction: "トランザクション内の受信者数",
    y_transactions: "トランザクション数",
    x_size: "メッセージ サイズ (1 MB = 1,048,576 バイト)",
    y_messages: "メッセージ数",
    y_connections: "1 分あたりの新規接続数",
    legend_taken: "リレーが受け付けた受信者",
    legend_sender_messages: "{sender}: メッセージ数",
    legend_sender_unique: "{sender}: 一意な受信者数",
    legend_connections: "新規接続",
    accepted_no_rule: "(受理)",
    limit: "リレーの上限 {value}",
    time: "時刻",
    log_scale: "対数目盛",
};

impl Lang {
    pub fn chart_words(self) -> &'static ChartWords {
        match self {
            Lang::En => &CHART_EN,
            Lang::Ja => &CHART_JA,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_keeps_small_shares_visible() {
        assert_eq!(percent(4, 319_444), "0.0013 %");
        assert_eq!(percent(2, 100), "2.0 %");
        assert_eq!(percent(30_000_000, 26_214_400), "114 %");
        assert_eq!(percent(0, 100), "0 %");
    }

    #[test]
    fn window_names() {
        assert_eq!(window(Lang::En, 600), "10 minutes");
        assert_eq!(window(Lang::En, 86_400), "24 hours");
        assert_eq!(window(Lang::Ja, 600), "10分間");
        assert_eq!(window(Lang::Ja, 86_400), "24時間");
    }

    #[test]
    fn every_documented_rule_has_words() {
        let engine_rules = crate::replay::rules::ALL.iter().map(|rule| rule.id);
        for rule_id in engine_rules.chain(["tls.required", "dos.generic_helo"]) {
            assert!(rule(Lang::En, rule_id).is_some(), "{rule_id} en");
            assert!(rule(Lang::Ja, rule_id).is_some(), "{rule_id} ja");
        }
        assert!(rule(Lang::En, "new.rule").is_none());
    }
}
