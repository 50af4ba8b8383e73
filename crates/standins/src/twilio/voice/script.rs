//! Following a call's script: fetch a TwiML document, do its verbs in order on the simulated
//! party, and go on with the document a `<Gather>`, `<Redirect>` or `<Dial action>` names
//! (which replaces the rest of the current one). The same interpreter runs the app's call
//! scripts, inbound callers' calls, and whispers on dialled legs.

use std::pin::Pin;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::watch;
use tokio::time::Instant;

use super::PageAction;
use super::dial::DialEnd;
use super::twiml::{self, Twiml};
use crate::twilio::TwilioStandin;

/// Documents one call may go through; past that the script is taken to loop and the call ends.
const MAX_DOCUMENTS: usize = 50;

/// The simulated side of a call: who listens and presses keys.
pub(super) struct Party {
    /// A voicemail answered: it presses nothing and keeps what it hears as the message left.
    pub(super) machine: bool,
    pub(super) keys: Keys,
    /// What this party says when a `<Record>` runs.
    pub(super) says: Option<String>,
    /// When this party hangs up, wherever the script is.
    pub(super) hangs_up_at: Option<Instant>,
    /// The call's hang-up line: set when a person hangs up on the phones page or through the
    /// client route ([`PageAction::Hangup`]), which ends the call wherever the script is.
    pub(super) hangup: Option<watch::Receiver<bool>>,
}

/// Where a party's key presses come from.
pub(super) enum Keys {
    /// One entry per `<Gather>`, in order (`""`: nothing at that one). With `wait`, a Gather
    /// without a key waits out its timeout, as a live caller's does.
    Scripted { left: Vec<String>, wait: bool },
    /// A person on the phones page.
    Page(UnboundedReceiver<PageAction>),
}

impl Keys {
    pub(super) fn scripted(mut keys: Vec<String>, wait: bool) -> Keys {
        keys.reverse();
        Keys::Scripted { left: keys, wait }
    }
}

/// How a script ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// The last document ran out of verbs (for a whisper: bridge the call).
    RanOut,
    /// `<Hangup/>`, an application error, a `<Record>` or bridged `<Dial>` that ended the
    /// call, or the party hung up.
    HungUp,
}

/// Runs `work` unless `gone` (the party hanging up) comes first (then `None`).
pub(super) async fn until<F: Future>(gone: impl Future<Output = ()>, work: F) -> Option<F::Output> {
    tokio::select! {
        biased;
        out = work => Some(out),
        () = gone => None,
    }
}

/// Resolves when a party hangs up: at `at`, or once its hang-up `line` is set. Never resolves
/// for a party with neither (or whose line was closed without being set).
pub(super) async fn hung_up(at: Option<Instant>, line: Option<watch::Receiver<bool>>) {
    let page = async move {
        if let Some(mut line) = line {
            let set = line.wait_for(|h| *h).await.is_ok();
            if set {
                return;
            }
        }
        std::future::pending::<()>().await;
    };
    let clock = async move {
        match at {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = page => {}
        () = clock => {}
    }
}

impl Party {
    /// Resolves when this party hangs up (its time comes, or a person hangs up on the page).
    pub(super) fn gone(&self) -> impl Future<Output = ()> + Send + 'static {
        hung_up(self.hangs_up_at, self.hangup.clone())
    }

    /// The key pressed at a Gather waiting `timeout`: `Some(None)` when none was, `None` when the
    /// party hung up meanwhile.
    async fn key(&mut self, timeout: Duration) -> Option<Option<String>> {
        let gone = self.gone();
        match &mut self.keys {
            Keys::Scripted { left, wait } => {
                if let Some(k) = left.pop().filter(|k| !k.is_empty()) {
                    return Some(Some(k));
                }
                if *wait {
                    until(gone, tokio::time::sleep(timeout)).await?;
                }
                Some(None)
            }
            Keys::Page(page) => match until(gone, tokio::time::timeout(timeout, page.recv())).await? {
                Ok(Some(PageAction::Key(k))) => Some(Some(k)),
                _ => Some(None),
            },
        }
    }
}

/// A boxed script run: `<Dial>` legs run whispers through the same interpreter, so its future
/// names its own type.
pub(super) type Run<'a> = Pin<Box<dyn Future<Output = Ending> + Send + 'a>>;

impl TwilioStandin {
    /// Follows call `sid`'s script from `url` (requested with the call's parameters plus
    /// `extra`). In a `whisper` (TwiML on a dialled leg) `<Dial>` and `<Record>` are skipped.
    pub(super) fn follow<'a>(
        &'a self,
        sid: &'a str,
        party: &'a mut Party,
        url: String,
        extra: Vec<(String, String)>,
        whisper: bool,
    ) -> Run<'a> {
        Box::pin(async move {
            let mut next = Some((url, extra));
            let mut documents = 0;
            while let Some((url, extra)) = next.take() {
                documents += 1;
                if documents > MAX_DOCUMENTS {
                    tracing::warn!(call = sid, "stand-in call script loops; hanging up");
                    return Ending::HungUp;
                }
                let Some(c) = self.call(sid) else { return Ending::HungUp };
                let mut params = self.call_params(&c);
                params.extend(extra);
                let doc = match until(party.gone(), self.fetch_twiml(&url, &params)).await {
                    None => return Ending::HungUp,
                    Some(Ok(doc)) => doc,
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "stand-in call script failed");
                        self.hear(sid, party.machine, "An application error has occurred. Goodbye.".into());
                        return Ending::HungUp;
                    }
                };
                // An inbound call is answered by its first document.
                self.update_call(sid, |c| {
                    if c.status == "ringing" {
                        c.status = "in-progress".into();
                    }
                });
                for verb in twiml::parse(&doc, &url) {
                    match verb {
                        Twiml::Say(text) => self.hear(sid, party.machine, text),
                        Twiml::Play(audio) => self.hear(sid, party.machine, format!("[play {audio}]")),
                        Twiml::Pause(n) => {
                            if until(party.gone(), tokio::time::sleep(self.seconds(n))).await.is_none() {
                                return Ending::HungUp;
                            }
                        }
                        Twiml::Hangup => return Ending::HungUp,
                        Twiml::Redirect(to) => {
                            next = Some((to, Vec::new()));
                            break;
                        }
                        Twiml::Gather(g) => {
                            for line in g.prompt {
                                self.hear(sid, party.machine, line);
                            }
                            if party.machine {
                                continue;
                            }
                            let Some(key) = party.key(self.seconds(g.timeout.max(1))).await else {
                                return Ending::HungUp;
                            };
                            if let Some(k) = key {
                                self.update_call(sid, |c| c.pressed.push(k.clone()));
                                let digits = vec![("Digits".into(), k), ("FinishedOnKey".into(), String::new())];
                                next = Some((g.action.unwrap_or_else(|| url.clone()), digits));
                                break;
                            }
                        }
                        Twiml::Dial(d) if !whisper => match self.dial(sid, party, d).await {
                            DialEnd::Over => return Ending::HungUp,
                            DialEnd::Next(Some(action)) => {
                                next = Some(action);
                                break;
                            }
                            DialEnd::Next(None) => {}
                        },
                        Twiml::Record(r) if !whisper => {
                            self.record(sid, party, r, &url).await;
                            return Ending::HungUp;
                        }
                        Twiml::Dial(_) | Twiml::Record(_) => {}
                    }
                }
            }
            Ending::RanOut
        })
    }
}
