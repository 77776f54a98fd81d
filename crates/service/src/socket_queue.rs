//! The queue between the real-time hub and one connection.
//!
//! Why not `tokio::sync::mpsc`: a bounded tokio channel allocates its cache-padded state and
//! a first block of 32 slots when it is created, about 0.8 KB per connection, and most of a
//! node's 19,000 sockets are idle visitors that never receive an event. This queue is one
//! small allocation; its buffer grows only when events arrive and shrinks back when a burst
//! has been drained. It also carries the two facts the hub leaves for the connection (cut
//! as a slow consumer; closed after an access change), which were two more allocations.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// A buffer this large or larger is given back once it has been drained.
const SHRINK_ABOVE: usize = 64;

struct Shared<T> {
    items: Mutex<VecDeque<T>>,
    /// Wakes the receiver; `notify_one` keeps a permit when nobody waits, so a push between
    /// the receiver's check and its wait is not lost.
    ready: Notify,
    sender_gone: AtomicBool,
    receiver_gone: AtomicBool,
    overflowed: AtomicBool,
    /// The close code the hub chose after re-authorising the connection (0: none).
    closed: AtomicU16,
}

impl<T> Shared<T> {
    /// The buffer; a panic elsewhere while it was held leaves nothing half-done in a
    /// `VecDeque` push or pop, so a poisoned lock is simply taken over.
    fn items(&self) -> MutexGuard<'_, VecDeque<T>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Why [`QueueTx::try_send`] refused an item.
#[derive(Debug, PartialEq, Eq)]
pub enum SendError {
    /// `capacity` items are already waiting.
    Full,
    /// The receiving connection is gone.
    Closed,
}

/// The hub's end.
pub struct QueueTx<T> {
    shared: Arc<Shared<T>>,
    capacity: usize,
}

/// The connection's end.
pub struct QueueRx<T> {
    shared: Arc<Shared<T>>,
}

/// A queue holding at most `capacity` items (at least one).
pub fn queue<T>(capacity: usize) -> (QueueTx<T>, QueueRx<T>) {
    let shared = Arc::new(Shared {
        items: Mutex::new(VecDeque::new()),
        ready: Notify::new(),
        sender_gone: AtomicBool::new(false),
        receiver_gone: AtomicBool::new(false),
        overflowed: AtomicBool::new(false),
        closed: AtomicU16::new(0),
    });
    (
        QueueTx {
            shared: shared.clone(),
            capacity: capacity.max(1),
        },
        QueueRx { shared },
    )
}

impl<T> QueueTx<T> {
    /// Queues `item` without waiting.
    pub fn try_send(&self, item: T) -> Result<(), SendError> {
        if self.shared.receiver_gone.load(Ordering::Acquire) {
            return Err(SendError::Closed);
        }
        {
            let mut items = self.shared.items();
            if items.len() >= self.capacity {
                return Err(SendError::Full);
            }
            items.push_back(item);
        }
        self.shared.ready.notify_one();
        Ok(())
    }

    /// Records that the connection was cut for not keeping up (read by
    /// [`QueueRx::overflowed`] after the queue ends).
    pub fn mark_overflowed(&self) {
        self.shared.overflowed.store(true, Ordering::Relaxed);
    }

    /// Records the close code of a connection the hub drops after re-authorising it.
    pub fn mark_closed(&self, code: u16) {
        self.shared.closed.store(code, Ordering::Relaxed);
    }
}

impl<T> Drop for QueueTx<T> {
    fn drop(&mut self) {
        self.shared.sender_gone.store(true, Ordering::Release);
        self.shared.ready.notify_one();
    }
}

impl<T> QueueRx<T> {
    /// The next item; `None` once the hub has dropped its end and everything queued before
    /// that was taken. Cancel-safe: an item is removed only when it is returned.
    pub async fn recv(&mut self) -> Option<T> {
        loop {
            if let Some(item) = self.try_recv() {
                return Some(item);
            }
            if self.shared.sender_gone.load(Ordering::Acquire) {
                // Anything pushed before the flag was set is visible now.
                return self.try_recv();
            }
            self.shared.ready.notified().await;
        }
    }

    /// The next item if one is waiting.
    pub fn try_recv(&mut self) -> Option<T> {
        let mut items = self.shared.items();
        let item = items.pop_front();
        if items.is_empty() && items.capacity() >= SHRINK_ABOVE {
            *items = VecDeque::new();
        }
        item
    }

    /// Whether the hub cut this connection because its queue was full.
    pub fn overflowed(&self) -> bool {
        self.shared.overflowed.load(Ordering::Relaxed)
    }

    /// The close code the hub recorded when it dropped this connection (0: none).
    pub fn closed_code(&self) -> u16 {
        self.shared.closed.load(Ordering::Relaxed)
    }
}

impl<T> Drop for QueueRx<T> {
    fn drop(&mut self) {
        self.shared.receiver_gone.store(true, Ordering::Release);
        // Queued items are not needed by anyone any more.
        *self.shared.items() = VecDeque::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn items_arrive_in_order_until_the_sender_is_gone() {
        let (tx, mut rx) = queue(8);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        let waiter = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(i) = rx.recv().await {
                got.push(i);
            }
            got
        });
        tokio::task::yield_now().await;
        tx.try_send(3).unwrap();
        drop(tx);
        assert_eq!(waiter.await.unwrap(), vec![1, 2, 3]);
    }

    #[test]
    fn a_full_queue_refuses_and_a_dropped_receiver_closes() {
        let (tx, rx) = queue(2);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert_eq!(tx.try_send(3), Err(SendError::Full));
        tx.mark_overflowed();
        assert!(rx.overflowed());
        drop(rx);
        assert_eq!(tx.try_send(4), Err(SendError::Closed));
    }

    #[test]
    fn a_drained_burst_gives_its_buffer_back() {
        let (tx, mut rx) = queue(1000);
        for i in 0..500 {
            tx.try_send(i).unwrap();
        }
        while rx.try_recv().is_some() {}
        assert_eq!(rx.shared.items().capacity(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_wait_loses_nothing() {
        let (tx, mut rx) = queue(8);
        // A wait abandoned (as `select!` does) before the push.
        let _ = tokio::time::timeout(std::time::Duration::from_millis(1), rx.recv()).await;
        tx.try_send(7).unwrap();
        assert_eq!(rx.recv().await, Some(7));
    }
}
