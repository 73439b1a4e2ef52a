//! The stage pipeline between acceptance and the spool.
//!
//! After DATA and before the final reply, each stage sees the message and may rewrite its
//! content, change its recipients, hold it, reject it or discard it. DLP, attachment
//! encryption and timed hold plug in here. Stages are synchronous: they are CPU work on
//! bytes, run on a blocking thread, and should not do network I/O.

use std::sync::Arc;

use mamori_dlp::hold::PartStore;

use crate::spool::Envelope;
use crate::spool::map::MappedBytes;

/// A whole message held in memory: its envelope and its content.
pub type OwnedMessage = (Envelope, Vec<u8>);

/// A message passing through the stages.
pub struct StagedMessage {
    /// The envelope; stages may change recipients.
    pub envelope: Envelope,
    /// The content with CRLF line endings, `Received:` already prepended, when in memory.
    owned: Vec<u8>,
    /// The content mapped from the spool file, for a large message (then `owned` is empty
    /// until a stage takes the content to change it).
    mapped: Option<MappedBytes>,
    /// Where the DLP walk keeps large decoded parts (scratch files beside the spool), for
    /// a message too large to hold in memory.
    store: Option<Box<dyn PartStore + Send>>,
    /// The DLP inspection made while the message arrived, for the DLP stage.
    inspected: Option<Inspected>,
    /// A stage changed the content: what was spooled while it arrived is written again.
    rewritten: bool,
    /// Why an earlier stage holds the message, if one does (a later stage may act
    /// differently on held mail).
    pub held: Option<String>,
    /// Further messages a stage made that are accepted with this one, durably and before
    /// the reply (an encrypted copy for some recipients, a password mail), each with its
    /// content.
    pub companions: Vec<OwnedMessage>,
}

impl std::fmt::Debug for StagedMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagedMessage")
            .field("envelope", &self.envelope)
            .field("len", &self.content().len())
            .field("mapped", &self.mapped.is_some())
            .field("rewritten", &self.rewritten)
            .finish()
    }
}

impl StagedMessage {
    /// A message as received.
    pub fn new(envelope: Envelope, content: Vec<u8>) -> Self {
        Self {
            envelope,
            owned: content,
            mapped: None,
            store: None,
            inspected: None,
            rewritten: false,
            held: None,
            companions: Vec::new(),
        }
    }

    /// A large message, its content read from the spool file in place
    /// ([`crate::spool::SpoolWriter::map_content`]), large decoded parts kept in `store`.
    pub fn mapped(
        envelope: Envelope,
        content: MappedBytes,
        store: Option<Box<dyn PartStore + Send>>,
    ) -> Self {
        Self {
            envelope,
            owned: Vec::new(),
            mapped: Some(content),
            store,
            inspected: None,
            rewritten: false,
            held: None,
            companions: Vec::new(),
        }
    }

    /// The content with CRLF line endings, `Received:` already prepended.
    pub fn content(&self) -> &[u8] {
        self.mapped.as_deref().unwrap_or(&self.owned)
    }

    /// The content, and the store for large decoded parts if the message has one: what
    /// an inspection reads.
    pub fn content_and_store(&mut self) -> (&[u8], Option<&mut dyn PartStore>) {
        let content = self.mapped.as_deref().unwrap_or(&self.owned);
        let store = self
            .store
            .as_mut()
            .map(|store| &mut **store as &mut dyn PartStore);
        (content, store)
    }

    /// The message with the DLP inspection made while it arrived.
    pub fn with_inspected(mut self, inspected: Option<Inspected>) -> Self {
        self.inspected = inspected;
        self
    }

    /// The DLP inspection made while the message arrived, if `inspector` made it and no
    /// stage has changed the content since (taken: asked again, there is none).
    pub fn take_inspected(
        &mut self,
        inspector: &Arc<mamori_dlp::Inspector>,
    ) -> Option<mamori_dlp::ArrivedReport> {
        let inspected = self.inspected.take()?;
        (!self.rewritten && inspected.made_by(inspector)).then_some(inspected.report)
    }

    /// The content, to change: the message then counts as rewritten. A mapped message is
    /// copied into memory first (see [`Stage::may_rewrite`]).
    pub fn content_mut(&mut self) -> &mut Vec<u8> {
        self.rewritten = true;
        if let Some(mapped) = self.mapped.take() {
            self.owned = mapped.to_vec();
        }
        &mut self.owned
    }

    /// Replaces the content with `content` (made anew by a stage): the message then counts
    /// as rewritten, and a mapped content is let go without being copied.
    pub fn replace_content(&mut self, content: Vec<u8>) {
        self.rewritten = true;
        self.mapped = None;
        self.envelope.size = content.len() as u64;
        self.owned = content;
    }

    /// Whether a stage took the content to change it.
    pub fn rewritten(&self) -> bool {
        self.rewritten
    }

    /// The envelope, the content (a mapped content is copied: for messages made in
    /// memory) and the companions.
    pub fn into_parts(self) -> (Envelope, Vec<u8>, Vec<OwnedMessage>) {
        let content = match self.mapped {
            Some(mapped) => mapped.to_vec(),
            None => self.owned,
        };
        (self.envelope, content, self.companions)
    }

    /// The envelope, the content if a stage rewrote it (else the content is what was
    /// received, and a mapped one is simply let go), and the companions.
    pub fn into_envelope_and_rewrite(self) -> (Envelope, Option<Vec<u8>>, Vec<OwnedMessage>) {
        let rewrite = self.rewritten.then_some(self.owned);
        (self.envelope, rewrite, self.companions)
    }
}

/// What a stage decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Pass the message on.
    Accept,
    /// Accept it but keep it from delivery until an administrator releases it.
    Hold {
        /// Why, for the queue listing and the audit log.
        reason: String,
    },
    /// Refuse it in the final DATA reply.
    Reject {
        /// 5xx (or 4xx for "try later").
        code: u16,
        /// Enhanced status code such as `5.7.1`.
        status: String,
        /// What the sender is told, one reply line each (several languages, say).
        lines: Vec<String>,
    },
    /// Accept it with 250 but deliver nothing.
    Discard {
        /// Why, for the log.
        reason: String,
    },
}

impl Verdict {
    fn rank(&self) -> u8 {
        match self {
            Self::Accept => 0,
            Self::Hold { .. } => 1,
            Self::Discard { .. } => 2,
            Self::Reject { .. } => 3,
        }
    }
}

/// One step of the pipeline.
pub trait Stage: Send + Sync {
    /// A short name for logs.
    fn name(&self) -> &str;
    /// Looks at (and may change) the message and decides.
    fn process(&self, message: &mut StagedMessage) -> Verdict;
    /// How long [`Self::process`] may take at most (it keeps the limit itself); zero for a
    /// stage that does no bounded work of note.
    fn time_limit(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
    /// Whether [`Self::process`] may change the content (and so, for a large message,
    /// copy it into memory): the memory an inspection waits for counts that copy only then.
    fn may_rewrite(&self) -> bool {
        true
    }
    /// The DLP inspector the stage inspects with, if it is the DLP stage: a large message
    /// is inspected with it while it arrives.
    fn inspector(&self) -> Option<Arc<mamori_dlp::Inspector>> {
        None
    }
}

/// A DLP report made while the message arrived (`inbound::session::ahead`), and the
/// inspector that made it: the DLP stage takes it only if it is its own.
pub struct Inspected {
    /// The inspector.
    pub inspector: Arc<mamori_dlp::Inspector>,
    /// What it made of the message.
    pub report: mamori_dlp::ArrivedReport,
}

impl Inspected {
    /// Whether `inspector` made it: then the DLP stage inspecting with `inspector` takes
    /// this report instead of inspecting the message again.
    pub fn made_by(&self, inspector: &Arc<mamori_dlp::Inspector>) -> bool {
        Arc::ptr_eq(&self.inspector, inspector)
    }
}

/// The ordered stages. Reject and Discard end the run at once; a Hold is remembered while
/// later stages still run (so a later stage can still reject); the strongest verdict wins.
#[derive(Clone, Default)]
pub struct Pipeline {
    stages: Vec<Arc<dyn Stage>>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.stages.iter().map(|s| s.name()))
            .finish()
    }
}

impl Pipeline {
    /// An empty pipeline: everything is accepted unchanged.
    pub fn new() -> Self {
        Self::default()
    }

    /// The inspector of its DLP stage, if it has one ([`Stage::inspector`]).
    pub fn inspector(&self) -> Option<Arc<mamori_dlp::Inspector>> {
        self.stages.iter().find_map(|s| s.inspector())
    }

    /// Appends a stage.
    pub fn with(mut self, stage: Arc<dyn Stage>) -> Self {
        self.stages.push(stage);
        self
    }

    /// Appends every stage of `other`, in order.
    pub fn then(mut self, other: Pipeline) -> Self {
        self.stages.extend(other.stages);
        self
    }

    /// Whether any stage may change the content ([`Stage::may_rewrite`]).
    pub fn may_rewrite(&self) -> bool {
        self.stages.iter().any(|s| s.may_rewrite())
    }

    /// How long a run may take: the stages' limits added up.
    pub fn time_limit(&self) -> std::time::Duration {
        self.stages.iter().map(|s| s.time_limit()).sum()
    }

    /// True when there are no stages (the session then skips the blocking thread).
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Runs every stage over the message.
    pub fn run(&self, message: &mut StagedMessage) -> Verdict {
        let mut result = Verdict::Accept;
        for stage in &self.stages {
            let v = stage.process(message);
            if v != Verdict::Accept {
                tracing::info!(queue_id = %message.envelope.id, stage = stage.name(), verdict = ?v, "stage verdict");
            }
            if message.envelope.recipients.is_empty() && v.rank() < 2 {
                return Verdict::Discard {
                    reason: format!("stage {} removed every recipient", stage.name()),
                };
            }
            if v.rank() >= 2 {
                return v;
            }
            if let Verdict::Hold { reason } = &v {
                message.held.get_or_insert_with(|| reason.clone());
            }
            if v.rank() > result.rank() {
                result = v;
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spool::{ClientInfo, Recipient};

    struct Fixed(Verdict, &'static str);
    impl Stage for Fixed {
        fn name(&self) -> &str {
            self.1
        }
        fn process(&self, m: &mut StagedMessage) -> Verdict {
            m.content_mut().extend_from_slice(self.1.as_bytes());
            self.0.clone()
        }
    }

    fn msg() -> StagedMessage {
        let rcpts = vec![Recipient::new("a@b.jp")];
        StagedMessage::new(
            crate::spool::Envelope::new("X".into(), String::new(), rcpts, ClientInfo::default()),
            Vec::new(),
        )
    }

    #[test]
    fn hold_then_reject_rejects_and_stops() {
        let hold = Verdict::Hold { reason: "h".into() };
        let reject = Verdict::Reject {
            code: 550,
            status: "5.7.1".into(),
            lines: vec!["no".into()],
        };
        let p = Pipeline::new()
            .with(Arc::new(Fixed(hold.clone(), "1")))
            .with(Arc::new(Fixed(reject.clone(), "2")))
            .with(Arc::new(Fixed(Verdict::Accept, "3")));
        let mut m = msg();
        assert_eq!(p.run(&mut m), reject);
        assert_eq!(m.content(), b"12", "stage 3 never ran");
        let p = Pipeline::new()
            .with(Arc::new(Fixed(hold.clone(), "1")))
            .with(Arc::new(Fixed(Verdict::Accept, "2")));
        assert_eq!(p.run(&mut msg()), hold);
    }
}
