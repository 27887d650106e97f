//! Words for what the replay assumed and for the rules it could not judge:
//! `summary.json`'s `assumptions`, `not_judged` and `connection.not_judged`.

use super::{pick, quoted_list, rules, scope, Entry, Params};
use crate::report::text::{count_en, thousands, Lang};

pub(super) const ENTRIES: &[Entry] = &[
    ("registered_users_unknown", registered_users_unknown),
    ("gmail_licences_unknown", gmail_licences_unknown),
    ("owned_domains_unknown", owned_domains_unknown),
    ("outside_owned_domains_unknown", outside_owned_domains_unknown),
    (
        "connection_rules_without_settings",
        connection_rules_without_settings,
    ),
    ("open_setting_accepts_all", open_setting_accepts_all),
    ("egress_ip_missing", egress_ip_missing),
    ("client_address_unknown", client_address_unknown),
    ("tls_unknown", tls_unknown),
    ("smarthost_helo_missing", smarthost_helo_missing),
    ("helo_unknown", helo_unknown),
    ("sender_identity_unknown", sender_identity_unknown),
    ("reuse_unmeasured", reuse_unmeasured),
    ("no_relay_settings_for_senders", no_relay_settings_for_senders),
    ("smarthost_setting_by_range", smarthost_setting_by_range),
    ("smarthost_setting_by_auth", smarthost_setting_by_auth),
    ("smarthost_setting_open", smarthost_setting_open),
    (
        "smarthost_setting_address_unknown",
        smarthost_setting_address_unknown,
    ),
    ("per_user_limits_without_users", per_user_limits_without_users),
    ("transaction_split_uncapped", transaction_split_uncapped),
    ("transaction_split_default", transaction_split_default),
    ("assumed_reply_code", assumed_reply_code),
    ("throttled_not_retried", throttled_not_retried),
    ("reuse_thresholds", reuse_thresholds),
    ("setting_order_dependent", setting_order_dependent),
    ("policy_per_user_limit", policy_per_user_limit),
    ("policy_limit_differs", policy_limit_differs),
    ("policy_transaction_split", policy_transaction_split),
];

/// Writes `rules: reason` for a rule that could not be judged.
fn not_judged(lang: Lang, p: &Params<'_>, en: &str, ja: &str) -> Option<String> {
    Some(format!("{}: {}", rules(lang, p)?, pick(lang, en, ja)))
}

fn registered_users_unknown(lang: Lang, p: &Params<'_>) -> Option<String> {
    not_judged(
        lang,
        p,
        "the policy names no users file, so registered users are unknown",
        "ポリシーにユーザー ファイルの指定がないため、登録済みユーザーがわかりません。",
    )
}

fn gmail_licences_unknown(lang: Lang, p: &Params<'_>) -> Option<String> {
    not_judged(
        lang,
        p,
        "the policy names no users file, so Gmail licences are unknown",
        "ポリシーにユーザー ファイルの指定がないため、Gmail のライセンスの有無がわかりません。",
    )
}

fn owned_domains_unknown(lang: Lang, p: &Params<'_>) -> Option<String> {
    not_judged(
        lang,
        p,
        "the policy lists no owned domains",
        "ポリシーに所有ドメインがありません。",
    )
}

fn outside_owned_domains_unknown(lang: Lang, p: &Params<'_>) -> Option<String> {
    not_judged(
        lang,
        p,
        "the policy lists no owned domains, so no sender is known to be outside them",
        "ポリシーに所有ドメインがないため、所有ドメイン外の送信者を判別できません。",
    )
}

fn connection_rules_without_settings(lang: Lang, p: &Params<'_>) -> Option<String> {
    not_judged(
        lang,
        p,
        "the policy lists no relay settings",
        "ポリシーにリレー設定がありません。",
    )
}

fn open_setting_accepts_all(lang: Lang, p: &Params<'_>) -> Option<String> {
    let scope = scope(lang, p)?;
    Some(format!(
        "{}: {}",
        rules(lang, p)?,
        pick(
            lang,
            format!(
                "the matched relay setting lists no IP ranges and does not require SMTP AUTH, so it \
                 accepts every connection ({scope})"
            ),
            format!(
                "一致したリレー設定には許可する IP アドレス範囲がなく、SMTP 認証も必須ではないため、すべての接続を受け付けます ({scope})。"
            ),
        )
    ))
}

fn egress_ip_missing(lang: Lang, p: &Params<'_>) -> Option<String> {
    not_judged(
        lang,
        p,
        "the policy gives no smarthost.egress_ip",
        "ポリシーに smarthost.egress_ip がありません。",
    )
}

fn client_address_unknown(lang: Lang, p: &Params<'_>) -> Option<String> {
    let scope = scope(lang, p)?;
    Some(format!(
        "{}: {}",
        rules(lang, p)?,
        pick(
            lang,
            format!("the client address is unknown for {scope}"),
            format!("{scope}で、クライアントのアドレスが不明です。"),
        )
    ))
}

fn tls_unknown(lang: Lang, p: &Params<'_>) -> Option<String> {
    let scope = scope(lang, p)?;
    Some(format!(
        "{}: {}",
        rules(lang, p)?,
        pick(
            lang,
            format!("the logs do not show whether TLS was used for {scope}"),
            format!("{scope}で TLS を使ったかどうかが、ログからはわかりません。"),
        )
    ))
}

fn smarthost_helo_missing(lang: Lang, p: &Params<'_>) -> Option<String> {
    not_judged(
        lang,
        p,
        "the policy gives no smarthost.helo",
        "ポリシーに smarthost.helo がありません。",
    )
}

fn sender_identity_unknown(lang: Lang, p: &Params<'_>) -> Option<String> {
    let messages = p.number("messages")?;
    Some(format!(
        "{}: {}",
        rules(lang, p)?,
        pick(
            lang,
            format!(
                "{} from senders outside the owned domains came without SMTP AUTH and with an \
                 unknown HELO name, so whether the relay rewrites or refuses them is not known; \
                 the sender rules accept them and the per-user limits do not count them",
                count_en(messages, "message")
            ),
            format!(
                "所有ドメイン外の送信者からのメッセージ {} 通は、SMTP 認証がなく HELO 名も不明なため、リレーが送信者を書き換えるか拒否するかがわかりません。送信者のルールでは受理とし、ユーザーごとの上限には数えていません。",
                thousands(messages)
            ),
        )
    ))
}

fn helo_unknown(lang: Lang, p: &Params<'_>) -> Option<String> {
    let scope = scope(lang, p)?;
    Some(format!(
        "{}: {}",
        rules(lang, p)?,
        pick(
            lang,
            format!("the HELO name is unknown for {scope}, because Postfix logs it only in reject lines"),
            format!("{scope}で HELO 名が不明です。Postfix は HELO 名を拒否のログ行にしか記録しません。"),
        )
    ))
}

fn reuse_unmeasured(lang: Lang, p: &Params<'_>) -> Option<String> {
    let connections = p.number("connections")?;
    Some(format!(
        "{}: {}",
        rules(lang, p)?,
        pick(
            lang,
            format!(
                "{} with messages have no known address or connect time",
                count_en(connections, "connection")
            ),
            format!(
                "メッセージを運んだ接続 {} 件で、アドレスか接続時刻が不明です。",
                thousands(connections)
            ),
        )
    ))
}

fn no_relay_settings_for_senders(lang: Lang, _: &Params<'_>) -> Option<String> {
    Some(
        pick(
            lang,
            "The policy lists no relay settings, so senders are judged as if a setting allowed any \
             address.",
            "ポリシーにリレー設定がないため、任意のアドレスを許可する設定があるものとして送信者を判定しています。",
        )
        .to_string(),
    )
}

fn smarthost_setting_by_range(lang: Lang, p: &Params<'_>) -> Option<String> {
    let setting = p.text("setting")?;
    let egress = p.text("egress_ip")?;
    Some(pick(
        lang,
        format!(
            "Relay setting \"{setting}\" judges the senders because its allowed IP ranges contain \
             the smarthost egress address {egress}."
        ),
        format!(
            "スマートホストの送信元アドレス {egress} が許可する IP アドレス範囲に含まれるため、リレー設定「{setting}」で送信者を判定しています。"
        ),
    ))
}

fn smarthost_setting_by_auth(lang: Lang, p: &Params<'_>) -> Option<String> {
    let setting = p.text("setting")?;
    let user = p.text("auth_user")?;
    Some(pick(
        lang,
        format!(
            "Relay setting \"{setting}\" judges the senders because it requires SMTP AUTH and the \
             smarthost authenticates as {user}."
        ),
        format!(
            "リレー設定「{setting}」は SMTP 認証を必須としており、スマートホストは {user} として認証するため、この設定で送信者を判定しています。"
        ),
    ))
}

fn smarthost_setting_open(lang: Lang, p: &Params<'_>) -> Option<String> {
    let setting = p.text("setting")?;
    Some(pick(
        lang,
        format!(
            "Relay setting \"{setting}\" judges the senders because it lists no IP ranges and does \
             not require SMTP AUTH."
        ),
        format!(
            "リレー設定「{setting}」には許可する IP アドレス範囲がなく、SMTP 認証も必須ではないため、この設定で送信者を判定しています。"
        ),
    ))
}

fn smarthost_setting_address_unknown(lang: Lang, p: &Params<'_>) -> Option<String> {
    let setting = p.text("setting")?;
    Some(pick(
        lang,
        format!(
            "Relay setting \"{setting}\" judges the senders because the policy gives no smarthost \
             egress address, so its IP ranges are taken to allow the smart host."
        ),
        format!(
            "ポリシーにスマートホストの送信元アドレスがないため、リレー設定「{setting}」の許可する IP アドレス範囲がスマートホストを許可するものとみなし、この設定で送信者を判定しています。"
        ),
    ))
}

fn per_user_limits_without_users(lang: Lang, _: &Params<'_>) -> Option<String> {
    Some(
        pick(
            lang,
            "The policy names no users file, so the per-user limits apply to every non-null \
             envelope sender that is not rewritten.",
            "ポリシーにユーザー ファイルの指定がないため、ユーザーごとの上限を、空でなく書き換えの対象でもないすべてのエンベロープ送信者に適用しています。",
        )
        .to_string(),
    )
}

/// Names the log format of a transaction split; the replay writes an
/// empty format as `(unnamed)`.
fn source_format<'a>(lang: Lang, p: &Params<'a>) -> Option<&'a str> {
    let format = p.text("source_format")?;
    Some(if format.is_empty() {
        pick(lang, "(unnamed)", "(名前なし)")
    } else {
        format
    })
}

fn transaction_split_uncapped(lang: Lang, p: &Params<'_>) -> Option<String> {
    let name = source_format(lang, p)?;
    Some(pick(
        lang,
        format!(
            "Messages from {name} logs go to the relay in one transaction each, because the policy \
             sets no recipients_per_transaction for {name} and the MTA has no known cap."
        ),
        format!(
            "{name} のログのメッセージは、1 通ずつ 1 トランザクションでリレーに送るものとしています。ポリシーで {name} の recipients_per_transaction を設定しておらず、この MTA には既知の上限もないためです。"
        ),
    ))
}

fn transaction_split_default(lang: Lang, p: &Params<'_>) -> Option<String> {
    let name = source_format(lang, p)?;
    let recipients = p.count("recipients")?;
    Some(pick(
        lang,
        format!(
            "Messages from {name} logs are split into transactions of {recipients} recipients, the \
             MTA's default, because the policy sets no recipients_per_transaction for {name}."
        ),
        format!(
            "{name} のログのメッセージは、MTA の既定値どおり受信者 {recipients} 件ずつのトランザクションに分けています。ポリシーで {name} の recipients_per_transaction を設定していないためです。"
        ),
    ))
}

fn assumed_reply_code(lang: Lang, p: &Params<'_>) -> Option<String> {
    let rule = p.text("rule")?;
    let recipients = p.number("recipients")?;
    let reply = format!("{} {}", p.number("reply_code")?, p.text("enhanced_code")?);
    Some(pick(
        lang,
        format!(
            "{rule} decided {} with reply {reply}, which is assumed because Google documents no \
             reply for that case.",
            count_en(recipients, "recipient")
        ),
        format!(
            "{rule} は受信者 {} 件を応答コード {reply} で判定しました。Google はこの場合の応答コードを公開していないため、この応答コードは推定です。",
            thousands(recipients)
        ),
    ))
}

fn throttled_not_retried(lang: Lang, p: &Params<'_>) -> Option<String> {
    let recipients = p.number("recipients")?;
    Some(pick(
        lang,
        format!(
            "The replay does not retry throttled recipients ({}), and the limit windows do not \
             count them. A real MTA retries them later, and those retries could meet other limits.",
            count_en(recipients, "recipient")
        ),
        format!(
            "再生処理は一時拒否された受信者 ({} 件) を再送せず、上限の集計期間にも数えていません。実際の MTA は後で再送するため、その再送が別の上限に達するおそれがあります。",
            thousands(recipients)
        ),
    ))
}

fn reuse_thresholds(lang: Lang, p: &Params<'_>) -> Option<String> {
    let max = p.count("max_connections_per_minute")?;
    let min = p.float("min_messages_per_connection")?;
    let set_by_policy = p.flag("set_by_policy")?;
    Some(match lang {
        Lang::En => format!(
            "dos.no_connection_reuse warns when one address opens more than {max} new connections \
             in a UTC minute at fewer than {min} messages per connection. Google publishes no such \
             thresholds; these are {}.",
            if set_by_policy {
                "set in the policy file"
            } else {
                "relayaudit's defaults"
            }
        ),
        Lang::Ja => format!(
            "dos.no_connection_reuse は、1 つのアドレスが UTC の 1 分間に {max} 回を超えて新しい接続を開き、1 接続あたりのメッセージ数が {min} 未満のときに警告します。Google はこのようなしきい値を公開しておらず、{}",
            if set_by_policy {
                "この値はポリシー ファイルで設定したものです。"
            } else {
                "この値は relayaudit の既定値です。"
            }
        ),
    })
}

fn setting_order_dependent(lang: Lang, p: &Params<'_>) -> Option<String> {
    let settings = p.list("settings")?;
    let names = quoted_list(lang, &settings);
    let messages = p.number("messages")?;
    let recipients = p.number("recipients")?;
    let connections = p.optional_number("connections")?;
    Some(match lang {
        Lang::En => {
            let subject = match connections {
                None => "The smarthost connection matches".to_string(),
                Some(connections) => format!("{} match", count_en(connections, "connection")),
            };
            format!(
                "{subject} more than one of the relay settings {names}, which differ in allowed \
                 senders or TLS. Google does not document the order in which it tries settings; \
                 relayaudit takes the first in the policy file, so the verdicts of {} ({}) depend \
                 on that order.",
                count_en(messages, "message"),
                count_en(recipients, "recipient")
            )
        }
        Lang::Ja => {
            let subject = match connections {
                None => "スマートホストの接続".to_string(),
                Some(connections) => format!("接続 {} 件", thousands(connections)),
            };
            format!(
                "{subject}が、許可する送信者または TLS の要否が異なる複数のリレー設定 ({names}) に一致します。Google は設定を試す順序を公開していないため、relayaudit はポリシー ファイルで先に書かれた設定を使います。メッセージ {} 通 (受信者 {} 件) の判定はこの順序に左右されます。",
                thousands(messages),
                thousands(recipients)
            )
        }
    })
}

fn policy_per_user_limit(lang: Lang, p: &Params<'_>) -> Option<String> {
    let key = p.text("key")?;
    let value = p.count("value")?;
    let account = p.text("account")?;
    Some(match lang {
        Lang::En => format!(
            "limits.{key} = {value} is set by the policy file, because Google does not publish the \
             per-user relay limits of {account} accounts."
        ),
        Lang::Ja => {
            let account = match account {
                "trial" => "試用版のアカウント".to_string(),
                "unpaid" => "未払い残高のあるアカウント".to_string(),
                other => format!("{other} アカウント"),
            };
            format!(
                "limits.{key} = {value} はポリシー ファイルで設定した値です。Google は{account}のユーザーごとのリレー上限を公開していません。"
            )
        }
    })
}

fn policy_limit_differs(lang: Lang, p: &Params<'_>) -> Option<String> {
    let key = p.text("key")?;
    let value = p.count("value")?;
    let documented = p.count("documented")?;
    Some(pick(
        lang,
        format!(
            "limits.{key} = {value} is set by the policy file in place of Google's documented \
             {documented}."
        ),
        format!(
            "limits.{key} = {value} はポリシー ファイルで設定した値で、Google が公開している値 {documented} の代わりに使っています。"
        ),
    ))
}

fn policy_transaction_split(lang: Lang, p: &Params<'_>) -> Option<String> {
    let format = p.text("source_format")?;
    let recipients = |value: u64| {
        if value == 0 {
            pick(lang, "0 (no cap)", "0 (上限なし)").to_string()
        } else {
            thousands(value)
        }
    };
    let value = recipients(p.number("value")?);
    let default = recipients(p.number("default")?);
    Some(pick(
        lang,
        format!(
            "sources.{format}.recipients_per_transaction = {value} is set by the policy file in \
             place of the {format} default of {default}."
        ),
        format!(
            "sources.{format}.recipients_per_transaction = {value} はポリシー ファイルで設定した値で、{format} の既定値 {default} の代わりに使っています。"
        ),
    ))
}
