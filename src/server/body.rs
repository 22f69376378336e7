//! Answer bodies: small ones whole, `/metrics` streamed as it is written.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use tokio::sync::mpsc;

/// Size of the pieces `/metrics` is written and sent in.
pub const CHUNK: usize = 128 * 1024;
/// Pieces written ahead of the client: the memory a scrape holds is about
/// `(QUEUE + 2) × CHUNK`, however many series there are.
const QUEUE: usize = 4;
/// A client that takes no piece for this long is given up on, and the
/// writer's thread is freed.
const STALLED: std::time::Duration = std::time::Duration::from_secs(30);

/// What a streamed body's writer sends.
enum Piece {
    Data(Bytes),
    /// Everything was written. A stream that closes without it was cut short
    /// (the writer panicked), and the client must not take the part for the
    /// whole: the connection is closed without the last chunk.
    End,
}

/// An answer's body.
pub struct Body(Inner);

enum Inner {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<Piece>),
}

impl Body {
    /// A body written by `write` on a blocking thread, sent as it is written.
    /// `write` gets a `send` function that returns `false` once the client
    /// has gone or has taken nothing for 30 s, and must return whether it
    /// wrote everything. `permit` is held until the writing ends.
    /// Must be called inside a tokio runtime.
    pub fn stream<P: Send + 'static>(
        permit: P,
        write: impl FnOnce(&mut dyn FnMut(String) -> bool) -> bool + Send + 'static,
    ) -> Body {
        let (tx, rx) = mpsc::channel(QUEUE);
        let rt = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let put = |piece: Piece| {
                rt.block_on(async { tokio::time::timeout(STALLED, tx.send(piece)).await })
                    .is_ok_and(|sent| sent.is_ok())
            };
            let mut send = |s: String| put(Piece::Data(Bytes::from(s)));
            if write(&mut send) {
                put(Piece::End);
            }
        });
        Body(Inner::Stream(rx))
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Body(Inner::Full(Some(Bytes::from(s))))
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Body(Inner::Full(Some(b)))
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let piece = match &mut this.0 {
            Inner::Full(b) => return Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Inner::Stream(rx) => std::task::ready!(rx.poll_recv(cx)),
        };
        Poll::Ready(match piece {
            Some(Piece::Data(b)) => Some(Ok(Frame::data(b))),
            Some(Piece::End) => {
                this.0 = Inner::Full(None);
                None
            }
            None => Some(Err(std::io::Error::other(
                "the answer's writer stopped before the end",
            ))),
        })
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.0, Inner::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Inner::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Inner::Full(None) => SizeHint::with_exact(0),
            Inner::Stream(_) => SizeHint::default(),
        }
    }
}
