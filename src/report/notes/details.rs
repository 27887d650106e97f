//! Words for the details of verdict rows and connection verdicts: why a
//! sender, limit or connection rule decided, how an accepted connection
//! matched its relay setting, and the warnings of a connection.

use super::{pick, quoted_list, sender, window, Entry, Params};
use crate::report::text::{thousands, Lang};

pub(super) const ENTRIES: &[Entry] = &[
    ("not_registered_user", not_registered_user),
    ("no_gmail_licence", no_gmail_licence),
    ("sender_domain_not_owned", sender_domain_not_owned),
    ("rewrite_postmaster", rewrite_postmaster),
    ("unidentified_sender", unidentified_sender),
    ("null_sender_multiple_recipients", null_sender_multiple_recipients),
    ("message_too_large", message_too_large),
    (
        "transaction_recipient_over_limit",
        transaction_recipient_over_limit,
    ),
    ("user_messages_over_limit", user_messages_over_limit),
    ("user_recipients_over_limit", user_recipients_over_limit),
    ("org_recipients_over_limit", org_recipients_over_limit),
    ("auth_without_tls", auth_without_tls),
    ("tls_required_plain_text", tls_required_plain_text),
    ("generic_helo", generic_helo),
    ("smtp_auth_required_in_range", smtp_auth_required_in_range),
    ("address_not_in_ranges", address_not_in_ranges),
    ("smtp_auth_required", smtp_auth_required),
    ("no_relay_settings_listed", no_relay_settings_listed),
    ("setting_matched_by_range", setting_matched_by_range),
    ("setting_matched_by_auth", setting_matched_by_auth),
    ("setting_open", setting_open),
    ("setting_address_unknown", setting_address_unknown),
    ("connection_reuse_low", connection_reuse_low),
];

fn not_registered_user(lang: Lang, p: &Params<'_>) -> Option<String> {
    let sender = sender(lang, p)?;
    Some(pick(
        lang,
        format!("{sender} is not a registered user"),
        format!("{sender} は登録済みユーザーではありません。"),
    ))
}

fn no_gmail_licence(lang: Lang, p: &Params<'_>) -> Option<String> {
    let sender = p.text("sender")?;
    Some(pick(
        lang,
        format!("{sender} is a registered user without a Gmail licence"),
        format!("{sender} は登録済みユーザーですが、Gmail のライセンスがありません。"),
    ))
}

fn sender_domain_not_owned(lang: Lang, p: &Params<'_>) -> Option<String> {
    let sender = p.text("sender")?;
    Some(match (p.text("sender_kind")?, lang) {
        ("null", Lang::En) => "null envelope sender has no domain, so it is in no owned domain".to_string(),
        ("null", Lang::Ja) => {
            "空のエンベロープ送信者 <> にはドメインがないため、どの所有ドメインにも属しません。".to_string()
        }
        ("bare", Lang::En) => {
            format!("bare local part {sender} has no domain, so it is in no owned domain")
        }
        ("bare", Lang::Ja) => {
            format!("ドメイン部のない送信者 {sender} は、どの所有ドメインにも属しません。")
        }
        ("address", Lang::En) => format!("sender domain {} is not an owned domain", p.text("domain")?),
        ("address", Lang::Ja) => {
            format!(
                "送信者 {sender} のドメイン {} は所有ドメインではありません。",
                p.text("domain")?
            )
        }
        _ => return None,
    })
}

fn rewrite_postmaster(lang: Lang, p: &Params<'_>) -> Option<String> {
    let sender = sender(lang, p)?;
    let to = p.text("to")?;
    let domain = p.text("domain")?;
    let identity = p.text("identity")?;
    Some(match (p.text("identified_by")?, lang) {
        ("smtp_auth", Lang::En) => format!(
            "{sender} is outside the owned domains, so the relay rewrites it to {to} because SMTP \
             AUTH as {identity} identifies {domain}"
        ),
        ("helo", Lang::En) => format!(
            "{sender} is outside the owned domains, so the relay rewrites it to {to} because HELO \
             {identity} identifies {domain}"
        ),
        ("smtp_auth", Lang::Ja) => format!(
            "{sender} は所有ドメイン外のアドレスです。{identity} による SMTP 認証で {domain} が識別されるため、リレーはエンベロープ送信者を {to} に書き換えます。"
        ),
        ("helo", Lang::Ja) => format!(
            "{sender} は所有ドメイン外のアドレスです。HELO 名 {identity} で {domain} が識別されるため、リレーはエンベロープ送信者を {to} に書き換えます。"
        ),
        _ => return None,
    })
}

fn unidentified_sender(lang: Lang, p: &Params<'_>) -> Option<String> {
    let sender = sender(lang, p)?;
    let none = pick(lang, "none", "なし");
    let auth_user = Some(p.text("auth_user")?)
        .filter(|user| !user.is_empty())
        .unwrap_or(none);
    let helo = Some(p.text("helo")?)
        .filter(|helo| !helo.is_empty())
        .unwrap_or(none);
    Some(pick(
        lang,
        format!(
            "{sender} is outside the owned domains, and neither SMTP AUTH ({auth_user}) nor HELO \
             ({helo}) identifies the organisation"
        ),
        format!(
            "{sender} は所有ドメイン外のアドレスで、SMTP 認証 ({auth_user}) でも HELO ({helo}) でも組織を識別できません。"
        ),
    ))
}

fn null_sender_multiple_recipients(lang: Lang, p: &Params<'_>) -> Option<String> {
    let recipients = p.count("recipients")?;
    Some(pick(
        lang,
        format!("null envelope sender with {recipients} recipients in one transaction"),
        format!("空のエンベロープ送信者 <> で、1 トランザクションに受信者が {recipients} 件あります。"),
    ))
}

fn message_too_large(lang: Lang, p: &Params<'_>) -> Option<String> {
    let size = p.count("size_bytes")?;
    let limit = p.count("limit_bytes")?;
    Some(pick(
        lang,
        format!("message of {size} bytes is larger than the limit of {limit} bytes"),
        format!("メッセージ サイズ {size} バイトが上限の {limit} バイトを超えています。"),
    ))
}

fn transaction_recipient_over_limit(lang: Lang, p: &Params<'_>) -> Option<String> {
    let position = p.count("position")?;
    let limit = p.count("limit")?;
    Some(pick(
        lang,
        format!("recipient {position} of this transaction; limit {limit} per transaction"),
        format!(
            "このトランザクションの {position} 件目の受信者です。上限は 1 トランザクションあたり {limit} 件です。"
        ),
    ))
}

fn user_messages_over_limit(lang: Lang, p: &Params<'_>) -> Option<String> {
    let sender = p.text("sender")?;
    let value = p.count("value")?;
    let limit = p.count("limit")?;
    let window = window(lang, p.number("window_seconds")?);
    Some(pick(
        lang,
        format!("{sender} would reach {value} messages in {window}; limit {limit}"),
        format!("{sender} のメッセージ数が {window}で {value} 通に達します (上限 {limit} 通)。"),
    ))
}

fn user_recipients_over_limit(lang: Lang, p: &Params<'_>) -> Option<String> {
    let sender = p.text("sender")?;
    let value = p.count("value")?;
    let limit = p.count("limit")?;
    let window = window(lang, p.number("window_seconds")?);
    Some(pick(
        lang,
        format!("{sender} would reach {value} unique recipients in {window}; limit {limit}"),
        format!("{sender} の一意な受信者数が {window}で {value} 件に達します (上限 {limit} 件)。"),
    ))
}

fn org_recipients_over_limit(lang: Lang, p: &Params<'_>) -> Option<String> {
    let value = p.count("value")?;
    let limit = p.count("limit")?;
    let window = window(lang, p.number("window_seconds")?);
    Some(pick(
        lang,
        format!("the organisation would reach {value} recipients in {window}; limit {limit}"),
        format!("組織全体の受信者数が {window}で {value} 件に達します (上限 {limit} 件)。"),
    ))
}

fn auth_without_tls(lang: Lang, _: &Params<'_>) -> Option<String> {
    Some(
        pick(
            lang,
            "the client tried SMTP AUTH on a plain-text connection, and the relay offers AUTH only \
             after STARTTLS",
            "クライアントが平文の接続で SMTP 認証を試みました。リレーは STARTTLS の後でしか AUTH を提示しません。",
        )
        .to_string(),
    )
}

fn tls_required_plain_text(lang: Lang, p: &Params<'_>) -> Option<String> {
    let setting = p.text("setting")?;
    Some(pick(
        lang,
        format!("relay setting \"{setting}\" requires TLS, and the connection is plain text"),
        format!("リレー設定「{setting}」は TLS を必須としていますが、接続は平文です。"),
    ))
}

fn generic_helo(lang: Lang, p: &Params<'_>) -> Option<String> {
    let helo = p.text("helo")?;
    let form = match (p.text("form")?, lang) {
        ("empty", Lang::En) => "an empty name",
        ("localhost", Lang::En) => "a localhost name",
        ("ip_literal", Lang::En) => "an IP literal",
        ("relay_name", Lang::En) => "the relay's own name",
        ("listed", Lang::En) => "listed in dos.generic_helo_names",
        ("no_dot", Lang::En) => "a name without a dot",
        ("empty", Lang::Ja) => "空の名前",
        ("localhost", Lang::Ja) => "localhost を表す名前",
        ("ip_literal", Lang::Ja) => "IP アドレス リテラル",
        ("relay_name", Lang::Ja) => "リレー自身のホスト名",
        ("listed", Lang::Ja) => "dos.generic_helo_names に挙げた名前",
        ("no_dot", Lang::Ja) => "ドットを含まない名前",
        _ => return None,
    };
    // Japanese text puts a space between kana and a Latin word.
    let gap = if form.starts_with(|c: char| c.is_ascii()) {
        " "
    } else {
        ""
    };
    Some(pick(
        lang,
        format!("HELO name \"{helo}\" is {form}"),
        format!("HELO 名「{helo}」は{gap}{form}です。"),
    ))
}

/// Says whether the connection tried SMTP AUTH, for the AUTH refusals.
fn auth_result(lang: Lang, p: &Params<'_>) -> Option<&'static str> {
    Some(match (p.flag("auth_attempted")?, lang) {
        (true, Lang::En) => "tried SMTP AUTH without success",
        (false, Lang::En) => "did not authenticate",
        (true, Lang::Ja) => "SMTP 認証を試みましたが成功していません",
        (false, Lang::Ja) => "認証していません",
    })
}

fn smtp_auth_required_in_range(lang: Lang, p: &Params<'_>) -> Option<String> {
    let setting = p.text("setting")?;
    let address = p
        .text_or_null("address")?
        .unwrap_or(pick(lang, "unknown", "不明なアドレス"));
    let range = p.text("range")?;
    let result = auth_result(lang, p)?;
    Some(pick(
        lang,
        format!(
            "relay setting \"{setting}\" allows {address} (range {range}) but requires SMTP AUTH, \
             and the connection {result}"
        ),
        format!(
            "リレー設定「{setting}」は {address} を許可していますが (範囲 {range})、SMTP 認証を必須としています。この接続は{result}。"
        ),
    ))
}

fn address_not_in_ranges(lang: Lang, p: &Params<'_>) -> Option<String> {
    let address = p
        .text_or_null("address")?
        .unwrap_or(pick(lang, "unknown", "不明なアドレス"));
    let settings = p.list("settings")?;
    let names = quoted_list(lang, &settings);
    Some(match lang {
        Lang::En => format!(
            "{address} is in no allowed IP range of relay setting{} {names}",
            if settings.len() == 1 { "" } else { "s" }
        ),
        Lang::Ja => {
            format!("{address} は、リレー設定{names}のどの許可する IP アドレス範囲にも含まれません。")
        }
    })
}

fn smtp_auth_required(lang: Lang, p: &Params<'_>) -> Option<String> {
    let settings = p.list("settings")?;
    let names = quoted_list(lang, &settings);
    let result = auth_result(lang, p)?;
    Some(match lang {
        Lang::En if settings.len() == 1 => {
            format!("relay setting {names} requires SMTP AUTH, and the connection {result}")
        }
        Lang::En => format!("relay settings {names} require SMTP AUTH, and the connection {result}"),
        Lang::Ja => format!("リレー設定{names}は SMTP 認証を必須としていますが、この接続は{result}。"),
    })
}

fn no_relay_settings_listed(lang: Lang, _: &Params<'_>) -> Option<String> {
    Some(
        pick(
            lang,
            "the policy lists no relay settings",
            "ポリシーにリレー設定がありません。",
        )
        .to_string(),
    )
}

fn setting_matched_by_range(lang: Lang, p: &Params<'_>) -> Option<String> {
    let setting = p.text("setting")?;
    let range = p.text("range")?;
    Some(pick(
        lang,
        format!("relay setting \"{setting}\" allows the address (range {range})"),
        format!("リレー設定「{setting}」がこのアドレスを許可しています (範囲 {range})。"),
    ))
}

fn setting_matched_by_auth(lang: Lang, p: &Params<'_>) -> Option<String> {
    let setting = p.text("setting")?;
    let user = p.text("auth_user")?;
    Some(pick(
        lang,
        format!("relay setting \"{setting}\" accepts SMTP AUTH as {user}"),
        format!("リレー設定「{setting}」が {user} による SMTP 認証を受け付けます。"),
    ))
}

fn setting_open(lang: Lang, p: &Params<'_>) -> Option<String> {
    let setting = p.text("setting")?;
    Some(pick(
        lang,
        format!("relay setting \"{setting}\" lists no IP ranges and does not require SMTP AUTH"),
        format!("リレー設定「{setting}」には許可する IP アドレス範囲がなく、SMTP 認証も必須ではありません。"),
    ))
}

fn setting_address_unknown(lang: Lang, p: &Params<'_>) -> Option<String> {
    let setting = p.text("setting")?;
    Some(pick(
        lang,
        format!("relay setting \"{setting}\" is taken to allow the address, which is unknown"),
        format!("アドレスが不明なため、リレー設定「{setting}」が許可するものとみなしています。"),
    ))
}

fn connection_reuse_low(lang: Lang, p: &Params<'_>) -> Option<String> {
    let stream = p.text("stream")?;
    let minute = chrono::NaiveDateTime::parse_from_str(p.text("minute")?, "%Y-%m-%dT%H:%M:%SZ")
        .ok()?
        .format("%Y-%m-%d %H:%M");
    let connections = p.number("connections")?;
    let messages = p.number("messages")?;
    if connections == 0 {
        return None;
    }
    let per_connection = messages as f64 / connections as f64;
    let max = p.count("max_connections")?;
    let min = p.float("min_messages")?;
    let connections = thousands(connections);
    Some(match lang {
        Lang::En => {
            let sender = if stream == "smarthost" {
                "the smart host"
            } else {
                stream
            };
            format!(
                "{sender} opened {connections} new connections in the minute from {minute} UTC, with \
                 {per_connection:.2} messages per connection; the thresholds are more than {max} \
                 connections at fewer than {min} messages per connection"
            )
        }
        Lang::Ja => {
            let subject = if stream == "smarthost" {
                "スマートホストは".to_string()
            } else {
                format!("{stream} は")
            };
            format!(
                "{subject} {minute} (UTC) からの 1 分間に新しい接続を {connections} 回開いてメッセージ {} 通を送り、1 接続あたりのメッセージ数は {per_connection:.2} でした。しきい値は、新しい接続が {max} 回を超え、かつ 1 接続あたりのメッセージ数が {min} 未満の場合です。",
                thousands(messages)
            )
        }
    })
}
