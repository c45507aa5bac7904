//! [`StateWatch`]: a durable feed of the changes to keys with a given prefix, that resumes from
//! a saved [`WatchCheckpoint`] with nothing missed and nothing delivered twice.

use std::collections::VecDeque;
use std::fmt;

use super::event::StateEvent;
use super::materialized::parse_chunk;
use crate::error::{Error, ErrorKind, Result};
use crate::offset::Offset;
use crate::read::{LiveMode, ReadOptions, ReadSession};
use crate::stream::Stream;

/// A position in a state stream, exact to the message: a stream offset plus how many messages
/// from it have already been handled.
///
/// The server mints offsets per response, not per message, so a checkpoint taken in the middle
/// of a response is the response's start offset plus a message count; stream data never
/// changes, so the messages from an offset are always the same. Saved as text with
/// [`fmt::Display`] (`offset` or `offset,count`; offsets never contain `,`) and read back with
/// [`std::str::FromStr`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WatchCheckpoint {
    offset: Offset,
    skip: u64,
}

impl Default for WatchCheckpoint {
    fn default() -> Self {
        WatchCheckpoint::at(Offset::BEGINNING)
    }
}

impl WatchCheckpoint {
    /// Just before the first message at `offset`.
    pub fn at(offset: Offset) -> WatchCheckpoint {
        WatchCheckpoint { offset, skip: 0 }
    }

    /// After the first `skip` messages from `offset`.
    pub fn after(offset: Offset, skip: u64) -> WatchCheckpoint {
        WatchCheckpoint { offset, skip }
    }

    /// The stream offset.
    pub fn offset(&self) -> &Offset {
        &self.offset
    }

    /// How many messages from [`WatchCheckpoint::offset`] are already handled.
    pub fn skip(&self) -> u64 {
        self.skip
    }
}

impl fmt::Display for WatchCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.skip == 0 {
            write!(f, "{}", self.offset)
        } else {
            write!(f, "{},{}", self.offset, self.skip)
        }
    }
}

impl std::str::FromStr for WatchCheckpoint {
    type Err = Error;

    /// Fails with [`ErrorKind::InvalidOffset`] for a corrupted checkpoint.
    fn from_str(text: &str) -> Result<Self> {
        let Some((offset, skip)) = text.rsplit_once(',') else {
            return Ok(WatchCheckpoint::at(Offset::parse(text)?));
        };
        let skip = skip.parse::<u64>().map_err(|_| {
            Error::new(
                ErrorKind::InvalidOffset,
                format!("invalid watch checkpoint {text:?}: {skip:?} is not a message count"),
            )
        })?;
        Ok(WatchCheckpoint::after(Offset::parse(offset)?, skip))
    }
}

/// What a [`StateWatch`] follows.
#[derive(Debug, Clone, Default)]
pub struct WatchOptions {
    /// Only changes whose `key` starts with this ("" for every key).
    pub key_prefix: String,
    /// Only changes of this entity `type`, when set.
    pub entity_type: Option<String>,
    /// Where to start: a checkpoint saved from [`WatchedChange::checkpoint`] (the beginning by
    /// default).
    pub from: WatchCheckpoint,
    /// [`LiveMode::Off`] ends the watch at the current tail; a live mode keeps waiting.
    pub live: LiveMode,
}

impl WatchOptions {
    /// Changes of keys starting with `key_prefix`, from the beginning, catch-up only.
    pub fn new(key_prefix: impl Into<String>) -> WatchOptions {
        WatchOptions {
            key_prefix: key_prefix.into(),
            ..WatchOptions::default()
        }
    }

    /// Only changes of `entity_type`.
    pub fn entity_type(mut self, entity_type: impl Into<String>) -> Self {
        self.entity_type = Some(entity_type.into());
        self
    }

    /// Resumes from a saved checkpoint.
    pub fn from(mut self, checkpoint: WatchCheckpoint) -> Self {
        self.from = checkpoint;
        self
    }

    /// Sets the live mode.
    pub fn live(mut self, live: LiveMode) -> Self {
        self.live = live;
        self
    }
}

/// One message delivered by a [`StateWatch`], with the checkpoint just after it.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchedChange {
    /// A change of a watched key, or a control message (those concern every key: a `reset`
    /// means every watched key is gone).
    pub event: StateEvent,
    /// The position just after this message: save it once the message is handled.
    pub checkpoint: WatchCheckpoint,
}

/// A durable watch of the keys with a prefix: every change to them, in stream order, each once,
/// resumable from a saved [`WatchCheckpoint`] after a restart.
///
/// # The contract
///
/// Handle each [`WatchedChange`], then persist its `checkpoint`; after a restart, open the
/// watch with [`WatchOptions::from`] set to the last persisted checkpoint. The watch then
/// delivers exactly the messages after it: nothing is missed (the stream is durable and
/// immutable) and nothing already checkpointed is delivered again. For no double effect, store
/// the checkpoint in the same transaction as the effect (or make the effect idempotent): a
/// crash after the effect but before the checkpoint is saved delivers that one change again.
///
/// Control messages are delivered whatever the filter; changes of other keys are skipped but
/// still move the checkpoint. A malformed message fails [`StateWatch::next`] with
/// [`ErrorKind::Parse`] naming it, without moving the checkpoint.
pub struct StateWatch {
    session: ReadSession,
    options: WatchOptions,
    /// Parsed messages not handed out yet, each with the checkpoint after it.
    pending: VecDeque<(StateEvent, WatchCheckpoint)>,
    /// Messages of the resume point still to skip.
    skip_remaining: u64,
    checkpoint: WatchCheckpoint,
}

impl std::fmt::Debug for StateWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateWatch")
            .field("url", &self.session.stream().redacted_url())
            .field("key_prefix", &self.options.key_prefix)
            .field("entity_type", &self.options.entity_type)
            .field("checkpoint", &self.checkpoint)
            .finish()
    }
}

impl StateWatch {
    /// Opens a watch of `stream`. No request is sent until the first [`StateWatch::next`].
    pub fn new(stream: &Stream, options: WatchOptions) -> StateWatch {
        let session = stream.read(
            ReadOptions::new()
                .offset(options.from.offset.clone())
                .live(options.live),
        );
        StateWatch {
            session,
            skip_remaining: options.from.skip,
            checkpoint: options.from.clone(),
            pending: VecDeque::new(),
            options,
        }
    }

    /// The position after everything handed out so far (and the skipped changes of other
    /// keys that followed it).
    pub fn checkpoint(&self) -> &WatchCheckpoint {
        &self.checkpoint
    }

    fn wanted(&self, event: &StateEvent) -> bool {
        match event {
            StateEvent::Control(_) => true,
            StateEvent::Change(change) => {
                change.key.starts_with(&self.options.key_prefix)
                    && self
                        .options
                        .entity_type
                        .as_ref()
                        .is_none_or(|wanted| *wanted == change.entity_type)
            }
        }
    }

    /// The next watched message, or `None` when the read ends (at the tail without a live
    /// mode, or when the stream is closed).
    pub async fn next(&mut self) -> Result<Option<WatchedChange>> {
        loop {
            while let Some((event, checkpoint)) = self.pending.pop_front() {
                self.checkpoint = checkpoint.clone();
                if self.wanted(&event) {
                    return Ok(Some(WatchedChange { event, checkpoint }));
                }
            }
            if !self.fetch().await? {
                return Ok(None);
            }
        }
    }

    /// Reads the next chunk into `pending`; false when the read has ended.
    async fn fetch(&mut self) -> Result<bool> {
        let start = self.session.offset().clone();
        let Some(chunk) = self.session.next_chunk().await? else {
            return Ok(false);
        };
        let events =
            parse_chunk(&chunk, &start).map_err(|e| e.with_url(self.session.stream().url()))?;
        let total = events.len();
        // The first messages of a resumed watch were handled before the checkpoint was saved.
        let skipped = usize::try_from(self.skip_remaining)
            .unwrap_or(usize::MAX)
            .min(total);
        self.skip_remaining -= skipped as u64;
        for (index, event) in events.into_iter().enumerate().skip(skipped) {
            let after = if index + 1 == total {
                WatchCheckpoint::at(chunk.offset().clone())
            } else {
                WatchCheckpoint::after(start.clone(), index as u64 + 1)
            };
            self.pending.push_back((event, after));
        }
        if total > 0 && skipped == total {
            self.checkpoint = WatchCheckpoint::after(chunk.offset().clone(), self.skip_remaining);
        }
        if self.skip_remaining > 0 && (chunk.up_to_date() || chunk.closed()) {
            return Err(self.session.stream().error(
                ErrorKind::InvalidOffset,
                format!(
                    "the watch checkpoint {} is past the data: {} more messages than the stream has from there",
                    self.options.from, self.skip_remaining
                ),
            ));
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_round_trip_through_their_text_form() {
        for checkpoint in [
            WatchCheckpoint::default(),
            WatchCheckpoint::at(Offset::parse("0000_0042").unwrap()),
            WatchCheckpoint::after(Offset::parse("0000_0042").unwrap(), 7),
        ] {
            let text = checkpoint.to_string();
            assert_eq!(
                text.parse::<WatchCheckpoint>().unwrap(),
                checkpoint,
                "{text}"
            );
        }
        assert_eq!(WatchCheckpoint::default().to_string(), "-1");
        assert_eq!(
            WatchCheckpoint::after(Offset::BEGINNING, 3).to_string(),
            "-1,3"
        );
    }

    #[test]
    fn corrupted_checkpoints_are_invalid_offsets() {
        for bad in ["", "1_2,x", "1_2,-1", "a/b,2", ",3"] {
            let err = bad.parse::<WatchCheckpoint>().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidOffset, "{bad:?}");
        }
    }
}
