//! The [`futures_core::Stream`] adapter over a read session.

use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::Result;

use super::Chunk;
use super::session::ReadSession;

impl ReadSession {
    /// Turns the session into a [`futures_core::Stream`] of chunks.
    pub fn into_stream(self) -> ChunkStream {
        ChunkStream {
            state: StreamState::Idle(Box::new(self)),
        }
    }
}

type NextFuture = Pin<Box<dyn Future<Output = (Box<ReadSession>, Result<Option<Chunk>>)> + Send>>;

enum StreamState {
    Idle(Box<ReadSession>),
    Busy(NextFuture),
    Done,
}

/// A [`ReadSession`] as a [`futures_core::Stream`] of `Result<Chunk>`; ends after the last chunk
/// or the first error.
pub struct ChunkStream {
    state: StreamState,
}

impl futures_core::Stream for ChunkStream {
    type Item = Result<Chunk>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match std::mem::replace(&mut self.state, StreamState::Done) {
                StreamState::Done => return Poll::Ready(None),
                StreamState::Idle(mut session) => {
                    self.state = StreamState::Busy(Box::pin(async move {
                        let result = session.next_chunk().await;
                        (session, result)
                    }));
                }
                StreamState::Busy(mut future) => match future.as_mut().poll(cx) {
                    Poll::Pending => {
                        self.state = StreamState::Busy(future);
                        return Poll::Pending;
                    }
                    Poll::Ready((session, result)) => {
                        return Poll::Ready(match result {
                            Ok(Some(chunk)) => {
                                self.state = StreamState::Idle(session);
                                Some(Ok(chunk))
                            }
                            Ok(None) => None,
                            Err(e) => Some(Err(e)),
                        });
                    }
                },
            }
        }
    }
}
