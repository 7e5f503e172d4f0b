//! Where accepted usage events go to be stored: Cloudflare Queues in the
//! Worker (`glue.rs`: the `USAGE_QUEUE` binding, consumed by the same
//! Worker), a list in memory for native tests. Each message is the JSON text
//! of up to [`EVENTS_PER_MESSAGE`] events.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;

/// Events per queue message (a message holds at most 128 KB; 100 events of
/// at most 255-character ids stay well under it).
pub const EVENTS_PER_MESSAGE: usize = 100;

/// The future a send answers.
pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + 'a>>;

/// A queue producer.
pub trait UsageQueue {
    /// Sends `messages` as one batch: all of them, or an error and none.
    fn send(&self, messages: Vec<String>) -> Sending<'_>;
    /// What was sent and not yet taken (the in-memory queue's; empty elsewhere).
    fn take(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The queue of native tests: messages wait here until a test takes them
/// and hands them to the consumer, as Cloudflare Queues would.
#[derive(Default)]
pub struct MemoryQueue {
    sent: RefCell<Vec<String>>,
    /// Fails the next send (a queue that cannot be reached).
    pub fail_next: RefCell<bool>,
}

impl UsageQueue for MemoryQueue {
    fn send(&self, messages: Vec<String>) -> Sending<'_> {
        Box::pin(async move {
            if self.fail_next.replace(false) {
                return Err("the queue is unavailable".to_owned());
            }
            self.sent.borrow_mut().extend(messages);
            Ok(())
        })
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.sent.borrow_mut())
    }
}
