//! Joins Postfix events into messages, deliveries and sessions.
//!
//! State is keyed by host and queue id (messages) or host, service and pid
//! (smtpd sessions), so one correlator can read a central log of several
//! hosts. A message's state is dropped [`REMOVED_GRACE_US`] after qmgr or
//! postsuper logs `removed` (lines of the message written out of order still
//! join it), or when it has been idle for [`MESSAGE_IDLE_US`]; a session's at
//! `disconnect from` or after [`SESSION_IDLE_US`]. Memory therefore follows
//! the messages and sessions in flight, not the size of the log.
//!
//! Rows are emitted when their state is dropped, in that order, which depends
//! only on the log lines.

use rustc_hash::FxHashMap as HashMap;

use super::{Delivery, Event, QueueEvent, SessionEvent, SmtpReject};
use crate::fields::{is_loopback, parse_delivery_reply, Peer};
use crate::records::{DeliveryRecord, Instant, MessageRecord, Provenance, SessionRecord, COUNTER_NAMES};
use crate::shared::{Interner, SharedStr};
use crate::Tables;

/// How long a queued message may go without a line before its state is
/// dropped: seven days, which is Postfix's default `maximal_queue_lifetime`
/// (5 days) plus two days for a bounce to be retried and removed.
pub const MESSAGE_IDLE_US: i64 = 7 * 24 * 3600 * 1_000_000;

/// How long an smtpd session may go without a line before it is closed: one
/// hour, well beyond smtpd's default timeouts (300 s per command).
pub const SESSION_IDLE_US: i64 = 3600 * 1_000_000;

/// How long a removed message's state is kept for lines that syslog wrote
/// out of order: one minute of log time. A `client=` or `pickup` line for
/// the same queue id starts a new message even within that minute, because
/// Postfix may reuse a short queue id.
pub const REMOVED_GRACE_US: i64 = 60 * 1_000_000;

/// How often idle state is looked for, in log time.
const SWEEP_EVERY_US: i64 = 60 * 1_000_000;

/// Position of the current line: its file, line number, time and tag.
#[derive(Debug, Clone, Copy)]
pub struct LineRef<'a> {
    pub source_file: &'a SharedStr,
    pub line: u64,
    pub at: Instant,
    pub host: &'a str,
    /// The program tag (`postfix/submission/smtpd`).
    pub program: &'a str,
    pub pid: Option<u32>,
}

struct MessageState {
    sequence: u64,
    last_seen_us: i64,
    /// Log time of the `removed` line, once it was seen.
    removed_us: Option<i64>,
    record: MessageRecord,
    deliveries: Vec<DeliveryRecord>,
}

struct SessionState {
    sequence: u64,
    last_seen_us: i64,
    record: SessionRecord,
}

/// The last outbound TLS handshake of one SMTP client process.
struct OutboundTls {
    last_seen_us: i64,
    /// Queue id of the first message delivered after the handshake.
    first_queue_id: Option<String>,
    peer_ip: Option<String>,
    peer_port: Option<u16>,
    protocol: SharedStr,
    cipher: SharedStr,
}

/// Correlates the Postfix lines of one rotated set.
#[derive(Default)]
pub struct Correlator {
    messages: HashMap<String, MessageState>,
    sessions: HashMap<String, SessionState>,
    /// Outbound TLS handshakes keyed like sessions (`host/program[pid]`),
    /// for the deliveries that the same process logs next.
    outbound_tls: HashMap<String, OutboundTls>,
    /// Child queue key (`host/queue_id`) to the message key of the message a
    /// content filter re-injected, for children not seen yet.
    pending_reinjections: HashMap<String, SharedStr>,
    /// Shared copies of the values that many rows repeat.
    interner: Interner,
    next_sequence: u64,
    latest_us: i64,
    last_sweep_us: Option<i64>,
    key: String,
}

impl Correlator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one parsed event.
    pub fn apply(&mut self, at: LineRef<'_>, event: Event<'_>, tables: &mut Tables) {
        self.latest_us = self.latest_us.max(at.at.utc_us);
        match event {
            Event::Queue { queue_id, event } => self.queue_event(at, queue_id, event, tables),
            Event::Session(event) => self.session_event(at, event, tables),
            Event::Informational => {}
        }
        self.sweep_if_due(tables);
    }

    /// Emits every message and session still open, in the order they began.
    pub fn finish(&mut self, tables: &mut Tables) {
        let mut messages: Vec<_> = self.messages.drain().map(|(_, state)| state).collect();
        messages.sort_by_key(|state| state.sequence);
        for state in messages {
            emit_message(state, tables);
        }
        let mut sessions: Vec<_> = self.sessions.drain().map(|(_, state)| state).collect();
        sessions.sort_by_key(|state| state.sequence);
        for state in sessions {
            tables.sessions.push(state.record);
        }
        self.pending_reinjections.clear();
        self.outbound_tls.clear();
    }

    fn sweep_if_due(&mut self, tables: &mut Tables) {
        let due = match self.last_sweep_us {
            Some(last) => self.latest_us - last >= SWEEP_EVERY_US,
            None => true,
        };
        if !due {
            return;
        }
        self.last_sweep_us = Some(self.latest_us);
        let now = self.latest_us;
        let mut idle: Vec<(u64, String)> = self
            .messages
            .iter()
            .filter(|(_, state)| match state.removed_us {
                Some(removed) => now - removed > REMOVED_GRACE_US,
                None => now - state.last_seen_us > MESSAGE_IDLE_US,
            })
            .map(|(key, state)| (state.sequence, key.clone()))
            .collect();
        idle.sort();
        for (_, key) in idle {
            if let Some(state) = self.messages.remove(&key) {
                emit_message(state, tables);
            }
        }
        let mut idle: Vec<(u64, String)> = self
            .sessions
            .iter()
            .filter(|(_, state)| now - state.last_seen_us > SESSION_IDLE_US)
            .map(|(key, state)| (state.sequence, key.clone()))
            .collect();
        idle.sort();
        for (_, key) in idle {
            if let Some(state) = self.sessions.remove(&key) {
                tables.sessions.push(state.record);
            }
        }
        self.outbound_tls
            .retain(|_, tls| now - tls.last_seen_us <= SESSION_IDLE_US);
        if self.pending_reinjections.len() > 10_000 {
            // Children that never appeared: the filter's copy went to
            // another host or the log ended. Forget the oldest links.
            self.pending_reinjections.clear();
        }
    }

    fn set_key(&mut self, host: &str, id: &str) {
        self.key.clear();
        self.key.push_str(host);
        self.key.push('/');
        self.key.push_str(id);
    }

    /// Returns the state of a message, creating it when this is its first line.
    fn message(&mut self, at: LineRef<'_>, queue_id: &str) -> &mut MessageState {
        self.set_key(at.host, queue_id);
        self.message_at_key(at, queue_id)
    }

    /// Like [`Self::message`], for a line that starts a message (`client=`,
    /// `pickup`): a message with the same queue id that was removed before
    /// this line's time is emitted first, because the queue id was reused.
    fn new_message(&mut self, at: LineRef<'_>, queue_id: &str, tables: &mut Tables) -> &mut MessageState {
        self.set_key(at.host, queue_id);
        let removed = self
            .messages
            .get(self.key.as_str())
            .and_then(|state| state.removed_us)
            .is_some_and(|removed_us| removed_us < at.at.utc_us);
        if removed {
            if let Some(state) = self.messages.remove(self.key.as_str()) {
                emit_message(state, tables);
            }
        }
        self.message_at_key(at, queue_id)
    }

    fn message_at_key(&mut self, at: LineRef<'_>, queue_id: &str) -> &mut MessageState {
        if !self.messages.contains_key(self.key.as_str()) {
            let sequence = self.next_sequence;
            self.next_sequence += 1;
            let reinjected_from = self.pending_reinjections.remove(self.key.as_str());
            let record = MessageRecord {
                message_key: format!("{}/{}/{}:{}", at.host, queue_id, at.source_file, at.line).into(),
                source_format: "postfix",
                host: self.interner.intern(at.host),
                queue_id: queue_id.to_string(),
                received_at: Some(at.at),
                origin: "unknown",
                reinjected_from,
                provenance: Provenance {
                    source_file: at.source_file.clone(),
                    first_line: at.line,
                    last_line: at.line,
                },
                ..MessageRecord::default()
            };
            self.messages.insert(
                self.key.clone(),
                MessageState {
                    sequence,
                    last_seen_us: at.at.utc_us,
                    removed_us: None,
                    record,
                    deliveries: Vec::new(),
                },
            );
        }
        let state = self.messages.get_mut(self.key.as_str()).expect("inserted above");
        state.last_seen_us = state.last_seen_us.max(at.at.utc_us);
        // Lines out of time order: the message began at its earliest line.
        if state
            .record
            .received_at
            .is_some_and(|first| at.at.utc_us < first.utc_us)
        {
            state.record.received_at = Some(at.at);
        }
        // NOTE: first_line and last_line count in `source_file` only. Lines
        // of the message in the next file of a rotated set are not covered
        // here; its deliveries carry their own file and line.
        let provenance = &mut state.record.provenance;
        if provenance.source_file == *at.source_file {
            provenance.first_line = provenance.first_line.min(at.line);
            provenance.last_line = provenance.last_line.max(at.line);
        }
        state
    }

    fn queue_event(&mut self, at: LineRef<'_>, queue_id: &str, event: QueueEvent<'_>, tables: &mut Tables) {
        match event {
            QueueEvent::Client {
                client,
                sasl_method,
                sasl_username,
                sasl_sender,
            } => {
                let auth_method = self.interner.intern_opt(sasl_method);
                let auth_user = self.interner.intern_opt(sasl_username);
                let client_ip = self.interner.intern_opt(client.ip);
                let client_host = self.interner.intern(client.name);
                let session = self.session_for(at, client);
                session.record.messages += 1;
                if auth_method.is_some() {
                    session.record.auth_method.clone_from(&auth_method);
                }
                if auth_user.is_some() {
                    session.record.auth_user.clone_from(&auth_user);
                }
                let session_key = session.record.session_key.clone();
                let helo = session.record.helo.clone();
                let tls_protocol = session.record.tls_protocol.clone();
                let tls_cipher = session.record.tls_cipher.clone();
                let message = &mut self.new_message(at, queue_id, tables).record;
                message.origin = "smtp";
                message.client_ip = client_ip;
                message.client_host = Some(client_host);
                message.auth_method = auth_method;
                message.auth_user = auth_user;
                message.sasl_sender = sasl_sender.map(str::to_string);
                message.session_key = Some(session_key);
                message.helo = helo;
                message.tls_protocol = tls_protocol;
                message.tls_cipher = tls_cipher;
            }
            QueueEvent::Pickup { uid, from } => {
                let message = &mut self.new_message(at, queue_id, tables).record;
                message.origin = "pickup";
                message.local_uid = uid;
                if message.envelope_from.is_none() {
                    message.envelope_from = Some(from.to_string());
                }
            }
            QueueEvent::MessageId(id) => {
                self.message(at, queue_id).record.message_id = Some(id.to_string());
            }
            QueueEvent::Stopped { action, text } => {
                let message = &mut self.message(at, queue_id).record;
                if matches!(action, "reject" | "discard" | "milter-reject" | "milter-discard") {
                    message.stopped = Some(crate::records::excerpt(&format!("{action}: {text}")));
                }
            }
            QueueEvent::Queued { from, size, nrcpt } => {
                let message = &mut self.message(at, queue_id).record;
                // qmgr repeats this line each time the message re-enters the
                // active queue; the values are the same, so they are set, not
                // added.
                message.envelope_from = Some(from.to_string());
                if size.is_some() {
                    message.size_bytes = size;
                }
                if nrcpt.is_some() {
                    message.nrcpt = nrcpt;
                }
            }
            QueueEvent::Expired { from } => {
                let message = &mut self.message(at, queue_id).record;
                message.expired = true;
                if message.envelope_from.is_none() {
                    message.envelope_from = Some(from.to_string());
                }
            }
            QueueEvent::Removed => {
                let state = self.message(at, queue_id);
                state.record.removed = true;
                state.removed_us = Some(at.at.utc_us);
            }
            QueueEvent::Delivery(delivery) => self.delivery(at, queue_id, delivery),
            QueueEvent::Notice { kind, notice_id } => {
                let original_key = self.message(at, queue_id).record.message_key.clone();
                let notice = &mut self.message(at, notice_id).record;
                notice.origin = "bounce";
                notice.notice_of = Some(original_key);
                notice.notice_kind = Some(kind.to_string());
            }
            QueueEvent::Reject(reject) => {
                let helo = self.interner.intern_opt(reject.helo);
                let session = self.session_for(at, reject.client);
                record_reject(&mut session.record, &reject, helo);
                self.message(at, queue_id);
            }
            QueueEvent::Note => {
                self.message(at, queue_id);
            }
        }
    }

    fn delivery(&mut self, at: LineRef<'_>, queue_id: &str, delivery: Delivery<'_>) {
        let reply = parse_delivery_reply(delivery.status_text);
        let relay_ip = delivery.relay_peer.and_then(|peer| peer.ip);
        let loopback = relay_ip.is_some_and(is_loopback);
        // A `queued as ID` reply from this host's own smtpd is a content
        // filter hop: the re-injected copy is the same message.
        let mut reinjected_as = None;
        if let Some(child) = reply.queued_as {
            self.set_key(at.host, child);
            let child_key = self.key.clone();
            if self.messages.contains_key(&child_key) || loopback {
                reinjected_as = Some(child.to_string());
                let parent_key = self.message(at, queue_id).record.message_key.clone();
                match self.messages.get_mut(&child_key) {
                    Some(child_state) => child_state.record.reinjected_from = Some(parent_key),
                    None => {
                        self.pending_reinjections.insert(child_key, parent_key);
                    }
                }
            }
        }
        let transport = transport_name(at.program);
        let (tls_protocol, tls_cipher) = self.outbound_tls_for(at, queue_id, &delivery);
        let (relay_host, relay_port) = match delivery.relay_peer {
            Some(peer) => (self.interner.intern(peer.name), peer.port),
            None => (self.interner.intern(delivery.relay), None),
        };
        let relay_ip = self.interner.intern_opt(relay_ip);
        let status = self.interner.intern(delivery.status);
        let dsn = self.interner.intern_opt(delivery.dsn);
        let enhanced_code = self.interner.intern_opt(reply.reply.enhanced);
        let smtp_stage = self.interner.intern_opt(reply.stage);
        let state = self.message(at, queue_id);
        state.deliveries.push(DeliveryRecord {
            message_key: state.record.message_key.clone(),
            recipient: delivery.to.to_string(),
            orig_recipient: delivery.orig_to.map(str::to_string),
            attempt_at: at.at,
            transport,
            relay_host,
            relay_ip,
            relay_port,
            status,
            dsn,
            reply_code: reply.reply.code,
            enhanced_code,
            reply_text: delivery.status_text.to_string(),
            smtp_stage,
            delay_s: delivery.delay,
            delays: delivery.delays.map(str::to_string),
            conn_use: delivery.conn_use,
            tls_protocol,
            tls_cipher,
            reinjected_as,
            provenance: Provenance {
                source_file: at.source_file.clone(),
                first_line: at.line,
                last_line: at.line,
            },
        });
    }

    /// Returns the protocol and cipher of the TLS handshake that this
    /// process logged last, if the delivery of `queue_id` went over it. It
    /// did when the address and port match and the delivery is the first
    /// message after the handshake or uses a reused connection (`conn_use=`
    /// 2 or more).
    fn outbound_tls_for(
        &mut self,
        at: LineRef<'_>,
        queue_id: &str,
        delivery: &Delivery<'_>,
    ) -> (Option<SharedStr>, Option<SharedStr>) {
        let Some(peer) = delivery.relay_peer else {
            return (None, None);
        };
        self.session_key_of(at);
        let Some(tls) = self.outbound_tls.get_mut(self.key.as_str()) else {
            return (None, None);
        };
        if tls.peer_ip.as_deref() != peer.ip || tls.peer_port != peer.port {
            return (None, None);
        }
        let reused = delivery.conn_use.is_some_and(|uses| uses >= 2);
        match &tls.first_queue_id {
            None => tls.first_queue_id = Some(queue_id.to_string()),
            // A new connection for another message, logged without a
            // handshake of its own: this handshake does not describe it.
            Some(first) if first != queue_id && !reused => return (None, None),
            Some(_) => {}
        }
        tls.last_seen_us = at.at.utc_us;
        (Some(tls.protocol.clone()), Some(tls.cipher.clone()))
    }

    fn session_key_of(&mut self, at: LineRef<'_>) {
        self.key.clear();
        self.key.push_str(at.host);
        self.key.push('/');
        self.key.push_str(at.program);
        self.key.push('[');
        if let Some(pid) = at.pid {
            self.key.push_str(&pid.to_string());
        }
        self.key.push(']');
    }

    /// Returns the open smtpd session of this process, creating one when the
    /// log starts inside it.
    fn session_for(&mut self, at: LineRef<'_>, client: Peer<'_>) -> &mut SessionState {
        self.session_key_of(at);
        if !self.sessions.contains_key(self.key.as_str()) {
            let state = self.new_session(at, client, None);
            self.sessions.insert(self.key.clone(), state);
        }
        let state = self.sessions.get_mut(self.key.as_str()).expect("inserted above");
        state.last_seen_us = state.last_seen_us.max(at.at.utc_us);
        state.record.provenance.last_line = at.line;
        state
    }

    fn new_session(
        &mut self,
        at: LineRef<'_>,
        client: Peer<'_>,
        connected_at: Option<Instant>,
    ) -> SessionState {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let pid = at.pid.map(|pid| pid.to_string()).unwrap_or_default();
        let service = at
            .program
            .split_once('/')
            .map(|(_, rest)| rest)
            .unwrap_or(at.program);
        SessionState {
            sequence,
            last_seen_us: at.at.utc_us,
            record: SessionRecord {
                session_key: format!("{}/{}[{}]/{}:{}", at.host, service, pid, at.source_file, at.line)
                    .into(),
                host: self.interner.intern(at.host),
                service: self.interner.intern(service),
                client_ip: self.interner.intern_opt(client.ip),
                client_host: (!client.name.is_empty()).then(|| self.interner.intern(client.name)),
                client_port: client.port,
                connected_at,
                provenance: Provenance {
                    source_file: at.source_file.clone(),
                    first_line: at.line,
                    last_line: at.line,
                },
                ..SessionRecord::default()
            },
        }
    }

    fn close_session(&mut self, tables: &mut Tables) {
        if let Some(state) = self.sessions.remove(self.key.as_str()) {
            tables.sessions.push(state.record);
        }
    }

    fn session_event(&mut self, at: LineRef<'_>, event: SessionEvent<'_>, tables: &mut Tables) {
        match event {
            SessionEvent::Connect { client } => {
                self.session_key_of(at);
                // A new connection on the same process ends the previous one,
                // even when its `disconnect from` line is missing.
                self.close_session(tables);
                let state = self.new_session(at, client, Some(at.at));
                self.sessions.insert(self.key.clone(), state);
            }
            SessionEvent::ScreenConnect { client } => {
                self.screen_key(at, client);
                self.close_session(tables);
                let state = self.new_session(at, client, Some(at.at));
                self.sessions.insert(self.key.clone(), state);
            }
            SessionEvent::Disconnect(disconnect) => {
                let state = self.session_for(at, disconnect.client);
                state.record.disconnected_at = Some(at.at);
                let counters = &disconnect.counters;
                let values = [
                    counters.ehlo,
                    counters.helo,
                    counters.starttls,
                    counters.auth,
                    counters.mail,
                    counters.rcpt,
                    counters.data,
                    counters.bdat,
                    counters.rset,
                    counters.quit,
                    counters.unknown,
                    counters.commands,
                ];
                debug_assert_eq!(values.len(), COUNTER_NAMES.len());
                for (slot, value) in state.record.counters.iter_mut().zip(values) {
                    *slot = value.map(|count| (count.accepted, count.attempted));
                }
                self.session_key_of(at);
                self.close_session(tables);
            }
            SessionEvent::ScreenDisconnect { client } => {
                self.screen_key(at, client);
                if let Some(state) = self.sessions.get_mut(self.key.as_str()) {
                    state.record.disconnected_at = Some(at.at);
                    state.record.provenance.last_line = at.line;
                }
                self.close_session(tables);
            }
            SessionEvent::Tls(tls) => {
                if !tls.inbound {
                    // Outbound TLS of the SMTP client: evidence about the
                    // next hop, which the deliveries of this process carry.
                    self.session_key_of(at);
                    self.outbound_tls.insert(
                        self.key.clone(),
                        OutboundTls {
                            last_seen_us: at.at.utc_us,
                            first_queue_id: None,
                            peer_ip: tls.peer.ip.map(str::to_string),
                            peer_port: tls.peer.port,
                            protocol: self.interner.intern(tls.protocol),
                            cipher: self.interner.intern(tls.cipher),
                        },
                    );
                    return;
                }
                let protocol = self.interner.intern(tls.protocol);
                let cipher = self.interner.intern(tls.cipher);
                let trust = self.interner.intern(tls.trust);
                let state = self.session_for(at, tls.peer);
                state.record.tls_protocol = Some(protocol);
                state.record.tls_cipher = Some(cipher);
                state.record.tls_trust = Some(trust);
            }
            SessionEvent::SaslFailure {
                client,
                method,
                username,
                ..
            } => {
                let method = self.interner.intern(method);
                let state = self.session_for(at, client);
                state.record.auth_failures += 1;
                if state.record.auth_method.is_none() {
                    state.record.auth_method = Some(method);
                }
                // A failed login is not an identity: the name tried is kept
                // apart from `auth_user`.
                if let Some(user) = username {
                    state.record.auth_failed_user = Some(user.to_string());
                }
            }
            SessionEvent::Reject(reject) => {
                let helo = self.interner.intern_opt(reject.helo);
                if at.program.ends_with("postscreen") {
                    self.screen_key(at, reject.client);
                    if !self.sessions.contains_key(self.key.as_str()) {
                        let state = self.new_session(at, reject.client, None);
                        self.sessions.insert(self.key.clone(), state);
                    }
                    let state = self.sessions.get_mut(self.key.as_str()).expect("inserted above");
                    state.last_seen_us = at.at.utc_us;
                    state.record.provenance.last_line = at.line;
                    record_reject(&mut state.record, &reject, helo);
                } else {
                    let state = self.session_for(at, reject.client);
                    record_reject(&mut state.record, &reject, helo);
                }
            }
            SessionEvent::Lost { client, after } => {
                let state = self.session_for(at, client);
                state.record.lost_after = Some(after.to_string());
            }
            SessionEvent::Note { client } => {
                self.session_for(at, client);
            }
            SessionEvent::ConnectFailed { .. } => {}
        }
    }

    fn screen_key(&mut self, at: LineRef<'_>, client: Peer<'_>) {
        self.key.clear();
        self.key.push_str(at.host);
        self.key.push_str("/postscreen/");
        self.key.push_str(client.ip.unwrap_or("unknown"));
        self.key.push(':');
        if let Some(port) = client.port {
            self.key.push_str(&port.to_string());
        }
    }
}

/// Counts a rejected command of the session; `helo` is the reject line's
/// `helo=` value.
fn record_reject(session: &mut SessionRecord, reject: &SmtpReject<'_>, helo: Option<SharedStr>) {
    session.noqueue_rejects += 1;
    let reply = match (reject.reply.code, reject.reply.enhanced) {
        (Some(code), Some(enhanced)) => format!("{code} {enhanced} {}", reject.reply.text),
        (Some(code), None) => format!("{code} {}", reject.reply.text),
        _ => reject.reply.text.to_string(),
    };
    session.last_reject = Some(reply);
    if helo.is_some() {
        session.helo = helo;
    }
}

fn emit_message(state: MessageState, tables: &mut Tables) {
    tables.messages.push(state.record);
    tables.deliveries.extend(state.deliveries);
}

/// Returns the delivery agent of the program tag, as [`super::daemon_of`]
/// names it.
fn transport_name(program: &str) -> &'static str {
    match super::daemon_of(program) {
        Some(super::Daemon::Client(agent) | super::Daemon::LocalAgent(agent)) => agent,
        _ => "other",
    }
}
